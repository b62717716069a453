/**
 * Head roles on repeated random tokens, as the induction-head literature measures them (Elhage et al. 2021,
 * Olsson et al. 2022; TransformerLens's detectors): rows made of BOS + r + r, r a seeded sequence of random
 * non-special tokens of length `len`, and per head the mean attention, over rows and over the query positions
 * t of the second repeat, on
 *
 * - the previous token, A[t, t−1] (previous-token heads);
 * - the same token one repeat earlier, A[t, t−len] (duplicate-token heads);
 * - the token after it, A[t, t−len+1] (induction heads: they attend to what came next last time).
 *
 * For a language model also the mean next-token loss on the first repeat (nothing to copy: about ln V) and on
 * the second (in-context copying lowers it). Positions: BOS at 0, the first repeat at 1…len, the second at
 * len+1…2·len. Pruned heads score `NaN`.
 *
 * For encoders, also where heads park their attention (Clark et al. 2019, section 3; the same
 * `AttentionStatsMeter` as `bertology attention-stats`): per head the mean attention on the first token
 * ([CLS]), on separator tokens ([SEP]) and on "." and "," ({@linkcode attentionSinks}).
 *
 * @example Usage
 * ```ts ignore
 * const rows = repeatedTokenRows(model.config.vocabSize, { repeatLen: 40, rows: 20, seed: 0, bos: 50256, exclude });
 * const roles = headRoles(model, rows);
 * roles.induction; // Float64Array [layers · heads]
 * ```
 *
 * @module
 */

import { keptHeads } from "../models/config.ts";
import type { TransformerModel } from "../models/model.ts";
import { mulberry32 } from "../rng.ts";
import type { Tokenizer } from "../tokenizers/types.ts";
import { type AttentionInput, forEachAttention } from "./attention_maps.ts";
import { AttentionStatsMeter, type UnitFlags } from "./attention_stats.ts";
import { separatorIds } from "./word_alignment.ts";

/** How to make the rows. */
export interface RepeatedRowsOptions {
  /** Tokens in each repeat (len). */
  repeatLen: number;
  /** Rows. */
  rows: number;
  /** The random tokens' seed. */
  seed: number;
  /** The first token of every row (BOS, or an encoder's [CLS]). */
  bos: number;
  /** Token ids never drawn (the special tokens). */
  exclude: ReadonlySet<number>;
}

/**
 * Rows of BOS + r + r with r drawn uniformly (seeded) from the vocabulary less `exclude`.
 *
 * @throws {Error} for sizes that are not positive integers, or a vocabulary with nothing left to draw
 * @example Usage
 * ```ts
 * import { repeatedTokenRows } from "./head_roles.ts";
 * const rows = repeatedTokenRows(10, { repeatLen: 3, rows: 1, seed: 1, bos: 0, exclude: new Set([0]) });
 * const row = rows[0]!;
 * row.length; // 7
 * row.slice(1, 4).join() === row.slice(4).join(); // true
 * ```
 */
export function repeatedTokenRows(vocabSize: number, opts: RepeatedRowsOptions): number[][] {
  for (const [name, v] of [["repeatLen", opts.repeatLen], ["rows", opts.rows]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`head roles: ${name} must be a positive integer, got ${v}`);
  }
  const pool: number[] = [];
  for (let id = 0; id < vocabSize; id++) if (!opts.exclude.has(id)) pool.push(id);
  if (pool.length === 0) throw new Error("head roles: every token of the vocabulary is special: nothing to draw");
  const rnd = mulberry32(opts.seed);
  return Array.from({ length: opts.rows }, () => {
    const r = Array.from({ length: opts.repeatLen }, () => pool[Math.floor(rnd() * pool.length)]!);
    return [opts.bos, ...r, ...r];
  });
}

/** The first token of every repeated-token row and the special tokens never drawn into r. */
export interface RepeatedRowTokens {
  /** The token the tokenizer's template starts a sequence with, else the config's `bos_token_id` (or `eos_token_id`). */
  bos: number;
  /** The template's tokens and every special token id the config names. */
  exclude: Set<number>;
}

const SPECIAL_TOKEN_KEYS = [
  "bos_token_id",
  "eos_token_id",
  "pad_token_id",
  "unk_token_id",
  "sep_token_id",
  "cls_token_id",
  "mask_token_id",
] as const;

/**
 * The BOS and the excluded special tokens of {@linkcode repeatedTokenRows} for a model, as `bertology head-roles`
 * and the page's head-roles panel choose them (one rule, so both draw the same rows).
 *
 * @param raw the model's `config.json` (`model.config.raw`)
 * @param tokenizer its tokenizer, if any (its template's tokens come first)
 * @returns the BOS and the exclusions, or `undefined` when the model names no BOS at all
 * @example Usage
 * ```ts
 * import { repeatedRowTokens } from "./head_roles.ts";
 * const t = repeatedRowTokens({ bos_token_id: 1, eos_token_id: 2 }, undefined)!;
 * t.bos; // 1
 * [...t.exclude]; // [1, 2]
 * ```
 */
export function repeatedRowTokens(
  raw: Readonly<Record<string, unknown>>,
  tokenizer: Tokenizer | undefined,
): RepeatedRowTokens | undefined {
  const ids = (k: string) => (Number.isInteger(raw[k]) ? [raw[k] as number] : []);
  const template = tokenizer ? tokenizer.encode("").ids : [];
  const bos = template[0] ?? ids("bos_token_id")[0] ?? ids("eos_token_id")[0];
  if (bos === undefined) return undefined;
  return { bos, exclude: new Set([...template, ...SPECIAL_TOKEN_KEYS.flatMap(ids)]) };
}

/** Per-head role scores ([layers · heads], layer-major; `NaN` for a pruned head) and the copying losses. */
export interface HeadRoles {
  /** Layers and heads (before pruning). */
  layers: number;
  heads: number;
  /** Tokens per repeat, and rows averaged over. */
  repeatLen: number;
  rows: number;
  /** Mean A[t, t−1] over the second repeat's queries. */
  previousToken: Float64Array;
  /** Mean A[t, t−len]. */
  duplicateToken: Float64Array;
  /** Mean A[t, t−len+1]. */
  induction: Float64Array;
  /** A language model's mean next-token loss (nats) predicting the first repeat's tokens; absent otherwise. */
  lossFirstRepeat?: number;
  /** … and the second repeat's. */
  lossSecondRepeat?: number;
}

/**
 * Measures the head roles of a model on rows of BOS + r + r (see the module doc).
 *
 * @param rows the rows, each 1 + 2·len tokens with its two repeats equal
 * @param batchSize rows per forward pass (default 4)
 * @throws {Error} for rows of different or even lengths, rows whose repeats differ, or rows longer than the model
 */
export function headRoles(model: TransformerModel, rows: readonly (readonly number[])[], batchSize = 4): HeadRoles {
  if (rows.length === 0) throw new Error("head roles: no rows");
  const T = rows[0]!.length, len = (T - 1) / 2;
  rows.forEach((row, i) => {
    if (row.length !== T || !Number.isInteger(len) || len < 1) {
      throw new Error(
        `head roles: row ${i} has ${row.length} tokens; every row must be BOS + r + r (odd, equal lengths)`,
      );
    }
    for (let j = 1; j <= len; j++) {
      if (row[j] !== row[j + len]) throw new Error(`head roles: row ${i}'s two repeats differ at position ${j}`);
    }
  });
  const c = model.config, L = c.layers, H = c.heads;
  const sums = { prev: new Float64Array(L * H), dup: new Float64Array(L * H), ind: new Float64Array(L * H) };
  const lm = model.task === "lm";
  let lossFirst = 0, lossSecond = 0;
  const names = [...Array.from({ length: L }, (_, l) => `attentions.${l}`), ...(lm ? ["logits"] : [])];
  for (let start = 0; start < rows.length; start += batchSize) {
    const part = rows.slice(start, start + batchSize);
    const B = part.length;
    const batch = { batchSize: B, seqLen: T, inputIds: Int32Array.from(part.flat()) };
    const { cache } = model.run({ batch, names });
    for (let l = 0; l < L; l++) {
      const a = cache.get(model.resolveName(`attentions.${l}`))!.data;
      const kept = keptHeads(c, l), Hl = kept.length;
      kept.forEach((h, i) => {
        for (let b = 0; b < B; b++) {
          const base = (b * Hl + i) * T * T;
          for (let t = len + 1; t <= 2 * len; t++) {
            const row = base + t * T;
            sums.prev[l * H + h]! += a[row + t - 1]!;
            sums.dup[l * H + h]! += a[row + t - len]!;
            sums.ind[l * H + h]! += a[row + t - len + 1]!;
          }
        }
      });
    }
    if (lm) {
      const logits = cache.get(model.resolveName("logits"))!.data, V = c.vocabSize;
      for (let b = 0; b < B; b++) {
        // position p − 1 predicts token p: the first repeat is p = 1 … len, the second p = len+1 … 2·len
        for (let p = 1; p <= 2 * len; p++) {
          const at = (b * T + p - 1) * V;
          let max = -Infinity;
          for (let v = 0; v < V; v++) max = Math.max(max, logits[at + v]!);
          let sum = 0;
          for (let v = 0; v < V; v++) sum += Math.exp(logits[at + v]! - max);
          const nll = Math.log(sum) + max - logits[at + part[b]![p]!]!;
          if (p <= len) lossFirst += nll;
          else lossSecond += nll;
        }
      }
    }
  }
  const n = rows.length * len;
  const mean = (s: Float64Array) => {
    const out = s.map((v) => v / n);
    for (let l = 0; l < L; l++) for (const h of c.prunedHeads[l]!) out[l * H + h] = NaN;
    return out;
  };
  const roles: HeadRoles = {
    layers: L,
    heads: H,
    repeatLen: len,
    rows: rows.length,
    previousToken: mean(sums.prev),
    duplicateToken: mean(sums.dup),
    induction: mean(sums.ind),
  };
  if (lm) {
    roles.lossFirstRepeat = lossFirst / n;
    roles.lossSecondRepeat = lossSecond / n;
  }
  return roles;
}

/**
 * Which tokens of an encoding are separators (the tokenizer template's [SEP]) and which are "." or ",", as
 * `bertology attention-stats` flags them at token level.
 *
 * @param tokenizer The model's tokenizer.
 * @param ids An encoding's ids, special tokens included.
 * @returns The flags for {@linkcode attentionSinks}.
 *
 * @example Usage
 * ```ts
 * import { tokenUnitFlags } from "./head_roles.ts";
 * import { WordPieceTokenizer } from "../tokenizers/wordpiece.ts";
 * const tok = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhi\n.\n");
 * const f = tokenUnitFlags(tok, tok.encode("hi .").ids); // [CLS] hi . [SEP]
 * [...f.sep, ...f.punct]; // [0, 0, 0, 1, 0, 0, 1, 0]
 * ```
 */
export function tokenUnitFlags(tokenizer: Tokenizer, ids: readonly number[]): UnitFlags {
  const sep = separatorIds(tokenizer);
  return {
    sep: Uint8Array.from(ids, (id) => (sep.has(id) ? 1 : 0)),
    punct: Uint8Array.from(ids, (id) => ([".", ","].includes(tokenizer.decode([id]).trim()) ? 1 : 0)),
  };
}

/** Clark et al.'s sink statistics per head ([layers · heads], layer-major), and what they were averaged over. */
export interface AttentionSinks {
  /** Mean attention on the first token ([CLS]), over every (example, query) pair. */
  cls: Float64Array;
  /** Mean attention on the separator tokens ([SEP]). */
  sep: Float64Array;
  /** Mean attention on "." and ",". */
  punct: Float64Array;
  /** Examples averaged over. */
  examples: number;
}

/**
 * Measures where each head parks its attention on `inputs`: Clark et al. (2019)'s [CLS], [SEP] and punctuation
 * statistics (the `AttentionStatsMeter` of `bertology attention-stats`, token level).
 *
 * @param model A model with every head.
 * @param inputs The examples (ids with the special tokens).
 * @param flags Each example's separator and punctuation tokens ({@linkcode tokenUnitFlags}).
 * @param opts Examples per forward pass (default 8) and the pad id (default 0).
 * @returns The three statistics.
 * @throws {Error} for a pruned model, no examples, or flags that do not match the examples
 *
 * @example Usage
 * ```ts ignore
 * const inputs = texts.map((t) => tokenizer.encode(t));
 * const sinks = attentionSinks(model, inputs, inputs.map((e) => tokenUnitFlags(tokenizer, e.ids)));
 * sinks.sep; // Float64Array [layers · heads]
 * ```
 */
export function attentionSinks(
  model: TransformerModel,
  inputs: readonly AttentionInput[],
  flags: readonly UnitFlags[],
  opts: { batchSize?: number; padId?: number } = {},
): AttentionSinks {
  if (inputs.length === 0) throw new Error("attention sinks: no examples");
  if (flags.length !== inputs.length) {
    throw new Error(`attention sinks: ${flags.length} flag sets for ${inputs.length} examples`);
  }
  const meter = new AttentionStatsMeter(model.config.layers * model.config.heads);
  forEachAttention(model, inputs, (ex, i) => meter.add(ex, flags[i]!), opts);
  const r = meter.result();
  return { cls: r.cls, sep: r.sep, punct: r.punct, examples: meter.examples };
}
