import { deepStrictEqual, ok, throws } from "node:assert";
import { pearsonAndSpearman } from "./pearson_and_spearman.ts";

Deno.test("pearsonAndSpearman() returns pearson, spearmanr and their mean with HF keys", () => {
  const r = pearsonAndSpearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]);
  // Pearson on the raw values: x̄ = 3, ȳ = 6.6; Σdxdy = 6, Σdx² = 10, Σdy² = 5.2 -> 6 / sqrt(52).
  ok(Math.abs(r.pearson - 6 / Math.sqrt(52)) < 1e-12);
  ok(Math.abs(r.spearmanr - 8 / Math.sqrt(95)) < 1e-12);
  ok(Math.abs(r.corr - (r.pearson + r.spearmanr) / 2) < 1e-15);
  deepStrictEqual(Object.keys(r), ["pearson", "spearmanr", "corr"]);
});

Deno.test("pearsonAndSpearman() gives NaN for constant predictions", () => {
  const r = pearsonAndSpearman([3, 3, 3], [1, 2, 3]);
  ok(Number.isNaN(r.pearson) && Number.isNaN(r.spearmanr) && Number.isNaN(r.corr));
  throws(() => pearsonAndSpearman([1], [2]), /at least 2/);
});
