import { HEADERS, subjects } from "@adpipe/shared/contract";
import { copyHeaders, DLQ_HEADERS, isDlqHeader } from "@adpipe/shared/dead-letters";
import type { JetStreamClient, JsMsg } from "nats";

/** The dead letter's kind: a loaded event whose rebuild kept failing. */
export const REBUILD_FAILED = "rebuild_failed";
/** The dead letter's kind: bytes on a loaded-event subject that are no loaded event (as a delta's `invalid_message`). */
export const INVALID_EVENT = "invalid_message";
export type ReporterDeadLetterKind = typeof REBUILD_FAILED | typeof INVALID_EVENT;

/**
 * Sets aside a loaded event the reporter could not process in REPORTER_MAX_ATTEMPTS deliveries:
 * `<ns>.dlq.reporter.<table>` in the dead-letter stream, with the reason in the same headers the
 * loader's dead letters carry (so `GET /dead-letters` lists them too). The extractor refuses to
 * replay them (only deltas are replayed); the reports are healed by a full rebuild instead.
 */
export function createReporterDeadLetters({ js, namespace }: { js: JetStreamClient; namespace: string }) {
  return {
    async put(
      msg: JsMsg,
      table: string,
      error: string,
      kind: ReporterDeadLetterKind = REBUILD_FAILED,
    ): Promise<void> {
      const h = copyHeaders(msg.headers, (name) => name === HEADERS.msgId || isDlqHeader(name));
      h.set(DLQ_HEADERS.error, error.slice(0, 2000).replaceAll(/[\r\n]+/g, " "));
      h.set(DLQ_HEADERS.errorKind, kind);
      h.set(DLQ_HEADERS.attempts, String(msg.info.deliveryCount));
      h.set(DLQ_HEADERS.originalSubject, msg.subject);
      h.set(DLQ_HEADERS.originalSequence, String(msg.seq));
      h.set(DLQ_HEADERS.deadAt, new Date().toISOString());
      const safeTable = /^[A-Za-z0-9_-]+$/.test(table) ? table : "unknown";
      await js.publish(subjects(namespace).reporterDlq(safeTable), msg.data, {
        headers: h,
        // One dead letter per event, however often this runs for it.
        msgID: `dlq-${msg.subject}-${msg.seq}`,
      });
    },
  };
}

export type ReporterDeadLetters = ReturnType<typeof createReporterDeadLetters>;
