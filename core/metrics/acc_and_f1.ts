/**
 * HF's `acc_and_f1` (MRPC, QQP).
 *
 * @module
 */

import { accuracy } from "./accuracy.ts";
import { f1 } from "./f1.ts";

/** The dict HF's `acc_and_f1` returns. */
export interface AccAndF1 {
  /** Accuracy. */
  acc: number;
  /** Binary F1 of class 1. */
  f1: number;
  /** Their mean, `(acc + f1) / 2`. */
  acc_and_f1: number;
}

/**
 * Accuracy, binary F1 (positive class 1) and their mean, with HF's keys.
 *
 * @param preds Predicted classes (0 or 1).
 * @param labels True classes (0 or 1).
 * @returns `{ acc, f1, acc_and_f1 }`.
 * @throws {Error} When the inputs are empty, differ in length or are not binary.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 *
 * deepStrictEqual(accAndF1([1, 1, 0, 0], [1, 0, 0, 0]), { acc: 0.75, f1: 2 / 3, acc_and_f1: (0.75 + 2 / 3) / 2 });
 * ```
 */
export function accAndF1(preds: ArrayLike<number>, labels: ArrayLike<number>): AccAndF1 {
  const acc = accuracy(preds, labels);
  const f = f1(preds, labels);
  return { acc, f1: f, acc_and_f1: (acc + f) / 2 };
}
