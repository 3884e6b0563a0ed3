import { afterEach, expect, test } from "bun:test";
import { findLeftovers, STARTED_BY, stopLeftovers } from "./leftovers.ts";

const home = `/tmp/adpipe-leftovers-${process.pid}-${Date.now()}`;
const spawned: ReturnType<typeof Bun.spawn>[] = [];
const sleeper = (env: Record<string, string>) => {
  const proc = Bun.spawn(["sleep", "30"], { env: { ...process.env, ...env } });
  spawned.push(proc);
  return proc;
};

afterEach(() => {
  for (const proc of spawned.splice(0)) proc.kill("SIGKILL");
});

test("finds only processes carrying the marker for this folder, and stops them", async () => {
  const ours = sleeper({ [STARTED_BY]: home });
  sleeper({ ADPIPE_HOME: home }); // a user's shell or tool that merely names the folder
  sleeper({ [STARTED_BY]: `${home}-other` }); // another state folder's run
  await Bun.sleep(50);
  const found = findLeftovers(home);
  expect(found.map((l) => l.pid)).toEqual([ours.pid]);
  await stopLeftovers(found, 2000);
  expect(await ours.exited).not.toBe(0);
  expect(findLeftovers(home)).toEqual([]);
});
