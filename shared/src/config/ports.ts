import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";

/** Below this, ports are left alone (well-known and registered services: 4222, 5432, 8123...). */
const LOWEST = 15_000;

/**
 * The first port the kernel may hand out as the source port of an outgoing connection (Linux:
 * /proc/sys/net/ipv4/ip_local_port_range), or null where that cannot be read.
 */
function ephemeralFloor(): number | null {
  try {
    const [lo] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const n = Number(lo);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** A server listening on `host`:`port`, or null if the port is taken. */
function listen(port: number, host = "127.0.0.1"): Promise<Server | null> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE" || err.code === "EACCES") resolve(null);
      else reject(err);
    });
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** True when nothing listens on `host`:`port` (and it may be bound). */
export async function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  const server = await listen(port, host).catch(() => null);
  if (!server) return false;
  await close(server);
  return true;
}

const portOf = (server: Server): number => {
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
};

/**
 * `n` distinct ports free right now on 127.0.0.1 (for processes a test starts). They are taken
 * below the kernel's ephemeral range where there is room: a port from that range (what
 * `listen(0)` hands out) can become the source port of any outgoing connection in the moments
 * before the process that was given it binds it (a loader of `bun start` once failed with
 * EADDRINUSE that way). All `n` are held open until every one is chosen, so no port is given
 * twice in one call.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  const floor = ephemeralFloor();
  const span = floor === null ? 0 : floor - LOWEST;
  try {
    while (servers.length < n) {
      let server: Server | null = null;
      // Random picks from the span; where there is none (or it is crowded), the kernel's choice.
      for (let attempt = 0; attempt < 20 && span >= 1000 && !server; attempt++) {
        server = await listen(LOWEST + Math.floor(Math.random() * span));
      }
      server ??= await listen(0);
      if (!server) throw new Error("no free port on 127.0.0.1");
      servers.push(server);
    }
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map(close));
  }
}

/** A port free right now on 127.0.0.1 (for a process a test starts); see `freePorts`. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0] as number;
}
