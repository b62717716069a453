/**
 * Pre-tokenizers over aligned text (Hugging Face's `pre_tokenizers`): normalized text to words, each word still
 * aligned with the original text.
 *
 * @module
 */

import { isBertPunctuation, isWhitespace } from "./_unicode.ts";
import { bytesToUnicode } from "./byte_level.ts";
import { AlignedBuilder, type NormalizedText } from "./normalized_text.ts";

/**
 * A pre-tokenizer: aligned text to aligned words.
 *
 * @example Usage
 * ```ts
 * const whole: PreTokenizer = (t) => t.text === "" ? [] : [t];
 * ```
 */
export type PreTokenizer = (text: NormalizedText) => NormalizedText[];

/**
 * BERT's pre-tokenizer: splits on whitespace (dropped) and punctuation (each its own word).
 *
 * @param text The aligned text.
 * @returns The words.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * deepStrictEqual(bertPreTokenizer(NormalizedText.from("hi, you")).map((w) => w.text), ["hi", ",", "you"]);
 * ```
 */
export function bertPreTokenizer(text: NormalizedText): NormalizedText[] {
  const s = text.text;
  const words: NormalizedText[] = [];
  let start = -1;
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i)!;
    const len = cp > 0xffff ? 2 : 1;
    if (isWhitespace(cp)) {
      if (start >= 0) words.push(text.slice(start, i));
      start = -1;
    } else if (isBertPunctuation(cp)) {
      if (start >= 0) words.push(text.slice(start, i));
      words.push(text.slice(i, i + len));
      start = -1;
    } else if (start < 0) start = i;
    i += len;
  }
  if (start >= 0) words.push(text.slice(start));
  return words;
}

/** The words of the matches of a global regex (`Split` with behaviour `Isolated`). */
function matches(text: NormalizedText, re: RegExp): NormalizedText[] {
  const out: NormalizedText[] = [];
  for (const m of text.text.matchAll(re)) if (m[0] !== "") out.push(text.slice(m.index, m.index + m[0].length));
  return out;
}

const WHITESPACE_WORD_RE = /\w+|[^\w\s]+/gu;
const NON_SPACE_RE = /[^\p{White_Space}]+/gu;

/**
 * `Whitespace`: runs of word characters, and runs of other non-space characters.
 *
 * @param text The aligned text.
 * @returns The words.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * deepStrictEqual(whitespacePreTokenizer(NormalizedText.from("hi!! x")).map((w) => w.text), ["hi", "!!", "x"]);
 * ```
 */
export function whitespacePreTokenizer(text: NormalizedText): NormalizedText[] {
  return matches(text, WHITESPACE_WORD_RE);
}

/**
 * `WhitespaceSplit`: splits on Unicode White_Space (Rust `char::is_whitespace`, so U+0085 too).
 *
 * @param text The aligned text.
 * @returns The words.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * deepStrictEqual(whitespaceSplitPreTokenizer(NormalizedText.from("a\u0085b c")).map((w) => w.text), ["a", "b", "c"]);
 * ```
 */
export function whitespaceSplitPreTokenizer(text: NormalizedText): NormalizedText[] {
  return matches(text, NON_SPACE_RE);
}

/**
 * When `Metaspace` prepends its replacement: always, only to the start of the text, or never.
 *
 * @example Usage
 * ```ts
 * const s: PrependScheme = "always";
 * ```
 */
export type PrependScheme = "always" | "first" | "never";

/**
 * sentencepiece's whitespace handling (`Metaspace`): spaces become `replacement` (`▁`), the replacement is
 * prepended to a piece that does not start with it (per `prependScheme`; `"first"` only where the piece starts
 * the original text), and with `split` the text is cut before every replacement.
 *
 * @param replacement The character standing for a space.
 * @param prependScheme When to prepend it.
 * @param split Cut before every replacement.
 * @returns The pre-tokenizer.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * const words = metaspacePreTokenizer("▁", "always", true)(NormalizedText.from("hi  you"));
 * deepStrictEqual(words.map((w) => w.text), ["▁hi", "▁", "▁you"]);
 * ```
 */
export function metaspacePreTokenizer(replacement: string, prependScheme: PrependScheme, split: boolean): PreTokenizer {
  return (text) => {
    const s = text.text;
    const b = new AlignedBuilder(s.length + 1);
    const prepend = s !== "" && !s.startsWith(replacement) &&
      (prependScheme === "always" || (prependScheme === "first" && text.starts[0] === 0));
    if (prepend) b.push(replacement, text.starts[0]!, text.ends[0]!);
    let last = 0;
    for (let i = s.indexOf(" "); i >= 0; i = s.indexOf(" ", i + 1)) {
      b.copy(text, last, i);
      b.push(replacement, text.starts[i]!, text.ends[i]!);
      last = i + 1;
    }
    b.copy(text, last, s.length);
    const out = b.build(text.endOffset);
    if (out.text === "") return [];
    if (!split) return [out];
    const words: NormalizedText[] = [];
    let start = 0;
    const t = out.text;
    for (let i = t.indexOf(replacement, 1); i >= 0; i = t.indexOf(replacement, i + replacement.length)) {
      if (i > start) words.push(out.slice(start, i));
      start = i;
    }
    words.push(out.slice(start));
    return words;
  };
}

const WS = "\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const GPT2_SPLIT_RE = new RegExp(
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`,
  "gu",
);

const encoder = new TextEncoder();

/**
 * Maps a word to GPT-2's byte-level alphabet: every UTF-8 byte becomes one character, aligned with the
 * character it is a byte of.
 *
 * @param word The aligned word.
 * @returns The byte-level word.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * const w = byteLevelAlphabet(NormalizedText.from(" é"));
 * deepStrictEqual([w.text, w.originalRange(1, 3)], ["ĠÃ©", [1, 2]]);
 * ```
 */
export function byteLevelAlphabet(word: NormalizedText): NormalizedText {
  if (/^[\x21-\x7e]*$/.test(word.text)) return word;
  const table = bytesToUnicode();
  return word.mapCodePoints((ch, cp) => {
    if (cp < 0x80) return table[cp]!;
    let out = "";
    for (const byte of encoder.encode(ch)) out += table[byte];
    return out;
  });
}

/**
 * GPT-2's `ByteLevel` pre-tokenizer: optional prefix space, GPT-2's split regex, then the byte-level alphabet.
 *
 * @param addPrefixSpace Prepend a space when the text does not start with one.
 * @param useRegex Split with GPT-2's regex (else the whole text is one word).
 * @returns The pre-tokenizer.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * const words = byteLevelPreTokenizer(false, true)(NormalizedText.from("Hi you"));
 * deepStrictEqual(words.map((w) => w.text), ["Hi", "Ġyou"]);
 * ```
 */
export function byteLevelPreTokenizer(addPrefixSpace: boolean, useRegex: boolean): PreTokenizer {
  return (text) => {
    let t = text;
    if (addPrefixSpace && t.text !== "" && !t.text.startsWith(" ")) {
      const b = new AlignedBuilder(t.text.length + 1);
      b.push(" ", t.starts[0]!, t.ends[0]!);
      b.copy(t, 0, t.text.length);
      t = b.build(t.endOffset);
    }
    const words = useRegex ? matches(t, GPT2_SPLIT_RE) : t.text === "" ? [] : [t];
    return words.map(byteLevelAlphabet);
  };
}

/**
 * How `Split` keeps the matches of its pattern.
 *
 * @example Usage
 * ```ts
 * const b: SplitBehavior = "Isolated";
 * ```
 */
export type SplitBehavior = "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";

/**
 * `Split`: cuts at the matches of a pattern, keeping them as `behavior` says (`invert` swaps matches and gaps).
 *
 * @param pattern A literal string or a regular expression (made global here).
 * @param behavior What becomes of a match.
 * @param invert Treat the gaps as the matches.
 * @returns The pre-tokenizer.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * const words = splitPreTokenizer("-", "MergedWithPrevious", false)(NormalizedText.from("a-b-c"));
 * deepStrictEqual(words.map((w) => w.text), ["a-", "b-", "c"]);
 * ```
 */
export function splitPreTokenizer(pattern: string | RegExp, behavior: SplitBehavior, invert: boolean): PreTokenizer {
  const re = typeof pattern === "string"
    ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu")
    : new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : pattern.flags + "g");
  return (text) => {
    const s = text.text;
    // [start, end, isMatch] pieces covering the text
    const pieces: [number, number, boolean][] = [];
    let last = 0;
    for (const m of s.matchAll(re)) {
      if (m[0] === "") continue;
      if (m.index > last) pieces.push([last, m.index, invert]);
      pieces.push([m.index, m.index + m[0].length, !invert]);
      last = m.index + m[0].length;
    }
    if (last < s.length) pieces.push([last, s.length, invert]);
    const out: [number, number][] = [];
    for (let i = 0; i < pieces.length; i++) {
      const [a, z, isMatch] = pieces[i]!;
      const prev = out[out.length - 1];
      if (!isMatch) {
        if (behavior === "MergedWithNext" && prev !== undefined && pieces[i - 1]?.[2] && prev[1] === a) prev[1] = z;
        else out.push([a, z]);
        continue;
      }
      if (behavior === "Removed") continue;
      if (behavior === "MergedWithPrevious" && prev !== undefined && !pieces[i - 1]?.[2] && prev[1] === a) prev[1] = z;
      else if (behavior === "Contiguous" && prev !== undefined && pieces[i - 1]?.[2] && prev[1] === a) prev[1] = z;
      else out.push([a, z]);
    }
    return out.map(([a, z]) => text.slice(a, z));
  };
}

/**
 * Applies pre-tokenizers in order, each to every word of the previous one (`Sequence`).
 *
 * @param list The pre-tokenizers.
 * @returns The pre-tokenizer.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * const p = sequencePreTokenizer([whitespaceSplitPreTokenizer, metaspacePreTokenizer("▁", "always", true)]);
 * deepStrictEqual(p(NormalizedText.from("a b")).map((w) => w.text), ["▁a", "▁b"]);
 * ```
 */
export function sequencePreTokenizer(list: readonly PreTokenizer[]): PreTokenizer {
  return (text) => {
    let words = [text];
    for (const p of list) words = words.flatMap(p);
    return words;
  };
}
