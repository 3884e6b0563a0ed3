import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDeadLetters, requestReplay } from "@adpipe/loader";
import { HEADERS, streams, subjects } from "@adpipe/shared/contract";
import { serveDeadLetterReplay } from "@adpipe/shared/dead-letter-replay";
import { createLogger } from "@adpipe/shared/logger";
import { connectNats } from "@adpipe/shared/nats";
import { provisionNamespace } from "@adpipe/shared/nats-provision";
import { uniqueName } from "@adpipe/shared/testing";
import type { NatsConnection } from "nats";
import { natsUsersConfig } from "./least-privilege.ts";
import { type RunningNats, startNatsServer } from "./nats-server.ts";
import { freePorts } from "./ports.ts";

const home = mkdtempSync(join(tmpdir(), "adpipe-nats-replay-"));
const connections: NatsConnection[] = [];
let server: RunningNats | undefined;
afterAll(async () => {
  for (const nc of connections) await nc.close().catch(() => {});
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
});

test("NATS users: a dead-letter replay requested by the loader's user is done by the extractor's", async () => {
  const namespace = uniqueName("perm");
  const users = natsUsersConfig(home, namespace);
  const [client, monitor] = (await freePorts(2)) as [number, number];
  server = await startNatsServer(home, client, monitor, users.file);
  const errors: string[] = [];
  const as = async (service: "extractor" | "loader") => {
    const env = users.env[service] as { NATS_USER: string; NATS_PASSWORD: string };
    const nc = await connectNats({ url: server?.url ?? "", user: env.NATS_USER, pass: env.NATS_PASSWORD });
    connections.push(nc);
    (async () => {
      for await (const s of nc.status()) if (s.type === "error") errors.push(`${service}: ${s.data}`);
    })().catch(() => {});
    return nc;
  };
  const extractor = await as("extractor");
  const loader = await as("loader");
  // Made by the provisioner, as bun start does before the services.
  const provisioner = await connectNats({ url: server?.url ?? "", ...users.provisioner });
  connections.push(provisioner);
  await provisionNamespace(await provisioner.jetstreamManager(), namespace);
  const loaderJsm = await loader.jetstreamManager();

  // The loader sets a batch aside, as it does for a poison message.
  const original = subjects(namespace).delta("campaign");
  const deadLetters = createDeadLetters({ js: loader.jetstream(), jsm: loaderJsm, namespace });
  const h = (await import("nats")).headers();
  h.set(HEADERS.batchId, "b-1");
  await deadLetters.put({
    subject: original,
    sequence: 7,
    headers: h,
    body: new TextEncoder().encode("1\tx"),
    table: "campaign",
    error: "rejected",
    kind: "rejected_by_clickhouse",
    attempts: 3,
  });
  const listed = await deadLetters.list();
  expect(listed.total).toBe(1);
  const id = listed.dead_letters[0]?.id ?? 0;

  // No extractor answering: a clear 503, and the dead letter stays.
  const unanswered = await requestReplay(loader, namespace, id).catch((e) => e);
  expect(unanswered).toMatchObject({ status: 503, code: "extractor_unavailable" });
  expect((await deadLetters.list()).total).toBe(1);

  const logger = createLogger("replay-test", "silent");
  const sub = serveDeadLetterReplay({ nc: extractor, namespace, logger });
  await extractor.flush(); // the subscription is registered on the server
  try {
    const replayed = await requestReplay(loader, namespace, id);
    expect(replayed).toMatchObject({ id, subject: original, sequence: 1 });
    // Checked as the admin user: neither service may read the delta stream's messages directly.
    const admin = await connectNats({
      url: server?.url ?? "",
      user: "admin",
      pass: readFileSync(users.adminPasswordFile, "utf8").trim(),
    });
    connections.push(admin);
    const delta = await (await admin.jetstreamManager()).streams.getMessage(streams(namespace).delta, {
      seq: 1,
    });
    expect(delta.subject).toBe(original);
    expect(delta.header?.get(HEADERS.batchId)).toBe("b-1");
    expect(new TextDecoder().decode(delta.data)).toBe("1\tx");
    expect((await deadLetters.list()).total).toBe(0);
    // Replayed already: the extractor answers 404, passed on as such.
    expect(await requestReplay(loader, namespace, id).catch((e) => e)).toMatchObject({ status: 404 });
  } finally {
    sub.unsubscribe();
  }
  await loader.flush();
  await extractor.flush();
  expect(errors).toEqual([]);
}, 60_000);
