/**
 * GPT-2's byte-level BPE tokenizer from `vocab.json` + `merges.txt`, matching Hugging Face's fast
 * `GPT2Tokenizer` (no special tokens added; `<|endoftext|>` in a text is matched as one token).
 *
 * @module
 */

import { describeValue, excerpt } from "../checkpoint/_describe.ts";
import type { AddedToken } from "./added_tokens.ts";
import { BpeModel, parseMergesText } from "./bpe_model.ts";
import { byteLevelDecode } from "./byte_level.ts";
import { byteLevelPreTokenizer } from "./pre_tokenizers.ts";
import { PipelineTokenizer } from "./pipeline_tokenizer.ts";
import { plainPostProcessor } from "./post_processor.ts";

/**
 * Options of {@linkcode Gpt2BpeTokenizer.fromFiles}.
 *
 * @example Usage
 * ```ts
 * const opts: Gpt2BpeTokenizerOptions = { addPrefixSpace: false, eosToken: "<|endoftext|>" };
 * ```
 */
export interface Gpt2BpeTokenizerOptions {
  /** Prepend a space to texts that do not start with one. Default `false`. */
  addPrefixSpace?: boolean;
  /** The end-of-text token, an added special token. Default `"<|endoftext|>"`. */
  eosToken?: string | undefined;
  /** Pad token, if the checkpoint defines one; otherwise {@linkcode Gpt2BpeTokenizer.padId} is 0. */
  padToken?: string | null | undefined;
}

/**
 * Parses a `vocab.json` (token → id).
 *
 * @param json The file's text.
 * @param name File name for error messages.
 * @returns Token → id.
 * @throws {Error} When the text is not valid JSON or not an object of integer ids.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(parseVocabJson('{"a": 0, "b": 1}').get("b"), 1);
 * ```
 */
export function parseVocabJson(json: string, name = "vocab.json"): Map<string, number> {
  let obj: unknown;
  try {
    obj = JSON.parse(json);
  } catch (e) {
    throw new Error(`"${name}" is not valid JSON (${excerpt((e as Error).message)})`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new Error(`"${name}" is not a JSON object of token ids`);
  }
  const vocab = new Map<string, number>();
  for (const [t, id] of Object.entries(obj)) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw new Error(`"${name}" maps "${excerpt(t)}" to ${describeValue(id)}, expected a non-negative integer id`);
    }
    vocab.set(t, id as number);
  }
  return vocab;
}

/**
 * GPT-2's tokenizer.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const vocab = JSON.stringify({ "h": 0, "i": 1, "hi": 2, "Ġ": 3, "Ġhi": 4, "<|endoftext|>": 5 });
 * const tok = Gpt2BpeTokenizer.fromFiles(vocab, "#version: 0.2\nh i\nĠ hi\n");
 * deepStrictEqual(tok.encode("hi hi<|endoftext|>").ids, [2, 4, 5]);
 * ```
 */
export class Gpt2BpeTokenizer extends PipelineTokenizer {
  /**
   * Builds the tokenizer from the texts of `vocab.json` and `merges.txt`.
   *
   * @param vocabJson `vocab.json` text.
   * @param mergesText `merges.txt` text.
   * @param opts Prefix space and special tokens.
   * @returns The tokenizer.
   * @throws {Error} When the files are malformed or a merge uses a token absent from the vocabulary.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * const tok = Gpt2BpeTokenizer.fromFiles('{"a": 0, "<|endoftext|>": 1}', "#version: 0.2\n");
   * strictEqual(tok.decode([0, 0]), "aa");
   * ```
   */
  static fromFiles(vocabJson: string, mergesText: string, opts: Gpt2BpeTokenizerOptions = {}): Gpt2BpeTokenizer {
    return Gpt2BpeTokenizer.fromVocab(parseVocabJson(vocabJson), parseMergesText(mergesText), opts);
  }

  /**
   * Builds the tokenizer from a parsed vocabulary and merges.
   *
   * @param vocab Token → id.
   * @param merges Merge pairs in rank order.
   * @param opts Prefix space and special tokens.
   * @returns The tokenizer.
   * @throws {Error} When a merge uses a token absent from the vocabulary.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * strictEqual(Gpt2BpeTokenizer.fromVocab(new Map([["a", 0]]), []).vocabSize, 1);
   * ```
   */
  static fromVocab(
    vocab: Map<string, number>,
    merges: [string, string][],
    opts: Gpt2BpeTokenizerOptions = {},
  ): Gpt2BpeTokenizer {
    const model = new BpeModel(vocab, merges);
    const eos = opts.eosToken ?? "<|endoftext|>";
    const added: AddedToken[] = [];
    const eosId = vocab.get(eos);
    if (eosId !== undefined) added.push({ id: eosId, content: eos, special: true });
    const addPrefixSpace = opts.addPrefixSpace ?? false;
    return new Gpt2BpeTokenizer({
      kind: "byte-level-bpe",
      idToToken: model.idToToken,
      tokenToId: vocab,
      preTokenize: byteLevelPreTokenizer(addPrefixSpace, true),
      model,
      postProcessor: plainPostProcessor(), // GPT2Converter: ByteLevel(trim_offsets=False)
      decode: byteLevelDecode,
      addedTokens: added,
      padId: opts.padToken == null ? 0 : vocab.get(opts.padToken) ?? 0,
      unkId: undefined,
    });
  }
}
