import { ConfigError } from "./config.ts";

/**
 * Runs a command's entry point: a bad setting prints one line naming the variable, any other
 * failure prints what failed; both exit non-zero.
 */
export function runMain(main: () => Promise<unknown>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      const code = (err as { code?: unknown }).code;
      const text = err instanceof Error ? err.message : String(err);
      process.stderr.write(`error: ${text}${code ? ` (${String(code)})` : ""}\n`);
    }
    process.exit(1);
  });
}

/** Calls `stop` once on SIGINT or SIGTERM, then exits. */
export function onShutdown(stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    stop(signal).then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
