import { strictEqual, throws } from "node:assert";
import { f1 } from "./f1.ts";

Deno.test("f1() matches hand-computed binary cases", () => {
  // preds, labels: TP = 2, FP = 1, FN = 1 -> P = R = 2/3 -> F1 = 2/3.
  strictEqual(f1([1, 0, 1, 0, 1], [1, 1, 0, 0, 1]), 2 / 3);
  // TP = 1, FP = 0, FN = 2 -> P = 1, R = 1/3 -> F1 = 2·1·(1/3) / (4/3) = 1/2.
  strictEqual(f1([1, 0, 0, 0], [1, 1, 1, 0]), 0.5);
  // TP = 3, FP = 2, FN = 0 -> P = 3/5, R = 1 -> F1 = 0.75.
  strictEqual(f1([1, 1, 1, 1, 1], [1, 1, 1, 0, 0]), 0.75);
  strictEqual(f1([1, 0], [1, 0]), 1);
});

Deno.test("f1() only scores class 1: true negatives do not count", () => {
  strictEqual(f1([1, 0, 1, 0, 1, 0, 0, 0], [1, 1, 0, 0, 1, 0, 0, 0]), f1([1, 0, 1, 0, 1], [1, 1, 0, 0, 1]));
  strictEqual(f1([0, 0, 0], [1, 1, 0]), 0);
});

Deno.test("f1() returns 0 when there are no positives at all (sklearn zero_division default)", () => {
  // sklearn docs: f1_score([0]*6, [0]*6) warns and gives 0.0 (1.0 only with zero_division=1).
  strictEqual(f1([0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]), 0);
});

Deno.test("f1() throws on non-binary, empty or mismatched inputs", () => {
  throws(
    () => f1([0, 2], [0, 1]),
    (e: Error) => e.message === "f1() got prediction 2 and label 1 at index 1: expected binary values 0 or 1",
  );
  throws(() => f1([], []), /f1\(\) got 0 values/);
  throws(() => f1([0], [0, 1]), /different lengths 1 and 2/);
});
