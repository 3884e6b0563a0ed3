import { describe, expect, test } from "bun:test";
import { loadConfig } from "./config.ts";

describe("reporter config: the dashboard's service URLs", () => {
  test("defaults are bun start's default ports", () => {
    const c = loadConfig({});
    expect([c.GENERATOR_URL, c.EXTRACTOR_URL, c.LOADER_URL]).toEqual([
      "http://127.0.0.1:3001",
      "http://127.0.0.1:3002",
      "http://127.0.0.1:3003",
    ]);
    expect(c.DASHBOARD_UPSTREAM_TIMEOUT_MS).toBe(1000);
  });

  test("a URL that is not http(s) stops start-up naming the variable", () => {
    expect(() => loadConfig({ LOADER_URL: "nats://127.0.0.1:4222" })).toThrow(/LOADER_URL/);
    expect(() => loadConfig({ GENERATOR_URL: "localhost:3001" })).toThrow(/GENERATOR_URL/);
  });
});
