import { isPortFree } from "@adpipe/shared/ports";

/** Probing and choosing ports: one implementation, in shared/src/ports.ts. */
export { freePort, freePorts, isPortFree } from "@adpipe/shared/ports";

export class StartError extends Error {
  override readonly name = "StartError";
}

export async function requireFreePort(port: number, what: string, variable: string): Promise<void> {
  if (!(await isPortFree(port))) {
    throw new StartError(`port ${port} for ${what} is already in use: stop what holds it or set ${variable}`);
  }
}
