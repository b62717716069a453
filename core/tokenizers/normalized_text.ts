/**
 * Text with its alignment to the original: every UTF-16 unit of the (normalized, pre-tokenized) text knows the
 * range of the original text it came from, as Hugging Face's `NormalizedString` does with byte alignments. This
 * is what gives every token its offsets in the text the caller passed.
 *
 * @module
 */

/**
 * A string and, for each of its UTF-16 units, the half-open range `[start, end)` of the original text it stems
 * from. Immutable: every operation returns a new value.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const t = NormalizedText.from("Hello world").slice(6, 11);
 * deepStrictEqual([t.text, t.originalRange(0, 5)], ["world", [6, 11]]);
 * ```
 */
export class NormalizedText {
  /** The current text. */
  readonly text: string;
  /** Original start offset of each unit of `text`. */
  readonly starts: Int32Array;
  /** Original end offset of each unit of `text`. */
  readonly ends: Int32Array;
  /** Original offset of the position just past the text (for empty ranges at its end). */
  readonly endOffset: number;

  /**
   * Wraps a text and its alignment (the arrays are taken, not copied).
   *
   * @param text The text.
   * @param starts Original start of each unit.
   * @param ends Original end of each unit.
   * @param endOffset Original offset just past the text.
   */
  constructor(text: string, starts: Int32Array, ends: Int32Array, endOffset: number) {
    if (starts.length !== text.length || ends.length !== text.length) {
      throw new RangeError(`Alignment of ${starts.length}/${ends.length} entries for a text of ${text.length} units`);
    }
    this.text = text;
    this.starts = starts;
    this.ends = ends;
    this.endOffset = endOffset;
  }

  /**
   * An original text: unit `i` aligned with `[base + i, base + i + 1)`.
   *
   * @param text The text.
   * @param base Offset of its first unit in the whole original. Default 0.
   * @returns The aligned text.
   *
   * @example Usage
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * deepStrictEqual(NormalizedText.from("ab", 3).originalRange(0, 2), [3, 5]);
   * ```
   */
  static from(text: string, base = 0): NormalizedText {
    const n = text.length;
    const starts = new Int32Array(n);
    const ends = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      starts[i] = base + i;
      ends[i] = base + i + 1;
    }
    return new NormalizedText(text, starts, ends, base + n);
  }

  /**
   * The original range of units `[s, e)` of the text (an empty range maps to an empty range at its place).
   *
   * @param s First unit.
   * @param e One past the last unit.
   * @returns `[start, end)` in the original.
   *
   * @example Usage
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * deepStrictEqual(NormalizedText.from("abc").originalRange(1, 1), [1, 1]);
   * ```
   */
  originalRange(s: number, e: number): [number, number] {
    if (e <= s) {
      const at = s < this.text.length ? this.starts[s]! : this.endOffset;
      return [at, at];
    }
    return [this.starts[s]!, this.ends[e - 1]!];
  }

  /**
   * Units `[s, e)` with their alignment.
   *
   * @param s First unit.
   * @param e One past the last unit. Default: the end.
   * @returns The slice.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * strictEqual(NormalizedText.from("abc").slice(1).text, "bc");
   * ```
   */
  slice(s: number, e: number = this.text.length): NormalizedText {
    const end = e < this.text.length ? this.starts[e]! : this.endOffset;
    return new NormalizedText(this.text.slice(s, e), this.starts.slice(s, e), this.ends.slice(s, e), end);
  }

  /**
   * Maps every code point to a replacement string; the replacement's units all align with that code point's
   * original range (an empty replacement removes it).
   *
   * @param fn The replacement of a code point (`ch` is its string, `cp` its value).
   * @returns The mapped text.
   *
   * @example Usage
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * const t = NormalizedText.from("a b").mapCodePoints((ch) => ch === " " ? "" : ch.toUpperCase());
   * deepStrictEqual([t.text, t.originalRange(1, 2)], ["AB", [2, 3]]);
   * ```
   */
  mapCodePoints(fn: (ch: string, cp: number) => string): NormalizedText {
    const b = new AlignedBuilder(this.text.length);
    const text = this.text;
    let kept = 0; // start of the run of unchanged units not yet copied
    for (let i = 0; i < text.length;) {
      const cp = text.codePointAt(i)!;
      const len = cp > 0xffff ? 2 : 1;
      const ch = len === 1 ? text[i]! : text.slice(i, i + 2);
      const out = fn(ch, cp);
      if (out !== ch) {
        b.copy(this, kept, i);
        b.push(out, this.starts[i]!, this.ends[i + len - 1]!);
        kept = i + len;
      }
      i += len;
    }
    if (kept === 0) return this;
    b.copy(this, kept, text.length);
    return b.build(this.endOffset);
  }
}

/**
 * Builds a {@linkcode NormalizedText} piece by piece.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * const b = new AlignedBuilder();
 * b.push("▁", 0, 1);
 * b.copy(NormalizedText.from("hi"), 0, 2);
 * strictEqual(b.build(2).text, "▁hi");
 * ```
 */
export class AlignedBuilder {
  #parts: string[] = [];
  #starts: Int32Array;
  #ends: Int32Array;
  #n = 0;

  /**
   * An empty builder.
   *
   * @param capacity Expected number of units (grows as needed).
   */
  constructor(capacity = 16) {
    this.#starts = new Int32Array(Math.max(1, capacity));
    this.#ends = new Int32Array(Math.max(1, capacity));
  }

  #reserve(extra: number): void {
    const need = this.#n + extra;
    if (need <= this.#starts.length) return;
    const size = Math.max(need, this.#starts.length * 2);
    const s = new Int32Array(size);
    const e = new Int32Array(size);
    s.set(this.#starts.subarray(0, this.#n));
    e.set(this.#ends.subarray(0, this.#n));
    this.#starts = s;
    this.#ends = e;
  }

  /**
   * Appends `text`, every unit aligned with `[start, end)`.
   *
   * @param text Units to append.
   * @param start Original start.
   * @param end Original end.
   */
  push(text: string, start: number, end: number): void {
    if (text === "") return;
    this.#reserve(text.length);
    this.#starts.fill(start, this.#n, this.#n + text.length);
    this.#ends.fill(end, this.#n, this.#n + text.length);
    this.#n += text.length;
    this.#parts.push(text);
  }

  /**
   * Appends `text` with an alignment of its own (one entry a unit).
   *
   * @param text Units to append.
   * @param starts Original start of each unit.
   * @param ends Original end of each unit.
   */
  append(text: string, starts: Int32Array, ends: Int32Array): void {
    if (text === "") return;
    this.#reserve(text.length);
    this.#starts.set(starts.subarray(0, text.length), this.#n);
    this.#ends.set(ends.subarray(0, text.length), this.#n);
    this.#n += text.length;
    this.#parts.push(text);
  }

  /**
   * Appends units `[s, e)` of `src` with their own alignment.
   *
   * @param src The source.
   * @param s First unit.
   * @param e One past the last unit.
   */
  copy(src: NormalizedText, s: number, e: number): void {
    if (e <= s) return;
    this.#reserve(e - s);
    this.#starts.set(src.starts.subarray(s, e), this.#n);
    this.#ends.set(src.ends.subarray(s, e), this.#n);
    this.#n += e - s;
    this.#parts.push(src.text.slice(s, e));
  }

  /**
   * The text built so far.
   *
   * @param endOffset Original offset just past it.
   * @returns The aligned text.
   */
  build(endOffset: number): NormalizedText {
    return new NormalizedText(
      this.#parts.join(""),
      this.#starts.slice(0, this.#n),
      this.#ends.slice(0, this.#n),
      endOffset,
    );
  }
}
