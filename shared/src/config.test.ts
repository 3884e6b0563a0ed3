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
