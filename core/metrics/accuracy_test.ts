import { strictEqual, throws } from "node:assert";
import { accuracy } from "./accuracy.ts";

Deno.test("accuracy() is the fraction of equal positions", () => {
  strictEqual(accuracy([0, 1, 2, 2], [0, 1, 1, 2]), 0.75);
  strictEqual(accuracy([1, 1, 1], [0, 0, 0]), 0);
  strictEqual(accuracy(new Int32Array([2, 0]), [2, 0]), 1);
});

Deno.test("accuracy() throws on empty or mismatched inputs", () => {
  throws(() => accuracy([], []), (e: Error) => e.message === "accuracy() got 0 values: expected at least 1");
  throws(() => accuracy([1], [1, 0]), /accuracy\(\) got inputs of different lengths 1 and 2: expected equal lengths/);
});
