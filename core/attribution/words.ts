/**
 * Word-level attributions: tokens grouped back into the words they were split from (WordPiece `##`
 * continuations, GPT-2 byte-level BPE pieces without a leading space marker, OpenAI GPT pieces before their
 * `</w>`), and per-token scores summed per word.
 *
 * @module
 */

import type { TokenizerKind } from "../tokenizers/types.ts";

/** One word: its text and the half-open token range [start, end) it was split into. */
export interface WordSpan {
  /** The word as its tokens spell it (markers removed). */
  text: string;
  /** First token. */
  start: number;
  /** One past the last token. */
  end: number;
}

const WORD_CHAR = /[\p{L}\p{N}]/u;

/**
 * Groups token strings into words. A special token (`[CLS]`, `<|endoftext|>`) is a word of its own; a
 * punctuation token is never glued to a word.
 *
 * @param tokens token strings, as `Encoding.tokens` holds them
 * @param kind the tokenizer family (how its pieces mark word boundaries)
 * @example Usage
 * ```ts
 * import { wordSpans } from "./words.ts";
 * wordSpans(["[CLS]", "grip", "##ping", "film", "[SEP]"], "wordpiece").map((w) => w.text);
 * // ["[CLS]", "gripping", "film", "[SEP]"]
 * ```
 */
export function wordSpans(tokens: readonly string[], kind: TokenizerKind): WordSpan[] {
  const spans: WordSpan[] = [];
  const special = (t: string) => /^\[[A-Z]+\]$|^<\|?[a-z_]+\|?>$/.test(t);
  let prevEndsWord = true;
  tokens.forEach((tok, i) => {
    let piece = tok, continues = false, endsWord = false;
    if (special(tok)) endsWord = true;
    else if (kind === "wordpiece") {
      continues = tok.startsWith("##") && tok.length > 2;
      if (continues) piece = tok.slice(2);
    } else if (kind === "gpt2-bpe") {
      const spaced = tok.startsWith("Ġ") || tok.startsWith("Ċ");
      if (spaced) piece = tok.slice(1);
      continues = !spaced && WORD_CHAR.test(tok.charAt(0));
    } else {
      endsWord = tok.endsWith("</w>");
      if (endsWord) piece = tok.slice(0, -4);
      continues = !prevEndsWord;
    }
    const last = spans[spans.length - 1];
    const prev = i > 0 ? tokens[i - 1]! : "";
    const glue = continues && last !== undefined && !special(prev) &&
      (kind === "openai-gpt-bpe" || WORD_CHAR.test(prev.charAt(prev.length - 1)));
    if (glue) {
      last.text += piece;
      last.end = i + 1;
    } else spans.push({ text: piece, start: i, end: i + 1 });
    prevEndsWord = endsWord || special(tok);
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
