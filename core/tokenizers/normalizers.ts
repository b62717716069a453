/**
 * Normalizers over aligned text (Hugging Face's `normalizers`): each maps a {@linkcode NormalizedText} to a new
 * one whose units still know their original range, in time linear in the text.
 *
 * @module
 */

import { isChineseChar, isControl, isWhitespace } from "./_unicode.ts";
import { AlignedBuilder, NormalizedText } from "./normalized_text.ts";
import type { PrecompiledCharsmap } from "./precompiled_charsmap.ts";
import { type NormalizationForm, normalizeAligned } from "./unicode_normalize.ts";

/**
 * A normalizer: aligned text to aligned text.
 *
 * @example Usage
 * ```ts
 * const identity: Normalizer = (t) => t;
 * ```
 */
export type Normalizer = (text: NormalizedText) => NormalizedText;

const NON_ASCII_RE = /[\u0080-\uffff]/;

/** Same units, new text (a change that keeps every unit in place, like ASCII lower-casing). */
function sameShape(text: NormalizedText, next: string): NormalizedText {
  return next === text.text ? text : new NormalizedText(next, text.starts, text.ends, text.endOffset);
}

/**
 * Lower-cases code point by code point (Rust `char::to_lowercase`, so a capital sigma is always `σ`).
 *
 * @param text The aligned text.
 * @returns The lower-cased text.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * strictEqual(lowercaseNormalizer(NormalizedText.from("ΟΔΟΣ")).text, "οδοσ");
 * ```
 */
export function lowercaseNormalizer(text: NormalizedText): NormalizedText {
  if (!NON_ASCII_RE.test(text.text)) return sameShape(text, text.text.toLowerCase());
  return text.mapCodePoints((ch) => ch === "\u03a3" ? "\u03c3" : ch.toLowerCase());
}

const MARK_RE = /\p{M}/u;
const MN_RE = /\p{Mn}/u;

/** Removes nonspacing marks (BERT's accent stripping). */
function stripNonspacingMarks(text: NormalizedText): NormalizedText {
  if (!NON_ASCII_RE.test(text.text)) return text;
  return text.mapCodePoints((ch, cp) => cp >= 0x300 && MN_RE.test(ch) ? "" : ch);
}

/**
 * Removes combining marks — every General_Category=Mark character, as Hugging Face's `StripAccents` does
 * (meant after an NFD or NFKD normalizer; BERT's own accent stripping removes only nonspacing marks).
 *
 * @param text The aligned text.
 * @returns The text without marks.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * strictEqual(stripAccentsNormalizer(NormalizedText.from("e\u0301\u0903")).text, "e");
 * ```
 */
export function stripAccentsNormalizer(text: NormalizedText): NormalizedText {
  if (!NON_ASCII_RE.test(text.text)) return text;
  return text.mapCodePoints((ch, cp) => cp >= 0x300 && MARK_RE.test(ch) ? "" : ch);
}

/**
 * A Unicode normalization form as a normalizer (linear even over long runs of marks).
 *
 * @param form The form.
 * @returns The normalizer.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * strictEqual(unicodeNormalizer("NFKC")(NormalizedText.from("ﬁ")).text, "fi");
 * ```
 */
export function unicodeNormalizer(form: NormalizationForm): Normalizer {
  return (text) => normalizeAligned(text, form);
}

/**
 * Replaces every match of `pattern` with `content` (`Replace`); the replacement aligns with the match.
 *
 * @param pattern A literal string or a global regular expression.
 * @param content The replacement.
 * @returns The normalizer.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * strictEqual(replaceNormalizer("``", '"')(NormalizedText.from("``hi``")).text, '"hi"');
 * ```
 */
export function replaceNormalizer(pattern: string | RegExp, content: string): Normalizer {
  return (text) => {
    const s = text.text;
    const b = new AlignedBuilder(s.length);
    let last = 0;
    const emit = (start: number, end: number) => {
      b.copy(text, last, start);
      b.push(content, text.starts[start]!, text.ends[end - 1]!);
      last = end;
    };
    if (typeof pattern === "string") {
      if (pattern === "") return text;
      for (let at = s.indexOf(pattern); at >= 0; at = s.indexOf(pattern, at + pattern.length)) {
        emit(at, at + pattern.length);
      }
    } else {
      for (const m of s.matchAll(pattern)) if (m[0] !== "") emit(m.index, m.index + m[0].length);
    }
    if (last === 0) return text;
    b.copy(text, last, s.length);
    return b.build(text.endOffset);
  };
}

/**
 * Prepends `prefix` to a non-empty text (`Prepend`), aligned with its first character.
 *
 * @param prefix What to prepend.
 * @returns The normalizer.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * const t = prependNormalizer("▁")(NormalizedText.from("hi"));
 * deepStrictEqual([t.text, t.originalRange(0, 1)], ["▁hi", [0, 1]]);
 * ```
 */
export function prependNormalizer(prefix: string): Normalizer {
  return (text) => {
    if (text.text === "" || prefix === "") return text;
    const b = new AlignedBuilder(text.text.length + prefix.length);
    b.push(prefix, text.starts[0]!, text.ends[0]!);
    b.copy(text, 0, text.text.length);
    return b.build(text.endOffset);
  };
}

/**
 * Removes leading and/or trailing whitespace (`Strip`; Unicode White_Space).
 *
 * @param left Strip the start.
 * @param right Strip the end.
 * @returns The normalizer.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * strictEqual(stripNormalizer(true, true)(NormalizedText.from("  a ")).text, "a");
 * ```
 */
export function stripNormalizer(left: boolean, right: boolean): Normalizer {
  return (text) => {
    const s = text.text;
    let a = 0, z = s.length;
    if (left) { while (a < z && isWhitespace(s.charCodeAt(a))) a++; }
    if (right) { while (z > a && isWhitespace(s.charCodeAt(z - 1))) z--; }
    return a === 0 && z === s.length ? text : text.slice(a, z);
  };
}

/**
 * sentencepiece's precompiled character map as a normalizer (`Precompiled`).
 *
 * @param map The parsed map.
 * @returns The normalizer.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * import { PrecompiledCharsmap } from "./precompiled_charsmap.ts";
 * const map = PrecompiledCharsmap.parse(new Uint8Array(4), "empty");
 * strictEqual(precompiledNormalizer(map)(NormalizedText.from("x")).text, "x");
 * ```
 */
export function precompiledNormalizer(map: PrecompiledCharsmap): Normalizer {
  return (text) => map.normalize(text);
}

/**
 * Options of {@linkcode bertNormalizer} (Hugging Face's `BertNormalizer` fields).
 *
 * @example Usage
 * ```ts
 * const o: BertNormalizerFlags = { cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true };
 * ```
 */
export interface BertNormalizerFlags {
  /** Remove NUL, U+FFFD and control characters; whitespace becomes a space. */
  cleanText: boolean;
  /** Surround CJK ideographs with spaces. */
  handleChineseChars: boolean;
  /** NFD and drop nonspacing marks; `null` follows `lowercase`. */
  stripAccents: boolean | null;
  /** Lower-case. */
  lowercase: boolean;
}

/**
 * BERT's normalizer on aligned text.
 *
 * @param flags Its options.
 * @returns The normalizer.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * const f = bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true });
 * strictEqual(f(NormalizedText.from("Héllo\t世")).text, "hello  世 ");
 * ```
 */
export function bertNormalizer(flags: BertNormalizerFlags): Normalizer {
  const strip = flags.stripAccents ?? flags.lowercase;
  const nfd = unicodeNormalizer("NFD");
  return (text) => {
    if (/^[\x20-\x7e]*$/.test(text.text)) return flags.lowercase ? sameShape(text, text.text.toLowerCase()) : text;
    let t = text;
    if (flags.cleanText || flags.handleChineseChars) {
      t = t.mapCodePoints((ch, cp) => {
        if (flags.cleanText) {
          if (cp === 0 || cp === 0xfffd || isControl(cp)) return "";
          if (isWhitespace(cp)) return " ";
        }
        return flags.handleChineseChars && isChineseChar(cp) ? ` ${ch} ` : ch;
      });
    }
    if (strip) t = stripNonspacingMarks(nfd(t));
    if (flags.lowercase) t = lowercaseNormalizer(t);
    return t;
  };
}

/**
 * Applies normalizers in order (`Sequence`).
 *
 * @param list The normalizers.
 * @returns The normalizer.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * strictEqual(sequenceNormalizer([lowercaseNormalizer, prependNormalizer("_")])(NormalizedText.from("A")).text, "_a");
 * ```
 */
export function sequenceNormalizer(list: readonly Normalizer[]): Normalizer {
  return (text) => {
    for (const f of list) text = f(text);
    return text;
  };
}

/**
 * Runs a normalizer on a plain string (for matching `normalized` added tokens).
 *
 * @param normalizer The normalizer.
 * @param s The string.
 * @returns The normalized string.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(normalizeString(lowercaseNormalizer, "AB"), "ab");
 * ```
 */
export function normalizeString(normalizer: Normalizer, s: string): string {
  return normalizer(NormalizedText.from(s)).text;
}
