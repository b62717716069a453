/**
 * RoBERTa's tokenizer from `vocab.json` + `merges.txt` (no `tokenizer.json`), as transformers' `RobertaConverter`
 * builds it: GPT-2's byte-level BPE, `<s> A </s>` / `<s> A </s></s> B </s>` with offsets trimmed of spaces,
 * and `<mask>` taking the space on its left.
 *
 * @module
 */

import type { AddedToken } from "./added_tokens.ts";
import { BpeModel } from "./bpe_model.ts";
import { byteLevelDecode } from "./byte_level.ts";
import { PipelineTokenizer } from "./pipeline_tokenizer.ts";
import { robertaPostProcessor } from "./post_processor.ts";
import { byteLevelPreTokenizer } from "./pre_tokenizers.ts";

/**
 * Builds RoBERTa's tokenizer.
 *
 * @param vocab Token → id (`vocab.json`).
 * @param merges Merge pairs in rank order (`merges.txt`).
 * @param opts Whether a space is prepended to the text (`add_prefix_space`, default `false`).
 * @returns The tokenizer.
 * @throws {Error} When `<s>`, `</s>`, `<pad>`, `<unk>` or `<mask>` is missing, or a merge is invalid.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const vocab = new Map([["<s>", 0], ["<pad>", 1], ["</s>", 2], ["<unk>", 3], ["a", 4], ["<mask>", 5]]);
 * deepStrictEqual(robertaBpeTokenizer(vocab, []).encode("a<mask>").ids, [0, 4, 5, 2]);
 * ```
 */
export function robertaBpeTokenizer(
  vocab: Map<string, number>,
  merges: [string, string][],
  opts: { addPrefixSpace?: boolean } = {},
): PipelineTokenizer {
  const model = new BpeModel(vocab, merges);
  const idOf = (t: string) => {
    const id = vocab.get(t);
    if (id === undefined) throw new Error(`RoBERTa vocabulary "vocab.json" has no "${t}" token`);
    return id;
  };
  const added: AddedToken[] = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"].map((content) => ({
    id: idOf(content),
    content,
    special: true,
    lstrip: content === "<mask>",
  }));
  const addPrefixSpace = opts.addPrefixSpace ?? false;
  return new PipelineTokenizer({
    kind: "byte-level-bpe",
    idToToken: model.idToToken,
    tokenToId: vocab,
    preTokenize: byteLevelPreTokenizer(addPrefixSpace, true),
    model,
    postProcessor: robertaPostProcessor(idOf("<s>"), idOf("</s>"), "<s>", "</s>", { addPrefixSpace }),
    decode: byteLevelDecode,
    addedTokens: added,
    padId: idOf("<pad>"),
    unkId: vocab.get("<unk>"),
  });
}
