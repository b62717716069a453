/**
 * The BPE model of Hugging Face `tokenizers`: merges applied lowest rank first (leftmost on ties), one pair at
 * a time, exactly as the Rust implementation does; with optional end-of-word suffix (OpenAI GPT's `</w>`),
 * continuing-subword prefix, unknown token and byte fallback.
 *
 * @module
 */

import { excerpt } from "../checkpoint/_describe.ts";

/**
 * Options of {@linkcode BpeModel}, named as in `tokenizer.json`.
 *
 * @example Usage
 * ```ts
 * const openaiGpt: BpeModelOptions = { unkToken: "<unk>", endOfWordSuffix: "</w>" };
 * ```
 */
export interface BpeModelOptions {
  /** Token for characters missing from the vocabulary; without one they are dropped. */
  unkToken?: string | null;
  /** Appended to the last character of each word (`</w>` for OpenAI GPT). */
  endOfWordSuffix?: string | null;
  /** Prepended to every character but the first. */
  continuingSubwordPrefix?: string | null;
  /** Merge consecutive unknown characters into one unknown token. Default `false`. */
  fuseUnk?: boolean;
  /** Look a whole word up in the vocabulary before merging. Default `false`. */
  ignoreMerges?: boolean;
  /** Map unknown characters to `<0xXX>` byte tokens when present. Default `false`. */
  byteFallback?: boolean;
}

/**
 * Parses `merges.txt`: one `left right` pair a line, rank = order; `#version` and empty lines are skipped.
 *
 * @param text The file's text.
 * @returns The pairs in rank order.
 * @throws {Error} When a line is not two space-separated tokens.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(parseMergesText("#version: 0.2\nt h\nth e</w>\n"), [["t", "h"], ["th", "e</w>"]]);
 * ```
 */
export function parseMergesText(text: string): [string, string][] {
  const out: [string, string][] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line === "" || (i === 0 && line.startsWith("#version"))) continue;
    const parts = line.split(" ");
    if (parts.length !== 2) {
      throw new Error(`Merges line ${i + 1} is "${excerpt(line)}", expected two tokens separated by a space`);
    }
    out.push([parts[0]!, parts[1]!]);
  }
  return out;
}

/** `"x" (U+0078)`: a character and its code point, for messages. */
function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return `"${ch}" (U+${cp.toString(16).toUpperCase().padStart(4, "0")})`;
}

const PAIR_BASE = 4_194_304; // 2^22: ids below this pack into one safe integer per pair

/**
 * A byte-pair-encoding model.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const m = new BpeModel(new Map([["h", 0], ["i", 1], ["hi", 2]]), [["h", "i"]]);
 * deepStrictEqual(m.tokenize("hih"), [2, 0]);
 * ```
 */
export class BpeModel {
  /** Token → id. */
  readonly vocab: Map<string, number>;
  /** Id → token (holes for unused ids). */
  readonly idToToken: string[];
  /** Id of the unknown token, or `undefined`. */
  readonly unkId: number | undefined;
  /** Suffix marking word ends, or `""`. */
  readonly endOfWordSuffix: string;
  /** Prefix of non-initial pieces, or `""`. */
  readonly continuingSubwordPrefix: string;
  readonly #merges = new Map<number, number>(); // pair key → rank * PAIR_BASE + newId
  readonly #fuseUnk: boolean;
  readonly #ignoreMerges: boolean;
  readonly #byteFallback: boolean;
  #cache = new Map<string, { ids: number[]; spans: number[] }>();

  /**
   * Builds the model.
   *
   * @param vocab Token → id.
   * @param merges Pairs in rank order.
   * @param opts Unknown token, suffix, prefix and flags.
   * @throws {Error} When a merge names a token (or produces one) absent from the vocabulary, or the unknown
   * token is absent.
   *
   * @example Usage
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * const vocab = new Map([["a", 0], ["b", 1], ["ab", 2]]);
   * deepStrictEqual(new BpeModel(vocab, [["a", "b"]]).tokenize("abab"), [2, 2]);
   * ```
   */
  constructor(vocab: Map<string, number>, merges: [string, string][], opts: BpeModelOptions = {}) {
    this.vocab = vocab;
    this.idToToken = [];
    for (const [t, id] of vocab) {
      if (id >= PAIR_BASE) {
        throw new Error(`BPE token id ${id} of "${excerpt(t)}" is too large, expected below ${PAIR_BASE}`);
      }
      this.idToToken[id] = t;
    }
    this.endOfWordSuffix = opts.endOfWordSuffix ?? "";
    this.continuingSubwordPrefix = opts.continuingSubwordPrefix ?? "";
    this.#fuseUnk = opts.fuseUnk ?? false;
    this.#ignoreMerges = opts.ignoreMerges ?? false;
    this.#byteFallback = opts.byteFallback ?? false;
    if (opts.unkToken != null) {
      this.unkId = vocab.get(opts.unkToken);
      if (this.unkId === undefined) {
        throw new Error(`BPE unknown token "${excerpt(opts.unkToken)}" is not in the vocabulary`);
      }
    }
    const prefixLen = this.continuingSubwordPrefix.length;
    for (let rank = 0; rank < merges.length; rank++) {
      const [a, b] = merges[rank]!;
      const aId = vocab.get(a);
      const bId = vocab.get(b);
      const merged = a + b.slice(prefixLen);
      const newId = vocab.get(merged);
      if (aId === undefined || bId === undefined || newId === undefined) {
        const missing = aId === undefined ? a : bId === undefined ? b : merged;
        throw new Error(
          `BPE merge ${rank} ("${excerpt(`${a} ${b}`)}") uses "${excerpt(missing)}", which is not in the vocabulary`,
        );
      }
      this.#merges.set(aId * PAIR_BASE + bId, rank * PAIR_BASE + newId);
    }
  }

  /**
   * Encodes one pre-tokenized word into token ids (cached per word).
   *
   * @param word The word, already mapped to the model's alphabet (e.g. byte-level characters).
   * @param spans When given, receives each token's [start, end) in the word (UTF-16 units), two numbers a token.
   * @returns The token ids.
   * @throws {Error} Naming the character, when one is not in the vocabulary and there is neither an unknown
   * token nor a byte-fallback token for it (a broken vocabulary; HF would silently drop it).
   *
   * @example Usage
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * const vocab = new Map([["<unk>", 0], ["a</w>", 1], ["b", 2], ["ba</w>", 3]]);
   * const m = new BpeModel(vocab, [["b", "a</w>"]], { unkToken: "<unk>", endOfWordSuffix: "</w>" });
   * deepStrictEqual(m.tokenize("xba"), [0, 3]);
   * ```
   */
  tokenize(word: string, spans?: number[]): number[] {
    let cached = this.#cache.get(word);
    if (cached === undefined) {
      cached = this.#encodeWord(word);
      if (this.#cache.size >= 100_000) this.#cache.clear();
      this.#cache.set(word, cached);
    }
    if (spans !== undefined) { for (let i = 0; i < cached.spans.length; i++) spans.push(cached.spans[i]!); }
    return cached.ids;
  }

  #encodeWord(word: string): { ids: number[]; spans: number[] } {
    if (this.#ignoreMerges) {
      const id = this.vocab.get(word);
      if (id !== undefined) return { ids: [id], spans: [0, word.length] };
    }
    // Initial symbols: one per character, with prefix/suffix, unknowns handled as in `BPE::merge_word`;
    // `bounds` holds each symbol's [start, end) in the word (a character's byte tokens share its range).
    const syms: number[] = [];
    const bounds: number[] = [];
    let pendingUnk = false;
    let unkStart = 0;
    const chars = Array.from(word);
    let at = 0;
    for (let i = 0; i < chars.length; i++) {
      const chStart = at;
      at += chars[i]!.length;
      let s = chars[i]!;
      if (i > 0 && this.continuingSubwordPrefix !== "") s = this.continuingSubwordPrefix + s;
      if (i === chars.length - 1 && this.endOfWordSuffix !== "") s = s + this.endOfWordSuffix;
      const id = this.vocab.get(s);
      if (id !== undefined) {
        if (pendingUnk) syms.push(this.unkId!), bounds.push(unkStart, chStart);
        pendingUnk = false;
        syms.push(id), bounds.push(chStart, at);
        continue;
      }
      if (this.#byteFallback) {
        const bytes = new TextEncoder().encode(chars[i]!);
        const byteIds: number[] = [];
        for (const b of bytes) {
          const bid = this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
          if (bid === undefined) break;
          byteIds.push(bid);
        }
        if (byteIds.length === bytes.length) {
          if (pendingUnk) syms.push(this.unkId!), bounds.push(unkStart, chStart);
          pendingUnk = false;
          for (const bid of byteIds) syms.push(bid), bounds.push(chStart, at);
          continue;
        }
      }
      if (this.unkId === undefined) {
        // HF's Rust BPE drops such a character silently, so a broken vocabulary encodes text to nothing.
        throw new Error(
          `BPE vocabulary has no token for ${
            describeChar(chars[i]!)
          } and no unknown token to stand in for it: the tokenizer files are incomplete`,
        );
      }
      if (pendingUnk && !this.#fuseUnk) syms.push(this.unkId), bounds.push(unkStart, chStart);
      if (!pendingUnk || !this.#fuseUnk) unkStart = chStart;
      pendingUnk = true;
    }
    if (pendingUnk) syms.push(this.unkId!), bounds.push(unkStart, at);
    return this.#mergeAll(syms, bounds);
  }

  /** `Word::merge_all`: a min-heap on (rank, position) over a linked list of symbols. */
  #mergeAll(ids: number[], bounds: number[]): { ids: number[]; spans: number[] } {
    const n = ids.length;
    if (n < 2) return { ids, spans: bounds };
    const merges = this.#merges;
    const c = ids.slice();
    const alive = new Uint8Array(n).fill(1);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    // Heap entries: key = rank * n + pos (rank, then leftmost), with the expected new id alongside.
    const heapKey: number[] = [];
    const heapNew: number[] = [];
    const push = (rank: number, pos: number, newId: number) => {
      let i = heapKey.length;
      const key = rank * n + pos;
      heapKey.push(key);
      heapNew.push(newId);
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (heapKey[p]! <= key) break;
        heapKey[i] = heapKey[p]!;
        heapNew[i] = heapNew[p]!;
        i = p;
      }
      heapKey[i] = key;
      heapNew[i] = newId;
    };
    const pop = (): [number, number] => {
      const topKey = heapKey[0];
      const topNew = heapNew[0];
      const lastKey = heapKey.pop()!;
      const lastNew = heapNew.pop()!;
      const size = heapKey.length;
      if (size > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= size) break;
          const r = l + 1;
          const m = r < size && heapKey[r]! < heapKey[l]! ? r : l;
          if (heapKey[m]! >= lastKey) break;
          heapKey[i] = heapKey[m]!;
          heapNew[i] = heapNew[m]!;
          i = m;
        }
        heapKey[i] = lastKey;
        heapNew[i] = lastNew;
      }
      return [topKey!, topNew!];
    };
    for (let i = 0; i + 1 < n; i++) {
      const m = merges.get(c[i]! * PAIR_BASE + c[i + 1]!);
      if (m !== undefined) push(Math.floor(m / PAIR_BASE), i, m % PAIR_BASE);
    }
    while (heapKey.length > 0) {
      const [key, newId] = pop();
      const pos = key % n;
      if (!alive[pos]) continue;
      const right = next[pos]!;
      if (right < 0) continue;
      const cur = merges.get(c[pos]! * PAIR_BASE + c[right]!);
      if (cur === undefined || cur % PAIR_BASE !== newId) continue;
      c[pos] = newId;
      alive[right] = 0;
      bounds[2 * pos + 1] = bounds[2 * right + 1]!;
      next[pos] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = pos;
      const p = prev[pos]!;
      if (p >= 0) {
        const m = merges.get(c[p]! * PAIR_BASE + c[pos]!);
        if (m !== undefined) push(Math.floor(m / PAIR_BASE), p, m % PAIR_BASE);
      }
      const q = next[pos]!;
      if (q >= 0) {
        const m = merges.get(c[pos]! * PAIR_BASE + c[q]!);
        if (m !== undefined) push(Math.floor(m / PAIR_BASE), pos, m % PAIR_BASE);
      }
    }
    const out: number[] = [];
    const spans: number[] = [];
    for (let i = 0; i < n; i++) if (alive[i]) out.push(c[i]!), spans.push(bounds[2 * i]!, bounds[2 * i + 1]!);
    return { ids: out, spans };
  }
}
