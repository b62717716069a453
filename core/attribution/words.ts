/**
 * Word-level attributions: tokens grouped back into the words of the text they were split from, read off
 * each token's offsets in that text (whatever the tokenizer: WordPiece `##` pieces, byte-level `Ġ` pieces,
 * sentencepiece `▁` pieces, byte-fallback bytes), and per-token scores summed per word.
 *
 * @module
 */

import type { Encoding } from "../tokenizers/types.ts";

/** One word: its text and the half-open token range [start, end) it was split into. */
export interface WordSpan {
  /** The word as the text spells it (a special token: its token string). */
  text: string;
  /** First token. */
  start: number;
  /** One past the last token. */
  end: number;
}

const WORD_CHAR = /^[\p{L}\p{N}\p{M}]$/u;

function charBefore(text: string, at: number): string {
  const c = text.charCodeAt(at - 1);
  return c >= 0xdc00 && c <= 0xdfff && at >= 2 ? text.slice(at - 2, at) : text.slice(at - 1, at);
}

function charAt(text: string, at: number): string {
  return at < text.length ? String.fromCodePoint(text.codePointAt(at)!) : "";
}

/** The text of a word: its slice of the text without surrounding spaces (a byte-level `Ġ` covers its space). */
function wordText(source: string, start: number, end: number, fallback: string): string {
  const t = source.slice(start, end).trim();
  return t === "" ? fallback : t;
}

/**
 * Groups an encoding's tokens into words by their offsets. A token joins the word before it when both come
 * from the same text and either share a character (the bytes of one character, a `▁` and the piece after it)
 * or meet with no gap between two letters or digits; so punctuation is never glued to a word, and a token
 * the post-processor added (`[CLS]`, `</s>`: no offsets) is a word of its own.
 *
 * @param enc the encoding (its `tokens`, `offsets` and `sequenceIds`)
 * @param text the text it encodes
 * @param textPair the second text, when the encoding holds a pair
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { wordSpans } from "./words.ts";
 * const enc = {
 *   tokens: ["[CLS]", "grip", "##ping", ",", "film", "[SEP]"],
 *   offsets: [[0, 0], [0, 4], [4, 8], [8, 9], [10, 14], [0, 0]] as [number, number][],
 *   sequenceIds: [null, 0, 0, 0, 0, null],
 * };
 * deepStrictEqual(wordSpans(enc, "gripping, film").map((w) => w.text), ["[CLS]", "gripping", ",", "film", "[SEP]"]);
 * ```
 */
export function wordSpans(
  enc: Pick<Encoding, "tokens" | "offsets" | "sequenceIds">,
  text: string,
  textPair?: string,
): WordSpan[] {
  const spans: WordSpan[] = [];
  // the original range of the current word
  let wordStart = 0, wordEnd = -1, wordSeq: number | null = null;
  let emptySoFar = false; // the word so far is one token with an empty range (a trimmed "Ġ" before "Ã©")
  enc.tokens.forEach((tok, i) => {
    const seq = enc.sequenceIds[i] ?? null;
    const [start, end] = enc.offsets[i] ?? [0, 0];
    const source = seq === 1 ? textPair ?? "" : text;
    const last = spans[spans.length - 1];
    const joins = last !== undefined && seq !== null && seq === wordSeq && end > start && (
      start < wordEnd || (emptySoFar && start === wordEnd) ||
      (start === wordEnd && WORD_CHAR.test(charBefore(source, start)) && WORD_CHAR.test(charAt(source, start)))
    );
    if (joins) {
      wordEnd = Math.max(wordEnd, end);
      emptySoFar = false;
      last.text = wordText(source, wordStart, wordEnd, last.text);
      last.end = i + 1;
      return;
    }
    spans.push({ text: seq === null ? tok : wordText(source, start, end, tok), start: i, end: i + 1 });
    wordStart = start;
    wordEnd = seq === null ? -1 : end;
    wordSeq = seq;
    emptySoFar = seq !== null && end <= start;
  });
  return spans;
}

/**
 * Sums per-token scores over each word.
 *
 * @param scores one score per token
 * @param spans the words (see {@linkcode wordSpans})
 * @throws {Error} when a span lies outside the scores
 * @example Usage
 * ```ts
 * import { wordScores } from "./words.ts";
 * wordScores([0.5, 1, 2], [{ text: "a", start: 0, end: 1 }, { text: "bc", start: 1, end: 3 }]); // [0.5, 3]
 * ```
 */
export function wordScores(scores: ArrayLike<number>, spans: readonly WordSpan[]): number[] {
  return spans.map((w) => {
    if (w.start < 0 || w.end > scores.length || w.start >= w.end) {
      throw new Error(`word "${w.text}" spans tokens [${w.start}, ${w.end}) outside the ${scores.length} scores`);
    }
    let s = 0;
    for (let i = w.start; i < w.end; i++) s += scores[i]!;
    return s;
  });
}
