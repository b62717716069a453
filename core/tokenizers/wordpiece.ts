/**
 * BERT's WordPiece tokenizer from `vocab.txt`, matching Hugging Face's fast `BertTokenizer`
 * (`BertNormalizer` + `BertPreTokenizer` + `WordPiece` + `[CLS] A [SEP] B [SEP]`).
 *
 * @module
 */

import { excerpt } from "../checkpoint/_describe.ts";
import type { AddedToken } from "./added_tokens.ts";
import { bertNormalizer } from "./normalizers.ts";
import { bertPreTokenizer } from "./pre_tokenizers.ts";
import { wordPieceDecode } from "./decoders.ts";
import { PipelineTokenizer } from "./pipeline_tokenizer.ts";
import { bertPostProcessor } from "./post_processor.ts";
import { parseVocabText, WordPieceModel } from "./wordpiece_model.ts";

/**
 * Options of {@linkcode WordPieceTokenizer.fromVocabText}, named after `tokenizer_config.json`.
 *
 * @example Usage
 * ```ts
 * const cased: WordPieceTokenizerOptions = { doLowerCase: false };
 * WordPieceTokenizer.fromVocabText("[UNK]\n[CLS]\n[SEP]\n", cased);
 * ```
 */
export interface WordPieceTokenizerOptions {
  /** Lower-case (uncased models). Default `true`. */
  doLowerCase?: boolean;
  /** Strip accents; `null`/`undefined` follows `doLowerCase`. */
  stripAccents?: boolean | null;
  /** Split CJK ideographs into single characters. Default `true`. */
  tokenizeChineseChars?: boolean;
  /** Words longer than this become `[UNK]`. Default 100. */
  maxInputCharsPerWord?: number;
  /** Default `"[UNK]"`. */
  unkToken?: string | undefined;
  /** Default `"[CLS]"`. */
  clsToken?: string | undefined;
  /** Default `"[SEP]"`. */
  sepToken?: string | undefined;
  /** Default `"[PAD]"`. */
  padToken?: string | undefined;
  /** Default `"[MASK]"`. */
  maskToken?: string | undefined;
}

/**
 * BERT's tokenizer.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const tok = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n##s\n,\n");
 * deepStrictEqual(tok.encode("Hellos, hello").tokens, ["[CLS]", "hello", "##s", ",", "hello", "[SEP]"]);
 * ```
 */
export class WordPieceTokenizer extends PipelineTokenizer {
  /**
   * Builds the tokenizer from the text of a `vocab.txt`.
   *
   * @param vocabText The file's text: one token per line, line N is id N-1.
   * @param opts Casing and special tokens.
   * @returns The tokenizer.
   * @throws {Error} When `[UNK]`, `[CLS]` or `[SEP]` is missing from the vocabulary.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * const tok = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
   * strictEqual(tok.vocabSize, 4);
   * ```
   */
  static fromVocabText(vocabText: string, opts: WordPieceTokenizerOptions = {}): WordPieceTokenizer {
    return WordPieceTokenizer.fromTokens(parseVocabText(vocabText), opts);
  }

  /**
   * Builds the tokenizer from the tokens in id order.
   *
   * @param tokens Token of each id.
   * @param opts Casing and special tokens.
   * @returns The tokenizer.
   * @throws {Error} When `[UNK]`, `[CLS]` or `[SEP]` is missing from the vocabulary.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * strictEqual(WordPieceTokenizer.fromTokens(["[UNK]", "[CLS]", "[SEP]"]).padId, 0);
   * ```
   */
  static fromTokens(tokens: readonly string[], opts: WordPieceTokenizerOptions = {}): WordPieceTokenizer {
    const vocab = new Map<string, number>();
    tokens.forEach((t, i) => vocab.set(t, i));
    const lowercase = opts.doLowerCase ?? true;
    const names = {
      unk: opts.unkToken ?? "[UNK]",
      cls: opts.clsToken ?? "[CLS]",
      sep: opts.sepToken ?? "[SEP]",
      pad: opts.padToken ?? "[PAD]",
      mask: opts.maskToken ?? "[MASK]",
    };
    const idOf = (t: string) => {
      const id = vocab.get(t);
      if (id === undefined) throw new Error(`WordPiece vocabulary has no "${excerpt(t)}" token, expected one for BERT`);
      return id;
    };
    const model = new WordPieceModel(vocab, {
      unkToken: names.unk,
      maxInputCharsPerWord: opts.maxInputCharsPerWord ?? 100,
    });
    const added: AddedToken[] = [];
    for (const t of [names.pad, names.unk, names.cls, names.sep, names.mask]) {
      const id = vocab.get(t);
      if (id !== undefined) added.push({ id, content: t, special: true });
    }
    const idToToken: string[] = [];
    for (const [t, id] of vocab) idToToken[id] = t;
    const normOpts = {
      lowercase,
      stripAccents: opts.stripAccents ?? null,
      handleChineseChars: opts.tokenizeChineseChars ?? true,
      cleanText: true,
    };
    return new WordPieceTokenizer({
      kind: "wordpiece",
      idToToken,
      tokenToId: vocab,
      normalize: bertNormalizer(normOpts),
      preTokenize: bertPreTokenizer,
      model,
      postProcessor: bertPostProcessor(idOf(names.cls), idOf(names.sep), names.cls, names.sep),
      decode: (t) => wordPieceDecode(t),
      addedTokens: added,
      padId: vocab.get(names.pad) ?? 0,
      unkId: model.unkId,
    });
  }
}
