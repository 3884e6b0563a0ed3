import { expect, test } from "bun:test";
import { natsServerVersion, supportsSyncAlways } from "./nats-server.ts";

test("sync_interval: always only where the server knows it (2.10 and later)", () => {
  expect(supportsSyncAlways("2.9.10")).toBe(false);
  expect(supportsSyncAlways("2.10.0")).toBe(true);
  expect(supportsSyncAlways("2.11.3")).toBe(true);
  expect(supportsSyncAlways("3.0.0")).toBe(true);
  expect(supportsSyncAlways("0.0.0")).toBe(false);
});

test("the installed nats-server's version is read", () => {
  const binary = Bun.which("nats-server");
  if (!binary) return;
  expect(natsServerVersion(binary)).toMatch(/^\d+\.\d+\.\d+$/);
});
