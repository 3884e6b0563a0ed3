import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

// The image's dependency stage runs `bun install --frozen-lockfile` on the package.json files it
// copies; bun refuses when a workspace the lockfile lists is missing ("listed in bun.lock but not
// on disk"). No Docker engine runs here, so this checks the Dockerfile copies every workspace's.
const root = join(import.meta.dir, "..");

test("the Dockerfile copies the package.json of every workspace the lockfile lists", async () => {
  const { workspaces } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    workspaces: string[];
  };
  const dirs: string[] = [];
  for (const pattern of workspaces)
    for await (const file of new Bun.Glob(`${pattern}/package.json`).scan({ cwd: root }))
      if (!file.includes("node_modules")) dirs.push(file.slice(0, -"/package.json".length));
  expect(dirs.length).toBeGreaterThan(5);
  const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
  const missing = dirs.filter(
    (d) => existsSync(join(root, d)) && !dockerfile.includes(`COPY ${d}/package.json ${d}/`),
  );
  expect(missing).toEqual([]);
});
