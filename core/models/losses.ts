/**
 * The loss each task kind takes, in one place for the WASM engine (`model.ts`), the ONNX exporter and
 * `OrtModel`: what its labels are, their checks, and how many predictions the loss averages over. Every
 * `switch` on a task kind ends in {@linkcode unreachableTask}, so adding a kind fails to type-check wherever it
 * is not handled.
 *
 * | task       | labels                                         | loss                                     |
 * | ---------- | ---------------------------------------------- | ---------------------------------------- |
 * | `classify` | one class index per row                        | mean cross-entropy over rows             |
 * | `regress`  | one real value per row                         | mean squared error over rows             |
 * | `lm`       | `"lm"`: each position predicts the next token  | mean cross-entropy over real next tokens |
 * | `mlm`      | one token id per position, −100 = not counted  | mean cross-entropy over counted tokens   |
 *
 * @example Usage
 * ```ts
 * import { labelKind } from "./losses.ts";
 * labelKind("mlm"); // "per_position"
 * ```
 *
 * @module
 */

import type { ModelConfig, TaskKind } from "./config.ts";
import type { Batch } from "./inputs.ts";

/** The ignore index of masked-LM labels (HF's `-100`). */
export const IGNORE_INDEX = -100;

/** What a task's labels are: none (next token), one per row (class or value), one per position. */
export type LabelKind = "next_token" | "per_row_class" | "per_row_value" | "per_position";

/** The exhaustiveness check that ends every switch on a task kind. */
export function unreachableTask(task: never): never {
  throw new Error(`Unknown task kind ${JSON.stringify(task)}`);
}

/** What the labels of a task kind are. */
export function labelKind(task: TaskKind): LabelKind {
  switch (task) {
    case "classify":
      return "per_row_class";
    case "regress":
      return "per_row_value";
    case "lm":
      return "next_token";
    case "mlm":
      return "per_position";
    default:
      return unreachableTask(task);
  }
}

/**
 * Checks labels against a task and a batch, and returns how many predictions the loss averages over.
 *
 * @param labels `"lm"`, or per-row classes / values, or per-position token ids (−100 = not counted)
 * @throws {Error} for labels of the wrong kind or length, a class outside the labels, or a token outside the
 *   vocabulary — each as one sentence
 */
export function checkLabels(
  config: ModelConfig,
  batch: Batch,
  labels: ArrayLike<number> | "lm",
): number {
  const B = batch.batchSize, T = batch.seqLen;
  const kind = labelKind(config.task);
  if (kind === "next_token") {
    if (labels !== "lm") throw new Error(`A language model takes labels "lm" (next-token prediction)`);
    return countNextTokens(batch);
  }
  if (labels === "lm") {
    throw new Error(
      kind === "per_position"
        ? `A masked LM takes one label per position (token ids, -100 = not predicted), not "lm"`
        : `labels "lm" are for language models; a ${config.task} model needs per-row labels`,
    );
  }
  switch (kind) {
    case "per_row_value":
      if (labels.length !== B) throw new Error(`labels has ${labels.length} values for a batch of ${B}`);
      if (config.labels.length !== 1) {
        throw new Error("A regression model must have exactly one output (num_labels = 1)");
      }
      return B;
    case "per_row_class": {
      if (labels.length !== B) throw new Error(`labels has ${labels.length} values for a batch of ${B}`);
      const L = config.labels.length;
      for (let i = 0; i < B; i++) {
        const t = labels[i]!;
        if (!Number.isInteger(t) || t < 0 || t >= L) {
          throw new Error(`labels[${i}] = ${t} is outside the model's ${L} classes (0..${L - 1})`);
        }
      }
      return B;
    }
    case "per_position": {
      if (labels.length !== B * T) {
        throw new Error(`labels has ${labels.length} values; a masked LM needs one per position (B·T = ${B * T})`);
      }
      let counted = 0;
      for (let i = 0; i < labels.length; i++) {
        const t = labels[i]!;
        if (t === IGNORE_INDEX) continue;
        if (!Number.isInteger(t) || t < 0 || t >= config.vocabSize) {
          throw new Error(`labels[${i}] = ${t} is neither ${IGNORE_INDEX} nor a token id (0..${config.vocabSize - 1})`);
        }
        counted++;
      }
      return counted;
    }
    default:
      return unreachableTask(kind as never);
  }
}

/** The next-token predictions a right-padded batch holds: every real token but each row's first. */
export function countNextTokens(batch: Batch): number {
  const { batchSize: B, seqLen: T, attentionMask: mask } = batch;
  if (!mask) return B * (T - 1);
  let n = 0;
  for (let b = 0; b < B; b++) for (let t = 1; t < T; t++) n += mask[b * T + t]!;
  return n;
}
