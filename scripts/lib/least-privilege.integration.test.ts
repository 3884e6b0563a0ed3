import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { streams, subjects as subjectsOf } from "@adpipe/shared/contract";
import { connectNats, ensureStreams } from "@adpipe/shared/nats";
import { loaderConsumerConfig } from "@adpipe/shared/nats-consumers";
import { provisionNamespace } from "@adpipe/shared/nats-provision";
import { uniqueName, waitFor } from "@adpipe/shared/testing";
import type { NatsConnection } from "nats";
import { natsUsersConfig } from "./least-privilege.ts";
import { type RunningNats, startNatsServer } from "./nats-server.ts";
import { freePorts } from "./ports.ts";

const home = mkdtempSync(join(tmpdir(), "adpipe-nats-perms-"));
const connections: NatsConnection[] = [];
let server: RunningNats | undefined;
afterAll(async () => {
  for (const nc of connections) await nc.close().catch(() => {});
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
});

test("NATS users: the loader's user cannot publish on a delta subject, the extractor's can", async () => {
  const namespace = uniqueName("perm");
  const users = natsUsersConfig(home, namespace);
  const [client, monitor] = (await freePorts(2)) as [number, number];
  server = await startNatsServer(home, client, monitor, users.file);
  const as = async (service: "extractor" | "loader" | "reporter") => {
    const env = users.env[service] as { NATS_USER: string; NATS_PASSWORD: string };
    const nc = await connectNats({ url: server?.url ?? "", user: env.NATS_USER, pass: env.NATS_PASSWORD });
    connections.push(nc);
    return nc;
  };
  const extractor = await as("extractor");
  const loader = await as("loader");
  // The provisioner makes the streams and consumers (bun start does, before the services).
  const provisioner = await connectNats({ url: server?.url ?? "", ...users.provisioner });
  connections.push(provisioner);
  await provisionNamespace(await provisioner.jetstreamManager(), namespace);
  const subjects = subjectsOf;

  const subject = subjects(namespace).delta("campaign");
  const ack = await extractor.jetstream().publish(subject, new TextEncoder().encode("{}"));
  expect(ack.seq).toBe(1);

  const errors: string[] = [];
  (async () => {
    for await (const s of loader.status()) {
      const context = (s as { permissionContext?: { operation: string; subject: string } }).permissionContext;
      if (s.type === "error") errors.push(`${s.data} ${context?.operation} ${context?.subject}`);
    }
  })().catch(() => {});
  loader.publish(subject, new TextEncoder().encode("{}"));
  await loader.flush();
  const violation = await waitFor(
    async () => errors.find((e) => e.startsWith("PERMISSIONS_VIOLATION publish")),
    {
      what: "the server's permissions violation for the loader",
    },
  );
  expect(violation).toContain(subject);
  // The extractor's message is the only one the stream holds.
  const jsm = await extractor.jetstreamManager();
  expect((await jsm.streams.info(`${namespace}_delta`)).state.messages).toBe(1);
  // The loader may still publish what is its own.
  loader.publish(subjects(namespace).loaded("campaign"), new TextEncoder().encode("{}"));
  await loader.flush();
  expect(errors.filter((e) => e.includes(".loaded."))).toEqual([]);
}, 60_000);

test("NATS users: only the provisioner manages streams and consumers; the services may not", async () => {
  const namespace = uniqueName("perm");
  const users = natsUsersConfig(home, namespace);
  const [client, monitor] = (await freePorts(2)) as [number, number];
  const own = await startNatsServer(home, client, monitor, users.file);
  try {
    const connect = async (creds: { user: string; pass: string }) => {
      const nc = await connectNats({ url: own.url, ...creds });
      connections.push(nc);
      return nc.jetstreamManager();
    };
    const service = (name: "extractor" | "loader" | "reporter") => {
      const env = users.env[name] as { NATS_USER: string; NATS_PASSWORD: string };
      return connect({ user: env.NATS_USER, pass: env.NATS_PASSWORD });
    };
    // No service may create the streams on a fresh namespace...
    for (const name of ["extractor", "loader", "reporter"] as const)
      expect([name, await refusal(ensureStreams(await service(name), namespace))]).toEqual([name, "refused"]);
    await provisionNamespace(await connect(users.provisioner), namespace);
    const delta = streams(namespace).delta;
    // ...nor change one: an update could shrink max_msgs or max_age and drop deltas no loader read.
    for (const name of ["extractor", "loader", "reporter"] as const) {
      const jsm = await service(name);
      const info = await jsm.streams.info(delta);
      expect([name, info.config.name]).toEqual([name, delta]); // looking up stays allowed
      const shrink = jsm.streams.update(delta, { ...info.config, description: "changed", max_msgs: 1 });
      expect([name, await refusal(shrink)]).toEqual([name, "refused"]);
    }
    // Nor create or reconfigure a consumer (the loader's own included).
    const loaderJsm = await service("loader");
    const mine = loaderConsumerConfig(namespace, "campaign");
    expect(await refusal(loaderJsm.consumers.update(delta, mine.durable_name, { max_ack_pending: 1 }))).toBe(
      "refused",
    );
    expect(await refusal(loaderJsm.consumers.add(delta, { ...mine, durable_name: "rogue" }))).toBe("refused");
    const after = await (await connect(users.provisioner)).streams.info(delta);
    expect([after.config.description ?? "", after.config.max_msgs]).toEqual(["", -1]);
  } finally {
    await own.stop();
  }
}, 60_000);

/** "refused" when the server denied the call as a permissions violation; any other failure says what it was. */
async function refusal(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "allowed",
    (err: unknown) => {
      const text = String((err as Error)?.message ?? err);
      return /permissions? violation/i.test(text) ? "refused" : `failed: ${text}`;
    },
  );
}

test("NATS users: the reporter's user hears reports.updated (the dashboard's live updates), not the deltas", async () => {
  const namespace = uniqueName("perm");
  const dir = mkdtempSync(join(tmpdir(), "adpipe-nats-perms-reporter-"));
  const users = natsUsersConfig(dir, namespace);
  const [client, monitor] = (await freePorts(2)) as [number, number];
  const own = await startNatsServer(dir, client, monitor, users.file);
  try {
    const env = users.env.reporter as { NATS_USER: string; NATS_PASSWORD: string };
    const reporter = await connectNats({ url: own.url, user: env.NATS_USER, pass: env.NATS_PASSWORD });
    connections.push(reporter);
    const errors: string[] = [];
    (async () => {
      for await (const s of reporter.status()) {
        const context = (s as { permissionContext?: { operation: string; subject: string } })
          .permissionContext;
        if (s.type === "error") errors.push(`${s.data} ${context?.operation} ${context?.subject}`);
      }
    })().catch(() => {});
    const updates = reporter.subscribe(subjectsOf(namespace).reportsUpdated, { max: 1 });
    const deltas = reporter.subscribe(subjectsOf(namespace).deltaAll);
    await reporter.flush();
    reporter.publish(subjectsOf(namespace).reportsUpdated, new TextEncoder().encode("{}"));
    for await (const m of updates) expect(new TextDecoder().decode(m.data)).toBe("{}");
    const violation = await waitFor(
      async () => errors.find((e) => e.startsWith("PERMISSIONS_VIOLATION subscription")),
      { what: "the server's refusal of the reporter's subscription to the deltas" },
    );
    expect(violation).toContain(subjectsOf(namespace).deltaAll);
    expect(errors.filter((e) => e.includes("reports.updated"))).toEqual([]);
    deltas.unsubscribe();
  } finally {
    await own.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test("NATS users: the reporter's user reads, takes, renews and releases its lease, not reconfigure it; the loader's may not touch it", async () => {
  const namespace = uniqueName("perm");
  const users = natsUsersConfig(home, namespace);
  const [client, monitor] = (await freePorts(2)) as [number, number];
  const own = await startNatsServer(home, client, monitor, users.file);
  try {
    const connect = async (name: "provisioner" | "loader" | "reporter") => {
      const creds =
        name === "provisioner"
          ? users.provisioner
          : (() => {
              const env = users.env[name] as { NATS_USER: string; NATS_PASSWORD: string };
              return { user: env.NATS_USER, pass: env.NATS_PASSWORD };
            })();
      const nc = await connectNats({ url: own.url, ...creds });
      connections.push(nc);
      return nc;
    };
    await provisionNamespace(await (await connect("provisioner")).jetstreamManager(), namespace);
    const bucket = streams(namespace).reporterLease;
    const reporter = await connect("reporter");
    const kv = await reporter.jetstream({ timeout: 2000 }).views.kv(bucket, { bindOnly: true });
    const rev = await kv.create("active", new TextEncoder().encode("a"));
    const renewed = await kv.update("active", new TextEncoder().encode("a"), rev);
    expect((await kv.get("active"))?.revision).toBe(renewed);
    await kv.delete("active", { previousSeq: renewed });
    expect((await kv.get("active"))?.operation).toBe("DEL");
    const rjsm = await reporter.jetstreamManager();
    const info = await rjsm.streams.info(`KV_${bucket}`);
    expect(
      await refusal(rjsm.streams.update(`KV_${bucket}`, { ...info.config, max_msgs_per_subject: 5 })),
    ).toBe("refused");
    const loader = await connect("loader");
    const put = loader
      .jetstream({ timeout: 2000 })
      .publish(`$KV.${bucket}.active`, new TextEncoder().encode("x"));
    expect(await refusal(put)).toBe("refused");
  } finally {
    await own.stop();
  }
}, 60_000);
