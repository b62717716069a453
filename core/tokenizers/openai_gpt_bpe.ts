/**
 * OpenAI GPT's BPE tokenizer from `vocab.json` + `merges.txt`, matching Hugging Face's fast
 * `OpenAIGPTTokenizer`: `BertNormalizer` (lower-case, accents stripped, CJK split, text cleaned),
 * `BertPreTokenizer`, BPE with `</w>` word ends and `<unk>` for unknown characters, no special tokens added.
 * (The slow tokenizer uses ftfy + spaCy when installed, else a BERT-style basic tokenizer.)
 *
 * @module
 */

import type { AddedToken } from "./added_tokens.ts";
import { bertNormalizer } from "./normalizers.ts";
import { bertPreTokenizer } from "./pre_tokenizers.ts";
import { BpeModel, parseMergesText } from "./bpe_model.ts";
import { bpeSuffixDecode } from "./decoders.ts";
import { parseVocabJson } from "./gpt2_bpe.ts";
import { PipelineTokenizer } from "./pipeline_tokenizer.ts";
import { plainPostProcessor } from "./post_processor.ts";

/**
 * Options of {@linkcode OpenAiGptBpeTokenizer.fromFiles}.
 *
 * @example Usage
 * ```ts
 * const opts: OpenAiGptBpeTokenizerOptions = { unkToken: "<unk>" };
 * ```
 */
export interface OpenAiGptBpeTokenizerOptions {
  /** The unknown token. Default `"<unk>"`. */
  unkToken?: string | undefined;
}

/**
 * OpenAI GPT's tokenizer.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const vocab = JSON.stringify({ "<unk>": 0, "h": 1, "i</w>": 2, "hi</w>": 3 });
 * const tok = OpenAiGptBpeTokenizer.fromFiles(vocab, "#version: 0.2\nh i</w>\n");
 * deepStrictEqual(tok.encode("Hi ho").tokens, ["hi</w>", "h", "<unk>"]);
 * ```
 */
export class OpenAiGptBpeTokenizer extends PipelineTokenizer {
  /**
   * Builds the tokenizer from the texts of `vocab.json` and `merges.txt`.
   *
   * @param vocabJson `vocab.json` text.
   * @param mergesText `merges.txt` text.
   * @param opts The unknown token.
   * @returns The tokenizer.
   * @throws {Error} When the files are malformed or the unknown token is missing.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * const tok = OpenAiGptBpeTokenizer.fromFiles('{"<unk>": 0, "a</w>": 1}', "#version: 0.2\n");
   * strictEqual(tok.decode(tok.encode("A a").ids), "a a");
   * ```
   */
  static fromFiles(
    vocabJson: string,
    mergesText: string,
    opts: OpenAiGptBpeTokenizerOptions = {},
  ): OpenAiGptBpeTokenizer {
    const vocab = parseVocabJson(vocabJson);
    const unk = opts.unkToken ?? "<unk>";
    const model = new BpeModel(vocab, parseMergesText(mergesText), { unkToken: unk, endOfWordSuffix: "</w>" });
    const added: AddedToken[] = [{ id: model.unkId!, content: unk, special: true }];
    return new OpenAiGptBpeTokenizer({
      kind: "bpe",
      idToToken: model.idToToken,
      tokenToId: vocab,
      normalize: bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true }),
      preTokenize: bertPreTokenizer,
      model,
      postProcessor: plainPostProcessor(),
      decode: (t) => bpeSuffixDecode(t),
      addedTokens: added,
      padId: 0,
      unkId: model.unkId,
    });
  }
}
