// The reporters' lease on a real NATS KV bucket: one active at a time, a standby takes over when
// the active one goes silent (its connection closed, as after SIGKILL or a partition), at once when
// it releases the lease, and a restarted instance reclaims its own lease without waiting.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { streams } from "@adpipe/shared/contract";
import { createLogger } from "@adpipe/shared/logger";
import { connectNats } from "@adpipe/shared/nats";
import { ensureReporterLease } from "@adpipe/shared/nats-consumers";
import { uniqueName, waitFor } from "@adpipe/shared/testing";
import { natsUrl } from "@adpipe/testing";
import type { NatsConnection } from "nats";
import { createLease, type Lease } from "./lease.ts";

const namespace = uniqueName("lease");
const logger = createLogger("reporter", "error");
const open: { nc: NatsConnection; lease: Lease }[] = [];

beforeAll(async () => {
  const nc = await connectNats({ url: natsUrl });
  await ensureReporterLease(await nc.jetstreamManager(), namespace);
  await nc.close();
});

afterAll(async () => {
  for (const o of open) {
    await o.lease.stop().catch(() => {});
    await o.nc.close().catch(() => {});
  }
  const nc = await connectNats({ url: natsUrl });
  await (await nc.jetstreamManager()).streams.delete(`KV_${streams(namespace).reporterLease}`);
  await nc.close();
});

/** A reporter's lease on a connection of its own; `roles` records each change with its time. */
async function reporter(instance: string, ttlMs: number, failActivation = false) {
  const nc = await connectNats({ url: natsUrl });
  const kv = await nc
    .jetstream({ timeout: 500 })
    .views.kv(streams(namespace).reporterLease, { bindOnly: true });
  const roles: { role: string; at: number }[] = [];
  const lease = createLease({
    kv,
    instance,
    ttlMs,
    logger,
    onActive: async () => {
      roles.push({ role: "active", at: Date.now() });
      if (failActivation) throw new Error("ClickHouse unreachable (test)");
    },
    onStandby: async () => {
      roles.push({ role: "standby", at: Date.now() });
    },
  });
  open.push({ nc, lease });
  await lease.start();
  return { nc, lease, roles };
}

test("two reporters: one active; the active one goes silent, it stops first, then the standby takes over", async () => {
  const a = await reporter("a", 1500);
  expect(a.lease.active()).toBe(true);
  const b = await reporter("b", 1500);
  expect(b.lease.status()).toMatchObject({ role: "standby", holder: "a" });

  // Never both allowed to start a rebuild, sampled throughout.
  let both = 0;
  const sampler = setInterval(() => {
    if (a.lease.active() && b.lease.active()) both++;
  }, 5);
  const silentAt = Date.now();
  await a.nc.close(); // its renewals now fail, as after SIGKILL or a partition
  await waitFor(() => b.lease.active(), { timeoutMs: 15_000, intervalMs: 10, what: "b active" });
  clearInterval(sampler);
  const tookOver = b.roles.find((r) => r.role === "active")?.at ?? 0;
  const steppedDown = a.roles.find((r) => r.role === "standby")?.at ?? 0;
  console.log(
    `lease: standby active ${tookOver - silentAt} ms after the active one went silent (TTL 1500 ms)`,
  );
  expect(both).toBe(0);
  expect(a.lease.status().role).toBe("standby");
  expect(steppedDown).toBeGreaterThan(0);
  expect(steppedDown).toBeLessThanOrEqual(tookOver);
}, 30_000);

test("a released lease is taken at once (long TTL: waiting it out would fail the test)", async () => {
  for (const o of open) await o.lease.stop();
  const c = await reporter("c", 60_000);
  const d = await reporter("d", 60_000);
  const [active, standby] = c.lease.active() ? [c, d] : [d, c];
  expect(standby.lease.active()).toBe(false);
  await active.lease.stop();
  await waitFor(() => standby.lease.active(), {
    timeoutMs: 10_000,
    what: "the standby active after a release",
  });
  expect(active.lease.active()).toBe(false);
}, 30_000);

test("a restarted instance (same id, new process) reclaims its own lease at once; another id waits", async () => {
  for (const o of open) await o.lease.stop();
  const first = await reporter("e", 60_000);
  await waitFor(() => first.lease.active(), { what: "e active" });
  await first.nc.close(); // SIGKILLed: never released
  const other = await reporter("f", 60_000);
  const again = await reporter("e", 60_000);
  await waitFor(() => again.lease.active(), { timeoutMs: 10_000, what: "the restarted e active" });
  expect(other.lease.status()).toMatchObject({ role: "standby", holder: "e" });
}, 30_000);

test("a reporter that cannot activate hands the lease back at once; another takes it (long TTL)", async () => {
  for (const o of open) await o.lease.stop();
  const broken = await reporter("g", 60_000, true);
  const healthy = await reporter("h", 60_000);
  await waitFor(() => healthy.lease.active(), { timeoutMs: 10_000, what: "h active after g gave up" });
  expect(broken.roles.map((r) => r.role)).toEqual(["active", "standby"]);
  expect(broken.lease.active()).toBe(false);
}, 30_000);
