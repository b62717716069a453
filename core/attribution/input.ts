/**
 * What every attribution shares: one tokenised sequence, its batch (repeated over rows for batched steps),
 * the position a model's output is read at, and the target logit (the predicted class or next token unless
 * one is chosen).
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { Batch } from "../models/inputs.ts";
import type { TransformerModel } from "../models/model.ts";

/** One tokenised sequence (special tokens included), as `tokenizer.encode` gives it. */
export interface AttributionInput {
  /** Token ids. */
  inputIds: readonly number[];
  /** Segment ids (BERT pairs); zeros when absent. */
  tokenTypeIds?: readonly number[];
}

/**
 * The batch of `rows` copies of one sequence.
 *
 * @throws {Error} for an empty sequence or segment ids of another length
 * @example Usage
 * ```ts
 * import { repeatedBatch } from "./input.ts";
 * repeatedBatch({ inputIds: [2, 45, 3] }, 2).inputIds; // Int32Array [2, 45, 3, 2, 45, 3]
 * ```
 */
export function repeatedBatch(input: AttributionInput, rows = 1): Batch {
  const T = input.inputIds.length;
  if (T === 0) throw new Error("inputIds is empty: nothing to attribute");
  const types = input.tokenTypeIds;
  if (types !== undefined && types.length !== T) {
    throw new Error(`tokenTypeIds has ${types.length} values for ${T} inputIds`);
  }
  const inputIds = new Int32Array(rows * T);
  for (let r = 0; r < rows; r++) inputIds.set(input.inputIds, r * T);
  const batch: Batch = { batchSize: rows, seqLen: T, inputIds };
  if (types !== undefined) {
    const tokenTypeIds = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++) tokenTypeIds.set(types, r * T);
    batch.tokenTypeIds = tokenTypeIds;
  }
  return batch;
}

/**
 * The position whose output the model's prediction is read from: the first token for a classifier or
 * regressor (the `[CLS]` its pooler reads), the last token for a language model (its next-token prediction).
 *
 * @example Usage
 * ```ts
 * import { outputPosition } from "./input.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * outputPosition(model, 5); // 4
 * ```
 */
export function outputPosition(model: TransformerModel, seqLen: number): number {
  return model.task === "lm" ? seqLen - 1 : 0;
}

/**
 * The logits the prediction is read from, one row per batch row: a classifier's [B, labels], a language
 * model's next-token logits at each row's last position [B, vocab] (through the logit lens of the last block,
 * which equals the model's logits, so no [B, T, vocab] tensor is made).
 *
 * @param model the model
 * @param batch the batch
 * @param patch patches for the run (activation patching)
 * @returns row-major [B, width] logits and the width
 * @example Usage
 * ```ts
 * import { outputLogits, repeatedBatch } from "./input.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * outputLogits(model, repeatedBatch({ inputIds: [27, 70, 82] }, 2)).width; // 50257 (the vocabulary)
 * ```
 */
export function outputLogits(
  model: TransformerModel,
  batch: Batch,
  patch?: ReadonlyMap<string, (values: Float32Array, shape: readonly number[]) => void>,
): { data: Float32Array; width: number } {
  if (model.task !== "lm") {
    const { logits } = model.run({ batch, ...(patch ? { patch } : {}) });
    if (logits === undefined) throw new Error("This checkpoint has no classifier head: it gives no logits");
    return { data: logits.data, width: logits.shape[1]! };
  }
  const last = hookName("resid_post", model.config.layers - 1);
  const { cache } = model.run({ batch, names: [last], ...(patch ? { patch } : {}) });
  const resid = cache.get(last)!;
  const { batchSize: B, seqLen: T } = batch;
  const C = model.config.hidden;
  const rows = new Float32Array(B * C);
  for (let b = 0; b < B; b++) rows.set(resid.data.subarray((b * T + T - 1) * C, (b * T + T) * C), b * C);
  const logits = model.unembed({ shape: [B, C], data: rows });
  return { data: logits.data, width: logits.shape[1]! };
}

/**
 * Index of the largest value of `row` (first on ties), skipping index `skip`.
 *
 * @example Usage
 * ```ts
 * import { argmax } from "./input.ts";
 * argmax([0.1, 3, 2]); // 1
 * argmax([0.1, 3, 2], 1); // 2
 * ```
 */
export function argmax(row: ArrayLike<number>, skip = -1): number {
  let best = -1;
  for (let i = 0; i < row.length; i++) {
    if (i !== skip && (best < 0 || row[i]! > row[best]!)) best = i;
  }
  return best;
}

/**
 * The target logit: `target` when given (checked against the logits' width), else the prediction — the
 * top class of a classifier (0 for a regressor's single output), the top next token of a language model.
 *
 * @throws {Error} naming `target`, for an index outside the logits
 * @example Usage
 * ```ts
 * import { resolveTarget } from "./input.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * resolveTarget(model, { inputIds: [2, 45, 3] }); // the predicted class, 0 or 1
 * ```
 */
export function resolveTarget(model: TransformerModel, input: AttributionInput, target?: number): number {
  const { data, width } = outputLogits(model, repeatedBatch(input));
  if (target === undefined) return argmax(data);
  if (!Number.isInteger(target) || target < 0 || target >= width) {
    const what = model.task === "lm" ? "vocabulary ids" : "classes";
    throw new Error(`target ${target} is outside the model's ${width} ${what} (0..${width - 1})`);
  }
  return target;
}
