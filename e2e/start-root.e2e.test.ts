// The README's first command as root on a fresh clone in a folder only root can enter (as a
// clone under /root, which is 0700): the embedded PostgreSQL runs as the postgres user, which
// cannot reach the clone, so `bun start` must put its data where that user can, say where, serve
// KPIs, and stop cleanly. `npm i -g bun` is skipped (this test runs under Bun); `bun install`
// runs for real (from Bun's cache, a few seconds).
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fallbackBase } from "../scripts/lib/embedded-postgres.ts";
import { freeStartPorts, processesNaming, root, takenPorts, waitFor } from "./start-process.ts";

const isRoot = process.getuid?.() === 0;
const outer = mkdtempSync(join(tmpdir(), "adpipe-root-"));
const clone = join(outer, "adpipe");
const home = join(clone, ".adpipe");

afterAll(() => {
  for (const p of processesNaming(home)) process.kill(p.pid, "SIGKILL");
  rmSync(outer, { recursive: true, force: true });
  rmSync(fallbackBase(home), { recursive: true, force: true });
});

const run = (cmd: string[], cwd: string) => {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
};

test.skipIf(!isRoot)(
  "as root, in a clone only root can enter: bun install && bun start serves KPIs and stops cleanly",
  async () => {
    expect(statSync(outer).mode & 0o777).toBe(0o700);
    run(["git", "clone", "--quiet", root, clone], outer);
    run(["bun", "install", "--frozen-lockfile"], clone);

    const env: Record<string, string> = { ...process.env } as Record<string, string>;
    // Nothing configured: no URLs, no state folder (the default, .adpipe/ in the clone).
    for (const key of ["DATABASE_URL", "NATS_URL", "CLICKHOUSE_URL", "ADPIPE_NAMESPACE", "ADPIPE_HOME"])
      delete env[key];
    // Only the ports are moved, so the run never meets a developer's own `bun start`.
    const { env: portEnv, ports } = await freeStartPorts();
    Object.assign(env, portEnv);
    const proc = Bun.spawn(["bun", "start"], { cwd: clone, env, stdout: "pipe", stderr: "pipe" });
    let text = "";
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
    };
    const drained = Promise.all([collect(proc.stdout), collect(proc.stderr)]);
    try {
      const reporter = `http://127.0.0.1:${env.REPORTER_PORT}`;
      const kpis = await waitFor(
        "a campaign KPI served by the reporter",
        120_000,
        async () => {
          const res = await fetch(`${reporter}/kpis/campaigns`);
          const body = (await res.json()) as { campaign_id: number; impressions: number }[];
          return Array.isArray(body) && body.some((k) => Number(k.impressions) > 0) ? body : undefined;
        },
        () => text,
      );
      expect(kpis.length).toBeGreaterThan(0);
      // Where the data went, said in full (with the local server's password).
      expect(text).toContain(
        `(data in ${fallbackBase(home)}/postgres: the postgres user cannot reach ${home})`,
      );
      expect(text).toMatch(/PostgreSQL: embedded, postgres:\/\/postgres:[^*@]+@127\.0\.0\.1:\d+\/adpipe/);
      expect(text).not.toContain("adpipe: ");

      proc.kill("SIGINT");
      const code = await Promise.race([
        proc.exited,
        Bun.sleep(60_000).then(() => {
          throw new Error(`bun start did not exit within 60 s:\n${text.slice(-3000)}`);
        }),
      ]);
      await drained;
      expect(code).toBe(0);
      expect(text).toContain("adpipe   | stopped");
      expect(processesNaming(home)).toEqual([]);
      expect(await takenPorts(ports)).toEqual([]);
    } finally {
      if (proc.exitCode === null) proc.kill("SIGKILL");
    }
  },
  240_000,
);
