/**
 * Tokenizers matching Hugging Face's fast tokenizers id for id: WordPiece (BERT), byte-level BPE (GPT-2,
 * RoBERTa), BPE (OpenAI GPT, Llama with byte fallback), Unigram with sentencepiece's charsmap and Metaspace
 * (ALBERT, XLM-R). Load from a checkpoint with {@linkcode loadTokenizer} (`tokenizer.json` first, vocabulary
 * files or a sentencepiece `.model` otherwise), or build directly from file texts. Every token carries its
 * offsets in the text. Browser-safe.
 *
 * Input that cannot be tokenized faithfully is refused, never dropped, in every family (and so in the CLI's
 * `tokenize` and the web API, which encode through this library):
 * - text holding a lone UTF-16 surrogate (say `"\ud800"` from a JSON escape) throws a
 *   {@linkcode TokenizerInputError} naming the code unit and its index, as Hugging Face's Python tokenizers
 *   raise; pass `text.toWellFormed()` to get U+FFFD replacement instead;
 * - a BPE vocabulary missing a character of the text, with no unknown token and no byte fallback (a broken
 *   `vocab.json`, which HF would silently encode to fewer or no ids) throws an Error naming the character.
 *
 * Error messages quote file contents as short excerpts (at most 200 characters).
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { WordPieceTokenizer } from "./mod.ts";
 * const tok = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\n");
 * const enc = tok.encode("Hello", "world");
 * deepStrictEqual(enc.ids, [2, 4, 3, 5, 3]);
 * deepStrictEqual(enc.tokenTypeIds, [0, 0, 0, 1, 1]);
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./load_tokenizer.ts";
export * from "./pipeline_tokenizer.ts";
export * from "./wordpiece.ts";
export * from "./gpt2_bpe.ts";
export * from "./openai_gpt_bpe.ts";
export * from "./tokenizer_json.ts";
export * from "./bert_normalizer.ts";
export * from "./bert_pre_tokenizer.ts";
export * from "./wordpiece_model.ts";
export * from "./bpe_model.ts";
export * from "./byte_level.ts";
export * from "./post_processor.ts";
export * from "./truncation.ts";
export * from "./added_tokens.ts";
export * from "./decoders.ts";
export * from "./normalized_text.ts";
export * from "./normalizers.ts";
export * from "./pre_tokenizers.ts";
export * from "./unigram_model.ts";
export * from "./precompiled_charsmap.ts";
export * from "./unicode_normalize.ts";
export * from "./sentencepiece.ts";
export * from "./roberta_bpe.ts";
export * from "./word_token.ts";
