import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

// Both compose files as docker-compose resolves them (anchors merged, defaults filled in), so the
// checks see what a container would get. Needs Debian's docker-compose (CI installs it).
const root = join(import.meta.dir, "..");
const FILES = ["docker-compose.yml", "docker-compose.cluster.yml"] as const;

interface Service {
  image?: string;
  environment?: Record<string, string>;
  ports?: string[];
}

function composeConfig(file: string, env: Record<string, string>) {
  const run = Bun.spawnSync(["docker-compose", "-f", file, "config"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
  });
  return { ok: run.exitCode === 0, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
}

/**
 * The secrets compose requires (`${NAME:?...}`, no defaults): the API token and every password,
 * read from both files, each given a test value.
 */
const REQUIRED: Record<string, string> = Object.fromEntries(
  FILES.flatMap((file) => [
    ...readFileSync(join(root, file), "utf8").matchAll(/\$\{([A-Z][A-Z0-9_]*):\?/g),
  ]).map((m) => [m[1] as string, `${(m[1] as string).toLowerCase()}-test`]),
);

function services(file: string): Record<string, Service> {
  const out = composeConfig(file, REQUIRED);
  if (!out.ok) throw new Error(`docker-compose config -f ${file}: ${out.stderr}`);
  return (Bun.YAML.parse(out.stdout) as { services: Record<string, Service> }).services;
}

const adpipeServices = (all: Record<string, Service>) =>
  Object.entries(all).filter(([, s]) => s.image === "adpipe-service:local");

describe.each(FILES)("%s", (file) => {
  const all = services(file);

  test("publishes every port on the host's loopback only", () => {
    const exposed = Object.entries(all).flatMap(([name, s]) =>
      (s.ports ?? []).filter((p) => !p.startsWith("127.0.0.1:")).map((p) => `${name} ${p}`),
    );
    expect(exposed).toEqual([]);
    expect(Object.values(all).some((s) => (s.ports ?? []).length > 0)).toBe(true);
  });

  test("refuses to start without ADPIPE_API_TOKEN or any password, naming it", async () => {
    // One docker-compose per variable left out, all at once.
    const outcomes = await Promise.all(
      Object.keys(REQUIRED).map(async (name) => {
        const { [name]: _missing, ...rest } = REQUIRED as Record<string, string>;
        const proc = Bun.spawn(["docker-compose", "-f", file, "config", "-q"], {
          cwd: root,
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...rest },
          stdout: "ignore",
          stderr: "pipe",
        });
        const stderr = await new Response(proc.stderr).text();
        return { name, refused: (await proc.exited) !== 0, named: stderr.includes(name) };
      }),
    );
    expect(outcomes).toEqual(Object.keys(REQUIRED).map((name) => ({ name, refused: true, named: true })));
  }, 180_000);

  test("ClickHouse has no password-less default user: the owner is named, its password required", () => {
    const servers = Object.entries(all).filter(([, s]) =>
      s.image?.startsWith("clickhouse/clickhouse-server"),
    );
    expect(servers.length).toBeGreaterThan(0);
    for (const [, server] of servers) {
      // With CLICKHOUSE_USER other than `default`, the image removes `default` altogether.
      expect(server.environment?.CLICKHOUSE_USER).not.toBe("default");
      expect(server.environment?.CLICKHOUSE_PASSWORD).toBe(REQUIRED.CLICKHOUSE_PASSWORD);
    }
  });

  test("each service answers only to its own names, and only a migrate step manages NATS streams", () => {
    const byName = Object.fromEntries(adpipeServices(all));
    const running = Object.keys(byName).filter((n) => !n.startsWith("migrate"));
    expect(running.length).toBeGreaterThan(3);
    for (const name of running) {
      const env = byName[name]?.environment ?? {};
      // The container name others use, nothing broader (no wildcard, no other service's name).
      expect([name, env.ADPIPE_ALLOWED_HOSTS]).toEqual([name, name]);
      expect([name, env.NATS_PROVISION]).toEqual([name, "false"]);
      expect([name, env.NATS_USER === "provisioner" || env.NATS_USER === "admin"]).toEqual([name, false]);
    }
    const provisioners = Object.keys(byName).filter(
      (n) => byName[n]?.environment?.NATS_USER === "provisioner",
    );
    expect(provisioners.length).toBe(1);
    expect(provisioners[0]).toStartWith("migrate");
    expect(JSON.stringify(byName[provisioners[0] as string])).toContain("nats:provision");
  });

  test("only the migrate steps hold the owners' credentials; each service has its own users", () => {
    const byName = Object.fromEntries(adpipeServices(all));
    const pgUser = (name: string) => {
      const url = byName[name]?.environment?.DATABASE_URL;
      return url ? new URL(url).username : undefined;
    };
    const owners = Object.keys(byName).filter((name) => pgUser(name) === "adpipe_owner");
    expect(owners).toEqual(["migrate"]);
    expect(pgUser("generator")).toBe("adpipe_generator_user");
    expect(pgUser("extractor")).toBe("adpipe_extractor_user");
    // No PostgreSQL at all for the services that do not read it.
    const loaders = Object.keys(byName).filter((n) => n.startsWith("loader"));
    expect(loaders.length).toBeGreaterThan(0);
    for (const name of [...loaders, "reporter"]) expect(pgUser(name)).toBeUndefined();
    // ClickHouse: the owner only where the schema is migrated; each service its own user.
    const chUser = (name: string) => byName[name]?.environment?.CLICKHOUSE_USER;
    const chOwners = Object.keys(byName).filter(
      (name) => chUser(name) && !chUser(name)?.startsWith("adpipe_"),
    );
    expect(chOwners.every((name) => name.startsWith("migrate"))).toBe(true);
    expect(chOwners.length).toBeGreaterThan(0);
    expect(chUser("extractor")).toBe("adpipe_extractor");
    expect(chUser("reporter")).toBe("adpipe_reporter");
    for (const name of loaders) expect(chUser(name)).toBe("adpipe_loader");
    expect(byName.generator?.environment?.CLICKHOUSE_PASSWORD).toBeUndefined();
    // NATS: a user of its own for each service that talks to NATS.
    expect(byName.extractor?.environment?.NATS_USER).toBe("extractor");
    expect(byName.reporter?.environment?.NATS_USER).toBe("reporter");
    for (const name of loaders) expect(byName[name]?.environment?.NATS_USER).toBe("loader");
  });
});
