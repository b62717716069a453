/**
 * BERT's masked-language-model corruption (Devlin et al. 2019; HF `DataCollatorForLanguageModeling` and, with
 * whole words, `DataCollatorForWholeWordMask`): each maskable unit — a token, or a whole word — is chosen with
 * probability 15 %; of the chosen tokens 80 % become `[MASK]`, 10 % a random vocabulary id and 10 % stay. The
 * labels hold the original id at chosen positions and -100 elsewhere. Seeded: the same seed gives the same masks.
 *
 * @module
 */

import { mulberry32 } from "../rng.ts";

/** How tokens are chosen and replaced. */
export interface MaskingOptions {
  /** The `[MASK]` id. */
  maskId: number;
  /** Random replacements are drawn uniformly from 0..vocabSize-1 (as HF does). */
  vocabSize: number;
  /** Ids never chosen (`[CLS]`, `[SEP]`, `[PAD]`); padding (attention mask 0) is never chosen either. */
  special: ReadonlySet<number>;
  /** Chance that a unit is chosen (default 0.15). */
  probability?: number | undefined;
  /**
   * Whole-word masking: `true` for a token that continues the previous token's word (WordPiece `##…`); a word is
   * chosen or not as one unit. Absent: every token is its own unit.
   */
  continuesWord?: ((id: number) => boolean) | undefined;
}

/** A batch's token ids and mask, row-major [batchSize, seqLen]. */
export interface MaskableBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  attentionMask?: Int32Array | undefined;
}

/** The corrupted ids and the labels (original id where chosen, -100 elsewhere). */
export interface MaskedBatch {
  inputIds: Int32Array;
  labels: Int32Array;
  /** How many positions were chosen. */
  chosen: number;
}

/**
 * Corrupts a batch for masked-language modelling. At least one position is chosen whenever any is maskable
 * (a loss over no token is undefined).
 *
 * @param batch The batch (not modified).
 * @param opts Mask id, vocabulary size, special ids, probability, whole-word rule.
 * @param seed The RNG seed.
 * @returns New ids and labels.
 * @throws {Error} For a probability outside (0, 1) or a mask id outside the vocabulary.
 *
 * @example Usage
 * ```ts
 * import { maskTokens } from "./mlm_masking.ts";
 * const batch = { batchSize: 1, seqLen: 4, inputIds: Int32Array.from([101, 7, 8, 102]) };
 * const { labels } = maskTokens(batch, { maskId: 103, vocabSize: 200, special: new Set([0, 101, 102]) }, 1);
 * labels[0]; // -100: [CLS] is never chosen
 * ```
 */
export function maskTokens(batch: MaskableBatch, opts: MaskingOptions, seed: number): MaskedBatch {
  const p = opts.probability ?? 0.15;
  if (!(p > 0 && p < 1)) throw new Error(`maskTokens: probability must be in (0, 1), got ${p}`);
  if (!Number.isInteger(opts.maskId) || opts.maskId < 0 || opts.maskId >= opts.vocabSize) {
    throw new Error(`maskTokens: maskId ${opts.maskId} is outside the vocabulary (0..${opts.vocabSize - 1})`);
  }
  const { batchSize: B, seqLen: T, inputIds: ids, attentionMask: mask } = batch;
  const rnd = mulberry32(seed);
  // units: [start, end) runs of positions chosen together
  const units: Array<[number, number]> = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if ((mask && mask[i] !== 1) || opts.special.has(ids[i]!)) continue;
      const last = units[units.length - 1];
      if (opts.continuesWord?.(ids[i]!) && last !== undefined && last[1] === i) last[1] = i + 1;
      else units.push([i, i + 1]);
    }
  }
  const labels = new Int32Array(B * T).fill(-100);
  const out = Int32Array.from(ids);
  let chosen = 0;
  const choose = ([start, end]: [number, number]) => {
    for (let i = start; i < end; i++) {
      labels[i] = ids[i]!;
      chosen++;
      const r = rnd();
      if (r < 0.8) out[i] = opts.maskId;
      else if (r < 0.9) out[i] = Math.floor(rnd() * opts.vocabSize);
    }
  };
  for (const u of units) if (rnd() < p) choose(u);
  if (chosen === 0 && units.length > 0) choose(units[Math.floor(rnd() * units.length)]!);
  return { inputIds: out, labels, chosen };
}

/**
 * {@linkcode maskTokens} row by row, each row with its own seed (e.g. from its example's index), so that an
 * example's corruption does not depend on which batch it lands in or how far that batch is padded: evaluation
 * over length-bucketed batches scores the same masked tokens as over any other batching. Each row with a maskable
 * token gets at least one chosen.
 *
 * @param batch The batch (not modified).
 * @param opts As for {@linkcode maskTokens}.
 * @param seedOfRow The seed of row `r`.
 * @returns New ids and labels for the whole batch.
 * @throws {Error} As {@linkcode maskTokens}.
 *
 * @example Usage
 * ```ts
 * import { maskRows } from "./mlm_masking.ts";
 * const batch = { batchSize: 2, seqLen: 3, inputIds: Int32Array.from([101, 7, 102, 101, 8, 102]) };
 * const { labels } = maskRows(batch, { maskId: 103, vocabSize: 200, special: new Set([101, 102]) }, (r) => 10 + r);
 * [labels[1], labels[4]]; // [7, 8]: each row's only maskable token is chosen
 * ```
 */
export function maskRows(batch: MaskableBatch, opts: MaskingOptions, seedOfRow: (row: number) => number): MaskedBatch {
  const { batchSize: B, seqLen: T, inputIds: ids, attentionMask: mask } = batch;
  const inputIds = new Int32Array(B * T), labels = new Int32Array(B * T);
  let chosen = 0;
  for (let r = 0; r < B; r++) {
    const row = {
      batchSize: 1,
      seqLen: T,
      inputIds: ids.subarray(r * T, (r + 1) * T),
      attentionMask: mask?.subarray(r * T, (r + 1) * T),
    };
    const m = maskTokens(row, opts, seedOfRow(r));
    inputIds.set(m.inputIds, r * T);
    labels.set(m.labels, r * T);
    chosen += m.chosen;
  }
  return { inputIds, labels, chosen };
}
