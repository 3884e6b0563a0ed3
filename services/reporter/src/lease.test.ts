import { describe, expect, test } from "bun:test";
import { activeUntil, decideStandby, type LeaseHolder } from "./lease.ts";

const self = { instance: "b:3004", nonce: "n-b" };
const held = (instance: string, nonce = "n-a"): LeaseHolder => ({ instance, nonce, at: "" });
const put = (revision: number) => ({ revision, operation: "PUT" as const });

describe("decideStandby: when a standby reporter takes the lease", () => {
  test("no lease yet: created (revision 0)", () => {
    expect(decideStandby(null, null, self, undefined, 0, 3000)).toMatchObject({
      take: true,
      revision: 0,
      from: "free",
    });
  });

  test("released (deleted or purged): taken at once, over the delete's revision", () => {
    for (const operation of ["DEL", "PURGE"] as const)
      expect(decideStandby({ revision: 7, operation }, null, self, undefined, 0, 3000)).toMatchObject({
        take: true,
        revision: 7,
      });
  });

  test("held by another: only once the same revision stayed a whole TTL on the standby's clock", () => {
    const a = held("a:3004");
    expect(decideStandby(put(5), a, self, undefined, 10_000, 3000)).toEqual({
      take: false,
      holder: "a:3004",
    });
    expect(decideStandby(put(5), a, self, { revision: 5, at: 10_000 }, 12_999, 3000).take).toBe(false);
    expect(decideStandby(put(5), a, self, { revision: 5, at: 10_000 }, 13_000, 3000)).toMatchObject({
      take: true,
      revision: 5,
    });
    // Renewed meanwhile: a new revision starts the count again.
    expect(decideStandby(put(6), a, self, { revision: 5, at: 10_000 }, 20_000, 3000).take).toBe(false);
  });

  test("held by this instance id under another nonce (an earlier life of this process): taken at once", () => {
    expect(decideStandby(put(9), held("b:3004", "old"), self, undefined, 0, 3000)).toMatchObject({
      take: true,
      revision: 9,
    });
    // Its own nonce is its own live lease, never "taken over" by itself.
    expect(decideStandby(put(9), held("b:3004", "n-b"), self, undefined, 0, 3000).take).toBe(false);
  });

  test("an unreadable value counts as released", () => {
    expect(decideStandby(put(3), null, self, undefined, 0, 3000)).toMatchObject({ take: true, revision: 3 });
  });
});

test("activeUntil: the active reporter stops starting rebuilds a third of a TTL before a standby may start", () => {
  const sentAt = 1_000;
  const ttl = 3_000;
  // A standby received the revision no earlier than it was sent, and waits a whole TTL from then.
  expect(sentAt + ttl - activeUntil(sentAt, ttl)).toBe(1_000);
});
