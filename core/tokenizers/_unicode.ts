/**
 * Character classes shared by the tokenizers, defined exactly as Hugging Face's Rust `tokenizers` crate
 * defines them (not as the slow Python tokenizers do, where they differ).
 *
 * @module
 */

import { normalizeLinear } from "./unicode_normalize.ts";

const WHITESPACE_RE = /^\p{White_Space}$/u;
const OTHER_RE = /^\p{C}$/u;
const PUNCT_RE = /^\p{P}$/u;
const MN_RE = /\p{Mn}/gu;

const F_WHITESPACE = 1;
const F_CONTROL = 2;
const F_PUNCT = 4;
const F_CHINESE = 8;

const cache = new Map<number, number>();

function classify(cp: number): number {
  let f = cache.get(cp);
  if (f !== undefined) return f;
  const c = String.fromCodePoint(cp);
  f = 0;
  // Rust `char::is_whitespace` is the Unicode White_Space property; BERT also counts \t \n \r.
  if (WHITESPACE_RE.test(c)) f |= F_WHITESPACE;
  // `is_control`: \t \n \r are whitespace, not control; otherwise any "Other" category (Cc Cf Cn Co Cs).
  if (cp !== 9 && cp !== 10 && cp !== 13 && OTHER_RE.test(c)) f |= F_CONTROL;
  // `is_bert_punc`: ASCII punctuation (which includes symbols like $ + < = > ^ ` | ~) or Unicode P*.
  if (
    (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126) ||
    PUNCT_RE.test(c)
  ) f |= F_PUNCT;
  if (
    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f)
  ) f |= F_CHINESE;
  if (cache.size < 65536) cache.set(cp, f);
  return f;
}

/** Unicode White_Space (Rust `char::is_whitespace`). */
export function isWhitespace(cp: number): boolean {
  return (classify(cp) & F_WHITESPACE) !== 0;
}

/** BERT "control": any Other-category character except \t, \n and \r. */
export function isControl(cp: number): boolean {
  return (classify(cp) & F_CONTROL) !== 0;
}

/** BERT punctuation: ASCII punctuation/symbols or Unicode P*. */
export function isBertPunctuation(cp: number): boolean {
  return (classify(cp) & F_PUNCT) !== 0;
}

/** A character of the CJK ideograph blocks BERT splits one by one. */
export function isChineseChar(cp: number): boolean {
  return (classify(cp) & F_CHINESE) !== 0;
}

/** NFD, then removes nonspacing marks (Mn), as `StripAccents` does; linear in the text (see `normalizeLinear`). */
export function stripAccents(text: string): string {
  return normalizeLinear(text, "NFD").replace(MN_RE, "");
}

/**
 * Lower-cases character by character (Rust `char::to_lowercase`). JavaScript's `toLowerCase` only differs by
 * its context-sensitive final-sigma rule, so the per-character path is taken only when a capital sigma occurs.
 */
export function lowercaseChars(text: string): string {
  if (!text.includes("\u03a3")) return text.toLowerCase();
  return text.replaceAll("\u03a3", "\u03c3").toLowerCase();
}

/** True when every UTF-16 unit is printable ASCII (0x20–0x7e): no cleaning, CJK or accent work needed. */
export function isPrintableAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}
