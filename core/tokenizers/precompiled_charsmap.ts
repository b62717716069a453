/**
 * sentencepiece's precompiled character map (the `Precompiled` normalizer of `tokenizer.json`, and
 * `normalizer_spec.precompiled_charsmap` of a `.model` file): a double-array trie (darts-clone layout) over
 * the UTF-8 bytes of the strings to rewrite, whose values are offsets into a block of NUL-terminated
 * replacement strings.
 *
 * Layout: a little-endian u32 with the trie's size in bytes, the trie's 32-bit units, then the replacements.
 * A unit holds a label (its low 8 bits, plus bit 31 for "no label"), a leaf flag (bit 8) and the offset of its
 * children (bits 10–31, shifted left by 8 more when bit 9 is set); the value of a leaf sits in the unit its
 * offset points to (low 31 bits).
 *
 * @module
 */

import { AlignedBuilder, type NormalizedText } from "./normalized_text.ts";

const utf8 = new TextEncoder();

/**
 * A parsed precompiled character map.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * // An empty map (no trie units) rewrites nothing.
 * const map = PrecompiledCharsmap.parse(new Uint8Array([0, 0, 0, 0]), "empty");
 * strictEqual(map.lookup("a"), undefined);
 * ```
 */
export class PrecompiledCharsmap {
  readonly #units: Uint32Array;
  readonly #normalized: Uint8Array;
  readonly #decoded = new Map<number, string>();

  private constructor(units: Uint32Array, normalized: Uint8Array) {
    this.#units = units;
    this.#normalized = normalized;
  }

  /**
   * Reads the binary map.
   *
   * @param bytes The map's bytes.
   * @param source Where it came from, for errors.
   * @returns The map.
   * @throws {Error} When the trie size is larger than the data or not a multiple of 4.
   *
   * @example Usage
   * ```ts
   * import { throws } from "node:assert";
   * throws(() => PrecompiledCharsmap.parse(new Uint8Array([8, 0, 0, 0]), "x"), /trie of 8 bytes/);
   * ```
   */
  static parse(bytes: Uint8Array, source: string): PrecompiledCharsmap {
    if (bytes.length < 4) {
      throw new Error(`Precompiled charsmap of ${source} has ${bytes.length} bytes, expected at least 4`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const trieBytes = view.getUint32(0, true);
    if (trieBytes % 4 !== 0 || trieBytes > bytes.length - 4) {
      throw new Error(
        `Precompiled charsmap of ${source} declares a trie of ${trieBytes} bytes, but holds ${
          bytes.length - 4
        } bytes after its header (expected a multiple of 4 that fits)`,
      );
    }
    const units = new Uint32Array(trieBytes / 4);
    for (let i = 0; i < units.length; i++) units[i] = view.getUint32(4 + 4 * i, true);
    return new PrecompiledCharsmap(units, bytes.slice(4 + trieBytes));
  }

  /** Darts-clone's common-prefix search: the values of every key that is a prefix of `key`, shortest first. */
  #prefixValues(key: Uint8Array): number[] {
    const units = this.#units;
    const out: number[] = [];
    if (units.length === 0) return out;
    const offset = (u: number) => (u >>> 10) << ((u & (1 << 9)) >>> 6);
    let pos = offset(units[0]!);
    for (let i = 0; i < key.length; i++) {
      const c = key[i]!;
      if (c === 0) break;
      pos ^= c;
      const unit = units[pos];
      if (unit === undefined || (unit & 0x800000ff) !== c) return out;
      pos ^= offset(unit);
      if ((unit >>> 8) & 1) {
        const leaf = units[pos];
        if (leaf === undefined) return out;
        out.push(leaf & 0x7fffffff);
      }
    }
    return out;
  }

  #replacement(at: number): string {
    let s = this.#decoded.get(at);
    if (s === undefined) {
      const bytes = this.#normalized;
      if (at > bytes.length) {
        throw new Error(`Precompiled charsmap points at byte ${at} of its ${bytes.length} replacement bytes`);
      }
      let end = bytes.indexOf(0, at);
      if (end < 0) end = bytes.length;
      s = new TextDecoder().decode(bytes.subarray(at, end));
      this.#decoded.set(at, s);
    }
    return s;
  }

  /**
   * The replacement of `chunk` as `spm_precompiled` finds it: the replacement of the shortest key that is a
   * prefix of the chunk's bytes, or `undefined` when none is.
   *
   * @param chunk A character or grapheme.
   * @returns The replacement, or `undefined`.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * strictEqual(PrecompiledCharsmap.parse(new Uint8Array(4), "empty").lookup("x"), undefined);
   * ```
   */
  lookup(chunk: string): string | undefined {
    const found = this.#prefixValues(utf8.encode(chunk));
    return found.length === 0 ? undefined : this.#replacement(found[0]!);
  }

  /**
   * Hugging Face's `Precompiled` normalizer: each grapheme of fewer than 6 UTF-8 bytes is looked up whole;
   * otherwise (or when not found) each of its characters is. A replacement aligns with what it replaces.
   *
   * @param text The aligned text.
   * @returns The normalized text.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * import { NormalizedText } from "./normalized_text.ts";
   * strictEqual(PrecompiledCharsmap.parse(new Uint8Array(4), "empty").normalize(NormalizedText.from("ab")).text, "ab");
   * ```
   */
  normalize(text: NormalizedText): NormalizedText {
    if (this.#units.length === 0) return text;
    const s = text.text;
    const b = new AlignedBuilder(s.length + 8);
    for (const { segment, index } of graphemes(s)) {
      const end = index + segment.length;
      if (utf8Length(segment) < 6) {
        const whole = this.lookup(segment);
        if (whole !== undefined) {
          b.push(whole, text.starts[index]!, text.ends[end - 1]!);
          continue;
        }
      }
      for (let i = index; i < end;) {
        const cp = s.codePointAt(i)!;
        const len = cp > 0xffff ? 2 : 1;
        const rep = this.lookup(s.slice(i, i + len));
        if (rep === undefined) b.copy(text, i, i + len);
        else b.push(rep, text.starts[i]!, text.ends[i + len - 1]!);
        i += len;
      }
    }
    return b.build(text.endOffset);
  }
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? (i++, 4) : 3;
  }
  return n;
}

let segmenter: Intl.Segmenter | undefined;

/** Extended grapheme clusters (`Intl.Segmenter`, linear even over long runs of marks); ASCII needs none. */
function* graphemes(s: string): Generator<{ segment: string; index: number }> {
  if (!/[\u0080-\uffff]/.test(s)) {
    for (let i = 0; i < s.length; i++) yield { segment: s[i]!, index: i };
    return;
  }
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  for (const g of segmenter.segment(s)) yield { segment: g.segment, index: g.index };
}
