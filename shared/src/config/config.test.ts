import { describe, expect, test } from "bun:test";
import { ConfigError, parseConfig, settings } from "./config.ts";

describe("parseConfig", () => {
  const shape = { DATABASE_URL: settings.DATABASE_URL, PORT: settings.PORT };

  test("applies defaults and coerces numbers", () => {
    const config = parseConfig(shape, { PORT: "3001" });
    expect(config).toEqual({ DATABASE_URL: "postgres://postgres@127.0.0.1:5432/adpipe", PORT: 3001 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  test("names the bad variable in one line", () => {
    expect(() => parseConfig(shape, { PORT: "3001", DATABASE_URL: "mysql://x" })).toThrow(
      new ConfigError("DATABASE_URL", "expected a URL starting with postgres:// or postgresql://"),
    );
    expect(() => parseConfig(shape, { PORT: "70000" })).toThrow(/^invalid setting PORT: /);
    expect(() => parseConfig(shape, {})).toThrow("invalid setting PORT: is required");
  });
});

describe("NATS settings", () => {
  const shape = { NATS_URL: settings.NATS_URL, NATS_STREAM_REPLICAS: settings.NATS_STREAM_REPLICAS };

  test("NATS_URL takes one URL or a comma-separated list; replicas default to 1", () => {
    expect(parseConfig(shape, {})).toEqual({ NATS_URL: "nats://127.0.0.1:4222", NATS_STREAM_REPLICAS: 1 });
    const list = "nats://a:4222, nats://b:4222,nats://c:4222";
    expect(parseConfig(shape, { NATS_URL: list, NATS_STREAM_REPLICAS: "3" })).toEqual({
      NATS_URL: list,
      NATS_STREAM_REPLICAS: 3,
    });
  });

  test("a bad URL in the list or a replica count JetStream cannot keep is named", () => {
    expect(() => parseConfig(shape, { NATS_URL: "nats://a:4222,http://b:80" })).toThrow(
      /^invalid setting NATS_URL: "http:\/\/b:80": expected a URL starting with nats:\/\//,
    );
    expect(() => parseConfig(shape, { NATS_STREAM_REPLICAS: "7" })).toThrow(
      "invalid setting NATS_STREAM_REPLICAS: must be at most 5 (JetStream's limit)",
    );
    expect(() => parseConfig(shape, { NATS_STREAM_REPLICAS: "0" })).toThrow(/NATS_STREAM_REPLICAS/);
  });
});

describe("ClickHouse settings", () => {
  const shape = { CLICKHOUSE_MIGRATE: settings.CLICKHOUSE_MIGRATE };

  test("CLICKHOUSE_MIGRATE defaults to true; a value that is not a boolean is named", () => {
    expect(parseConfig(shape, {})).toEqual({ CLICKHOUSE_MIGRATE: true });
    expect(parseConfig(shape, { CLICKHOUSE_MIGRATE: "false" })).toEqual({ CLICKHOUSE_MIGRATE: false });
    expect(() => parseConfig(shape, { CLICKHOUSE_MIGRATE: "maybe" })).toThrow(
      "invalid setting CLICKHOUSE_MIGRATE: expected true or false",
    );
  });
});
