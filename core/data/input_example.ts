/**
 * The example type every reader returns, and the conversion of its labels to model label indices.
 *
 * @module
 */

import { excerpt } from "../checkpoint/_describe.ts";

/** How a task's labels are predicted: one class out of a list, or one real number. */
export type OutputMode = "classification" | "regression";

/**
 * One sentence or sentence pair with its label, like HF's `InputExample`.
 * `label` is the label string for classification, a number for regression, and `undefined` for test splits.
 */
export interface InputExample {
  /** Unique id, e.g. `"dev-12"` (HF's `guid`). */
  guid: string;
  /** The first (or only) sentence. */
  textA: string;
  /** The second sentence of a pair task. */
  textB?: string;
  /** The label: a string for classification, a number for regression, `undefined` when unlabeled. */
  label: string | number | undefined;
}

/** What {@linkcode labelIds} needs to know about a task: its label list and its output mode. */
export interface LabelSpec {
  /** Label strings in model output order (index = class id). Ignored for regression. */
  readonly labels: readonly string[];
  /** `"classification"` maps labels to indices; `"regression"` keeps numbers. */
  readonly outputMode: OutputMode;
}

/**
 * Converts example labels to the numbers a model is trained and scored on, like HF's
 * `convert_examples_to_features`: the label's index in `spec.labels` for classification, the float
 * value itself for regression.
 *
 * @param examples The examples, in order.
 * @param spec The label list and output mode (a `GlueTask` or `TabularData` fits).
 * @returns One number per example.
 * @throws {Error} When an example has no label, a label is not in the list, or a regression label is not a number.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 *
 * const examples = [
 *   { guid: "dev-1", textA: "good", label: "1" },
 *   { guid: "dev-2", textA: "bad", label: "0" },
 * ];
 * deepStrictEqual(labelIds(examples, { labels: ["0", "1"], outputMode: "classification" }), [1, 0]);
 * ```
 */
export function labelIds(examples: readonly InputExample[], spec: LabelSpec): number[] {
  const index = new Map(spec.labels.map((label, i) => [label, i]));
  return examples.map((example) => {
    const { label, guid } = example;
    if (label === undefined) throw new Error(`Example "${excerpt(guid)}" has no label: expected a labeled split`);
    if (spec.outputMode === "regression") {
      const value = typeof label === "number" ? label : Number(label.trim());
      if (typeof label === "string" && label.trim() === "" || !Number.isFinite(value)) {
        throw new Error(`Example "${excerpt(guid)}" has label "${excerpt(String(label))}": expected a finite number`);
      }
      return value;
    }
    const id = index.get(String(label));
    if (id === undefined) {
      const known = excerpt(spec.labels.map((l) => `"${l}"`).join(", "), 200);
      throw new Error(
        `Example "${excerpt(guid)}" has unknown label "${excerpt(String(label))}": expected one of ${known}`,
      );
    }
    return id;
  });
}
