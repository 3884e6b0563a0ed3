import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { freePorts } from "./ports.ts";

const ephemeralFloor = Number(
  readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0],
);

test("free ports are distinct, bindable, and below the kernel's ephemeral range", async () => {
  const ports = await freePorts(40);
  expect(new Set(ports).size).toBe(40);
  // Outgoing connections take their source ports from that range: none of these can be taken so.
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(15_000);
    expect(port).toBeLessThan(ephemeralFloor);
  }
  // Each is free once the call returns.
  for (const port of ports.slice(0, 5)) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, host: "127.0.0.1" }, resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test("a port someone listens on is never handed out", async () => {
  // Hold many of the range's ports, then ask again: none of the held ones comes back.
  const held = await freePorts(200);
  const servers = await Promise.all(
    held.map(
      (port) =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen({ port, host: "127.0.0.1" }, () => resolve(s));
        }),
    ),
  );
  try {
    const again = await freePorts(200);
    expect(again.filter((p) => held.includes(p))).toEqual([]);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
});
