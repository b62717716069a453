/**
 * A word as one vocabulary token, however the tokenizer marks a word start (GPT-2's `Ġfilm`, sentencepiece's
 * `▁film`, WordPiece's bare `film`), found by encoding rather than by knowing the marker.
 *
 * @module
 */

import type { Tokenizer } from "./types.ts";

/**
 * The id of the token that stands for `word`: the token spelt exactly so, or else the one token the word
 * encodes to after a space (as running text spells it), alone, or without its leading spaces. `undefined` when the word is no single token
 * (it splits into pieces, or only the unknown token stands for it).
 *
 * @param tokenizer The tokenizer.
 * @param word A token string or a word.
 * @returns Its id, or `undefined`.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { tokenizerFromJson } from "./tokenizer_json.ts";
 * const tok = tokenizerFromJson({
 *   model: { type: "Unigram", unk_id: 0, vocab: [["<unk>", 0], ["▁film", -1], ["▁", -2]] },
 *   pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "always" },
 * });
 * strictEqual(wordTokenId(tok, "film"), 1);
 * ```
 */
export function wordTokenId(tokenizer: Tokenizer, word: string): number | undefined {
  const exact = tokenizer.tokenToId(word);
  if (exact !== undefined) return exact;
  if (!word.isWellFormed() || word.trim() === "") return undefined;
  // a word given with its leading space (" Lily", as GPT-2's vocabulary spells it) is also tried without it: a
  // sentencepiece tokenizer marks the word start itself and reads the space as one more "▁"
  for (const text of [` ${word}`, word, word.trimStart()]) {
    const ids = tokenizer.encode(text, undefined, { addSpecialTokens: false }).ids;
    if (ids.length === 1 && ids[0] !== tokenizer.unkId) return ids[0];
  }
  return undefined;
}
