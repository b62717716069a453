/**
 * Unicode normalization (NFC, NFD, NFKC, NFKD) in time linear in the text, with alignment to the original.
 *
 * `String.prototype.normalize` reorders a run of combining marks by insertion, so a run of n marks costs n²
 * (`"a" + "\u0316\u0301".repeat(100_000)` takes seconds, 500,000 pairs minutes). Here the text is cut into
 * chunks at code points where normalization cannot look across (a starter that no earlier character can
 * compose with); an ordinary chunk is normalized by the engine, and a chunk holding a long run of marks is
 * first decomposed code point by code point and its marks put in canonical order by a stable counting sort
 * (the engine then finds them ordered and does linear work). Each chunk's output is aligned with the chunk's
 * original range (with its own units where normalization left it unchanged), as Hugging Face aligns a
 * decomposed or composed character with the characters it came from.
 *
 * @module
 */

import { AlignedBuilder, NormalizedText } from "./normalized_text.ts";

/**
 * A Unicode normalization form.
 *
 * @example Usage
 * ```ts
 * const f: NormalizationForm = "NFKC";
 * ```
 */
export type NormalizationForm = "NFC" | "NFD" | "NFKC" | "NFKD";

/** Runs of marks at least this long take the counting-sort path (shorter ones cost the engine nothing). */
const LONG_RUN = 32;

const MARK_RE = /\p{M}/u;

/** Per form: code point → its normalization alone (cached; bounded by the distinct characters seen). */
const singleCache = new Map<string, Map<number, string>>();

function single(cp: number, form: NormalizationForm): string {
  let m = singleCache.get(form);
  if (m === undefined) singleCache.set(form, m = new Map());
  let s = m.get(cp);
  if (s === undefined) {
    s = String.fromCodePoint(cp).normalize(form);
    if (m.size < 1 << 16) m.set(cp, s);
  }
  return s;
}

function isMarkOrJamoTail(cp: number): boolean {
  if (cp < 0x300) return false;
  // Hangul medial vowels and final consonants compose with the syllable or leading consonant before them.
  if (cp >= 0x1160 && cp <= 0x11ff) return true;
  return MARK_RE.test(String.fromCodePoint(cp));
}

/**
 * Whether normalization may combine code point `cp` with what precedes it: marks (every character of nonzero
 * combining class, and every character that composes with a preceding one, is a mark or a Hangul vowel or
 * final), and characters whose normalization starts with one (half-width katakana voicing marks under NFKC).
 */
function joinsPrevious(cp: number, form: NormalizationForm): boolean {
  if (cp < 0x300) return false;
  const key = cp * 4 + FORM_INDEX[form];
  let v = joinCache.get(key);
  if (v === undefined) {
    const s = single(cp, form);
    v = isMarkOrJamoTail(cp) || (s !== "" && isMarkOrJamoTail(s.codePointAt(0)!));
    if (joinCache.size < 1 << 16) joinCache.set(key, v);
  }
  return v;
}

const FORM_INDEX = { NFC: 0, NFD: 1, NFKC: 2, NFKD: 3 } as const;
const joinCache = new Map<number, boolean>();

const NFD_PROBE = "\u0345"; // the one character of the highest combining class, 240

const nonStarterCache = new Map<number, boolean>();

/** Whether `cp` (already decomposed) has a nonzero canonical combining class. */
function isNonStarter(cp: number): boolean {
  let v = nonStarterCache.get(cp);
  if (v === undefined) {
    const ch = String.fromCodePoint(cp);
    // A mark of class 1..239 moves in front of U+0345 (class 240); class 0 does not move.
    v = cp === 0x345 || (MARK_RE.test(ch) && (NFD_PROBE + ch).normalize("NFD") !== NFD_PROBE + ch);
    if (nonStarterCache.size < 1 << 16) nonStarterCache.set(cp, v);
  }
  return v;
}

/** Ranks of the distinct marks of a run by combining class (equal classes share a rank). */
function classRanks(marks: readonly number[]): Map<number, number> {
  const distinct = [...new Set(marks)];
  // a > b (in class) exactly when the engine swaps "a b"; each probe is two characters.
  const greater = (a: number, b: number) => {
    const s = String.fromCodePoint(a, b);
    return s.normalize("NFD") !== s;
  };
  distinct.sort((a, b) => greater(a, b) ? 1 : greater(b, a) ? -1 : 0);
  const ranks = new Map<number, number>();
  let rank = 0;
  distinct.forEach((m, i) => {
    if (i > 0 && greater(m, distinct[i - 1]!)) rank++;
    ranks.set(m, rank);
  });
  return ranks;
}

/** A chunk with a long run of marks: decompose per code point, order the marks by a stable counting sort. */
function orderedDecomposition(chunk: string, form: NormalizationForm): string {
  const decomposeForm = form === "NFC" || form === "NFD" ? "NFD" : "NFKD";
  const cps: number[] = [];
  for (const ch of chunk) for (const d of single(ch.codePointAt(0)!, decomposeForm)) cps.push(d.codePointAt(0)!);
  const out: number[] = [];
  for (let i = 0; i < cps.length;) {
    if (!isNonStarter(cps[i]!)) {
      out.push(cps[i++]!);
      continue;
    }
    let j = i;
    while (j < cps.length && isNonStarter(cps[j]!)) j++;
    const run = cps.slice(i, j);
    const ranks = classRanks(run);
    const buckets: number[][] = [];
    for (const m of run) (buckets[ranks.get(m)!] ??= []).push(m);
    for (const b of buckets) if (b !== undefined) { for (const m of b) out.push(m); }
    i = j;
  }
  let s = "";
  for (let k = 0; k < out.length; k += 4096) s += String.fromCodePoint(...out.slice(k, k + 4096));
  return s;
}

function normalizeChunk(chunk: string, form: NormalizationForm, marks: number): string {
  if (marks < LONG_RUN) return chunk.normalize(form);
  return orderedDecomposition(chunk, form).normalize(form);
}

/**
 * Normalizes an aligned text to `form`, in time linear in its length.
 *
 * @param text The aligned text.
 * @param form The normalization form.
 * @returns The normalized text, aligned with the original.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { NormalizedText } from "./normalized_text.ts";
 * const n = normalizeAligned(NormalizedText.from("ﬁé"), "NFKD");
 * deepStrictEqual([n.text, n.originalRange(2, 4)], ["fie\u0301", [1, 2]]);
 * ```
 */
export function normalizeAligned(text: NormalizedText, form: NormalizationForm): NormalizedText {
  const s = text.text;
  if (/^[\x00-\x7f]*$/.test(s)) return text;
  const b = new AlignedBuilder(s.length + 8);
  let start = 0;
  let marks = 0;
  let run = 0;
  const flush = (end: number) => {
    if (end <= start) return;
    const chunk = s.slice(start, end);
    const out = normalizeChunk(chunk, form, marks);
    if (out === chunk) b.copy(text, start, end);
    else b.push(out, text.starts[start]!, text.ends[end - 1]!);
  };
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i)!;
    if (!joinsPrevious(cp, form)) {
      flush(i);
      start = i;
      marks = 0;
      run = 0;
    } else {
      run++;
      if (run > marks) marks = run;
    }
    i += cp > 0xffff ? 2 : 1;
  }
  flush(s.length);
  return b.build(text.endOffset);
}

/**
 * Normalizes a string to `form` in time linear in its length (see the module notes).
 *
 * @param text The text.
 * @param form The normalization form.
 * @returns The normalized text, equal to `text.normalize(form)`.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(normalizeLinear("e\u0301", "NFC"), "é");
 * ```
 */
export function normalizeLinear(text: string, form: NormalizationForm): string {
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  return normalizeAligned(NormalizedText.from(text), form).text;
}
