import { ok, strictEqual, throws } from "node:assert";
import { pearson } from "./pearson.ts";

const close = (a: number, b: number, tol = 1e-12) => ok(Math.abs(a - b) < tol, `${a} is not ${b}`);

Deno.test("pearson() matches scipy's doc example, derived by hand", () => {
  // x = 1..7 (x̄ = 4, Σ(x-x̄)² = 28), y = [10, 9, 2.5, 6, 4, 3, 2]: Σ(x-x̄)y = -34.5,
  // Σ(y-ȳ)² = 252.25 - 36.5²/7 = 433.5/7, so r = -34.5 / sqrt(28 · 433.5 / 7) = -34.5 / sqrt(1734) = -0.8285…
  const r = pearson([1, 2, 3, 4, 5, 6, 7], [10, 9, 2.5, 6, 4, 3, 2]);
  close(r, -34.5 / Math.sqrt(1734));
  close(r, -0.8285038835884277);
});

Deno.test("pearson() gives r = 0.816 on Anscombe's quartet, set I", () => {
  const x = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5];
  const y = [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68];
  close(pearson(x, y), 0.816, 5e-4);
});

Deno.test("pearson() is symmetric and invariant to positive affine maps", () => {
  const x = [1, 4, 2, 8, 5];
  const y = [2, 3, 3, 9, 4];
  const r = pearson(x, y);
  close(pearson(y, x), r);
  close(pearson(x.map((v) => 3 * v - 7), y.map((v) => 0.5 * v + 100)), r);
  close(pearson(x.map((v) => -v), y), -r);
  close(pearson(new Float32Array(x), y), r);
});

Deno.test("pearson() returns exactly ±1 for exact lines", () => {
  strictEqual(pearson([0.1, 0.2, 0.3], [0.3, 0.6, 0.9]), 1);
  strictEqual(pearson([1, 2, 3, 4], [-2, -4, -6, -8]), -1);
});

Deno.test("pearson() returns NaN for constant input", () => {
  ok(Number.isNaN(pearson([2, 2, 2], [1, 2, 3])));
  ok(Number.isNaN(pearson([1, 2, 3], [5, 5, 5])));
});

Deno.test("pearson() throws on fewer than 2 values or mismatched lengths", () => {
  throws(() => pearson([], []), /pearson\(\) got 0 values: expected at least 2/);
  throws(() => pearson([1], [1]), /pearson\(\) got 1 values: expected at least 2/);
  throws(() => pearson([1, 2], [1, 2, 3]), /different lengths 2 and 3/);
});
