// A JetStream cluster of local nats-server processes on loopback ports, each with its own store
// folder: what `bun run nats:cluster` runs and what the failover tests kill and restart. The
// servers are configured from the command line only, which Debian's nats-server 2.9 accepts.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePorts } from "../config/ports.ts";

export interface NatsClusterOptions {
  /** Servers in the cluster; JetStream needs a majority of them up (2 of 3). */
  size?: number;
  /** Where each node keeps its JetStream store (`<dir>/<node>`); a temporary folder when absent. */
  dir?: string;
  /** The cluster's name (`--cluster_name`). */
  name?: string;
  /** First client port; node i listens on base+i, routes on base+100+i, monitoring on base+200+i. Free ports when absent. */
  basePort?: number;
  /** Start-up deadline per node and for the cluster to elect its JetStream meta leader. */
  timeoutMs?: number;
}

export interface NatsClusterNode {
  /** Server name (`-n`), as JetStream reports it in `cluster.leader` and `cluster.replicas`. */
  name: string;
  url: string;
  monitorUrl: string;
  running(): boolean;
  /** Ends the process with `signal` (SIGKILL by default: no goodbye to the cluster) and waits. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the process again on the same ports and store; resolves once it answers /healthz. */
  start(): Promise<void>;
}

export interface NatsCluster {
  nodes: NatsClusterNode[];
  /** The client URLs, comma-separated: a value for `NATS_URL`. */
  url: string;
  node(name: string): NatsClusterNode;
  /** Stops every node and removes the store folders it created. */
  stop(): Promise<void>;
}

function findNatsServer(): string {
  const found =
    Bun.which("nats-server") ??
    ["/usr/sbin/nats-server", "/usr/local/bin/nats-server"].find((p) => existsSync(p));
  if (!found)
    throw new Error("nats-server not found: apt-get install nats-server (or put a release binary on PATH)");
  return found;
}

async function healthy(monitorUrl: string): Promise<boolean> {
  return fetch(`${monitorUrl}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.ok,
    () => false,
  );
}

/** The JetStream meta leader's name as this node sees it, or "" while there is none. */
async function metaLeader(monitorUrl: string): Promise<string> {
  try {
    const res = await fetch(`${monitorUrl}/jsz`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { meta_cluster?: { leader?: string } };
    return body.meta_cluster?.leader ?? "";
  } catch {
    return "";
  }
}

// Processes still running when the test runner or the script exits are killed, never orphaned.
const live = new Set<Subprocess>();
process.on("exit", () => {
  for (const proc of live) proc.kill("SIGKILL");
});

export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const { size = 3, name = "adpipe", timeoutMs = 20_000 } = options;
  const binary = findNatsServer();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "adpipe-nats-cluster-"));
  const ports = [];
  for (let i = 0; i < size; i++) {
    const base = options.basePort;
    ports.push(
      base === undefined
        ? await freePorts(3).then(([client, route, monitor]) => ({ client, route, monitor }))
        : { client: base + i, route: base + 100 + i, monitor: base + 200 + i },
    );
  }
  const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(",");

  const nodes = ports.map((p, i) => {
    const nodeName = `n${i + 1}`;
    const storeDir = join(dir, nodeName);
    mkdirSync(storeDir, { recursive: true });
    const monitorUrl = `http://127.0.0.1:${p.monitor}`;
    // -a for the client listener; --cluster for routes (loopback only); -sd keeps each node's
    // JetStream store apart, so a restarted node recovers its own copy of every stream.
    const args = [
      binary,
      ...["-n", nodeName, "-a", "127.0.0.1", "-p", String(p.client), "-m", String(p.monitor)],
      ...["--cluster_name", name, "--cluster", `nats://127.0.0.1:${p.route}`, "--routes", routes],
      ...["-js", "-sd", storeDir],
    ];
    let proc: Subprocess<"ignore", "ignore", "pipe"> | undefined;
    const node: NatsClusterNode = {
      name: nodeName,
      url: `nats://127.0.0.1:${p.client}`,
      monitorUrl,
      running: () => proc !== undefined && proc.exitCode === null && proc.signalCode === null,
      async kill(signal: NodeJS.Signals = "SIGKILL") {
        if (!proc) return;
        proc.kill(signal);
        await proc.exited;
        live.delete(proc);
        proc = undefined;
      },
      async start() {
        if (node.running()) return;
        const started = Bun.spawn(args, { stdout: "ignore", stderr: "pipe" });
        proc = started;
        live.add(started);
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
          if (started.exitCode !== null) {
            const stderr = (await new Response(started.stderr).text()).trim().split("\n").slice(-2).join(" ");
            throw new Error(`nats-server ${nodeName} exited at start: ${stderr}`);
          }
          if (await healthy(monitorUrl)) return;
          await Bun.sleep(100);
        }
        throw new Error(
          `nats-server ${nodeName} did not answer /healthz on ${monitorUrl} within ${timeoutMs} ms`,
        );
      },
    };
    return node;
  });

  const cluster: NatsCluster = {
    nodes,
    url: nodes.map((n) => n.url).join(","),
    node(nodeName) {
      const found = nodes.find((n) => n.name === nodeName);
      if (!found)
        throw new Error(`no node ${nodeName} in the cluster (${nodes.map((n) => n.name).join(", ")})`);
      return found;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.kill("SIGTERM")));
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    // All at once: a node's /healthz waits for JetStream, which needs a quorum of its peers.
    await Promise.all(nodes.map((n) => n.start()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leaders = await Promise.all(nodes.map((n) => metaLeader(n.monitorUrl)));
      if (leaders[0] && leaders.every((l) => l === leaders[0])) return cluster;
      await Bun.sleep(100);
    }
    throw new Error(`the NATS cluster elected no JetStream meta leader within ${timeoutMs} ms`);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
