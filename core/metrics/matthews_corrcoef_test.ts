import { ok, strictEqual, throws } from "node:assert";
import { matthewsCorrcoef } from "./matthews_corrcoef.ts";

const close = (a: number, b: number) => ok(Math.abs(a - b) < 1e-12, `${a} is not ${b}`);

Deno.test("matthewsCorrcoef() matches sklearn's doc example", () => {
  // matthews_corrcoef(y_true=[+1, +1, +1, -1], y_pred=[+1, -1, +1, +1]) = -0.333...
  // TP = 2, FN = 1, FP = 1, TN = 0 -> (0 - 1) / sqrt(3·3·1·1) = -1/3.
  close(matthewsCorrcoef([1, -1, 1, 1], [1, 1, 1, -1]), -1 / 3);
});

Deno.test("matthewsCorrcoef() matches a hand-computed binary case", () => {
  // labels 1 1 1 1 0 0 0, preds 1 1 1 0 0 0 1: TP 3, FN 1, TN 2, FP 1 -> (6 - 1) / sqrt(4·4·3·3) = 5/12.
  close(matthewsCorrcoef([1, 1, 1, 0, 0, 0, 1], [1, 1, 1, 1, 0, 0, 0]), 5 / 12);
});

Deno.test("matthewsCorrcoef() is 1 for perfect, -1 for inverted binary predictions", () => {
  strictEqual(matthewsCorrcoef([0, 1, 1, 0], [0, 1, 1, 0]), 1);
  strictEqual(matthewsCorrcoef([1, 0, 0, 1], [0, 1, 1, 0]), -1);
});

Deno.test("matthewsCorrcoef() handles multiclass input (Gorodkin's formula)", () => {
  // s = 6, c = 3, class counts all 2 -> (3·6 - 12) / sqrt((36 - 12)(36 - 12)) = 0.25.
  close(matthewsCorrcoef([0, 1, 1, 2, 2, 0], [0, 0, 1, 1, 2, 2]), 0.25);
  // A derangement of 3 classes: c = 1, s = 3 -> (3 - 3) / 6 = 0.
  strictEqual(matthewsCorrcoef([0, 2, 1], [0, 1, 2]), 0);
});

Deno.test("matthewsCorrcoef() is symmetric and invariant to renaming classes", () => {
  const p = [1, 1, 1, 0, 0, 0, 1];
  const t = [1, 1, 1, 1, 0, 0, 0];
  close(matthewsCorrcoef(t, p), matthewsCorrcoef(p, t));
  close(matthewsCorrcoef(p.map((v) => (v ? 7 : -3)), t.map((v) => (v ? 7 : -3))), matthewsCorrcoef(p, t));
});

Deno.test("matthewsCorrcoef() returns 0 for a constant prediction or constant labels (sklearn)", () => {
  strictEqual(matthewsCorrcoef([1, 1, 1, 1], [1, 0, 1, 0]), 0);
  strictEqual(matthewsCorrcoef([1, 0, 1, 0], [0, 0, 0, 0]), 0);
  strictEqual(matthewsCorrcoef([1], [1]), 0);
});

Deno.test("matthewsCorrcoef() throws on empty or mismatched inputs", () => {
  throws(() => matthewsCorrcoef([], []), /matthewsCorrcoef\(\) got 0 values: expected at least 1/);
  throws(() => matthewsCorrcoef([1, 0], [1]), /different lengths 2 and 1/);
});
