import { expect, test } from "bun:test";
import { toException } from "./exception.ts";

test("an exception chDB wrapped in itself is reported once, as a server does", () => {
  const wrapped = new Error(
    "Code: 108. DB::Exception: Code: 108. DB::Exception: No data to insert. (NO_DATA_TO_INSERT) (version 26.7.2.1). (NO_DATA_TO_INSERT)",
  );
  expect(toException(wrapped, "26.7.2.1")).toEqual({
    code: 108,
    text: "Code: 108. DB::Exception: No data to insert. (NO_DATA_TO_INSERT) (version 26.7.2.1)\n",
    status: 500,
  });
  const plain = new Error("Code: 60. DB::Exception: Table default.x does not exist. (UNKNOWN_TABLE)");
  expect(toException(plain, "1").text).toBe(
    "Code: 60. DB::Exception: Table default.x does not exist. (UNKNOWN_TABLE) (version 1)\n",
  );
});
