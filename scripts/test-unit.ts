// `bun run test:unit`: every test that needs no PostgreSQL, NATS or ClickHouse, in seconds. By
// the house rule, a test that needs a service is named *.integration.test.ts (or lives in e2e/ as
// *.e2e.test.ts); everything else is a unit test and runs here.
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const files: string[] = [];
for await (const file of new Bun.Glob("{services,shared,tools,scripts}/**/*.test.ts").scan({ cwd: root })) {
  if (file.includes("node_modules/") || /\.(integration|e2e)\.test\.ts$/.test(file)) continue;
  files.push(`./${file}`);
}
files.sort();
const proc = Bun.spawn(["bun", "test", "--timeout", "20000", ...files, ...process.argv.slice(2)], {
  cwd: root,
  stdio: ["inherit", "inherit", "inherit"],
});
process.exit(await proc.exited);
