/**
 * Every head's attention map for every example of a dataset, one example at a time: the model runs on padded
 * batches, each layer's `hook_pattern` is read, padding is cut off (rows and columns), and — when the input
 * carries its words — the map is made word-level (`wordLevelAttention`). The statistics, head distances and
 * syntactic-head scores all consume these maps.
 *
 * @module
 */

import { makeBatches } from "../data/batches.ts";
import { hookName } from "../hooks.ts";
import type { TransformerModel } from "../models/model.ts";
import { type AlignedWord, wordLevelAttention } from "./word_alignment.ts";

/** One example to run: its ids, and its words for word-level maps. */
export interface AttentionInput {
  /** Token ids, special tokens included. */
  ids: readonly number[];
  /** Segment ids (zeros when absent). */
  tokenTypeIds?: readonly number[];
  /** The units of a word-by-word encoding; when given the maps are word-level. */
  words?: readonly AlignedWord[];
}

/** One example's attention: every head, row-major (layer, head), over its `n` units (tokens or words). */
export interface ExampleAttention {
  /** Units: tokens (padding excluded) or words. */
  n: number;
  /** [layers · heads, n, n]; row = query, rows sum to 1 (up to rounding and causal masking). */
  maps: Float64Array;
}

/** Options of {@linkcode forEachAttention}. */
export interface ForEachAttentionOptions {
  /** Examples per forward pass. Default 8. */
  batchSize?: number;
  /** Pad id. Default 0. */
  padId?: number;
  /**
   * Run only the batches of one shard of a study: batch b (in the bucketed order every shard makes alike)
   * when b mod count = index, so the shards' examples are padded exactly as in a single run.
   */
  shard?: { index: number; count: number } | undefined;
}

/**
 * Runs the model over `inputs` and calls `fn` once with each example's attention maps and its index in
 * `inputs`. The examples run length-bucketed (each batch padded only to its longest row), so `fn` is called in
 * that order, not necessarily in input order.
 *
 * @param model A model with every head (unpruned).
 * @param inputs The examples.
 * @param fn Called once per example with its maps and its index.
 * @param opts Batch size and pad id.
 * @throws {Error} for a pruned model (the statistics compare heads by position) or an empty input
 *
 * @example Usage
 * ```ts
 * import { forEachAttention } from "./attention_maps.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * forEachAttention(model, [{ ids: [2, 45, 3] }], (ex) => ex.maps.length); // layers·heads·3·3 values
 * ```
 */
export function forEachAttention(
  model: TransformerModel,
  inputs: readonly AttentionInput[],
  fn: (example: ExampleAttention, index: number) => void,
  opts: ForEachAttentionOptions = {},
): void {
  const c = model.config;
  if (c.prunedHeads.some((p) => p.length > 0)) {
    throw new Error("Attention analysis needs every head: this model has pruned heads (config.json pruned_heads)");
  }
  const L = c.layers, H = c.heads, batchSize = opts.batchSize ?? 8;
  const names = Array.from({ length: L }, (_, l) => hookName("pattern", l));
  const batches = makeBatches(
    inputs.map((x) => ({ ids: x.ids, tokenTypeIds: x.tokenTypeIds ?? new Array<number>(x.ids.length).fill(0) })),
    { batchSize, padId: opts.padId ?? 0, bucket: true },
  );
  for (const [k, padded] of batches.entries()) {
    if (opts.shard !== undefined && k % opts.shard.count !== opts.shard.index) continue;
    const chunk = padded.rows.map((i) => inputs[i]!);
    const { cache } = model.run({ batch: padded, names });
    const T = padded.seqLen;
    const patterns = names.map((n) => cache.get(n)!.data);
    chunk.forEach((x, b) => {
      const len = x.ids.length;
      const n = x.words ? x.words.length : len;
      const maps = new Float64Array(L * H * n * n);
      for (let l = 0; l < L; l++) {
        const p = patterns[l]!;
        for (let h = 0; h < H; h++) {
          const base = ((b * H + h) * T) * T;
          const o = (l * H + h) * n * n;
          if (x.words) {
            maps.set(wordLevelAttention(p.subarray(base, base + T * T), T, x.words), o);
          } else {
            for (let i = 0; i < n; i++) {
              for (let j = 0; j < n; j++) maps[o + i * n + j] = p[base + i * T + j]!;
            }
          }
        }
      }
      fn({ n, maps }, padded.rows[b]!);
    });
  }
}
