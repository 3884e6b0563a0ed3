import { type MsgHdrs, type NatsError, headers as natsHeaders } from "nats";

/**
 * The dead-letter stream's wire contract, shared by the loader (which sets batches aside and
 * lists them) and the extractor (which replays them on `<ns>.deadletters.replay`).
 */

/** Headers a dead letter adds to the original ones. */
export const DLQ_HEADERS = {
  error: "Adpipe-Error",
  errorKind: "Adpipe-Error-Kind",
  attempts: "Adpipe-Attempts",
  originalSubject: "Adpipe-Original-Subject",
  originalSequence: "Adpipe-Original-Sequence",
  deadAt: "Adpipe-Dead-At",
} as const;
const ours = new Set<string>(Object.values(DLQ_HEADERS));

/** True for a header a dead letter adds (not one of the original batch's). */
export const isDlqHeader = (name: string) => ours.has(name);

/** A JetStream API answer meaning "no such message" or "no such stream". */
export const isNotFound = (err: unknown) => {
  const code = (err as NatsError).api_error?.err_code;
  return code === 10037 || code === 10059; // no message found, stream not found
};

export function copyHeaders(from: MsgHdrs | undefined, skip: (name: string) => boolean): MsgHdrs {
  const h = natsHeaders();
  for (const [name, values] of from ?? []) {
    if (skip(name)) continue;
    for (const value of values) h.append(name, value);
  }
  return h;
}
