/**
 * Word representations for probing (Tenney et al. 2019): every layer's hidden state (HF's
 * `hidden_states.{i}`, i = 0 the embeddings … L the last block) averaged over each word's pieces. Special
 * tokens are left out; words are numbered across sentences in order.
 *
 * @module
 */

import { makeBatches } from "../data/batches.ts";
import type { TransformerModel } from "../models/model.ts";
import type { WordEncoding } from "./word_alignment.ts";

/** Every sentence word's representation at every layer. */
export interface WordFeatures {
  /** Layers 0…L (L + 1 entries), each [count, dim] row-major. */
  layers: Float32Array[];
  /** Hidden size. */
  dim: number;
  /** Words (rows). */
  count: number;
  /** For every sentence, the row of its first word (sentence words are consecutive rows). */
  sentenceStart: Int32Array;
}

/**
 * Runs the model over word encodings and averages each word's pieces at every layer.
 *
 * @param model The model.
 * @param encodings Sentences encoded word by word (`encodeWords`).
 * @param opts Batch size (default 16), pad id (default 0), and a callback after each batch (sentences done of all).
 * @returns The features.
 *
 * @example Usage
 * ```ts
 * import { wordFeatures } from "./word_features.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * const words = [{ start: 0, end: 1, source: -1, form: "[CLS]" }, { start: 1, end: 3, source: 0, form: "ab" }, { start: 3, end: 4, source: -1, form: "[SEP]" }];
 * const f = wordFeatures(model, [{ ids: [2, 45, 46, 3], tokenTypeIds: [0, 0, 0, 0], words, pieceWord: Int32Array.of(0, 1, 1, 2) }]);
 * f.count; // 1
 * ```
 */
export function wordFeatures(
  model: TransformerModel,
  encodings: readonly WordEncoding[],
  opts: { batchSize?: number; padId?: number; onProgress?: (done: number, total: number) => void } = {},
): WordFeatures {
  const c = model.config, D = c.hidden, L = c.layers, batchSize = opts.batchSize ?? 16;
  const names = Array.from({ length: L + 1 }, (_, i) => model.family.hiddenStateHook(i, c));
  const sentenceStart = new Int32Array(encodings.length);
  let count = 0;
  encodings.forEach((e, i) => {
    sentenceStart[i] = count;
    for (const w of e.words) if (w.source >= 0) count++;
  });
  const layers = names.map(() => new Float32Array(count * D));
  for (let s = 0; s < encodings.length; s += batchSize) {
    const chunk = encodings.slice(s, s + batchSize);
    const [batch] = makeBatches(chunk, { batchSize: chunk.length, padId: opts.padId ?? 0 });
    if (batch === undefined) continue;
    const { cache } = model.run({ batch, names });
    opts.onProgress?.(s + chunk.length, encodings.length);
    const T = batch.seqLen;
    names.forEach((name, li) => {
      const h = cache.get(model.resolveName(name))!.data, out = layers[li]!;
      chunk.forEach((e, b) => {
        let row = sentenceStart[s + b]!;
        for (const w of e.words) {
          if (w.source < 0) continue;
          const o = row * D, n = w.end - w.start;
          for (let t = w.start; t < w.end; t++) {
            const base = (b * T + t) * D;
            for (let d = 0; d < D; d++) out[o + d]! += h[base + d]! / n;
          }
          row++;
        }
      });
    });
  }
  return { layers, dim: D, count, sentenceStart };
}
