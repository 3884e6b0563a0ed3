// The faults of issue #29, each injected while the writer keeps writing. `inject` returns when
// the fault has ended (the piece restarted, the transaction committed, ...): the time to exact
// is measured from there. `short` scales durations and sizes down for CI's version.
import { streams } from "@adpipe/shared/contract";
import { connectNats } from "@adpipe/shared/nats";
import type { Pool } from "@adpipe/shared/pg";
import type { ServiceName, Stack } from "./stack.ts";

export interface FaultContext {
  stack: Stack;
  /** A pool that is not the writer's and not terminated by the session-killing fault. */
  admin: Pool;
  short: boolean;
  random: () => number;
  log(line: string): void;
}

export interface Fault {
  name: string;
  /** What the table calls it. */
  title: string;
  /** How long after the fault ended the pipeline must be exact again. */
  deadlineMs: number;
  inject(ctx: FaultContext): Promise<void>;
}

const restart = async (
  ctx: FaultContext,
  piece: "postgres" | "nats" | "clickhouse" | ServiceName,
  downMs: number,
) => {
  await ctx.stack.pieces[piece].kill();
  await Bun.sleep(downMs);
  await ctx.stack.pieces[piece].start();
};

/** `rows` impressions over every campaign in one transaction. */
const bigTransaction = (pool: Pool, rows: number) =>
  pool.query(
    `INSERT INTO impressions (campaign_id, created_at)
     SELECT (SELECT array_agg(id) FROM campaign)[1 + n % (SELECT count(*) FROM campaign)::int], now()
     FROM generate_series(1, $1::int) n`,
    [rows],
  );

export const FAULTS: Fault[] = [
  {
    name: "loader-kill",
    title: "loader `kill -9` mid-batch, restarted",
    deadlineMs: 30_000,
    inject: (ctx) => restart(ctx, "loader", 500),
  },
  {
    name: "nats-kill",
    title: "NATS server `kill -9`, restarted",
    deadlineMs: 30_000,
    inject: (ctx) => restart(ctx, "nats", 1000),
  },
  {
    name: "clickhouse-kill",
    title: "embedded ClickHouse `kill -9`, restarted",
    deadlineMs: 30_000,
    inject: (ctx) => restart(ctx, "clickhouse", 1000),
  },
  {
    name: "postgres-kill",
    title: "PostgreSQL `kill -9`, restarted",
    deadlineMs: 30_000,
    inject: (ctx) => restart(ctx, "postgres", 1000),
  },
  {
    name: "events-purge",
    title: "events stream purged while the reporter is down",
    deadlineMs: 30_000,
    async inject(ctx) {
      await ctx.stack.pieces.reporter.stop();
      await Bun.sleep(ctx.short ? 1500 : 3000);
      const nc = await connectNats({ url: ctx.stack.natsUrl });
      try {
        await (await nc.jetstreamManager()).streams.purge(streams(ctx.stack.namespace).events);
      } finally {
        await nc.close();
      }
      await ctx.stack.pieces.reporter.start();
    },
  },
  {
    name: "extractor-kill",
    title: "extractor `kill -9` under load, restarted",
    deadlineMs: 30_000,
    inject: (ctx) => restart(ctx, "extractor", 500),
  },
  {
    name: "reporter-kill",
    title: "reporter `kill -9` under load, restarted",
    deadlineMs: 30_000,
    inject: (ctx) => restart(ctx, "reporter", 500),
  },
  {
    name: "pg-terminate",
    title: "`pg_terminate_backend` of the extractor's and writer's sessions every 2 s for 30 s",
    deadlineMs: 30_000,
    async inject(ctx) {
      const until = Date.now() + (ctx.short ? 8_000 : 30_000);
      while (Date.now() < until) {
        const { rows } = await ctx.admin.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND backend_type = 'client backend'
             AND pid <> pg_backend_pid() AND application_name <> 'faults-harness'`,
        );
        ctx.log(`terminated ${rows[0]?.n} sessions`);
        await Bun.sleep(2000);
      }
    },
  },
  {
    name: "long-transaction",
    title: "one transaction held open 60 s",
    deadlineMs: 30_000,
    async inject(ctx) {
      const client = await ctx.admin.connect();
      try {
        await client.query("BEGIN");
        await client.query(
          "INSERT INTO impressions (campaign_id, created_at) SELECT (SELECT min(id) FROM campaign), now() FROM generate_series(1, 500)",
        );
        await Bun.sleep(ctx.short ? 10_000 : 60_000);
        await client.query("COMMIT");
      } finally {
        client.release();
      }
    },
  },
  {
    name: "loader-outage-big-transaction",
    title: "loader stopped 3 min under load, plus one 300,000-row transaction",
    deadlineMs: 30_000,
    async inject(ctx) {
      await ctx.stack.pieces.loader.kill();
      const outage = ctx.short ? 15_000 : 180_000;
      await Bun.sleep(outage / 2);
      await bigTransaction(ctx.admin, ctx.short ? 100_000 : 300_000);
      await Bun.sleep(outage / 2);
      await ctx.stack.pieces.loader.start();
    },
  },
  {
    name: "big-transaction-extractor-kill",
    title: "1,000,000 impressions in one transaction, extractor `kill -9` 1–2 s after the commit",
    deadlineMs: 60_000,
    async inject(ctx) {
      await bigTransaction(ctx.admin, ctx.short ? 200_000 : 1_000_000);
      await Bun.sleep(1000 + Math.floor(ctx.random() * 1000));
      await restart(ctx, "extractor", 500);
    },
  },
];
