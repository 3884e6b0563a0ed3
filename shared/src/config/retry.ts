import type { Logger } from "./logger.ts";

/**
 * Retries `fn` with doubling delays (capped) until it succeeds: at start-up a
 * dependency that is not up yet is waited for, not a reason to crash-loop.
 */
export async function retryWithBackoff<T>(
  what: string,
  fn: () => Promise<T>,
  {
    logger,
    firstDelayMs = 250,
    maxDelayMs = 30_000,
  }: { logger: Logger; firstDelayMs?: number; maxDelayMs?: number },
): Promise<T> {
  let delay = firstDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      logger.warn(`${what} failed; retrying`, { attempt, retryInMs: delay, err });
      await Bun.sleep(delay);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}
