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
  const sentenceStart = new Int32Array(encodings.length);
  let count = 0;
  encodings.forEach((e, i) => {
    sentenceStart[i] = count;
    count += sentenceWords(e);
  });
  const layers = runWordFeatures(model, encodings, () => true, sentenceStart, count, opts);
  return { layers, dim: model.config.hidden, count, sentenceStart };
}

/** One shard's part of {@linkcode wordFeatures}: the features of the sentences of its batches. */
export interface WordFeaturesPart {
  /** The batches it ran (batch k holds sentences k·batchSize … (k + 1)·batchSize − 1), ascending. */
  batches: number[];
  /** The sentences of those batches, ascending. */
  sentences: number[];
  /** Layers 0…L, each [count, dim] row-major: the words of `sentences`, in order. */
  layers: Float32Array[];
  /** Hidden size. */
  dim: number;
  /** Words (rows). */
  count: number;
}

/** The words of an encoding that are sentence words (its rows in the features). */
function sentenceWords(e: WordEncoding): number {
  let n = 0;
  for (const w of e.words) if (w.source >= 0) n++;
  return n;
}

/**
 * The batches of {@linkcode wordFeatures} that fall to one shard of a study (batch k when k mod count =
 * index), run exactly as a whole run runs them — the same sentences padded together — so that
 * {@linkcode joinWordFeatures} of every shard's part equals `wordFeatures` bit for bit.
 *
 * @param model The model.
 * @param encodings Every sentence of the study, encoded word by word.
 * @param shard Which shard.
 * @param opts Batch size (default 16, as `wordFeatures`), pad id, progress callback.
 * @returns The part.
 *
 * @example Usage
 * ```ts ignore
 * const part = wordFeaturesPart(model, tb.encodings, { index: 0, count: 4 }, { padId: tokenizer.padId });
 * ```
 */
export function wordFeaturesPart(
  model: TransformerModel,
  encodings: readonly WordEncoding[],
  shard: { index: number; count: number },
  opts: { batchSize?: number; padId?: number; onProgress?: (done: number, total: number) => void } = {},
): WordFeaturesPart {
  const batchSize = opts.batchSize ?? 16;
  const mine = (k: number) => k % shard.count === shard.index;
  const batches: number[] = [], sentences: number[] = [];
  const rowOf = new Int32Array(encodings.length);
  let count = 0;
  encodings.forEach((e, i) => {
    const k = Math.floor(i / batchSize);
    if (!mine(k)) return;
    if (batches.at(-1) !== k) batches.push(k);
    sentences.push(i);
    rowOf[i] = count;
    count += sentenceWords(e);
  });
  const layers = runWordFeatures(model, encodings, mine, rowOf, count, { ...opts, batchSize });
  return { batches, sentences, layers, dim: model.config.hidden, count };
}

/**
 * Puts the shards' parts of a study together into the features one {@linkcode wordFeatures} run gives.
 *
 * @param wordsPerSentence Every sentence's number of words, in study order.
 * @param parts The shards' parts, any order.
 * @returns The features of every sentence.
 * @throws {Error} when a sentence is in no part or in two, or a part's sizes do not add up
 *
 * @example Usage
 * ```ts
 * import { joinWordFeatures } from "./word_features.ts";
 * const part = (s: number, v: number) => ({ batches: [s], sentences: [s], layers: [Float32Array.of(v, v)], dim: 2, count: 1 });
 * joinWordFeatures([1, 1], [part(1, 5), part(0, 3)]).layers[0]; // Float32Array [3, 3, 5, 5]
 * ```
 */
export function joinWordFeatures(
  wordsPerSentence: ArrayLike<number>,
  parts: readonly WordFeaturesPart[],
): WordFeatures {
  if (parts.length === 0) throw new Error("No word-feature parts to join");
  const D = parts[0]!.dim, nLayers = parts[0]!.layers.length;
  const sentenceStart = new Int32Array(wordsPerSentence.length);
  let count = 0;
  for (let i = 0; i < wordsPerSentence.length; i++) {
    sentenceStart[i] = count;
    count += wordsPerSentence[i]!;
  }
  const layers = Array.from({ length: nLayers }, () => new Float32Array(count * D));
  const seen = new Uint8Array(wordsPerSentence.length);
  parts.forEach((p, pi) => {
    const words = p.sentences.reduce((n, s) => n + (wordsPerSentence[s] ?? 0), 0);
    if (p.dim !== D || p.layers.length !== nLayers || words !== p.count) {
      throw new Error(
        `Word-feature part ${pi} holds ${p.count} words × ${p.dim} over ${p.layers.length} layers; its sentences ` +
          `have ${words} words, and the first part is ${D} wide over ${nLayers} layers`,
      );
    }
    let row = 0;
    for (const s of p.sentences) {
      if (!(s >= 0 && s < seen.length)) {
        throw new Error(`Word-feature part ${pi} names sentence ${s}, not in the study`);
      }
      if (seen[s]) throw new Error(`Sentence ${s} is in two word-feature parts`);
      seen[s] = 1;
      const n = wordsPerSentence[s]!;
      p.layers.forEach((src, l) => {
        if (src.length !== p.count * D) throw new Error(`Word-feature part ${pi}, layer ${l}: wrong size`);
        layers[l]!.set(src.subarray(row * D, (row + n) * D), sentenceStart[s]! * D);
      });
      row += n;
    }
  });
  const missing = seen.indexOf(0);
  if (missing >= 0) throw new Error(`Sentence ${missing} is in no word-feature part`);
  return { layers, dim: D, count, sentenceStart };
}

/** Runs the chosen batches and averages each word's pieces into the rows `rowOf` gives its sentence. */
function runWordFeatures(
  model: TransformerModel,
  encodings: readonly WordEncoding[],
  pick: (batch: number) => boolean,
  rowOf: Int32Array,
  count: number,
  opts: { batchSize?: number; padId?: number; onProgress?: (done: number, total: number) => void },
): Float32Array[] {
  const c = model.config, D = c.hidden, L = c.layers, batchSize = opts.batchSize ?? 16;
  const names = Array.from({ length: L + 1 }, (_, i) => model.family.hiddenStateHook(i, c));
  const layers = names.map(() => new Float32Array(count * D));
  for (let s = 0; s < encodings.length; s += batchSize) {
    if (!pick(s / batchSize)) continue;
    const chunk = encodings.slice(s, s + batchSize);
    const [batch] = makeBatches(chunk, { batchSize: chunk.length, padId: opts.padId ?? 0 });
    if (batch === undefined) continue;
    const { cache } = model.run({ batch, names });
    opts.onProgress?.(s + chunk.length, encodings.length);
    const T = batch.seqLen;
    names.forEach((name, li) => {
      const h = cache.get(model.resolveName(name))!.data, out = layers[li]!;
      chunk.forEach((e, b) => {
        let row = rowOf[s + b]!;
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
  return layers;
}
