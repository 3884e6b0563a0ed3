// Services as processes for the benchmarks: the real entry points, on port 0, their logs drained.
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");

export interface Service {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `services/<name>` with `env` on a free port; resolves once it listens. */
export async function spawnService(name: string, env: Record<string, string>): Promise<Service> {
  const proc = Bun.spawn(["bun", "run", join(root, "services", name, "src", "index.ts")], {
    env: { ...process.env, PORT: "0", LOG_LEVEL: "info", ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  const url = await announcedUrl(proc.stdout, name);
  return {
    name,
    url,
    pid: proc.pid,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** The address a service logs once it listens (the extractor logs its port), its log drained after. */
async function announcedUrl(stdout: ReadableStream<Uint8Array>, name: string): Promise<string> {
  const reader = stdout.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${name} exited before listening`);
    seen += decoder.decode(value, { stream: true });
    const match =
      /"msg":"listening"[^\n]*"url":"([^"]+)"/.exec(seen) ??
      /"msg":"extractor started"[^\n]*"port":(\d+)/.exec(seen);
    if (match?.[1]) {
      void (async () => {
        while (!(await reader.read()).done);
      })().catch(() => {});
      return /^\d+$/.test(match[1]) ? `http://127.0.0.1:${match[1]}` : match[1];
    }
  }
}

/**
 * Mean of a Prometheus histogram on a service's /metrics, over all its labels: "<n> ms over
 * <count>". Read from its `_sum` and `_count` lines (the parser the API tests use drops both for
 * a histogram with labels).
 */
export async function histogramMeans(url: string, name: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const total = (suffix: string) =>
    [...text.matchAll(new RegExp(`^${name}_${suffix}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
  const count = total("count");
  return count === 0 ? "none" : `${((total("sum") / count) * 1000).toFixed(0)} ms over ${count}`;
}

/** Peak resident memory of a process (VmHWM), in MB. */
export async function peakRssMb(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`)
    .text()
    .catch(() => "");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}
