// `bun run nats:cluster`: three nats-server processes in one JetStream cluster on loopback, each
// with its own store under ADPIPE_HOME/nats-cluster/<node>, for running adpipe against a cluster
// on one machine. Prints the settings the services need; Ctrl-C stops the three servers.
import { join, resolve } from "node:path";
import { parseConfig, settings } from "@adpipe/shared/config";
import { runMain } from "@adpipe/shared/main";
import { startNatsCluster } from "@adpipe/shared/nats-cluster";
import { z } from "zod";

runMain(async () => {
  const config = parseConfig({
    ADPIPE_HOME: z.string().default(join(import.meta.dir, "..", ".adpipe")),
    /** Node i serves clients on this + i, routes on this + 100 + i, monitoring on this + 200 + i. */
    ADPIPE_NATS_CLUSTER_PORT: settings.PORT.max(65_000).default(4301),
    ADPIPE_NATS_CLUSTER_SIZE: z.coerce.number().int().min(1).max(5).default(3),
  });
  const dir = join(resolve(config.ADPIPE_HOME), "nats-cluster");
  const cluster = await startNatsCluster({
    dir,
    size: config.ADPIPE_NATS_CLUSTER_SIZE,
    basePort: config.ADPIPE_NATS_CLUSTER_PORT,
    timeoutMs: 30_000,
  });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  for (const node of cluster.nodes)
    say(`nats-cluster | ${node.name}: ${node.url}, monitoring ${node.monitorUrl}`);
  say(`nats-cluster | JetStream stores under ${dir}; use it with:`);
  say(`NATS_URL=${cluster.url} NATS_STREAM_REPLICAS=${Math.min(3, cluster.nodes.length)} bun start`);
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  say("nats-cluster | stopping the servers");
  await cluster.stop();
});
