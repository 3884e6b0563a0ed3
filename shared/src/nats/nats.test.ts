import { expect, test } from "bun:test";
import { natsServers, streamConfigs } from "./nats.ts";

test("NATS_URL's comma-separated list becomes nats.js's server list", () => {
  expect(natsServers("nats://a:1")).toEqual(["nats://a:1"]);
  expect(natsServers(" nats://a:1 , nats://b:2,,nats://c:3 ")).toEqual([
    "nats://a:1",
    "nats://b:2",
    "nats://c:3",
  ]);
});

test("every stream of a namespace has the replica count asked for (1 by default)", () => {
  expect(streamConfigs("ns").map((c) => c.num_replicas)).toEqual([1, 1, 1]);
  expect(streamConfigs("ns", { replicas: 3 }).map((c) => c.num_replicas)).toEqual([3, 3, 3]);
});
