/**
 * The common tokenizer contract.
 *
 * @module
 */

/**
 * What a tokenizer is, read off its pipeline rather than chosen from a closed list: the model, qualified by
 * the pre-tokenizer where that changes its alphabet — `"wordpiece"`, `"bpe"` (OpenAI GPT, Llama),
 * `"byte-level-bpe"` (GPT-2, RoBERTa), `"unigram"` (ALBERT, XLM-R, T5). It describes; nothing branches on it.
 *
 * A model family names, in the same type, how to read a checkpoint that ships no `tokenizer.json`
 * (see `loadTokenizer`): `"wordpiece"` (`vocab.txt`), `"gpt2-bpe"` / `"openai-gpt-bpe"` (`vocab.json` +
 * `merges.txt`), `"roberta-vocab"` (XLM-R's `sentencepiece.bpe.model`, else RoBERTa's `vocab.json` +
 * `merges.txt`), `"albert-sentencepiece"` (`spiece.model`), `"xlm-roberta-sentencepiece"`
 * (`sentencepiece.bpe.model`).
 *
 * @example Usage
 * ```ts
 * const kind: TokenizerKind = "unigram";
 * ```
 */
export type TokenizerKind = string;

/**
 * The result of {@linkcode Tokenizer.encode}.
 *
 * @example Usage
 * ```ts
 * const e: Encoding = {
 *   ids: [101, 7592, 102],
 *   tokenTypeIds: [0, 0, 0],
 *   tokens: ["[CLS]", "hello", "[SEP]"],
 *   offsets: [[0, 0], [0, 5], [0, 0]],
 *   sequenceIds: [null, 0, null],
 * };
 * ```
 */
export interface Encoding {
  /** Token ids, special tokens included when they were added. */
  ids: number[];
  /** Segment ids: 0 for the first sequence (and its special tokens), 1 for the second (BERT template). */
  tokenTypeIds: number[];
  /** The token strings of `ids`. */
  tokens: string[];
  /**
   * Each token's `[start, end)` in the text it came from, in UTF-16 units (Hugging Face's `offsets`, which
   * count characters); `[0, 0]` for the special tokens the post-processor added.
   */
  offsets: [number, number][];
  /** Which text each token came from: 0 (the text), 1 (the pair), `null` for post-processor tokens. */
  sequenceIds: (number | null)[];
}

/**
 * How to truncate a pair that exceeds `maxLength` (Hugging Face's names).
 *
 * @example Usage
 * ```ts
 * const s: TruncationStrategy = "longest_first";
 * ```
 */
export type TruncationStrategy = "longest_first" | "only_first" | "only_second";

/**
 * Options of {@linkcode Tokenizer.encode}.
 *
 * @example Usage
 * ```ts
 * const opts: EncodeOptions = { maxLength: 128, addSpecialTokens: true };
 * ```
 */
export interface EncodeOptions {
  /** Add the model's special tokens (`[CLS]`/`[SEP]` for BERT; none for GPT-2 / OpenAI GPT). Default `true`. */
  addSpecialTokens?: boolean;
  /** Truncate so that the result, special tokens included, has at most this many tokens. */
  maxLength?: number;
  /** Which sequence(s) lose tokens when truncating. Default `"longest_first"`. */
  truncation?: TruncationStrategy;
}

/**
 * Options of {@linkcode Tokenizer.decode}.
 *
 * @example Usage
 * ```ts
 * const opts: DecodeOptions = { skipSpecialTokens: true };
 * ```
 */
export interface DecodeOptions {
  /** Leave out special tokens (`[CLS]`, `<|endoftext|>`, …). Default `false`. */
  skipSpecialTokens?: boolean;
}

/**
 * A tokenizer: text to ids and back, matching Hugging Face's fast tokenizers.
 *
 * @example Usage
 * ```ts
 * import { WordPieceTokenizer } from "./wordpiece.ts";
 * const tok: Tokenizer = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhi\n");
 * tok.encode("hi", "hi", { maxLength: 8 });
 * ```
 */
export interface Tokenizer {
  /** What it is, read off its pipeline (see {@linkcode TokenizerKind}). */
  readonly kind: TokenizerKind;
  /** Number of ids (model vocabulary plus added tokens). */
  readonly vocabSize: number;
  /**
   * Id to pad with. BERT: `[PAD]` (0). GPT-2 and OpenAI GPT have no pad token; this is then 0, the value the
   * project's padded goldens use (padded positions are masked out, so the id itself never matters).
   */
  readonly padId: number;
  /** Id of the unknown token, or `undefined` when the model has none (GPT-2). */
  readonly unkId: number | undefined;
  /**
   * Encodes a text, or a pair of texts.
   * @param text The (first) text.
   * @param textPair The optional second text.
   * @param opts Special tokens and truncation.
   *
   * @example Usage
   * ```ts
   * import { WordPieceTokenizer } from "./wordpiece.ts";
   * const tok: Tokenizer = WordPieceTokenizer.fromVocabText("[UNK]\n[CLS]\n[SEP]\nhi\n");
   * tok.encode("hi"); // ids [1, 3, 2]
   * ```
   */
  encode(text: string, textPair?: string, opts?: EncodeOptions): Encoding;
  /**
   * Turns ids back into text.
   * @param ids Token ids.
   * @param opts Whether to skip special tokens.
   *
   * @example Usage
   * ```ts
   * import { WordPieceTokenizer } from "./wordpiece.ts";
   * const tok: Tokenizer = WordPieceTokenizer.fromVocabText("[UNK]\n[CLS]\n[SEP]\nhi\n");
   * tok.decode([1, 3, 2], { skipSpecialTokens: true }); // "hi"
   * ```
   */
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  /**
   * The token string of an id.
   * @param id A token id.
   * @throws {RangeError} When the id is outside the vocabulary.
   *
   * @example Usage
   * ```ts
   * import { WordPieceTokenizer } from "./wordpiece.ts";
   * WordPieceTokenizer.fromVocabText("[UNK]\n[CLS]\n[SEP]\n").idToToken(1); // "[CLS]"
   * ```
   */
  idToToken(id: number): string;
  /**
   * The id of a token string, or `undefined`.
   * @param token A token string as stored in the vocabulary.
   *
   * @example Usage
   * ```ts
   * import { WordPieceTokenizer } from "./wordpiece.ts";
   * WordPieceTokenizer.fromVocabText("[UNK]\n[CLS]\n[SEP]\n").tokenToId("[SEP]"); // 2
   * ```
   */
  tokenToId(token: string): number | undefined;
}
