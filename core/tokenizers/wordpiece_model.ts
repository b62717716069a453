/**
 * The WordPiece model: greedy longest-match-first sub-word splitting of one word.
 *
 * @module
 */

import { excerpt } from "../checkpoint/_describe.ts";

/**
 * Options of {@linkcode WordPieceModel}, named as in `tokenizer.json`.
 *
 * @example Usage
 * ```ts
 * const opts: WordPieceModelOptions = { unkToken: "[UNK]", maxInputCharsPerWord: 100 };
 * ```
 */
export interface WordPieceModelOptions {
  /** The unknown token. Default `"[UNK]"`. */
  unkToken?: string;
  /** Prefix of word-continuing pieces. Default `"##"`. */
  continuingSubwordPrefix?: string;
  /** Words longer than this many characters become the unknown token. Default 100. */
  maxInputCharsPerWord?: number;
}

/**
 * Parses a `vocab.txt` (one token per line, line N is id N-1).
 *
 * @param text The file's text.
 * @returns The tokens in id order.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(parseVocabText("[PAD]\r\n[UNK]\nhello\n"), ["[PAD]", "[UNK]", "hello"]);
 * ```
 */
export function parseVocabText(text: string): string[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => l.endsWith("\r") ? l.slice(0, -1) : l);
}

/**
 * The WordPiece model of Hugging Face `tokenizers`.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const m = new WordPieceModel(new Map([["[UNK]", 0], ["play", 1], ["##ing", 2]]));
 * deepStrictEqual(m.tokenize("playing"), [1, 2]);
 * ```
 */
export class WordPieceModel {
  /** Token → id. */
  readonly vocab: Map<string, number>;
  /** Id of the unknown token. */
  readonly unkId: number;
  /** The unknown token. */
  readonly unkToken: string;
  /** Prefix of continuing pieces (`##`). */
  readonly prefix: string;
  /** Longest word, in characters, that is split rather than mapped to the unknown token. */
  readonly maxInputCharsPerWord: number;
  #cache = new Map<string, { ids: number[]; spans: number[] }>();

  /**
   * Builds the model over a vocabulary.
   *
   * @param vocab Token → id.
   * @param opts Unknown token, prefix, word length limit.
   * @throws {Error} When the unknown token is not in the vocabulary.
   *
   * @example Usage
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * const m = new WordPieceModel(new Map([["[UNK]", 0], ["un", 1], ["##aff", 2], ["##able", 3]]));
   * deepStrictEqual(m.tokenize("unaffable"), [1, 2, 3]);
   * ```
   */
  constructor(vocab: Map<string, number>, opts: WordPieceModelOptions = {}) {
    this.vocab = vocab;
    this.unkToken = opts.unkToken ?? "[UNK]";
    this.prefix = opts.continuingSubwordPrefix ?? "##";
    this.maxInputCharsPerWord = opts.maxInputCharsPerWord ?? 100;
    const unk = vocab.get(this.unkToken);
    if (unk === undefined) {
      throw new Error(`WordPiece unknown token "${excerpt(this.unkToken)}" is not in the vocabulary`);
    }
    this.unkId = unk;
  }

  /**
   * Splits one word into piece ids; a word that cannot be fully covered, or is too long, is one unknown id.
   *
   * @param word A pre-tokenized word.
   * @param spans When given, receives each token's [start, end) in the word (UTF-16 units), two numbers a token.
   * @returns The piece ids.
   *
   * @example Usage
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * const m = new WordPieceModel(new Map([["[UNK]", 0], ["a", 1]]));
   * deepStrictEqual(m.tokenize("ab"), [0]);
   * ```
   */
  tokenize(word: string, spans?: number[]): number[] {
    let cached = this.#cache.get(word);
    if (cached === undefined) {
      cached = this.#split(word);
      if (this.#cache.size >= 100_000) this.#cache.clear();
      this.#cache.set(word, cached);
    }
    if (spans !== undefined) { for (let i = 0; i < cached.spans.length; i++) spans.push(cached.spans[i]!); }
    return cached.ids;
  }

  #split(word: string): { ids: number[]; spans: number[] } {
    const unk = { ids: [this.unkId], spans: [0, word.length] };
    // Character boundaries in UTF-16 units (Rust counts chars = code points).
    const bounds: number[] = [0];
    for (let i = 0; i < word.length;) {
      i += word.codePointAt(i)! > 0xffff ? 2 : 1;
      bounds.push(i);
    }
    const nChars = bounds.length - 1;
    if (nChars > this.maxInputCharsPerWord) return unk;
    const ids: number[] = [];
    const spans: number[] = [];
    let s = 0;
    while (s < nChars) {
      let e = nChars;
      let found = -1;
      while (s < e) {
        let sub = word.slice(bounds[s], bounds[e]);
        if (s > 0) sub = this.prefix + sub;
        const id = this.vocab.get(sub);
        if (id !== undefined) {
          found = id;
          break;
        }
        e--;
      }
      if (found < 0) return unk;
      ids.push(found);
      spans.push(bounds[s]!, bounds[e]!);
      s = e;
    }
    return { ids, spans };
  }
}
