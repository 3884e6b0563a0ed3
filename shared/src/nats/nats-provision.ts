import type { JetStreamManager, NatsError } from "nats";
import { streams, TABLES } from "../contract.ts";
import { ensureStreams, type StreamLimits } from "./nats.ts";
import { ensureLoaderConsumers, ensureReporterConsumer, ensureReporterLease } from "./nats-consumers.ts";

/** The loader's and reporter's default ack waits (their LOADER_/REPORTER_ACK_WAIT_MS settings). */
export const DEFAULT_LOADER_ACK_WAIT_MS = 2_000;
export const DEFAULT_REPORTER_ACK_WAIT_MS = 3_000;

export interface ProvisionOptions extends StreamLimits {
  loaderAckWaitMs?: number;
  reporterAckWaitMs?: number;
}

/**
 * Everything a namespace needs in JetStream, created or updated to its declared configuration:
 * the three streams, the loader's durable consumer per table, the reporter's. Run once before the
 * services by the one user allowed to manage them (`provisioner`): `bun start` does, compose's
 * `migrate` step does (`bun run nats:provision`). Idempotent.
 */
export async function provisionNamespace(
  jsm: JetStreamManager,
  namespace: string,
  options: ProvisionOptions = {},
): Promise<void> {
  await ensureStreams(jsm, namespace, options);
  await ensureLoaderConsumers(jsm, namespace, {
    ackWaitMs: options.loaderAckWaitMs ?? DEFAULT_LOADER_ACK_WAIT_MS,
  });
  await ensureReporterConsumer(jsm, namespace, {
    ackWaitMs: options.reporterAckWaitMs ?? DEFAULT_REPORTER_ACK_WAIT_MS,
  });
  await ensureReporterLease(jsm, namespace, { replicas: options.replicas });
}

/** Why a lookup failed, as the step to run: the service itself may not create what is missing. */
class NotProvisioned extends Error {
  override readonly name = "NotProvisioned";
}

const notFound = (err: unknown) => {
  const code = (err as NatsError).api_error?.err_code;
  return code === 10059 || code === 10014; // stream not found, consumer not found
};

async function lookUp(what: string, probe: () => Promise<unknown>): Promise<void> {
  try {
    await probe();
  } catch (err) {
    if (!notFound(err)) throw err;
    throw new NotProvisioned(
      `${what} does not exist yet: the provisioning step creates it (bun start, compose's migrate, or NATS_PROVISION=true with a user allowed to)`,
    );
  }
}

/** Throws until the namespace's streams exist; for services that may only look them up. */
export async function requireStreams(jsm: JetStreamManager, namespace: string): Promise<void> {
  const s = streams(namespace);
  for (const name of [s.delta, s.dlq, s.events]) await lookUp(`stream ${name}`, () => jsm.streams.info(name));
}

/** Throws until the loader's durable consumers exist. */
export async function requireLoaderConsumers(jsm: JetStreamManager, namespace: string): Promise<void> {
  const s = streams(namespace);
  for (const table of TABLES)
    await lookUp(`consumer ${s.loaderConsumer(table)}`, () =>
      jsm.consumers.info(s.delta, s.loaderConsumer(table)),
    );
}

/** Throws until the reporter's durable consumer and its lease bucket exist. */
export async function requireReporterConsumer(jsm: JetStreamManager, namespace: string): Promise<void> {
  const s = streams(namespace);
  await lookUp(`consumer ${s.reporterConsumer}`, () => jsm.consumers.info(s.events, s.reporterConsumer));
  await lookUp(`lease bucket ${s.reporterLease}`, () => jsm.streams.info(`KV_${s.reporterLease}`));
}
