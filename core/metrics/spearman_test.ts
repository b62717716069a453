import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { rankAverage, spearman } from "./spearman.ts";

const close = (a: number, b: number) => ok(Math.abs(a - b) < 1e-12, `${a} is not ${b}`);

Deno.test("rankAverage() gives tied values their average rank", () => {
  deepStrictEqual(rankAverage([5, 6, 7, 8, 7]), [1, 2, 3.5, 5, 3.5]);
  deepStrictEqual(rankAverage([3, 3, 3]), [2, 2, 2]);
  deepStrictEqual(rankAverage([0.5, -1, 2, -1, 0.5, 0.5]), [4, 1.5, 6, 1.5, 4, 4]);
  deepStrictEqual(rankAverage([]), []);
  throws(() => rankAverage([1, NaN]), /rankAverage\(\) got NaN at index 1/);
});

Deno.test("spearman() matches scipy's doc example, derived by hand", () => {
  // ranks x = 1..5, y = [1, 2, 3.5, 5, 3.5]; centered: Σdxdy = 8, Σdx² = 10, Σdy² = 9.5 -> 8 / sqrt(95).
  const rho = spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]);
  close(rho, 8 / Math.sqrt(95));
  close(rho, 0.8207826816681233);
});

Deno.test("spearman() equals 1 - 6Σd²/(n(n²-1)) without ties (Anscombe I)", () => {
  const x = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5];
  const y = [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68];
  const rx = rankAverage(x);
  const ry = rankAverage(y);
  const d2 = rx.reduce((s, r, i) => s + (r - ry[i]!) ** 2, 0);
  strictEqual(d2, 40);
  close(spearman(x, y), 1 - (6 * 40) / (11 * 120));
});

Deno.test("spearman() is invariant to monotone maps and gives ±1 for monotone data", () => {
  const x = [0.3, 1.2, -4, 2.5, 0.9];
  const y = [3, 1, 4, 1, 5];
  close(spearman(x.map(Math.exp), y.map((v) => v ** 3)), spearman(x, y));
  strictEqual(spearman([1, 2, 3, 4], [1, 10, 100, 1000]), 1);
  strictEqual(spearman([1, 2, 3, 4], [9, 8, 7, -100]), -1);
});

Deno.test("spearman() returns NaN for constant input and throws on bad sizes", () => {
  ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
  throws(() => spearman([1], [1]), /spearman\(\) got 1 values: expected at least 2/);
  throws(() => spearman([1, 2], [1]), /different lengths/);
});
