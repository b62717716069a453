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

/**
 * One step of a decoder chain (Hugging Face's `decode_chain`): token strings to token strings; the decoded text
 * is the last step's strings joined.
 *
 * @example Usage
 * ```ts
 * const upper: DecodeStep = (tokens) => tokens.map((t) => t.toUpperCase());
 * ```
 */
export type DecodeStep = (tokens: string[]) => string[];

const BYTE_TOKEN_RE = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * `ByteFallback`: runs of `<0xXX>` tokens become the text their bytes spell, or one U+FFFD per byte when the
 * bytes are not valid UTF-8.
 *
 * @param tokens Token strings.
 * @returns The tokens with byte runs decoded.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(byteFallbackStep(["a", "<0xC3>", "<0xA9>", "b", "<0xFF>"]), ["a", "é", "b", "\ufffd"]);
 * ```
 */
export function byteFallbackStep(tokens: string[]): string[] {
  const out: string[] = [];
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length === 0) return;
    try {
      out.push(new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes)));
    } catch {
      for (let i = 0; i < bytes.length; i++) out.push("\ufffd");
    }
    bytes = [];
  };
  for (const t of tokens) {
    const m = t.length === 6 ? BYTE_TOKEN_RE.exec(t) : null;
    if (m !== null) bytes.push(parseInt(m[1]!, 16));
    else flush(), out.push(t);
  }
  flush();
  return out;
}

/**
 * `Fuse`: all tokens become one string.
 *
 * @param tokens Token strings.
 * @returns One string.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(fuseStep(["a", "b"]), ["ab"]);
 * ```
 */
export function fuseStep(tokens: string[]): string[] {
  return [tokens.join("")];
}

/**
 * `Strip`: removes up to `start` leading and `stop` trailing `content` characters from every token.
 *
 * @param content The character to strip.
 * @param start How many at most at the start.
 * @param stop How many at most at the end.
 * @returns The step.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(stripStep(" ", 1, 0)(["  a "]), [" a "]);
 * ```
 */
export function stripStep(content: string, start: number, stop: number): DecodeStep {
  return (tokens) =>
    tokens.map((t) => {
      const chars = Array.from(t);
      let a = 0;
      while (a < start && a < chars.length && chars[a] === content) a++;
      let z = chars.length;
      while (chars.length - z < stop && z > a && chars[z - 1] === content) z--;
      return chars.slice(a, z).join("");
    });
}

/**
 * `Replace`: replaces every match of `pattern` in each token.
 *
 * @param pattern A literal string or a global regular expression.
 * @param content The replacement.
 * @returns The step.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(replaceStep("▁", " ")(["▁a▁b"]), [" a b"]);
 * ```
 */
export function replaceStep(pattern: string | RegExp, content: string): DecodeStep {
  return (tokens) =>
    tokens.map((t) => typeof pattern === "string" ? t.replaceAll(pattern, content) : t.replace(pattern, () => content));
}

/**
 * `Metaspace` decoding: the replacement character becomes a space, except in the first token when a prefix was
 * prepended (the prepend scheme is not `"never"`), where it is dropped.
 *
 * @param replacement The character standing for a space.
 * @param prependScheme The pre-tokenizer's scheme.
 * @returns The step.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(metaspaceStep("▁", "always")(["▁hello", "▁world"]), ["hello", " world"]);
 * ```
 */
export function metaspaceStep(replacement: string, prependScheme: "always" | "first" | "never"): DecodeStep {
  return (tokens) => tokens.map((t, i) => t.replaceAll(replacement, i === 0 && prependScheme !== "never" ? "" : " "));
}

/**
 * Runs decode steps in order and joins the result.
 *
 * @param steps The steps.
 * @returns A decoder from token strings to text.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(chainDecoder([replaceStep("▁", " "), byteFallbackStep, fuseStep, stripStep(" ", 1, 0)])(["▁a", "<0x21>"]), "a!");
 * ```
 */
export function chainDecoder(steps: readonly DecodeStep[]): (tokens: string[]) => string {
  return (tokens) => steps.reduce((t, step) => step(t), tokens).join("");
}
