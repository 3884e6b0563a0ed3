import { afterAll, beforeAll, expect, test } from "bun:test";
import { waitFor } from "@adpipe/shared/testing";
import { createReporterWorld, type ReporterWorld, seedCampaigns } from "@adpipe/testing";

let w: ReporterWorld;

beforeAll(async () => {
  w = await createReporterWorld({ config: { REPORTER_HEAL_INTERVAL_MS: 300 } });
});

afterAll(async () => {
  await w?.close();
});

type Status = {
  heals: { runs: number; healed_through: string | null };
  progress: Record<string, { unreported_batches: number }> | null;
};
const status = () => w.get("/reports/status") as Promise<Status>;

test("the heal step reads only batches loaded since its last complete pass, and still finds a lost event's batch", async () => {
  await seedCampaigns(w, 2);
  // Passes with nothing to heal move the mark forward (it trails ClickHouse's clock by the grace
  // and a minute's margin).
  const first = await waitFor(async () => (await status()).heals.healed_through, { what: "a heal mark" });
  const later = await waitFor(
    async () => {
      const s = await status();
      return (
        s.heals.healed_through !== null &&
        s.heals.healed_through > (first as string) &&
        s.heals.healed_through
      );
    },
    { what: "the mark moving on" },
  );
  const [now] = (await (
    await w.chs.client.query({
      query: "SELECT toUnixTimestamp64Milli(now64(3)) AS now",
      format: "JSONEachRow",
    })
  ).json()) as { now: number }[];
  expect(Date.parse(later)).toBeLessThan(Number(now?.now));

  // Loaded (rows and loaded_batches record, as the loader writes them), its event lost.
  await w.chs.client.command({
    query:
      "INSERT INTO impressions (id, campaign_id, created_at, _version, _xid) VALUES (101, 1, now64(6, 'UTC'), 1001, 9000), (102, 2, now64(6, 'UTC'), 1002, 9000)",
  });
  await w.chs.client.command({
    query:
      "INSERT INTO loaded_batches (table_name, batch_id, kind, from_xid, to_xid, rows) VALUES ('impressions', 'lost-after-mark', 'upsert', 9000, 9001, 2)",
  });
  const impressions = async (id: number) =>
    ((await w.get(`/kpis/campaigns/${id}`)) as { impressions: number }).impressions;
  await waitFor(async () => (await impressions(1)) === 1 && (await impressions(2)) === 1, {
    what: "the lost batch healed",
  });
  await waitFor(async () => (await status()).progress?.impressions?.unreported_batches === 0, {
    what: "nothing unreported",
  });
});
