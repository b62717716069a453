/**
 * A padded batch of token ids, its checks, and its placement in kernel memory for one run.
 *
 * @module
 */

import type { Ptr } from "../kernels/types.ts";
import { keptHeads, type ModelConfig } from "./config.ts";
import type { KvCache } from "./kv_cache.ts";
import type { Run } from "./run.ts";

/** A right-padded batch: `[batchSize, seqLen]` row-major arrays. */
export interface Batch {
  /** Rows. */
  batchSize: number;
  /** Tokens per row, padding included. */
  seqLen: number;
  /** Token ids [batchSize, seqLen]. */
  inputIds: Int32Array;
  /** 1 for a real token, 0 for padding; all ones when absent. */
  attentionMask?: Int32Array;
  /** BERT segment ids; zeros when absent. */
  tokenTypeIds?: Int32Array;
}

/**
 * Builds a {@linkcode Batch} from nested arrays (the layout of the `*.inputs.json` files).
 *
 * @throws {Error} naming `source` and the field, for ragged rows or non-integer values
 * @example Usage
 * ```ts
 * import { batchFromArrays } from "./inputs.ts";
 * const batch = batchFromArrays({ input_ids: [[101, 2023, 102]], attention_mask: [[1, 1, 1]] }, "example");
 * batch.seqLen; // 3
 * ```
 */
export function batchFromArrays(
  fields: { input_ids: unknown; attention_mask?: unknown; token_type_ids?: unknown },
  source: string,
): Batch {
  const ids = matrix(fields.input_ids, "input_ids", source);
  const B = ids.length, T = B > 0 ? ids[0]!.length : 0;
  const flat = (rows: number[][], field: string) => {
    if (rows.length !== B || rows.some((r) => r.length !== T)) {
      throw new Error(`${source}: field "${field}" must have shape [${B}, ${T}] like "input_ids"`);
    }
    return Int32Array.from(rows.flat());
  };
  const batch: Batch = { batchSize: B, seqLen: T, inputIds: flat(ids, "input_ids") };
  if (fields.attention_mask !== undefined) {
    batch.attentionMask = flat(matrix(fields.attention_mask, "attention_mask", source), "attention_mask");
  }
  if (fields.token_type_ids !== undefined) {
    batch.tokenTypeIds = flat(matrix(fields.token_type_ids, "token_type_ids", source), "token_type_ids");
  }
  return batch;
}

function matrix(value: unknown, field: string, source: string): number[][] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((r) => Array.isArray(r))) {
    throw new Error(`${source}: field "${field}" must be a non-empty array of arrays of integers`);
  }
  const rows = value as unknown[][];
  if (rows.some((r) => r.some((v) => typeof v !== "number" || !Number.isInteger(v)))) {
    throw new Error(`${source}: field "${field}" must hold integers only`);
  }
  if (rows.some((r) => r.length !== rows[0]!.length)) {
    throw new Error(`${source}: rows of "${field}" have different lengths`);
  }
  return rows as number[][];
}

/** Number of non-pad tokens in a batch. */
export function countTokens(batch: Batch): number {
  if (!batch.attentionMask) return batch.batchSize * batch.seqLen;
  let n = 0;
  for (const m of batch.attentionMask) n += m;
  return n;
}

/**
 * Checks a batch against a model config: ids within the vocabulary, token types within `type_vocab_size`,
 * length within `max_position_embeddings`, mask values 0/1.
 *
 * @throws {Error} naming the field and the offending value
 */
export function checkBatch(batch: Batch, config: ModelConfig): void {
  const { batchSize: B, seqLen: T } = batch;
  if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1) {
    throw new Error(`Batch must have at least one row and one token, got [${B}, ${T}]`);
  }
  if (batch.inputIds.length !== B * T) {
    throw new Error(`"input_ids" has ${batch.inputIds.length} values, expected ${B * T}`);
  }
  if (T > config.maxPositions) {
    throw new Error(
      `Sequence length ${T} is longer than the model's max_position_embeddings (${config.maxPositions})`,
    );
  }
  for (let i = 0; i < batch.inputIds.length; i++) {
    const id = batch.inputIds[i]!;
    if (id < 0 || id >= config.vocabSize) {
      throw new Error(
        `"input_ids"[${Math.floor(i / T)}][${i % T}] = ${id} is outside the vocabulary (size ${config.vocabSize})`,
      );
    }
  }
  if (batch.attentionMask) {
    if (batch.attentionMask.length !== B * T) throw new Error(`"attention_mask" must have shape [${B}, ${T}]`);
    if (batch.attentionMask.some((m) => m !== 0 && m !== 1)) throw new Error(`"attention_mask" must hold only 0 and 1`);
  }
  if (batch.tokenTypeIds) {
    if (batch.tokenTypeIds.length !== B * T) throw new Error(`"token_type_ids" must have shape [${B}, ${T}]`);
    const max = Math.max(1, config.typeVocabSize);
    const bad = batch.tokenTypeIds.findIndex((t) => t < 0 || t >= max);
    if (bad >= 0) {
      throw new Error(
        `"token_type_ids"[${Math.floor(bad / T)}][${bad % T}] = ${batch.tokenTypeIds[bad]} is outside 0..${max - 1}`,
      );
    }
  }
}

/** A head mask: [layers][heads] of any real values (1 keeps a head, 0 masks it). */
export type HeadMask = ArrayLike<ArrayLike<number>>;

/**
 * Checks a head mask's shape: `layers` rows of `heads` finite numbers (original head numbering).
 *
 * @throws {Error} naming the expected and actual shape
 */
export function checkHeadMask(mask: HeadMask, config: ModelConfig, source = "head mask"): void {
  const rows = mask.length;
  if (
    rows !== config.layers ||
    Array.from({ length: rows }, (_, l) => mask[l]).some((r) => !r || r.length !== config.heads)
  ) {
    const shape = `[${rows}, ${rows > 0 && mask[0] ? mask[0].length : "?"}]`;
    throw new Error(`${source} must have shape [${config.layers}, ${config.heads}] (layers, heads), got ${shape}`);
  }
  for (let l = 0; l < rows; l++) {
    for (let h = 0; h < config.heads; h++) {
      if (!Number.isFinite(mask[l]![h])) {
        throw new Error(`${source}[${l}][${h}] = ${mask[l]![h]} is not a finite number`);
      }
    }
  }
}

/**
 * An MLP neuron mask: per layer, one multiplier per neuron the layer holds (`intermediateSizes[l]`, in the
 * layer's current numbering), applied to the activation before the MLP's output projection.
 */
export type NeuronMask = ArrayLike<ArrayLike<number>>;

/**
 * Checks a neuron mask's shape: `layers` rows, row `l` of `intermediateSizes[l]` finite numbers.
 *
 * @throws {Error} naming the row and its expected length, or the entry that is not finite
 */
export function checkNeuronMask(mask: NeuronMask, config: ModelConfig, source = "neuron mask"): void {
  if (mask.length !== config.layers) {
    throw new Error(`${source} must have ${config.layers} rows (one per layer), got ${mask.length}`);
  }
  for (let l = 0; l < config.layers; l++) {
    const row = mask[l], I = config.intermediateSizes[l]!;
    if (!row || row.length !== I) {
      throw new Error(`${source}[${l}] must have ${I} entries (the layer's MLP width), got ${row?.length ?? 0}`);
    }
    for (let j = 0; j < I; j++) {
      if (!Number.isFinite(row[j])) throw new Error(`${source}[${l}][${j}] = ${row[j]} is not a finite number`);
    }
  }
}

/**
 * Places a neuron mask in the run's memory (per layer: its multipliers, or 0 for none) and, when
 * `wantGrad`, a zeroed buffer per layer receiving dL/dmask (a mask of ones stands in when none was given).
 */
export function placeNeuronMask(
  run: Run,
  inputs: ArenaInputs,
  config: ModelConfig,
  mask: NeuronMask | undefined,
  wantGrad: boolean,
): void {
  if (mask === undefined && !wantGrad) return;
  inputs.neuronMask = [];
  inputs.neuronMaskGrad = [];
  for (let l = 0; l < config.layers; l++) {
    const I = config.intermediateSizes[l]!;
    const values = mask === undefined ? new Float32Array(I).fill(1) : Float32Array.from(mask[l]!);
    inputs.neuronMask.push(I > 0 ? run.floats(values) : 0);
    inputs.neuronMaskGrad.push(wantGrad && I > 0 ? run.act([I]).ptr : 0);
  }
}

/**
 * The position id of every token [B·T], by the config's position scheme: `t + offset`, or RoBERTa's
 * `padding_idx + (number of non-pad tokens up to and including t)` on real tokens and `padding_idx` on pads
 * (HF's `create_position_ids_from_input_ids`: pads are found by id, not by the attention mask). `past`: the
 * positions a KV cache already holds before the batch's tokens (index scheme only).
 *
 * @example Usage
 * ```ts
 * import { positionIds } from "./inputs.ts";
 * const batch = { batchSize: 1, seqLen: 4, inputIds: Int32Array.from([0, 7, 2, 1]) };
 * const scheme = { kind: "after_padding", paddingIdx: 1 } as const;
 * positionIds(batch, { positions: scheme }); // Int32Array [2, 3, 4, 1]
 * ```
 */
export function positionIds(batch: Batch, config: Pick<ModelConfig, "positions">, past = 0): Int32Array {
  const { batchSize: B, seqLen: T, inputIds } = batch;
  const out = new Int32Array(B * T);
  const scheme = config.positions;
  if (past !== 0 && scheme.kind !== "index") {
    throw new Error("A KV cache needs positions numbered by index (this model numbers them after its padding)");
  }
  for (let b = 0; b < B; b++) {
    let seen = 0;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (scheme.kind === "index") out[i] = past + t + scheme.offset;
      else if (inputIds[i] === scheme.paddingIdx) out[i] = scheme.paddingIdx;
      else out[i] = scheme.paddingIdx + ++seen;
    }
  }
  return out;
}

/** The batch in kernel memory for one run, plus per-layer head-mask buffers (kept heads only). */
export interface ArenaInputs {
  /** Batch size. */
  B: number;
  /** Sequence length. */
  T: number;
  /** i32 token ids [B, T]. */
  ids: Ptr;
  /** i32 position ids [B, T]. */
  positions: Ptr;
  /** i32 token type ids [B, T]. */
  tokenTypes: Ptr;
  /** f32 [B, T] (1 real / 0 pad). */
  keyMask: Ptr;
  /** Per layer: H_l floats (0 = no mask). */
  headMask: Ptr[];
  /** Per layer: H_l floats receiving dL/dmask — [B, H_l] when `headMaskGradPerRow` (0 = not wanted). */
  headMaskGrad: Ptr[];
  /** Whether `headMaskGrad` keeps each batch row's share of the gradient apart ([B, H_l] per layer). */
  headMaskGradPerRow: boolean;
  /** Per layer: I_l neuron-mask floats (0 or absent = no mask; see {@linkcode placeNeuronMask}). */
  neuronMask?: Ptr[];
  /** Per layer: I_l floats receiving dL/d(neuron mask) (0 or absent = not wanted). */
  neuronMaskGrad?: Ptr[];
  /**
   * Language models: when set, the LM head runs only on these rows of the flattened [B·T] positions (i32 row
   * indices) — the positions a next-token loss counts — instead of on every position.
   */
  lmRows?: { ptr: Ptr; count: number };
  /** The KV cache the attention layers read and extend (incremental decoding); absent: none. */
  kvCache?: KvCache;
}

/**
 * Places a checked batch and head mask in the run's memory. Masks of pruned heads are dropped (those heads
 * no longer exist); gradient buffers are allocated when `wantHeadMaskGrad` — one row of them per batch row when
 * `perRow`. `past`: positions a KV cache holds before the batch (its position ids start there).
 */
export function placeInputs(
  run: Run,
  batch: Batch,
  config: ModelConfig,
  headMask: HeadMask | undefined,
  wantHeadMaskGrad: boolean,
  perRow = false,
  past = 0,
): ArenaInputs {
  const { batchSize: B, seqLen: T } = batch;
  const positions = positionIds(batch, config, past);
  const masks: Ptr[] = [];
  const grads: Ptr[] = [];
  for (let l = 0; l < config.layers; l++) {
    const kept = keptHeads(config, l);
    masks.push(headMask && kept.length > 0 ? run.floats(kept.map((h) => headMask[l]![h]!)) : 0);
    if (wantHeadMaskGrad && kept.length > 0) {
      // the backward kernel needs the multipliers to exist even when the caller gave no mask
      if (masks[l] === 0) masks[l] = run.floats(kept.map(() => 1));
      grads.push(run.act(perRow ? [B, kept.length] : [kept.length]).ptr);
    } else grads.push(0);
  }
  const keyMask = run.floats(batch.attentionMask ?? new Int32Array(B * T).fill(1));
  run.keyMask = keyMask;
  return {
    B,
    T,
    ids: run.ints(batch.inputIds),
    positions: run.ints(positions),
    tokenTypes: run.ints(batch.tokenTypeIds ?? new Int32Array(B * T)),
    keyMask,
    headMask: masks,
    headMaskGrad: grads,
    headMaskGradPerRow: perRow && wantHeadMaskGrad,
  };
}
