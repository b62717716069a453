/**
 * BERT's text normalizer, as Hugging Face's fast `BertNormalizer`.
 *
 * @module
 */

import { isChineseChar, isControl, isPrintableAscii, isWhitespace, lowercaseChars, stripAccents } from "./_unicode.ts";

/**
 * Options of {@linkcode bertNormalize}, named as in `tokenizer.json`.
 *
 * @example Usage
 * ```ts
 * const cased: BertNormalizerOptions = { lowercase: false };
 * bertNormalize("Café", cased);
 * ```
 */
export interface BertNormalizerOptions {
  /** Remove NUL, U+FFFD and control/format characters and turn whitespace into spaces. Default `true`. */
  cleanText?: boolean;
  /** Surround CJK ideographs with spaces so each becomes its own word. Default `true`. */
  handleChineseChars?: boolean;
  /** NFD and drop nonspacing marks; `null`/`undefined` follows `lowercase`. */
  stripAccents?: boolean | null;
  /** Lower-case. Default `true`. */
  lowercase?: boolean;
}

/**
 * Normalizes text as the fast BERT tokenizer does: clean, split CJK, strip accents, then lower-case
 * (in that order, which differs from the slow Python tokenizer).
 *
 * @param text The raw text.
 * @param opts What to do; all steps on by default.
 * @returns The normalized text.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(bertNormalize("Café\tNoël 中文"), "cafe noel  中  文 ");
 * ```
 */
export function bertNormalize(text: string, opts: BertNormalizerOptions = {}): string {
  const cleanText = opts.cleanText ?? true;
  const handleChinese = opts.handleChineseChars ?? true;
  const lowercase = opts.lowercase ?? true;
  const strip = opts.stripAccents ?? lowercase;
  if (isPrintableAscii(text)) return lowercase ? text.toLowerCase() : text;
  if (cleanText || handleChinese) {
    const parts: string[] = [];
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cleanText) {
        if (cp === 0 || cp === 0xfffd || isControl(cp)) continue;
        if (isWhitespace(cp)) {
          parts.push(" ");
          continue;
        }
      }
      if (handleChinese && isChineseChar(cp)) parts.push(" ", ch, " ");
      else parts.push(ch);
    }
    text = parts.join("");
  }
  if (strip) text = stripAccents(text);
  if (lowercase) text = lowercaseChars(text);
  return text;
}
