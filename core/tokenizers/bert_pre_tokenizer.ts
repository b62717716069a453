/**
 * BERT's pre-tokenizer, as Hugging Face's `BertPreTokenizer`.
 *
 * @module
 */

import { isBertPunctuation, isWhitespace } from "./_unicode.ts";

/**
 * Splits text into words: whitespace separates words and is dropped, and every punctuation character
 * (Unicode P* plus the ASCII symbols) becomes a word of its own.
 *
 * @param text Normalized text.
 * @returns The words, in order.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(bertPreTokenize("don't  stop!"), ["don", "'", "t", "stop", "!"]);
 * ```
 */
export function bertPreTokenize(text: string): string[] {
  const words: string[] = [];
  let start = -1;
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const len = cp > 0xffff ? 2 : 1;
    if (isWhitespace(cp)) {
      if (start >= 0) words.push(text.slice(start, i));
      start = -1;
    } else if (isBertPunctuation(cp)) {
      if (start >= 0) words.push(text.slice(start, i));
      words.push(text.slice(i, i + len));
      start = -1;
    } else if (start < 0) {
      start = i;
    }
    i += len;
  }
  if (start >= 0) words.push(text.slice(start));
  return words;
}
