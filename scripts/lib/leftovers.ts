import { existsSync, readdirSync, readFileSync } from "node:fs";

export interface Leftover {
  pid: number;
  command: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Marks every process `bun start` starts (they inherit it): only `bun start` sets it, so neither
 * the user's shell nor anything else that merely mentions the folder is ever mistaken for ours.
 */
export const STARTED_BY = "ADPIPE_STARTED_BY";

/**
 * Processes an earlier `bun start` on the same state folder left running: it was killed
 * (SIGKILL, a crash) before it could stop them. Linux only (/proc); elsewhere nothing is found
 * and a taken port is reported as usual.
 */
export function findLeftovers(home: string, self = process.pid): Leftover[] {
  if (!existsSync("/proc")) return [];
  const marker = `${STARTED_BY}=${home}\0`;
  const found: Leftover[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === self || pid === process.ppid) continue;
    const environ = read(`/proc/${pid}/environ`);
    const cmdline = read(`/proc/${pid}/cmdline`)?.replaceAll("\0", " ").trim();
    if (!cmdline || environ === undefined) continue;
    if (environ.startsWith(marker) || environ.includes(`\0${marker}`)) found.push({ pid, command: cmdline });
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM to each (servers shut down cleanly on it), SIGKILL to what still runs after `graceMs`. */
export async function stopLeftovers(leftovers: Leftover[], graceMs = 15_000): Promise<void> {
  for (const { pid } of leftovers) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + graceMs;
  while (leftovers.some((l) => alive(l.pid)) && Date.now() < deadline) await Bun.sleep(100);
  for (const { pid } of leftovers) if (alive(pid)) process.kill(pid, "SIGKILL");
}
