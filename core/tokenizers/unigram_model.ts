/**
 * The Unigram model (sentencepiece's, as Hugging Face's `Unigram`): every piece has a log-probability score,
 * and a word is split into the pieces of highest total score (Viterbi over the word's characters). A character
 * that starts no piece is unknown and scores the lowest piece score minus 10; consecutive unknown characters
 * become one unknown token. With `byteFallback`, a piece that is not in the vocabulary (an unknown run) is
 * spelt as its UTF-8 bytes `<0xXX>` when all of them are pieces.
 *
 * @module
 */

import { excerpt } from "../checkpoint/_describe.ts";

/** sentencepiece's penalty of an unknown character below the lowest piece score. */
const UNK_PENALTY = 10;

/**
 * Options of {@linkcode UnigramModel}.
 *
 * @example Usage
 * ```ts
 * const opts: UnigramOptions = { unkId: 0, byteFallback: false };
 * ```
 */
export interface UnigramOptions {
  /** Id of the unknown piece; without one, an unknown character is an error. */
  unkId?: number | null;
  /** Spell unknown runs as `<0xXX>` byte pieces. Default `false`. */
  byteFallback?: boolean;
}

interface TrieNode {
  next: Map<number, TrieNode> | undefined;
  id: number; // -1 when no piece ends here
}

/**
 * A Unigram model over `[piece, score]` pairs (the id of a piece is its index).
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const m = new UnigramModel([["<unk>", 0], ["a", -1], ["b", -1], ["ab", -1.5]], { unkId: 0 });
 * deepStrictEqual(m.tokenize("abab"), [3, 3]);
 * ```
 */
export class UnigramModel {
  /** Piece → id. */
  readonly vocab: Map<string, number>;
  /** Id of the unknown piece, or `undefined`. */
  readonly unkId: number | undefined;
  readonly #scores: Float64Array;
  readonly #unkScore: number;
  readonly #byteFallback: boolean;
  readonly #root: TrieNode = { next: undefined, id: -1 };
  #cache = new Map<string, { ids: number[]; spans: number[] }>();

  /**
   * Builds the model.
   *
   * @param pieces `[piece, score]` in id order.
   * @param opts Unknown id and byte fallback.
   * @throws {Error} When a score is not finite or the unknown id is outside the pieces.
   */
  constructor(pieces: readonly (readonly [string, number])[], opts: UnigramOptions = {}) {
    this.vocab = new Map();
    this.#scores = new Float64Array(pieces.length);
    let min = Infinity;
    pieces.forEach(([piece, score], id) => {
      if (!Number.isFinite(score)) {
        throw new Error(`Unigram piece ${id} ("${excerpt(piece)}") has score ${score}, expected a finite number`);
      }
      this.#scores[id] = score;
      if (score < min) min = score;
      if (!this.vocab.has(piece)) this.vocab.set(piece, id);
      this.#insert(piece, id);
    });
    this.#unkScore = (pieces.length === 0 ? 0 : min) - UNK_PENALTY;
    if (opts.unkId != null) {
      if (!Number.isInteger(opts.unkId) || opts.unkId < 0 || opts.unkId >= pieces.length) {
        throw new Error(`Unigram unknown id ${opts.unkId} is outside the ${pieces.length} pieces`);
      }
      this.unkId = opts.unkId;
    }
    this.#byteFallback = opts.byteFallback ?? false;
  }

  #insert(piece: string, id: number): void {
    if (piece === "") return;
    let node = this.#root;
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      node.next ??= new Map();
      let child = node.next.get(c);
      if (child === undefined) node.next.set(c, child = { next: undefined, id: -1 });
      node = child;
    }
    if (node.id < 0) node.id = id;
  }

  /**
   * Encodes one word into piece ids (cached per word).
   *
   * @param word A pre-tokenized word (with its `▁` marks).
   * @param spans When given, receives each token's [start, end) in the word (UTF-16 units), two numbers a token.
   * @returns The piece ids.
   * @throws {Error} When a character is unknown and the model has no unknown id.
   *
   * @example Usage
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * const m = new UnigramModel([["<unk>", 0], ["a", -1]], { unkId: 0 });
   * const spans: number[] = [];
   * deepStrictEqual(m.tokenize("axxa", spans), [1, 0, 1]);
   * deepStrictEqual(spans, [0, 1, 1, 3, 3, 4]);
   * ```
   */
  tokenize(word: string, spans?: number[]): number[] {
    let cached = this.#cache.get(word);
    if (cached === undefined) {
      cached = this.#encode(word);
      if (this.#cache.size >= 100_000) this.#cache.clear();
      this.#cache.set(word, cached);
    }
    if (spans !== undefined) { for (let i = 0; i < cached.spans.length; i++) spans.push(cached.spans[i]!); }
    return cached.ids;
  }

  /** Viterbi: the best-scoring split, unknown runs fused; ties keep the first (shorter) piece found. */
  #encode(word: string): { ids: number[]; spans: number[] } {
    const n = word.length;
    if (n === 0) return { ids: [], spans: [] };
    const bestScore = new Float64Array(n + 1);
    const bestStart = new Int32Array(n + 1).fill(-1);
    const bestId = new Int32Array(n + 1).fill(-1);
    bestStart[0] = 0;
    for (let s = 0; s < n;) {
      const charLen = word.codePointAt(s)! > 0xffff ? 2 : 1;
      if (bestStart[s]! < 0 && s > 0) {
        s += charLen;
        continue;
      }
      const base = bestScore[s]!;
      let singleChar = false;
      let node: TrieNode | undefined = this.#root;
      for (let e = s; e < n && node.next !== undefined;) {
        node = node.next.get(word.charCodeAt(e++));
        if (node === undefined) break;
        if (node.id < 0) continue;
        const cand = base + this.#scores[node.id]!;
        if (bestStart[e]! < 0 || cand > bestScore[e]!) {
          bestScore[e] = cand;
          bestStart[e] = s;
          bestId[e] = node.id;
        }
        if (e - s === charLen) singleChar = true;
      }
      if (!singleChar) {
        const e = s + charLen;
        const cand = base + this.#unkScore;
        if (bestStart[e]! < 0 || cand > bestScore[e]!) {
          bestScore[e] = cand;
          bestStart[e] = s;
          bestId[e] = -2; // unknown
        }
      }
      s += charLen;
    }
    // Back from the end; runs of unknown characters become one piece.
    const pieces: [number, number, boolean][] = [];
    for (let e = n; e > 0;) {
      const s = bestStart[e]!;
      const unknown = bestId[e] === -2 || (this.unkId !== undefined && bestId[e] === this.unkId);
      const last = pieces[pieces.length - 1];
      if (unknown && last !== undefined && last[2]) last[0] = s;
      else pieces.push([s, e, unknown]);
      e = s;
    }
    pieces.reverse();
    const ids: number[] = [];
    const spans: number[] = [];
    for (const [s, e] of pieces) {
      const text = word.slice(s, e);
      const id = this.vocab.get(text);
      if (id !== undefined) {
        ids.push(id), spans.push(s, e);
        continue;
      }
      if (this.#byteFallback) {
        const bytes = new TextEncoder().encode(text);
        const byteIds: number[] = [];
        for (const b of bytes) {
          const bid = this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
          if (bid === undefined) break;
          byteIds.push(bid);
        }
        if (byteIds.length === bytes.length) {
          for (const bid of byteIds) ids.push(bid), spans.push(s, e);
          continue;
        }
      }
      if (this.unkId === undefined) {
        throw new Error(
          `Unigram model has no piece for "${excerpt(text)}" and no unknown id to stand in for it`,
        );
      }
      ids.push(this.unkId), spans.push(s, e);
    }
    return { ids, spans };
  }
}
