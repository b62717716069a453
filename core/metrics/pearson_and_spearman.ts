/**
 * HF's `pearson_and_spearman` (STS-B).
 *
 * @module
 */

import { pearson } from "./pearson.ts";
import { spearman } from "./spearman.ts";

/** The dict HF's `pearson_and_spearman` returns. */
export interface PearsonAndSpearman {
  /** Pearson's r. */
  pearson: number;
  /** Spearman's ρ. */
  spearmanr: number;
  /** Their mean, `(pearson + spearmanr) / 2`. */
  corr: number;
}

/**
 * Pearson's r, Spearman's ρ and their mean, with HF's keys. Constant input gives `NaN` values.
 *
 * @param preds Predicted scores.
 * @param labels True scores.
 * @returns `{ pearson, spearmanr, corr }`.
 * @throws {Error} When the inputs differ in length or have fewer than 2 values.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 *
 * deepStrictEqual(pearsonAndSpearman([1, 2, 3], [10, 20, 30]), { pearson: 1, spearmanr: 1, corr: 1 });
 * ```
 */
export function pearsonAndSpearman(preds: ArrayLike<number>, labels: ArrayLike<number>): PearsonAndSpearman {
  const p = pearson(preds, labels);
  const s = spearman(preds, labels);
  return { pearson: p, spearmanr: s, corr: (p + s) / 2 };
}
