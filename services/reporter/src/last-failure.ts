/** The last failure of one kind of work, as /reports/status shows it (null once it succeeds). */
export type LastFailure = { message: string; at: string } | null;

export const failureNow = (message: string): NonNullable<LastFailure> => ({
  message,
  at: new Date().toISOString(),
});

export const failureOf = (err: unknown): NonNullable<LastFailure> =>
  failureNow(err instanceof Error ? err.message : String(err));
