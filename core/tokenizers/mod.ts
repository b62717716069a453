/**
 * Tokenizers for BERT (WordPiece), GPT-2 (byte-level BPE) and OpenAI GPT (BPE with `</w>`), matching
 * Hugging Face's fast tokenizers id for id. Load from a checkpoint with {@linkcode loadTokenizer}
 * (`tokenizer.json` first, vocabulary files otherwise), or build directly from file texts. Browser-safe.
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
