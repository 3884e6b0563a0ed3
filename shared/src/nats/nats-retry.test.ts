import { expect, test } from "bun:test";
import { isElectionGap, retryThroughElection } from "./nats-retry.ts";

const natsError = (code: string) => Object.assign(new Error(code), { code });

test("a request nobody answered is an election gap; an answer refusing it is not", () => {
  expect(
    ["503", "TIMEOUT", "DISCONNECT", "CONNECTION_TIMEOUT"].map((c) => isElectionGap(natsError(c))),
  ).toEqual([true, true, true, true]);
  expect(
    [natsError("CONNECTION_CLOSED"), natsError("BAD API"), new Error("x"), undefined].map(isElectionGap),
  ).toEqual([false, false, false, false]);
});

test("attempts repeat through election gaps, each with the time left as its timeout, until one succeeds", async () => {
  const timeouts: number[] = [];
  const result = await retryThroughElection(
    async (timeout) => {
      timeouts.push(timeout);
      if (timeouts.length < 3) throw natsError(timeouts.length === 1 ? "503" : "TIMEOUT");
      return "stored";
    },
    { attemptMs: 50, forMs: 10_000, retryMs: 1 },
  );
  expect(result).toBe("stored");
  expect(timeouts).toEqual([50, 50, 50]);
});

test("any other failure is thrown at once; so is the last gap once the time is up or the caller stops", async () => {
  let attempts = 0;
  const refused = retryThroughElection(
    async () => {
      attempts++;
      throw natsError("BAD API");
    },
    { attemptMs: 50, forMs: 10_000, retryMs: 1 },
  );
  await expect(refused).rejects.toThrow("BAD API");
  expect(attempts).toBe(1);

  attempts = 0;
  const timedOut = retryThroughElection(
    async () => {
      attempts++;
      throw natsError("503");
    },
    { attemptMs: 5, forMs: 30, retryMs: 5 },
  );
  await expect(timedOut).rejects.toThrow("503");
  expect(attempts).toBeGreaterThan(1);

  attempts = 0;
  const stopped = retryThroughElection(
    async () => {
      attempts++;
      throw natsError("503");
    },
    { attemptMs: 50, forMs: 10_000, retryMs: 1, stopping: () => attempts >= 2 },
  );
  await expect(stopped).rejects.toThrow("503");
  expect(attempts).toBe(2);
});
