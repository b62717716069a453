/**
 * Clark et al. (2019), section 4.2: heads that track syntax. For each dependency relation and each head,
 * how often the word the dependent attends to most (argmax over the sentence's words; special tokens
 * excluded) is its parent ("dep->parent"), and how often the parent's argmax is the dependent
 * ("parent->dep"); the best head and direction per relation, beside the best fixed-offset baseline (the one
 * relative position parent − dependent that is most often right for that relation), and an "all" row over
 * every relation. Root attachments (HEAD 0) have no parent word and are not scored.
 *
 * @module
 */

import type { ExampleAttention } from "./attention_maps.ts";

/** One scored dependency: word indices (0-based, in the sentence) and its relation. */
export interface Dependency {
  /** The dependent's word index. */
  dep: number;
  /** The parent's word index. */
  head: number;
  /** The relation label. */
  relation: string;
}

/** A sentence's map from its words to the units of its attention maps. */
export interface SentenceUnits {
  /** For every sentence word, its unit in the maps. */
  unitOfWord: ArrayLike<number>;
  /** 1 for units that are sentence words (argmax candidates), 0 for special tokens. */
  candidate: Uint8Array;
  /** The dependencies to score. */
  dependencies: readonly Dependency[];
}

/** Which way a head points: the dependent's argmax is the parent, or the parent's argmax is the dependent. */
export type Direction = "dep->parent" | "parent->dep";

/** The scores of one relation (or of all together). */
export interface RelationScore {
  /** Dependencies scored. */
  count: number;
  /** The most accurate head and direction (ties: dep->parent first, then lower layer, then lower head). */
  best: { layer: number; head: number; direction: Direction; accuracy: number };
  /** The best fixed offset parent − dependent (ties: the smaller |offset|, then the negative one). */
  baseline: { offset: number; accuracy: number };
  /** [layers][heads]: accuracy in the head's better direction. */
  perHead: number[][];
  /** [layers][heads]: accuracy dep->parent. */
  perHeadDepToParent: number[][];
  /** [layers][heads]: accuracy parent->dep. */
  perHeadParentToDep: number[][];
}

/** Every relation's scores, and the "all relations" row. */
export interface SyntacticHeads {
  /** By relation, most frequent first. */
  relations: Record<string, RelationScore>;
  /** All relations together. */
  all: RelationScore;
}

/** One relation's counts as plain arrays (see {@linkcode SyntacticHeadsMeter.sums}). */
export interface SyntacticCounts {
  /** Dependencies seen. */
  count: number;
  /** Per head (layer-major): how often the dependent's argmax was its parent. */
  d2p: number[];
  /** Per head: how often the parent's argmax was the dependent. */
  p2d: number[];
  /** [offset parent − dependent, how often]. */
  offsets: [number, number][];
}

/** A syntactic-heads meter's counts: every relation's and all relations'. */
export interface SyntacticHeadsSums {
  /** All relations together. */
  all: SyntacticCounts;
  /** By relation. */
  relations: Record<string, SyntacticCounts>;
}

interface Counts {
  count: number;
  d2p: Float64Array;
  p2d: Float64Array;
  offsets: Map<number, number>;
}

/** Counts, over sentences, how often each head's argmax lands on the parent or dependent. */
export class SyntacticHeadsMeter {
  readonly #layers: number;
  readonly #heads: number;
  readonly #rel = new Map<string, Counts>();
  readonly #all: Counts;

  /**
   * A meter for a model with `layers` layers of `heads` heads.
   *
   * @param layers Layers.
   * @param heads Heads per layer.
   */
  constructor(layers: number, heads: number) {
    this.#layers = layers;
    this.#heads = heads;
    this.#all = this.#counts();
  }

  #counts(): Counts {
    const n = this.#layers * this.#heads;
    return { count: 0, d2p: new Float64Array(n), p2d: new Float64Array(n), offsets: new Map() };
  }

  /**
   * Adds one sentence.
   *
   * @param ex Its word-level maps (units include the special tokens).
   * @param s Its words' units and dependencies.
   * @throws {Error} when a dependency or unit is out of range
   *
   * @example Usage
   * ```ts
   * import { SyntacticHeadsMeter } from "./syntactic_heads.ts";
   * const m = new SyntacticHeadsMeter(1, 1);
   * // units: [CLS] w0 w1 [SEP]; w0 attends to w1, its parent
   * const maps = Float64Array.from([1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
   * m.add({ n: 4, maps }, { unitOfWord: [1, 2], candidate: Uint8Array.of(0, 1, 1, 0), dependencies: [{ dep: 0, head: 1, relation: "det" }] });
   * m.result().all.best.accuracy; // 1
   * ```
   */
  add(ex: ExampleAttention, s: SentenceUnits): void {
    const n = ex.n, LH = this.#layers * this.#heads;
    if (ex.maps.length !== LH * n * n) {
      throw new Error(`Attention maps hold ${ex.maps.length} values, expected ${LH}·${n}·${n}`);
    }
    if (s.candidate.length !== n) throw new Error(`candidate covers ${s.candidate.length} units, the maps ${n}`);
    const argmax = new Int32Array(LH * n).fill(-1);
    for (let h = 0; h < LH; h++) {
      for (let i = 0; i < n; i++) {
        const r = (h * n + i) * n;
        let best = -1, bv = -Infinity;
        for (let j = 0; j < n; j++) {
          if (s.candidate[j] && ex.maps[r + j]! > bv) {
            bv = ex.maps[r + j]!;
            best = j;
          }
        }
        argmax[h * n + i] = best;
      }
    }
    const words = s.unitOfWord.length;
    for (const d of s.dependencies) {
      if (!(d.dep >= 0 && d.dep < words && d.head >= 0 && d.head < words && d.dep !== d.head)) {
        throw new Error(`Dependency ${d.dep} → ${d.head} (${d.relation}) is outside the sentence's ${words} words`);
      }
      const ud = s.unitOfWord[d.dep]!, uh = s.unitOfWord[d.head]!;
      let c = this.#rel.get(d.relation);
      if (c === undefined) this.#rel.set(d.relation, c = this.#counts());
      for (const t of [c, this.#all]) {
        t.count++;
        const off = d.head - d.dep;
        t.offsets.set(off, (t.offsets.get(off) ?? 0) + 1);
        for (let h = 0; h < LH; h++) {
          if (argmax[h * n + ud] === uh) t.d2p[h]! += 1;
          if (argmax[h * n + uh] === ud) t.p2d[h]! += 1;
        }
      }
    }
  }

  #score(c: Counts): RelationScore {
    const L = this.#layers, H = this.#heads, n = Math.max(1, c.count);
    const grid = (a: Float64Array) =>
      Array.from({ length: L }, (_, l) => Array.from(a.subarray(l * H, l * H + H), (v) => v / n));
    let best = { layer: 0, head: 0, direction: "dep->parent" as Direction, accuracy: -1 };
    for (const [direction, a] of [["dep->parent", c.d2p], ["parent->dep", c.p2d]] as const) {
      for (let h = 0; h < L * H; h++) {
        const acc = a[h]! / n;
        if (acc > best.accuracy) best = { layer: Math.floor(h / H), head: h % H, direction, accuracy: acc };
      }
    }
    let baseline = { offset: 0, accuracy: 0 };
    const offsets = [...c.offsets.entries()].sort((x, y) => Math.abs(x[0]) - Math.abs(y[0]) || x[0] - y[0]);
    for (const [offset, k] of offsets) if (k / n > baseline.accuracy) baseline = { offset, accuracy: k / n };
    const d2p = grid(c.d2p), p2d = grid(c.p2d);
    return {
      count: c.count,
      best,
      baseline,
      perHead: d2p.map((row, l) => row.map((v, h) => Math.max(v, p2d[l]![h]!))),
      perHeadDepToParent: d2p,
      perHeadParentToDep: p2d,
    };
  }

  /**
   * The counts so far, nothing divided (one shard's part of a study): per relation and for all relations, the
   * dependencies seen, each head's hits in both directions, and how often each offset was the parent's.
   *
   * @returns Plain, JSON-ready counts.
   *
   * @example Usage
   * ```ts
   * import { SyntacticHeadsMeter } from "./syntactic_heads.ts";
   * const m = new SyntacticHeadsMeter(1, 1);
   * m.add({ n: 2, maps: Float64Array.from([0, 1, 1, 0]) }, { unitOfWord: [0, 1], candidate: Uint8Array.of(1, 1), dependencies: [{ dep: 1, head: 0, relation: "obj" }] });
   * m.sums().all.count; // 1
   * ```
   */
  sums(): SyntacticHeadsSums {
    const plain = (c: Counts): SyntacticCounts => ({
      count: c.count,
      d2p: Array.from(c.d2p),
      p2d: Array.from(c.p2d),
      offsets: [...c.offsets.entries()],
    });
    return { all: plain(this.#all), relations: Object.fromEntries([...this.#rel].map(([r, c]) => [r, plain(c)])) };
  }

  /**
   * Adds another meter's counts (a shard's part).
   *
   * @param part What {@linkcode sums} returned there.
   * @throws {Error} when its head count differs
   *
   * @example Usage
   * ```ts
   * import { SyntacticHeadsMeter } from "./syntactic_heads.ts";
   * const a = new SyntacticHeadsMeter(1, 1), b = new SyntacticHeadsMeter(1, 1);
   * a.add({ n: 2, maps: Float64Array.from([0, 1, 1, 0]) }, { unitOfWord: [0, 1], candidate: Uint8Array.of(1, 1), dependencies: [{ dep: 1, head: 0, relation: "obj" }] });
   * b.addSums(a.sums());
   * b.result().all.count; // 1
   * ```
   */
  addSums(part: SyntacticHeadsSums): void {
    const add = (to: Counts, from: SyntacticCounts, what: string) => {
      if (from.d2p.length !== to.d2p.length || from.p2d.length !== to.p2d.length) {
        throw new Error(`Syntactic-head counts of ${what} cover ${from.d2p.length} heads, expected ${to.d2p.length}`);
      }
      to.count += from.count;
      for (let h = 0; h < to.d2p.length; h++) {
        to.d2p[h]! += from.d2p[h]!;
        to.p2d[h]! += from.p2d[h]!;
      }
      for (const [off, k] of from.offsets) to.offsets.set(off, (to.offsets.get(off) ?? 0) + k);
    };
    add(this.#all, part.all, "all relations");
    for (const [r, c] of Object.entries(part.relations)) {
      let to = this.#rel.get(r);
      if (to === undefined) this.#rel.set(r, to = this.#counts());
      add(to, c, r);
    }
  }

  /**
   * The scores so far.
   *
   * @returns Every relation (most frequent first) and the "all" row.
   * @throws {Error} when no dependency was added
   *
   * @example Usage
   * ```ts
   * import { SyntacticHeadsMeter } from "./syntactic_heads.ts";
   * const m = new SyntacticHeadsMeter(1, 1);
   * m.add({ n: 2, maps: Float64Array.from([0, 1, 1, 0]) }, { unitOfWord: [0, 1], candidate: Uint8Array.of(1, 1), dependencies: [{ dep: 1, head: 0, relation: "obj" }] });
   * m.result().relations.obj!.baseline; // { offset: -1, accuracy: 1 }
   * ```
   */
  result(): SyntacticHeads {
    if (this.#all.count === 0) throw new Error("No dependencies scored: syntactic heads need at least one");
    const relations: Record<string, RelationScore> = {};
    const order = [...this.#rel.entries()].sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1));
    for (const [r, c] of order) relations[r] = this.#score(c);
    return { relations, all: this.#score(this.#all) };
  }
}
