/**
 * Decoders: token strings back to text, as Hugging Face's `WordPiece`, `ByteLevel` and `BPEDecoder`.
 *
 * @module
 */

export { byteLevelDecode } from "./byte_level.ts";

/**
 * Hugging Face's tokenization clean-up (`" ."` → `"."`, `" n't"` → `"n't"`, …), applied per token.
 *
 * @param s A token with its leading space.
 * @returns The cleaned token.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(cleanupTokenizationSpaces(" ."), ".");
 * ```
 */
export function cleanupTokenizationSpaces(s: string): string {
  return s.replaceAll(" .", ".").replaceAll(" ?", "?").replaceAll(" !", "!").replaceAll(" ,", ",")
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(" do not", " don't")
    .replaceAll(" 's", "'s").replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}

/**
 * WordPiece decoding: pieces starting with the prefix are glued to the previous token, others get a space.
 * With `cleanup`, the clean-up runs per token (as the Rust decoder) and once more on the joined text (as
 * `transformers`' `clean_up_tokenization_spaces=True`), so `it ' s` becomes `it's`.
 *
 * @param tokens Token strings.
 * @param prefix Continuing-piece prefix. Default `"##"`.
 * @param cleanup Apply {@linkcode cleanupTokenizationSpaces}. Default `true`.
 * @returns The text.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(wordPieceDecode(["un", "##aff", "##able", "!"]), "unaffable!");
 * ```
 */
export function wordPieceDecode(tokens: readonly string[], prefix = "##", cleanup = true): string {
  const parts = tokens.map((t, i) => {
    let s = t;
    if (i !== 0) s = t.startsWith(prefix) ? t.slice(prefix.length) : " " + t;
    return cleanup ? cleanupTokenizationSpaces(s) : s;
  });
  const text = parts.join("");
  return cleanup ? cleanupTokenizationSpaces(text) : text;
}

/**
 * BPE suffix decoding (OpenAI GPT): the end-of-word suffix becomes a space, except on the last token.
 *
 * @param tokens Token strings.
 * @param suffix End-of-word suffix. Default `"</w>"`.
 * @returns The text.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(bpeSuffixDecode(["hel", "lo</w>", "world</w>"]), "hello world");
 * ```
 */
export function bpeSuffixDecode(tokens: readonly string[], suffix = "</w>"): string {
  const n = tokens.length - 1;
  return tokens.map((t, i) => t.replaceAll(suffix, i === n ? "" : " ")).join("");
}
