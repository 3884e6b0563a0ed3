import { createServer } from "node:net";

/** True when nothing listens on 127.0.0.1:`port`. */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS says is free right now. */
export { freePort, freePorts } from "@adpipe/shared/testing";

export class StartError extends Error {
  override readonly name = "StartError";
}

export async function requireFreePort(port: number, what: string, variable: string): Promise<void> {
  if (!(await isPortFree(port))) {
    throw new StartError(`port ${port} for ${what} is already in use: stop what holds it or set ${variable}`);
  }
}
