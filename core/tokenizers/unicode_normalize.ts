/**
 * Unicode normalization (NFC, NFD, NFKC, NFKD) in time linear in the text, with alignment to the original.
 *
 * `String.prototype.normalize` reorders a run of combining marks by insertion, so a run of n marks costs n²
 * (`"a" + "\u0316\u0301".repeat(100_000)` takes seconds, 500,000 pairs minutes). Here the text is cut into
 * chunks at code points where normalization cannot look across (a starter that no earlier character can
 * compose with). A chunk that normalization changes is decomposed code point by code point and its marks put
 * in canonical order by a stable counting sort, each code point keeping the alignment of the character it came
 * from (NFD, NFKD); composing forms hand that ordered text to the engine (which then finds nothing to move and
 * does linear work) and align the composed chunk with the chunk's original range. An ordinary short chunk is
 * normalized by the engine directly.
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

/**
 * Canonical decomposition of units `[start, end)` of `text`, each code point aligned with the character it came
 * from: per-character decomposition (cached), then every run of marks in canonical order by a stable counting
 * sort on combining class, which moves each mark with its alignment.
 */
function decompose(text: NormalizedText, start: number, end: number, form: "NFD" | "NFKD", b: AlignedBuilder): void {
  const s = text.text;
  const cps: number[] = [];
  const from: number[] = []; // index of the source unit of each code point
  for (let i = start; i < end;) {
    const cp = s.codePointAt(i)!;
    for (const d of single(cp, form)) cps.push(d.codePointAt(0)!), from.push(i);
    i += cp > 0xffff ? 2 : 1;
  }
  const order: number[] = [];
  for (let i = 0; i < cps.length;) {
    if (!isNonStarter(cps[i]!)) {
      order.push(i++);
      continue;
    }
    let j = i;
    while (j < cps.length && isNonStarter(cps[j]!)) j++;
    if (j - i === 1) order.push(i);
    else {
      const ranks = classRanks(cps.slice(i, j));
      const buckets: number[][] = [];
      for (let k = i; k < j; k++) (buckets[ranks.get(cps[k]!)!] ??= []).push(k);
      for (const bucket of buckets) if (bucket !== undefined) { for (const k of bucket) order.push(k); }
    }
    i = j;
  }
  let units = 0;
  for (const cp of cps) units += cp > 0xffff ? 2 : 1;
  const codes = new Uint16Array(units);
  const starts = new Int32Array(units);
  const ends = new Int32Array(units);
  let n = 0;
  for (const k of order) {
    const u = from[k]!;
    const a = text.starts[u]!, z = text.ends[s.charCodeAt(u) >= 0xd800 && s.charCodeAt(u) <= 0xdbff ? u + 1 : u]!;
    const cp = cps[k]!;
    if (cp > 0xffff) {
      codes[n] = 0xd800 + ((cp - 0x10000) >> 10), starts[n] = a, ends[n++] = z;
      codes[n] = 0xdc00 + ((cp - 0x10000) & 0x3ff), starts[n] = a, ends[n++] = z;
    } else codes[n] = cp, starts[n] = a, ends[n++] = z;
  }
  let str = "";
  for (let i = 0; i < units; i += 8192) str += String.fromCharCode(...codes.subarray(i, i + 8192));
  b.append(str, starts, ends);
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
  if (!/[\u0080-\uffff]/.test(s)) return text;
  const b = new AlignedBuilder(s.length + 8);
  let start = 0;
  let marks = 0;
  let run = 0;
  const flush = (end: number) => {
    if (end <= start) return;
    const chunk = s.slice(start, end);
    if (marks < LONG_RUN) {
      const out = chunk.normalize(form);
      if (out === chunk) return b.copy(text, start, end);
      if (form === "NFC" || form === "NFKC") return b.push(out, text.starts[start]!, text.ends[end - 1]!);
    }
    if (form === "NFD" || form === "NFKD") return decompose(text, start, end, form, b);
    // Composition: decompose in canonical order first (so the engine's reordering finds nothing to move).
    const ordered = new AlignedBuilder(2 * (end - start));
    decompose(text, start, end, form === "NFC" ? "NFD" : "NFKD", ordered);
    b.push(ordered.build(0).text.normalize(form), text.starts[start]!, text.ends[end - 1]!);
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
  if (!/[\u0080-\uffff]/.test(text)) return text;
  return normalizeAligned(NormalizedText.from(text), form).text;
}
