import { createServer, type Server } from "node:net";

/**
 * `n` distinct ports the OS says are free right now on 127.0.0.1 (for processes a test starts).
 * All `n` are held open until every one is chosen, so the OS cannot hand the same port out twice
 * (one at a time, a port just closed can come back for the next call: two services of one
 * `bun start` were once given the same one).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once("error", reject);
          server.listen({ port: 0, host: "127.0.0.1" }, () => {
            const address = server.address();
            resolve(typeof address === "object" && address ? address.port : 0);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** A port the OS says is free right now on 127.0.0.1 (for a process a test starts). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0] as number;
}
