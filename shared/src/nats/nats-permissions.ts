import { streams, subjects, TABLES } from "../contract.ts";

/** What one NATS user may publish and subscribe to. */
export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

/** The services that talk to NATS, each with a user of its own. */
export const NATS_SERVICES = ["extractor", "loader", "reporter"] as const;
export type NatsService = (typeof NATS_SERVICES)[number];
/**
 * Every NATS user adpipe defines: the services, and `provisioner`, the one that creates and
 * updates the namespace's streams and durable consumers (`bun start` and compose's `migrate`
 * step run it before the services, which then start with NATS_PROVISION=false).
 */
export const NATS_USERS = [...NATS_SERVICES, "provisioner"] as const;
export type NatsUser = (typeof NATS_USERS)[number];

/**
 * Each user's subjects in `namespace`: a service's own data subjects, the JetStream API calls it
 * makes to look up its streams and consume its consumers, acks for what it consumes, and
 * `_INBOX.>` for replies; the provisioner's stream and consumer management. Everything else is
 * denied by the server, e.g. the loader publishing on `<ns>.delta.*` or updating a stream (which
 * could shrink its limits and drop deltas).
 */
export function natsPermissions(namespace: string): Record<NatsUser, NatsPermissions> {
  const s = subjects(namespace);
  const st = streams(namespace);
  const all = [st.delta, st.dlq, st.events];
  // Every service looks the streams up at start and reads their state; none may change them.
  const lookup = ["$JS.API.INFO", ...all.map((n) => `$JS.API.STREAM.INFO.${n}`)];
  const consume = (stream: string, consumer: string) => [
    `$JS.API.CONSUMER.INFO.${stream}.${consumer}`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
    `$JS.ACK.${stream}.${consumer}.>`,
  ];
  const manageConsumer = (stream: string, consumer: string) => [
    `$JS.API.CONSUMER.INFO.${stream}.${consumer}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${consumer}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${consumer}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${consumer}`,
  ];
  // Subject tokens match whole or not at all: every consumer is named.
  const readDlq = [
    `$JS.API.STREAM.MSG.GET.${st.dlq}`,
    `$JS.API.DIRECT.GET.${st.dlq}`,
    `$JS.API.DIRECT.GET.${st.dlq}.>`,
  ];
  // The reporters' lease (a KV bucket): read, renewed and taken over by compare-and-set.
  const lease = `KV_${st.reporterLease}`;
  const useLease = [
    `$JS.API.STREAM.INFO.${lease}`,
    `$JS.API.STREAM.MSG.GET.${lease}`,
    `$JS.API.DIRECT.GET.${lease}`,
    `$JS.API.DIRECT.GET.${lease}.>`,
    `$KV.${st.reporterLease}.>`,
  ];
  const loaderConsumers = TABLES.flatMap((t) => consume(st.delta, st.loaderConsumer(t)));
  return {
    extractor: {
      // The verifier is a role of the extractor: it announces its runs and asks the reporter to
      // rebuild the report rows it found wrong. Replaying a dead letter (`<ns>.deadletters.replay`)
      // reads it, republishes it as a delta and deletes it from the DLQ stream.
      publish: [
        ...lookup,
        s.deltaAll,
        s.verifyCompleted,
        s.reportsRebuild,
        ...readDlq,
        `$JS.API.STREAM.MSG.DELETE.${st.dlq}`,
      ],
      subscribe: [
        "_INBOX.>",
        s.extractRun,
        s.verifyRun,
        s.deadLettersReplay,
        // issue #34: per-table pause and resume, asked by operators (admin) only.
        s.extractPause,
        s.extractResume,
      ],
    },
    loader: {
      publish: [
        ...lookup,
        ...loaderConsumers,
        s.loadedAll,
        s.schemaChangedAll,
        s.dlqAll,
        ...readDlq, // listing dead letters
        s.deadLettersReplay, // the extractor replays them: only it writes deltas
      ],
      subscribe: ["_INBOX.>"],
    },
    reporter: {
      publish: [
        ...lookup,
        ...consume(st.events, st.reporterConsumer),
        `$JS.API.CONSUMER.INFO.${st.delta}.*`,
        s.reportsUpdated,
        s.reporterDlq("*"), // loaded events it could not process, set aside
        `${namespace}.extract.run`,
        ...useLease,
      ],
      // reports.updated: the dashboard's live stream relays it to open pages (any reporter's
      // rebuild, not only this process's); the one subject it listens to beyond its requests.
      subscribe: ["_INBOX.>", s.reportsRebuild, s.reportsUpdated],
    },
    provisioner: {
      publish: [
        "$JS.API.INFO",
        ...all.flatMap((n) => [
          `$JS.API.STREAM.INFO.${n}`,
          `$JS.API.STREAM.CREATE.${n}`,
          `$JS.API.STREAM.UPDATE.${n}`,
        ]),
        ...TABLES.flatMap((t) => manageConsumer(st.delta, st.loaderConsumer(t))),
        ...manageConsumer(st.events, st.reporterConsumer),
        ...["INFO", "CREATE", "UPDATE"].map((op) => `$JS.API.STREAM.${op}.${lease}`),
      ],
      subscribe: ["_INBOX.>"],
    },
  };
}

const list = (items: string[]) => `[${items.map((i) => JSON.stringify(i)).join(", ")}]`;

/**
 * An `authorization` block for nats-server's config file: one user per service with its
 * permissions, the provisioner, plus `admin` (everything; for operators).
 * A password given as `$NAME` is left to nats-server to read from its environment.
 */
export function natsAuthorization(namespace: string, passwords: Record<NatsUser | "admin", string>): string {
  const quote = (p: string) => (p.startsWith("$") ? p : JSON.stringify(p));
  const perms = natsPermissions(namespace);
  const users = NATS_USERS.map(
    (name) =>
      `    { user: "${name}", password: ${quote(passwords[name])}, permissions: { publish: { allow: ${list(perms[name].publish)} }, subscribe: { allow: ${list(perms[name].subscribe)} }, allow_responses: true } }`,
  );
  users.push(`    { user: "admin", password: ${quote(passwords.admin)} }`);
  return `authorization {\n  users: [\n${users.join("\n")}\n  ]\n}\n`;
}
