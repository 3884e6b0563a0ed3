import { ClickHouseError } from "@adpipe/shared/clickhouse";

/** Why a rebuild failed, for the log, /reports/status and a dead letter: never an empty text. */
export interface Failure {
  error: string;
  /** ClickHouse's exception code and name when the server answered with one. */
  clickhouse_code?: string;
  clickhouse_type?: string;
}

/**
 * An error without a message (a bare HTTP status: the embedded server used to answer a long URI
 * with an empty 431, and the client's error then said nothing) still names its kind and cause.
 */
export function describeFailure(err: unknown): Failure {
  if (err instanceof ClickHouseError)
    return {
      error: `ClickHouse error ${err.code} (${err.type ?? "?"}): ${err.message || "(no message)"}`,
      clickhouse_code: err.code,
      clickhouse_type: err.type,
    };
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? err.cause.message : err.cause ? String(err.cause) : "";
    const text =
      err.message.trim() ||
      `${err.name} without a message (@clickhouse/client gives none for a bare HTTP status, such as a 431 for a too long URL)`;
    return { error: cause ? `${text}: ${cause}` : text };
  }
  return { error: String(err) || "unknown failure" };
}
