/**
 * Clark, Khandelwal, Levy & Manning (2019), "What Does BERT Look At?", section 3: what each head attends to
 * on average. For every head, the mean over all (example, query) pairs of the attention mass the query puts
 * on itself, the next unit, the previous unit, the first unit (`[CLS]`), separator units (`[SEP]`) and
 * punctuation ("." and ","), and the mean row entropy in nats; plus the mean entropy of the first unit's
 * row. Units are tokens (padding already cut off) or words (see `wordLevelAttention`).
 *
 * @module
 */

import type { ExampleAttention } from "./attention_maps.ts";

/** The statistics' names, in report order. */
export const ATTENTION_STATS = ["self", "next", "prev", "cls", "sep", "punct", "entropy", "cls_entropy"] as const;

/** One statistic's name. */
export type AttentionStatName = typeof ATTENTION_STATS[number];

/** Which units of an example are separators and punctuation. */
export interface UnitFlags {
  /** 1 where the unit is a separator token (`[SEP]`). */
  sep: Uint8Array;
  /** 1 where the unit is "." or ",". */
  punct: Uint8Array;
}

/** The averaged statistics: each a [layers · heads] array, row-major (layer, head). */
export type AttentionStats = Record<AttentionStatName, Float64Array>;

/** Sums the statistics over examples; {@linkcode AttentionStatsMeter.result} gives the means. */
export class AttentionStatsMeter {
  readonly #heads: number;
  readonly #sums: AttentionStats;
  #queries = 0;
  #examples = 0;

  /**
   * A meter for `heads` heads (layers · heads per layer).
   *
   * @param heads The number of heads in each example's maps.
   */
  constructor(heads: number) {
    this.#heads = heads;
    this.#sums = Object.fromEntries(ATTENTION_STATS.map((k) => [k, new Float64Array(heads)])) as AttentionStats;
  }

  /** Examples added so far. */
  get examples(): number {
    return this.#examples;
  }

  /**
   * Adds one example.
   *
   * @param ex Its maps.
   * @param flags Its separator and punctuation units.
   * @throws {Error} when the flags or maps do not match the example's size
   *
   * @example Usage
   * ```ts
   * import { AttentionStatsMeter } from "./attention_stats.ts";
   * const m = new AttentionStatsMeter(1);
   * m.add({ n: 2, maps: Float64Array.from([1, 0, 0, 1]) }, { sep: Uint8Array.of(0, 1), punct: Uint8Array.of(0, 0) });
   * m.result().self[0]; // 1
   * ```
   */
  add(ex: ExampleAttention, flags: UnitFlags): void {
    const n = ex.n, H = this.#heads, s = this.#sums;
    if (ex.maps.length !== H * n * n) {
      throw new Error(`Attention maps hold ${ex.maps.length} values, expected ${H}·${n}·${n}`);
    }
    if (flags.sep.length !== n || flags.punct.length !== n) {
      throw new Error(`Unit flags cover ${flags.sep.length} units, the example has ${n}`);
    }
    if (n === 0) return;
    for (let h = 0; h < H; h++) {
      const o = h * n * n;
      let self = 0, next = 0, prev = 0, cls = 0, sep = 0, punct = 0, ent = 0;
      for (let i = 0; i < n; i++) {
        const r = o + i * n;
        self += ex.maps[r + i]!;
        if (i + 1 < n) next += ex.maps[r + i + 1]!;
        if (i > 0) prev += ex.maps[r + i - 1]!;
        cls += ex.maps[r]!;
        let e = 0;
        for (let j = 0; j < n; j++) {
          const p = ex.maps[r + j]!;
          if (flags.sep[j]) sep += p;
          if (flags.punct[j]) punct += p;
          if (p > 0) e -= p * Math.log(p);
        }
        ent += e;
        if (i === 0) s.cls_entropy[h]! += e;
      }
      s.self[h]! += self;
      s.next[h]! += next;
      s.prev[h]! += prev;
      s.cls[h]! += cls;
      s.sep[h]! += sep;
      s.punct[h]! += punct;
      s.entropy[h]! += ent;
    }
    this.#queries += n;
    this.#examples++;
  }

  /**
   * The sums and counts added so far, nothing divided: one shard's part of a study ({@linkcode addSums} of
   * every part into a fresh meter gives the whole study's meter).
   *
   * @returns Copies of the sums, the query count and the example count.
   *
   * @example Usage
   * ```ts
   * import { AttentionStatsMeter } from "./attention_stats.ts";
   * const m = new AttentionStatsMeter(1);
   * m.add({ n: 1, maps: Float64Array.from([1]) }, { sep: Uint8Array.of(0), punct: Uint8Array.of(0) });
   * m.sums().queries; // 1
   * ```
   */
  sums(): { sums: AttentionStats; queries: number; examples: number } {
    const sums = Object.fromEntries(
      ATTENTION_STATS.map((k) => [k, Float64Array.from(this.#sums[k])]),
    ) as AttentionStats;
    return { sums, queries: this.#queries, examples: this.#examples };
  }

  /**
   * Adds another meter's sums (a shard's part).
   *
   * @param part What {@linkcode sums} returned there.
   * @throws {Error} when its head count differs
   *
   * @example Usage
   * ```ts
   * import { AttentionStatsMeter } from "./attention_stats.ts";
   * const a = new AttentionStatsMeter(1), b = new AttentionStatsMeter(1);
   * a.add({ n: 1, maps: Float64Array.from([1]) }, { sep: Uint8Array.of(0), punct: Uint8Array.of(0) });
   * b.addSums(a.sums());
   * b.result().self[0]; // 1
   * ```
   */
  addSums(part: { sums: AttentionStats; queries: number; examples: number }): void {
    for (const k of ATTENTION_STATS) {
      const from = part.sums[k], to = this.#sums[k];
      if (from.length !== to.length) {
        throw new Error(`Attention statistic ${k} has ${from.length} heads, expected ${to.length}`);
      }
      for (let h = 0; h < to.length; h++) to[h]! += from[h]!;
    }
    this.#queries += part.queries;
    this.#examples += part.examples;
  }

  /**
   * The means: per (example, query) pair, and per example for `cls_entropy`.
   *
   * @returns Each statistic over the heads.
   * @throws {Error} when no example was added
   *
   * @example Usage
   * ```ts
   * import { AttentionStatsMeter } from "./attention_stats.ts";
   * const m = new AttentionStatsMeter(1);
   * m.add({ n: 2, maps: Float64Array.from([0.5, 0.5, 0.5, 0.5]) }, { sep: Uint8Array.of(0, 0), punct: Uint8Array.of(0, 0) });
   * m.result().entropy[0]; // ln 2
   * ```
   */
  result(): AttentionStats {
    if (this.#examples === 0) throw new Error("No examples: attention statistics need at least one");
    const out = {} as AttentionStats;
    for (const k of ATTENTION_STATS) {
      const d = k === "cls_entropy" ? this.#examples : this.#queries;
      out[k] = this.#sums[k].map((v) => v / d);
    }
    return out;
  }
}
