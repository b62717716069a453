/**
 * Word ↔ piece alignment: a sentence given as words (UD words, or whitespace-split text) is tokenized word
 * by word with the model's tokenizer — every word after the first with a leading space, so byte-level BPE
 * sees the same `Ġword` it would in running text — and placed in the tokenizer's own special-token
 * template (`[CLS] A [SEP] B [SEP]` for BERT, nothing for GPT-2), read off `encode`. Each special token is
 * a word of its own. Also: word-level attention as Clark et al.'s `bpe_utils.py` computes it.
 *
 * @module
 */

import type { Tokenizer } from "../tokenizers/types.ts";

/** One unit of a word-level sequence: a sentence word, or a special token standing alone. */
export interface AlignedWord {
  /** First piece (token position). */
  start: number;
  /** One past the last piece. */
  end: number;
  /** Index in the input word list (the pair's words follow the first sentence's), or -1 for a special token. */
  source: number;
  /** The word's form, or the special token's string. */
  form: string;
}

/** A word-by-word encoding: the ids to run, and which word each piece belongs to. */
export interface WordEncoding {
  /** Token ids, special tokens included. */
  ids: number[];
  /** Segment ids. */
  tokenTypeIds: number[];
  /** Units in order; every piece belongs to exactly one. */
  words: AlignedWord[];
  /** For every piece, the index into `words` it belongs to. */
  pieceWord: Int32Array;
}

/** The tokenizer's special-token template around one sequence or a pair. */
interface Template {
  prefix: number[];
  middle: number[];
  suffix: number[];
  types: [number, number, number, number, number];
}

function indexOf(hay: readonly number[], needle: readonly number[], from: number): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function template(tokenizer: Tokenizer, pair: boolean): Template {
  const a = tokenizer.encode("a", undefined, { addSpecialTokens: false }).ids;
  const b = tokenizer.encode("b", undefined, { addSpecialTokens: false }).ids;
  const full = pair ? tokenizer.encode("a", "b") : tokenizer.encode("a");
  const ia = indexOf(full.ids, a, 0);
  const ib = pair ? indexOf(full.ids, b, ia + a.length) : full.ids.length;
  if (ia < 0 || ib < 0 || a.length === 0) {
    throw new Error(`Cannot read the tokenizer's special-token template: "a" encodes to ${JSON.stringify(full.ids)}`);
  }
  const t = (i: number) => full.tokenTypeIds[i] ?? 0;
  const endA = ia + a.length;
  const prefix = full.ids.slice(0, ia);
  const middle = pair ? full.ids.slice(endA, ib) : [];
  const suffix = pair ? full.ids.slice(ib + b.length) : full.ids.slice(endA);
  return {
    prefix,
    middle,
    suffix,
    types: [t(0), t(ia), t(endA), pair ? t(ib) : 0, t(full.ids.length - 1)],
  };
}

/**
 * The ids a tokenizer's template puts between and after sentences (`[SEP]` for BERT; none for GPT-2):
 * the "separator" tokens of the attention statistics.
 *
 * @param tokenizer The model's tokenizer.
 * @returns The separator ids.
 *
 * @example Usage
 * ```ts
 * import { separatorIds } from "./word_alignment.ts";
 * import { WordPieceTokenizer } from "../tokenizers/wordpiece.ts";
 * const tok = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\nb\n");
 * separatorIds(tok); // Set {3}
 * ```
 */
export function separatorIds(tokenizer: Tokenizer): Set<number> {
  const t = template(tokenizer, true);
  return new Set([...t.middle, ...t.suffix]);
}

/** Options of {@linkcode encodeWords}. */
export interface EncodeWordsOptions {
  /** The longest encoding allowed, special tokens included; longer sentences give `undefined`. */
  maxLength?: number;
}

/**
 * Encodes a sentence (and optionally a second one) given as words, keeping the word of every piece.
 *
 * @param tokenizer The model's tokenizer.
 * @param words The first sentence's words.
 * @param pairWords The second sentence's words, for pair inputs.
 * @param opts The length limit.
 * @returns The encoding, or `undefined` when it would be longer than `maxLength` or a word has no pieces.
 * @throws {Error} when the tokenizer's template cannot be read
 *
 * @example Usage
 * ```ts
 * import { encodeWords } from "./word_alignment.ts";
 * import { WordPieceTokenizer } from "../tokenizers/wordpiece.ts";
 * const tok = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\nplay\n##ing\n");
 * const e = encodeWords(tok, ["a", "playing"])!;
 * e.ids; // [2, 4, 5, 6, 3]
 * [...e.pieceWord]; // [0, 1, 2, 2, 3]
 * ```
 */
export function encodeWords(
  tokenizer: Tokenizer,
  words: readonly string[],
  pairWords?: readonly string[],
  opts: EncodeWordsOptions = {},
): WordEncoding | undefined {
  const pair = pairWords !== undefined;
  const t = template(tokenizer, pair);
  const ids: number[] = [], types: number[] = [], units: AlignedWord[] = [];
  const special = (tokens: number[], type: number) => {
    for (const id of tokens) {
      units.push({ start: ids.length, end: ids.length + 1, source: -1, form: tokenizer.idToToken(id) });
      ids.push(id);
      types.push(type);
    }
  };
  let source = 0, ok = true;
  const sentence = (ws: readonly string[], type: number) => {
    ws.forEach((w, i) => {
      const pieces = tokenizer.encode(i === 0 ? w : ` ${w}`, undefined, { addSpecialTokens: false }).ids;
      if (pieces.length === 0) ok = false;
      units.push({ start: ids.length, end: ids.length + pieces.length, source: source++, form: w });
      for (const p of pieces) {
        ids.push(p);
        types.push(type);
      }
    });
  };
  special(t.prefix, t.types[0]);
  sentence(words, t.types[1]);
  special(t.middle, t.types[2]);
  if (pair) {
    sentence(pairWords, t.types[3]);
    special(t.suffix, t.types[4]);
  } else special(t.suffix, t.types[2]);
  if (!ok || (opts.maxLength !== undefined && ids.length > opts.maxLength)) return undefined;
  const pieceWord = new Int32Array(ids.length);
  units.forEach((u, wi) => pieceWord.fill(wi, u.start, u.end));
  return { ids, tokenTypeIds: types, words: units, pieceWord };
}

/**
 * Word-level attention from a piece-level map, as Clark et al.'s `bpe_utils.py`: attention *to* a split word
 * is the sum over its pieces (rows keep summing to 1), attention *from* a split word is the mean over its
 * pieces.
 *
 * @param attn One head's attention [T, T] (row = query), T ≥ the encoding's length (extra rows, padding, ignored).
 * @param T The row length of `attn`.
 * @param words The encoding's units.
 * @returns The [W, W] word-level map, W = `words.length`.
 *
 * @example Usage
 * ```ts
 * import { wordLevelAttention } from "./word_alignment.ts";
 * const words = [{ start: 0, end: 1, source: 0, form: "a" }, { start: 1, end: 3, source: 1, form: "bc" }];
 * const attn = Float32Array.from([1, 0, 0, 0.5, 0.25, 0.25, 0, 0.5, 0.5]);
 * [...wordLevelAttention(attn, 3, words)]; // [1, 0, 0.25, 0.75]
 * ```
 */
export function wordLevelAttention(
  attn: ArrayLike<number>,
  T: number,
  words: readonly AlignedWord[],
): Float64Array {
  const W = words.length;
  const out = new Float64Array(W * W);
  for (let a = 0; a < W; a++) {
    const wa = words[a]!;
    const n = wa.end - wa.start;
    for (let b = 0; b < W; b++) {
      const wb = words[b]!;
      let s = 0;
      for (let i = wa.start; i < wa.end; i++) {
        for (let j = wb.start; j < wb.end; j++) s += attn[i * T + j]!;
      }
      out[a * W + b] = s / n;
    }
  }
  return out;
}
