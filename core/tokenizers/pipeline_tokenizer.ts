/**
 * The tokenizer pipeline every family shares: added tokens → normalizer → pre-tokenizer → model →
 * truncation → post-processor, and a decoder. The family classes and `tokenizer.json` loading configure it.
 *
 * @module
 */

import { type AddedToken, AddedTokenSplitter } from "./added_tokens.ts";
import { NormalizedText } from "./normalized_text.ts";
import { type Normalizer, normalizeString } from "./normalizers.ts";
import type { PostProcessor, TokenRun } from "./post_processor.ts";
import type { PreTokenizer } from "./pre_tokenizers.ts";
import { truncatedLengths } from "./truncation.ts";
import type { DecodeOptions, EncodeOptions, Encoding, Tokenizer, TokenizerKind } from "./types.ts";

/**
 * The model stage: one pre-tokenized word to ids.
 *
 * @example Usage
 * ```ts
 * const whole: TokenModel = { tokenize: (word, spans) => (spans?.push(0, word.length), [word.length]) };
 * ```
 */
export interface TokenModel {
  /**
   * Encodes one word.
   * @param word A pre-tokenized word.
   * @param spans When given, receives each token's `[start, end)` in the word (UTF-16 units), two numbers a
   * token.
   *
   * @example Usage
   * ```ts
   * const m: TokenModel = { tokenize: (w, spans) => (spans?.push(0, w.length), [0]) };
   * m.tokenize("word");
   * ```
   */
  tokenize(word: string, spans?: number[]): number[];
}

/**
 * The parts of a {@linkcode PipelineTokenizer}.
 *
 * @example Usage
 * ```ts
 * import { bertNormalizer } from "./normalizers.ts";
 * import { bertPreTokenizer } from "./pre_tokenizers.ts";
 * import { wordPieceDecode } from "./decoders.ts";
 * import { bertPostProcessor } from "./post_processor.ts";
 * import { WordPieceModel } from "./wordpiece_model.ts";
 * const vocab = new Map([["[UNK]", 0], ["[CLS]", 1], ["[SEP]", 2], ["hi", 3]]);
 * const parts: PipelineParts = {
 *   kind: "wordpiece",
 *   idToToken: ["[UNK]", "[CLS]", "[SEP]", "hi"],
 *   tokenToId: vocab,
 *   normalize: bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true }),
 *   preTokenize: bertPreTokenizer,
 *   model: new WordPieceModel(vocab),
 *   postProcessor: bertPostProcessor(1, 2),
 *   decode: (t) => wordPieceDecode(t),
 *   addedTokens: [],
 *   padId: 0,
 *   unkId: 0,
 * };
 * new PipelineTokenizer(parts).encode("Hi");
 * ```
 */
export interface PipelineParts {
  /** What it is (see {@linkcode TokenizerKind}). */
  kind: TokenizerKind;
  /** Id → token, model vocabulary and added tokens together (holes allowed). */
  idToToken: readonly string[];
  /** Token → id, model vocabulary and added tokens together. */
  tokenToId: ReadonlyMap<string, number>;
  /** Normalizer over aligned text; identity when absent. */
  normalize?: Normalizer | undefined;
  /** Pre-tokenizer: normalized, aligned text to aligned words. */
  preTokenize: PreTokenizer;
  /** The model. */
  model: TokenModel;
  /** Special tokens and segment ids. */
  postProcessor: PostProcessor;
  /** Token strings to text. */
  decode: (tokens: string[]) => string;
  /** Added tokens, matched before normalization (or after, when `normalized`). */
  addedTokens: readonly AddedToken[];
  /** See {@linkcode Tokenizer.padId}. */
  padId: number;
  /** See {@linkcode Tokenizer.unkId}. */
  unkId: number | undefined;
}

/**
 * Thrown for text that is not well-formed Unicode: a lone (unpaired) UTF-16 surrogate, which no UTF-8 tokenizer
 * can represent. Hugging Face's Python tokenizers refuse such text too (it cannot become a Rust `String`); we
 * refuse it rather than drop it (WordPiece would) or turn it into U+FFFD (byte-level BPE would), so every family,
 * the CLI and the web API give the same answer. Callers that want replacement can pass `text.toWellFormed()`.
 *
 * @example Usage
 * ```ts
 * import { throws } from "node:assert";
 * import { TokenizerInputError } from "./pipeline_tokenizer.ts";
 * import { WordPieceTokenizer } from "./wordpiece.ts";
 * const tok = WordPieceTokenizer.fromVocabText("[UNK]\n[CLS]\n[SEP]\na\n");
 * throws(() => tok.encode("a\ud800"), TokenizerInputError);
 * ```
 */
export class TokenizerInputError extends Error {
  /**
   * Makes the error.
   *
   * @param message What is wrong with the text, and where.
   */
  constructor(message: string) {
    super(message);
    this.name = "TokenizerInputError";
  }
}

/** Throws {@linkcode TokenizerInputError} naming the first lone surrogate of `text`, if any. */
function checkWellFormed(text: string, which: string): void {
  if (text.isWellFormed()) return;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    throw new TokenizerInputError(
      `Cannot tokenize ${which}: it holds a lone surrogate U+${
        c.toString(16).toUpperCase()
      } at index ${i}, which is not Unicode text (Hugging Face's tokenizers refuse it too)`,
    );
  }
}

/**
 * A {@linkcode Tokenizer} assembled from pipeline stages.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { WordPieceTokenizer } from "./wordpiece.ts";
 * const tok = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n##s\n");
 * deepStrictEqual(tok.encode("Hellos").ids, [2, 4, 5, 3]);
 * ```
 */
export class PipelineTokenizer implements Tokenizer {
  /** What it is, read off its pipeline. */
  readonly kind: TokenizerKind;
  /** Number of ids. */
  readonly vocabSize: number;
  /** Id to pad with (see {@linkcode Tokenizer.padId}). */
  readonly padId: number;
  /** Id of the unknown token, if any. */
  readonly unkId: number | undefined;
  readonly #parts: PipelineParts;
  readonly #splitter: AddedTokenSplitter;
  readonly #special: Set<number>;

  /**
   * @param parts The stages.
   */
  /** Assembles a tokenizer from its pipeline parts. */
  constructor(parts: PipelineParts) {
    this.#parts = parts;
    this.kind = parts.kind;
    this.vocabSize = parts.idToToken.length;
    this.padId = parts.padId;
    this.unkId = parts.unkId;
    const normalize = parts.normalize;
    this.#splitter = new AddedTokenSplitter(
      parts.addedTokens,
      normalize === undefined ? undefined : (s) => normalizeString(normalize, s),
    );
    this.#special = new Set(parts.addedTokens.filter((t) => t.special).map((t) => t.id));
  }

  /**
   * Encodes one text without special tokens or truncation.
   *
   * @param text The text.
   * @returns Ids and token strings.
   * @throws {TokenizerInputError} When the text holds a lone surrogate (see {@linkcode TokenizerInputError}).
   *
   * @example Usage
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { WordPieceTokenizer } from "./wordpiece.ts";
   * const tok = WordPieceTokenizer.fromVocabText("[UNK]\n[CLS]\n[SEP]\nhi\n");
   * deepStrictEqual(tok.tokenizeToIds("Hi hi"), [3, 3]);
   * ```
   */
  tokenizeToIds(text: string): number[] {
    return this.#run(text, "the text").ids;
  }

  /** Ids and offsets of one text, without special tokens. */
  #run(text: string, which: string): { ids: number[]; offsets: [number, number][] } {
    checkWellFormed(text, which);
    const p = this.#parts;
    const ids: number[] = [];
    const offsets: [number, number][] = [];
    const spans: number[] = [];
    for (const seg of this.#splitter.splitRaw(text)) {
      if (seg.id !== undefined) {
        ids.push(seg.id);
        offsets.push([seg.start, seg.start + seg.text.length]);
        continue;
      }
      const raw = NormalizedText.from(seg.text, seg.start);
      const normalized = p.normalize ? p.normalize(raw) : raw;
      for (const nseg of this.#splitter.splitNormalized(normalized.text)) {
        const end = nseg.start + nseg.text.length;
        if (nseg.id !== undefined) {
          ids.push(nseg.id);
          offsets.push(normalized.originalRange(nseg.start, end));
          continue;
        }
        const part = nseg.start === 0 && end === normalized.text.length
          ? normalized
          : normalized.slice(nseg.start, end);
        for (const word of p.preTokenize(part)) {
          spans.length = 0;
          const wordIds = p.model.tokenize(word.text, spans);
          for (let i = 0; i < wordIds.length; i++) {
            ids.push(wordIds[i]!);
            offsets.push(word.originalRange(spans[2 * i]!, spans[2 * i + 1]!));
          }
        }
      }
    }
    return { ids, offsets };
  }

  /**
   * The token strings of a text, without special tokens.
   *
   * @param text The text.
   * @returns Token strings.
   *
   * @example Usage
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { WordPieceTokenizer } from "./wordpiece.ts";
   * const tok = WordPieceTokenizer.fromVocabText("[UNK]\n[CLS]\n[SEP]\nhi\n");
   * deepStrictEqual(tok.tokenize("hi!"), ["hi", "[UNK]"]);
   * ```
   */
  tokenize(text: string): string[] {
    return this.tokenizeToIds(text).map((id) => this.idToToken(id));
  }

  /**
   * Encodes a text or a pair, with special tokens and optional truncation (HF `longest_first` by default).
   *
   * @param text The first text.
   * @param textPair The optional second text.
   * @param opts Special tokens and truncation.
   * @returns Ids, segment ids and token strings.
   * @throws {RangeError} When `maxLength` is smaller than the number of special tokens.
   * @throws {TokenizerInputError} When either text holds a lone surrogate.
   *
   * @example Usage
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { WordPieceTokenizer } from "./wordpiece.ts";
   * const tok = WordPieceTokenizer.fromVocabText("[UNK]\n[CLS]\n[SEP]\na\nb\n");
   * deepStrictEqual(tok.encode("a", "b b").tokenTypeIds, [0, 0, 0, 1, 1, 1]);
   * ```
   */
  encode(text: string, textPair?: string, opts: EncodeOptions = {}): Encoding {
    const addSpecial = opts.addSpecialTokens ?? true;
    let a = this.#run(text, "the text");
    let b = textPair === undefined ? undefined : this.#run(textPair, "the text pair");
    const pp = this.#parts.postProcessor;
    if (opts.maxLength !== undefined) {
      const added = addSpecial ? pp.addedTokens(b !== undefined) : 0;
      if (opts.maxLength < added) {
        throw new RangeError(
          `Max length is "${opts.maxLength}", expected at least "${added}" (the special tokens added)`,
        );
      }
      const [na, nb] = truncatedLengths(a.ids.length, b?.ids.length, opts.maxLength - added, opts.truncation);
      const cut = (r: typeof a, n: number) =>
        n < r.ids.length ? { ids: r.ids.slice(0, n), offsets: r.offsets.slice(0, n) } : r;
      a = cut(a, na);
      if (b !== undefined) b = cut(b, nb);
    }
    const run = (r: typeof a): TokenRun => ({
      ids: r.ids,
      tokens: r.ids.map((id) => this.idToToken(id)),
      offsets: r.offsets,
    });
    return pp.process(run(a), b === undefined ? undefined : run(b), addSpecial);
  }

  /**
   * Decodes ids to text with the family's decoder.
   *
   * @param ids Token ids.
   * @param opts Whether to skip special tokens.
   * @returns The text.
   * @throws {RangeError} When an id is outside the vocabulary.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * import { WordPieceTokenizer } from "./wordpiece.ts";
   * const tok = WordPieceTokenizer.fromVocabText("[UNK]\n[CLS]\n[SEP]\nhello\n##s\n");
   * strictEqual(tok.decode([1, 3, 4, 2], { skipSpecialTokens: true }), "hellos");
   * ```
   */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (const id of ids) {
      if (skip && this.#special.has(id)) continue;
      tokens.push(this.idToToken(id));
    }
    return this.#parts.decode(tokens);
  }

  /**
   * The token string of an id.
   *
   * @param id A token id.
   * @returns The token.
   * @throws {RangeError} When the id has no token.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * import { WordPieceTokenizer } from "./wordpiece.ts";
   * strictEqual(WordPieceTokenizer.fromVocabText("[UNK]\n[CLS]\n[SEP]\n").idToToken(1), "[CLS]");
   * ```
   */
  idToToken(id: number): string {
    const t = this.#parts.idToToken[id];
    if (t === undefined) throw new RangeError(`Token id "${id}" is not in the vocabulary of ${this.vocabSize} ids`);
    return t;
  }

  /**
   * The id of a token string.
   *
   * @param token A token as stored in the vocabulary.
   * @returns Its id, or `undefined`.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * import { WordPieceTokenizer } from "./wordpiece.ts";
   * strictEqual(WordPieceTokenizer.fromVocabText("[UNK]\n[CLS]\n[SEP]\n").tokenToId("[SEP]"), 2);
   * ```
   */
  tokenToId(token: string): number | undefined {
    return this.#parts.tokenToId.get(token);
  }
}
