/**
 * Linear probes on layer representations, Tenney, Das & Pavlick (2019), "BERT Rediscovers the Classical NLP
 * Pipeline": a softmax classifier on one layer's features, or on a scalar mix of several layers
 * (γ · Σ softmax(a)_ℓ · h_ℓ, the weights a and scale γ trained jointly with the classifier). An example's
 * input is one feature row (a word, for POS) or the concatenation of several (dependent ⊕ parent, for
 * dependency labels). Training runs in kernel memory: gathers (`embeddingForward`), matmuls, softmax
 * cross-entropy, and the project's {@linkcode AdamW}; zero-initialised weights and a seeded shuffle make it
 * reproducible.
 *
 * @module
 */

import { permutation } from "../rng.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { type Kernels, MatmulFlags, type Ptr } from "../kernels/types.ts";
import { ParamStore } from "../models/param_store.ts";
import { AdamW, linearSchedule } from "../training/optimizer.ts";

/** Examples for a probe: feature rows per layer, which rows make each example's input, and labels. */
export interface ProbeSet {
  /** Per layer, [rows, dim] row-major. */
  layers: readonly Float32Array[];
  /** Feature width. */
  dim: number;
  /** One or more parts, each the feature row of every example; the input is their concatenation. */
  parts: readonly Int32Array[];
  /** Class of every example; a negative class is never right (a label unseen in training). */
  labels: Int32Array;
}

/** How to train a probe. */
export interface ProbeOptions {
  /** Number of classes. */
  classes: number;
  /** Passes over the training set. Default 8. */
  epochs?: number;
  /** Examples per update. Default 64. */
  batchSize?: number;
  /** Peak learning rate (linear decay to 0, no warm-up). Default 5e-3. */
  lr?: number;
  /** AdamW weight decay on the classifier weights. Default 0. */
  weightDecay?: number;
  /** Shuffle seed. Default 0. */
  seed?: number;
  /** The kernels to train with; a fresh WASM instance when absent. */
  kernels?: Kernels;
  /** Called after each probe {@linkcode layerProbing} trains (`done` of `total`), e.g. to draw progress. */
  onProgress?: (done: number, total: number) => void;
}

/** A trained probe. */
export interface Probe {
  /** The layers it reads. */
  layers: number[];
  /** Classifier weights per part, each [classes, dim]. */
  weights: Float32Array[];
  /** Classifier bias [classes]. */
  bias: Float32Array;
  /** softmax(a): the mixing weight of each of `layers` (1 for a single layer). */
  mixWeights: number[];
  /** γ (1 for a single layer). */
  gamma: number;
  /** Mean training loss of the last epoch. */
  trainLoss: number;
}

function checkSet(set: ProbeSet, layers: readonly number[], what: string): number {
  const n = set.labels.length;
  if (set.parts.length === 0) throw new Error(`${what}: a probe set needs at least one part`);
  for (const p of set.parts) if (p.length !== n) throw new Error(`${what}: a part has ${p.length} rows, labels ${n}`);
  const rows = (set.layers[0]?.length ?? 0) / set.dim;
  for (const l of layers) {
    const f = set.layers[l];
    if (f === undefined) throw new Error(`${what}: layer ${l} has no features (${set.layers.length} layers)`);
    if (f.length !== rows * set.dim) {
      throw new Error(`${what}: layer ${l} holds ${f.length} values, not ${rows}·${set.dim}`);
    }
  }
  for (const p of set.parts) {
    for (const r of p) if (!(r >= 0 && r < rows)) throw new Error(`${what}: feature row ${r} outside 0..${rows - 1}`);
  }
  return rows;
}

/** Feature tables of one probe set in kernel memory. */
class Tables {
  readonly ptrs: Ptr[];
  constructor(k: Kernels, set: ProbeSet, layers: readonly number[]) {
    this.ptrs = layers.map((l) => {
      const f = set.layers[l]!;
      const p = k.mem.alloc(f.length * 4);
      k.mem.f32(p, f.length).set(f);
      return p;
    });
  }
}

/** Forward state of one minibatch. */
interface Pass {
  B: number;
  ids: Ptr[];
  gathered: Ptr[][];
  x: Ptr[];
  logits: Ptr;
}

class ProbeNet {
  readonly k: Kernels;
  readonly store: ParamStore;
  readonly P: number;
  readonly S: number;
  readonly D: number;
  readonly C: number;
  readonly mix: boolean;
  readonly maxB: number;
  readonly #bufs: {
    ids: Ptr[];
    gathered: Ptr[][];
    x: Ptr[];
    tmp: Ptr;
    logits: Ptr;
    probs: Ptr;
    losses: Ptr;
    dlogits: Ptr;
    dx: Ptr;
    targets: Ptr;
    dot: Ptr;
  };

  constructor(k: Kernels, P: number, S: number, D: number, C: number, maxB: number) {
    this.k = k;
    this.P = P;
    this.S = S;
    this.D = D;
    this.C = C;
    this.mix = S > 1;
    this.maxB = maxB;
    const w = new Map(
      Array.from({ length: P }, (_, p) => [`probe.part${p}.weight`, { shape: [C, D], data: new Float32Array(C * D) }]),
    );
    w.set("probe.bias", { shape: [C], data: new Float32Array(C) });
    if (this.mix) {
      w.set("probe.mix.bias", { shape: [S], data: new Float32Array(S) }); // mixing logits a (no decay)
      w.set("probe.gamma.bias", { shape: [1], data: Float32Array.of(1) });
    }
    this.store = new ParamStore(k, w);
    const f = (n: number) => k.mem.alloc(n * 4);
    this.#bufs = {
      ids: Array.from({ length: P }, () => f(maxB)),
      gathered: Array.from({ length: P }, () => Array.from({ length: S }, () => f(maxB * D))),
      x: Array.from({ length: P }, () => f(maxB * D)),
      tmp: f(maxB * D),
      logits: f(maxB * C),
      probs: f(maxB * C),
      losses: f(maxB),
      dlogits: f(maxB * C),
      dx: f(maxB * D),
      targets: f(maxB),
      dot: f(1),
    };
  }

  mixing(): { s: number[]; gamma: number } {
    if (!this.mix) return { s: [1], gamma: 1 };
    const a = this.k.mem.f32(this.store.get("probe.mix.bias").ptr, this.S);
    const m = Math.max(...a);
    const e = Array.from(a, (v) => Math.exp(v - m));
    const z = e.reduce((x, y) => x + y, 0);
    return { s: e.map((v) => v / z), gamma: this.k.mem.f32(this.store.get("probe.gamma.bias").ptr, 1)[0]! };
  }

  forward(tables: Tables, set: ProbeSet, rows: Int32Array): Pass {
    const k = this.k, b = this.#bufs, B = rows.length, D = this.D;
    const { s, gamma } = this.mixing();
    for (let p = 0; p < this.P; p++) {
      const part = set.parts[p]!;
      const ids = k.mem.i32(b.ids[p]!, B);
      for (let i = 0; i < B; i++) ids[i] = part[rows[i]!]!;
      for (let l = 0; l < this.S; l++) k.embeddingForward(b.gathered[p]![l]!, tables.ptrs[l]!, b.ids[p]!, B, D);
      if (this.mix) {
        k.fill(b.x[p]!, 0, B * D);
        for (let l = 0; l < this.S; l++) {
          k.scale(b.tmp, b.gathered[p]![l]!, gamma * s[l]!, B * D);
          k.add(b.x[p]!, b.x[p]!, b.tmp, B * D);
        }
      } else k.copy(b.x[p]!, b.gathered[p]![0]!, B * D);
      const W = this.store.get(`probe.part${p}.weight`).ptr;
      const bias = p === 0 ? this.store.get("probe.bias").ptr : 0;
      k.matmul(b.logits, b.x[p]!, W, bias, B, D, this.C, MatmulFlags.TRANS_B | (p === 0 ? 0 : MatmulFlags.ACCUMULATE));
    }
    return { B, ids: b.ids, gathered: b.gathered, x: b.x, logits: b.logits };
  }

  /** Loss, gradients and one AdamW step; returns the mean loss. */
  step(pass: Pass, targets: Int32Array, opt: AdamW, lr: number): number {
    const loss = this.lossAndGrads(pass, targets);
    opt.step(lr);
    return loss;
  }

  /** The mean cross-entropy of a forward pass; leaves every parameter's gradient in the store. */
  lossAndGrads(pass: Pass, targets: Int32Array): number {
    const k = this.k, b = this.#bufs, B = pass.B, D = this.D, C = this.C;
    k.mem.i32(b.targets, B).set(targets);
    k.crossEntropyForward(b.losses, b.probs, b.logits, b.targets, B, C);
    let loss = 0;
    for (const v of k.mem.f32(b.losses, B)) loss += v;
    this.store.zeroGrads();
    k.fill(b.dlogits, 0, B * C);
    k.crossEntropyBackward(b.dlogits, b.probs, b.targets, B, C, 1 / B);
    k.biasBackward(this.store.get("probe.bias").grad, b.dlogits, B, C);
    const { s, gamma } = this.mixing();
    const g = new Float64Array(this.S);
    for (let p = 0; p < this.P; p++) {
      const W = this.store.get(`probe.part${p}.weight`);
      k.matmul(W.grad, b.dlogits, pass.x[p]!, 0, C, B, D, MatmulFlags.TRANS_A | MatmulFlags.ACCUMULATE);
      if (!this.mix) continue;
      k.matmul(b.dx, b.dlogits, W.ptr, 0, B, C, D, 0);
      for (let l = 0; l < this.S; l++) {
        k.matmul(b.dot, pass.gathered[p]![l]!, b.dx, 0, 1, B * D, 1, 0);
        g[l]! += k.mem.f32(b.dot, 1)[0]!;
      }
    }
    if (this.mix) {
      let sg = 0;
      for (let l = 0; l < this.S; l++) sg += s[l]! * g[l]!;
      const da = k.mem.f32(this.store.get("probe.mix.bias").grad, this.S);
      for (let l = 0; l < this.S; l++) da[l] = gamma * s[l]! * (g[l]! - sg);
      k.mem.f32(this.store.get("probe.gamma.bias").grad, 1)[0] = sg;
    }
    return loss / B;
  }

  predict(pass: Pass): Int32Array {
    const B = pass.B, C = this.C, lg = this.k.mem.f32(pass.logits, B * C), out = new Int32Array(B);
    for (let i = 0; i < B; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (lg[i * C + c]! > lg[i * C + best]!) best = c;
      out[i] = best;
    }
    return out;
  }
}

/** A probe's parameters, for {@linkcode probeGradients}: as in {@linkcode Probe}, but the mix as its logits. */
export interface ProbeParams {
  /** Classifier weights per part, each [classes, dim]. */
  weights: readonly Float32Array[];
  /** Classifier bias [classes]. */
  bias: Float32Array;
  /** The mixing logits a (softmax(a) = the mixing weights), one per layer read; ignored for one layer. */
  mixLogits: readonly number[];
  /** γ; ignored for one layer. */
  gamma: number;
}

/**
 * The mean training loss of a probe with the given parameters on every example of `set`, and its analytic
 * gradients — exactly the ones {@linkcode trainProbe} follows — so that they can be checked against finite
 * differences.
 *
 * @param set The examples.
 * @param layers The layers the probe reads (a scalar mix when more than one).
 * @param params The parameter values.
 * @param kernels The kernels (a fresh WASM instance when absent).
 * @returns The loss and d loss / d each parameter (`mixLogits` and `gamma` empty / 0 for one layer).
 * @throws {Error} for a malformed set, or parameters of the wrong sizes
 *
 * @example Usage
 * ```ts
 * import { probeGradients } from "./probe.ts";
 * const set = { layers: [Float32Array.of(1, -1)], dim: 1, parts: [Int32Array.of(0, 1)], labels: Int32Array.of(0, 1) };
 * const params = { weights: [new Float32Array(2)], bias: new Float32Array(2), mixLogits: [], gamma: 1 };
 * probeGradients(set, [0], params).loss; // ln 2: zero weights give uniform probabilities
 * ```
 */
export function probeGradients(
  set: ProbeSet,
  layers: readonly number[],
  params: ProbeParams,
  kernels?: Kernels,
): { loss: number; grads: { weights: Float32Array[]; bias: Float32Array; mixLogits: number[]; gamma: number } } {
  checkSet(set, layers, "probe set");
  const C = params.bias.length, D = set.dim, P = set.parts.length, S = layers.length;
  if (params.weights.length !== P || params.weights.some((w) => w.length !== C * D)) {
    throw new Error(`probeGradients: weights must be ${P} part(s) of [${C}, ${D}]`);
  }
  if (S > 1 && params.mixLogits.length !== S) {
    throw new Error(`probeGradients: mixLogits has ${params.mixLogits.length} values for ${S} layers`);
  }
  for (const y of set.labels) if (!(y >= 0 && y < C)) throw new Error(`probeGradients: label ${y} outside 0..${C - 1}`);
  const k = kernels ?? createWasmKernels();
  const mark = k.mem.mark();
  try {
    const n = set.labels.length;
    const net = new ProbeNet(k, P, S, D, C, n);
    net.store.enableGrads();
    const put = (name: string, v: ArrayLike<number>) => k.mem.f32(net.store.get(name).ptr, v.length).set(v);
    params.weights.forEach((w, p) => put(`probe.part${p}.weight`, w));
    put("probe.bias", params.bias);
    if (S > 1) {
      put("probe.mix.bias", params.mixLogits);
      put("probe.gamma.bias", [params.gamma]);
    }
    const rows = Int32Array.from({ length: n }, (_, i) => i);
    const loss = net.lossAndGrads(net.forward(new Tables(k, set, layers), set, rows), set.labels);
    const grad = (name: string, size: number) => k.mem.f32(net.store.get(name).grad, size).slice();
    return {
      loss,
      grads: {
        weights: params.weights.map((_, p) => grad(`probe.part${p}.weight`, C * D)),
        bias: grad("probe.bias", C),
        mixLogits: S > 1 ? [...grad("probe.mix.bias", S)] : [],
        gamma: S > 1 ? grad("probe.gamma.bias", 1)[0]! : 0,
      },
    };
  } finally {
    k.mem.release(mark);
  }
}

/** A probe trained and scored on one pair of sets. */
export interface ProbeRun {
  /** The trained probe. */
  probe: Probe;
  /** Accuracy on the test set. */
  accuracy: number;
}

/**
 * Trains a probe on `train` reading `layers` (a scalar mix when more than one) and scores it on `test`.
 *
 * @param train The training examples.
 * @param test The scoring examples (same parts and dim).
 * @param layers The layers to read.
 * @param opts Classes, epochs, batch size, learning rate, seed, kernels.
 * @returns The probe and its test accuracy.
 * @throws {Error} for mismatched sets, missing layers, rows out of range, or labels ≥ `classes`
 *
 * @example Usage
 * ```ts
 * import { trainProbe } from "./probe.ts";
 * // one 1-d feature whose sign is the class
 * const layers = [Float32Array.from([-1, -2, 1, 2])];
 * const set = { layers, dim: 1, parts: [Int32Array.of(0, 1, 2, 3)], labels: Int32Array.of(0, 0, 1, 1) };
 * trainProbe(set, set, [0], { classes: 2, epochs: 50, batchSize: 4, lr: 0.1 }).accuracy; // 1
 * ```
 */
export function trainProbe(train: ProbeSet, test: ProbeSet, layers: readonly number[], opts: ProbeOptions): ProbeRun {
  const C = opts.classes;
  if (!(Number.isInteger(C) && C >= 1)) throw new Error(`Probe classes must be a positive integer, got ${C}`);
  if (layers.length === 0) throw new Error("A probe needs at least one layer");
  if (train.dim !== test.dim || train.parts.length !== test.parts.length) {
    throw new Error("Probe train and test sets differ in feature width or parts");
  }
  checkSet(train, layers, "probe train set");
  checkSet(test, layers, "probe test set");
  for (const y of train.labels) if (y >= C) throw new Error(`Probe label ${y} is not below classes = ${C}`);
  const epochs = opts.epochs ?? 8, batchSize = opts.batchSize ?? 64, lr = opts.lr ?? 5e-3, seed = opts.seed ?? 0;
  const k = opts.kernels ?? createWasmKernels();
  const mark = k.mem.mark();
  try {
    const trainTables = new Tables(k, train, layers), testTables = new Tables(k, test, layers);
    const net = new ProbeNet(k, train.parts.length, layers.length, train.dim, C, batchSize);
    const opt = new AdamW(net.store, { weightDecay: opts.weightDecay ?? 0 });
    const n = train.labels.length, steps = epochs * Math.ceil(n / batchSize);
    let step = 0, lastLoss = NaN;
    for (let e = 0; e < epochs; e++) {
      const order = permutation(n, (seed * 1000003 + e) >>> 0);
      let sum = 0;
      for (let s = 0; s < n; s += batchSize) {
        const rows = order.subarray(s, Math.min(n, s + batchSize));
        const targets = Int32Array.from(rows, (r) => train.labels[r]!);
        const pass = net.forward(trainTables, train, rows);
        sum += net.step(pass, targets, opt, lr * linearSchedule(step++, steps, 0)) * rows.length;
      }
      lastLoss = sum / n;
    }
    let right = 0;
    const m = test.labels.length;
    for (let s = 0; s < m; s += batchSize) {
      const rows = Int32Array.from({ length: Math.min(batchSize, m - s) }, (_, i) => s + i);
      const pred = net.predict(net.forward(testTables, test, rows));
      pred.forEach((p, i) => (right += p === test.labels[rows[i]!] ? 1 : 0));
    }
    const { s, gamma } = net.mixing();
    const probe: Probe = {
      layers: [...layers],
      weights: Array.from({ length: train.parts.length }, (_, p) => {
        const W = net.store.get(`probe.part${p}.weight`);
        return k.mem.f32(W.ptr, W.size).slice();
      }),
      bias: k.mem.f32(net.store.get("probe.bias").ptr, C).slice(),
      mixWeights: s,
      gamma,
      trainLoss: lastLoss,
    };
    return { probe, accuracy: m === 0 ? 0 : right / m };
  } finally {
    k.mem.release(mark);
  }
}

/** Tenney et al.'s layer scores of one task. */
export interface LayerProbing {
  /** Test accuracy of a probe on each single layer 0…L. */
  layerAccuracy: number[];
  /** Test accuracy of a scalar-mix probe on layers 0…ℓ, for each ℓ (ℓ = 0 is the single-layer probe). */
  cumulativeAccuracy: number[];
  /** Δ(ℓ) = cumulative(ℓ) − cumulative(ℓ − 1), indexed by layer; Δ(0) is written 0 (no earlier layer). */
  delta: number[];
  /** E_Δ = Σ_{ℓ≥1} ℓ·Δ(ℓ) / Σ_{ℓ≥1} Δ(ℓ); `null` when Σ Δ = 0. */
  expectedLayer: number | null;
  /** softmax weights s(ℓ) of the scalar mix over every layer 0…L. */
  mixWeights: number[];
  /** γ of that mix. */
  gamma: number;
  /** E_s = Σ ℓ·s(ℓ). */
  centerOfGravity: number;
  /** Test accuracy of the full-mix probe. */
  mixAccuracy: number;
}

/**
 * E_Δ and E_s from the accuracies and mixing weights (Tenney et al. 2019, section 3).
 *
 * @param cumulativeAccuracy Accuracy of the mix over layers 0…ℓ, for ℓ = 0…L.
 * @param mixWeights s(ℓ) of the full mix.
 * @returns Δ (indexed by layer, Δ(0) = 0), E_Δ (`null` when Σ Δ = 0) and E_s.
 *
 * @example Usage
 * ```ts
 * import { tenneyScores } from "./probe.ts";
 * tenneyScores([0.5, 0.7, 0.8], [0.2, 0.3, 0.5]).expectedLayer; // (1·0.2 + 2·0.1) / 0.3
 * ```
 */
export function tenneyScores(
  cumulativeAccuracy: readonly number[],
  mixWeights: readonly number[],
): { delta: number[]; expectedLayer: number | null; centerOfGravity: number } {
  const delta = cumulativeAccuracy.map((a, l) => (l === 0 ? 0 : a - cumulativeAccuracy[l - 1]!));
  let num = 0, den = 0;
  delta.forEach((d, l) => {
    num += l * d;
    den += d;
  });
  const centerOfGravity = mixWeights.reduce((s, w, l) => s + l * w, 0);
  return { delta, expectedLayer: den === 0 ? null : num / den, centerOfGravity };
}

/**
 * The whole layer study of one task: a probe per layer, a cumulative scalar-mix probe per prefix of layers,
 * and the scores derived from them.
 *
 * @param train Training examples (every layer 0…L present).
 * @param test Scoring examples.
 * @param opts Probe training options.
 * @returns Accuracies, Δ, E_Δ, mixing weights, γ, E_s.
 * @throws {Error} as {@linkcode trainProbe}
 *
 * @example Usage
 * ```ts
 * import { layerProbing } from "./probe.ts";
 * const layers = [Float32Array.from([0, 0, 0, 0]), Float32Array.from([-1, -2, 1, 2])];
 * const set = { layers, dim: 1, parts: [Int32Array.of(0, 1, 2, 3)], labels: Int32Array.of(0, 0, 1, 1) };
 * layerProbing(set, set, { classes: 2, epochs: 30, batchSize: 4, lr: 0.1 }).layerAccuracy[1]; // 1
 * ```
 */
export function layerProbing(train: ProbeSet, test: ProbeSet, opts: ProbeOptions): LayerProbing {
  const n = train.layers.length;
  if (n === 0) throw new Error("Layer probing needs features of at least one layer");
  const k = opts.kernels ?? createWasmKernels();
  const o = { ...opts, kernels: k };
  let done = 0;
  const step = () => opts.onProgress?.(++done, 2 * n - 1);
  const layerAccuracy = Array.from({ length: n }, (_, l) => {
    const accuracy = trainProbe(train, test, [l], o).accuracy;
    step();
    return accuracy;
  });
  const cumulativeAccuracy = [layerAccuracy[0]!];
  let full: ProbeRun | undefined;
  for (let l = 1; l < n; l++) {
    const r = trainProbe(train, test, Array.from({ length: l + 1 }, (_, i) => i), o);
    step();
    cumulativeAccuracy.push(r.accuracy);
    full = r;
  }
  const mixWeights = full ? full.probe.mixWeights : [1];
  const { delta, expectedLayer, centerOfGravity } = tenneyScores(cumulativeAccuracy, mixWeights);
  return {
    layerAccuracy,
    cumulativeAccuracy,
    delta,
    expectedLayer,
    mixWeights,
    gamma: full ? full.probe.gamma : 1,
    centerOfGravity,
    mixAccuracy: full ? full.accuracy : layerAccuracy[0]!,
  };
}
