/**
 * Turns tokenized examples into padded batches (row-major `Int32Array`s): in input order, or length-bucketed
 * (examples of similar length batched together, so each batch is padded only to its own longest row). Every
 * batch names the inputs its rows are (`rows`), so results can be put back in input order.
 * Independent of any tokenizer: it takes `{ ids, tokenTypeIds }` objects or plain id arrays.
 *
 * @module
 */

import type { OutputMode } from "./input_example.ts";

/** One tokenized example: token ids and segment ids of equal length (already truncated by the tokenizer). */
export interface EncodedInput {
  /** Token ids, including special tokens. */
  ids: readonly number[];
  /** Segment (token type) ids, same length as `ids`. */
  tokenTypeIds: readonly number[];
}

/** A padded batch. Arrays are row-major `[batchSize, seqLen]`; padding is on the right. */
export interface PaddedBatch {
  /** Token ids, padded with the pad id. */
  inputIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
  /** Segment ids, padded with 0. */
  tokenTypeIds: Int32Array;
  /** One label per row: class ids (`Int32Array`) or regression targets (`Float32Array`); `undefined` without labels. */
  labels: Int32Array | Float32Array | undefined;
  /** Number of rows. */
  batchSize: number;
  /** Row length. */
  seqLen: number;
  /** Row b is input `rows[b]` (input order unless bucketed). */
  rows: number[];
}

/** Options for {@linkcode makeBatches}. */
export interface BatchOptions {
  /** Rows per batch (the last batch may be smaller). */
  batchSize: number;
  /** Id used for padding `inputIds`. Default 0 (BERT's `[PAD]`). */
  padId?: number | undefined;
  /**
   * Pad every batch to this length (HF `pad_to_max_length` with `max_seq_length`). Default: the longest
   * input of each batch. An input longer than this is an error: truncate in the tokenizer.
   */
  seqLen?: number | undefined;
  /** One label per input (class ids, or floats for regression). */
  labels?: ArrayLike<number> | undefined;
  /** `"classification"` (default) stores labels as `Int32Array`, `"regression"` as `Float32Array`. */
  outputMode?: OutputMode | undefined;
  /**
   * Length bucketing: batch the inputs sorted by length (ties in input order), shortest batch first, so little
   * padding is left once each batch is trimmed to its longest row. Default false: input order.
   */
  bucket?: boolean | undefined;
}

/**
 * Splits inputs into batches of `batchSize` — in order, or by length when `bucket` — and right-pads each to a
 * common length (its longest row, or `seqLen`). A plain `number[]` input is taken as token ids with all token
 * type ids 0.
 *
 * @param inputs Tokenized examples (`{ ids, tokenTypeIds }`) or id arrays.
 * @param options Batch size, pad id, fixed length and labels.
 * @returns The batches, covering every input once (`rows` says which).
 * @throws {Error} When `batchSize`/`seqLen` is invalid, an input is empty, longer than `seqLen` or has
 * mismatched `tokenTypeIds`, an id is not an integer, or labels do not match the inputs.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 *
 * const batch = makeBatches(
 *   [{ ids: [101, 7, 102], tokenTypeIds: [0, 0, 0] }, { ids: [101, 102], tokenTypeIds: [0, 0] }],
 *   { batchSize: 8, labels: [1, 0] },
 * )[0]!;
 * deepStrictEqual([...batch.inputIds], [101, 7, 102, 101, 102, 0]);
 * deepStrictEqual([...batch.attentionMask], [1, 1, 1, 1, 1, 0]);
 * deepStrictEqual([batch.batchSize, batch.seqLen], [2, 3]);
 * ```
 */
export function makeBatches(
  inputs: readonly (EncodedInput | readonly number[])[],
  options: BatchOptions,
): PaddedBatch[] {
  const { batchSize, padId = 0, seqLen: fixed, labels, outputMode = "classification", bucket = false } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`Invalid batchSize ${batchSize}: expected a positive integer`);
  }
  if (fixed !== undefined && (!Number.isInteger(fixed) || fixed < 1)) {
    throw new Error(`Invalid seqLen ${fixed}: expected a positive integer`);
  }
  if (!Number.isInteger(padId)) throw new Error(`Invalid padId ${padId}: expected an integer`);
  if (labels !== undefined && labels.length !== inputs.length) {
    throw new Error(`Got ${labels.length} labels for ${inputs.length} inputs: expected one label per input`);
  }
  const encoded = inputs.map((input, i): EncodedInput => {
    const e = isEncoded(input) ? input : { ids: input, tokenTypeIds: new Array<number>(input.length).fill(0) };
    if (e.ids.length === 0) throw new Error(`Input ${i} has no tokens`);
    if (e.tokenTypeIds.length !== e.ids.length) {
      throw new Error(
        `Input ${i} has ${e.ids.length} ids but ${e.tokenTypeIds.length} tokenTypeIds: expected equal lengths`,
      );
    }
    if (fixed !== undefined && e.ids.length > fixed) {
      throw new Error(`Input ${i} has ${e.ids.length} tokens, more than seqLen ${fixed}: truncate it in the tokenizer`);
    }
    for (let t = 0; t < e.ids.length; t++) {
      if (!Number.isInteger(e.ids[t]) || !Number.isInteger(e.tokenTypeIds[t])) {
        throw new Error(`Input ${i} position ${t}: ids and tokenTypeIds must be integers`);
      }
    }
    if (labels !== undefined && outputMode === "classification" && !Number.isInteger(labels[i])) {
      throw new Error(`Label ${i} is ${labels[i]}: expected an integer class id for classification`);
    }
    return e;
  });
  const order = encoded.map((_, i) => i);
  // Array.prototype.sort is stable: equal lengths keep input order
  if (bucket) order.sort((a, b) => encoded[a]!.ids.length - encoded[b]!.ids.length);
  const batches: PaddedBatch[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const index = order.slice(start, start + batchSize);
    const rows = index.map((i) => encoded[i]!);
    const seqLen = fixed ?? Math.max(...rows.map((r) => r.ids.length));
    const inputIds = new Int32Array(rows.length * seqLen).fill(padId);
    const attentionMask = new Int32Array(rows.length * seqLen);
    const tokenTypeIds = new Int32Array(rows.length * seqLen);
    rows.forEach((r, b) => {
      inputIds.set(r.ids, b * seqLen);
      tokenTypeIds.set(r.tokenTypeIds, b * seqLen);
      attentionMask.fill(1, b * seqLen, b * seqLen + r.ids.length);
    });
    let batchLabels: Int32Array | Float32Array | undefined;
    if (labels !== undefined) {
      batchLabels = outputMode === "regression" ? new Float32Array(rows.length) : new Int32Array(rows.length);
      for (let b = 0; b < rows.length; b++) batchLabels[b] = labels[index[b]!]!;
    }
    batches.push({
      inputIds,
      attentionMask,
      tokenTypeIds,
      labels: batchLabels,
      batchSize: rows.length,
      seqLen,
      rows: index,
    });
  }
  return batches;
}

function isEncoded(input: EncodedInput | readonly number[]): input is EncodedInput {
  return !Array.isArray(input);
}
