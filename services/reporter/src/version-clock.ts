/**
 * Report row versions: microseconds since the epoch, never below the last one handed out. The
 * reporter seeds it with the greatest version already stored, so versions keep growing across
 * restarts even when the clock stepped back, and a later rebuild always replaces an earlier one.
 */
export function createVersionClock(startAfter = 0n, now: () => number = Date.now) {
  let last = startAfter;
  return {
    next(): bigint {
      const micros = BigInt(Math.floor(now())) * 1000n;
      last = micros > last ? micros : last + 1n;
      return last;
    },
    get last() {
      return last;
    },
  };
}

export type VersionClock = ReturnType<typeof createVersionClock>;
