/**
 * Composition scores (Elhage et al. 2021), exactly as TransformerLens's `all_composition_scores` defines them:
 * for a head a in an earlier layer and a head b in a later one, with the OV circuit of a,
 * L = W_V^a W_O^a, and the matrix of b it writes into,
 *
 * - Q-composition: R = W_Q^b (W_K^b)ᵀ (its QK circuit),
 * - K-composition: R = W_K^b (W_Q^b)ᵀ (the QK circuit transposed),
 * - V-composition: R = W_V^b W_O^b (its OV circuit),
 *
 * the score is ‖L R‖_F / (‖L‖_F ‖R‖_F); pairs whose right head is not in a later layer score 0. Weights are the
 * checkpoint's (row-vector convention, x · W; biases and norms left out): W_Q and W_K before any rotary
 * embedding, and under grouped-query attention query head h reads kv head h // (heads / kv_heads). The
 * projections are found in the model's traced forward (the linear maps behind `hook_q`, `hook_k`, `hook_v`) and
 * W_O in the family's head slices, so no family is named here.
 *
 * Computation: with Gram factors R_X (R_Xᵀ R_X = W_Xᵀ W_X, from an eigendecomposition), ‖L R‖_F is the
 * Frobenius norm of the small product (R_V^a W_O^a)(A^b R_B^bᵀ) where R = A^b (B^b)ᵀ, so every pair of an
 * earlier and a later layer is one [H·d_head, d_model] × [d_model, later heads·d_head] matmul.
 *
 * The baseline is the mean score of random Gaussian matrices of the same shapes (seeded): what the scores of
 * unrelated heads would be.
 *
 * @example Usage
 * ```ts
 * import { compositionScores } from "./composition.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const s = compositionScores(model, { baselineSamples: 20 });
 * s.K.shape; // [3, 4, 3, 4]: [layer a, head a, layer b, head b]
 * s.baseline.K; // the mean K-score of random matrices of these shapes
 * ```
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import { MatmulFlags } from "../kernels/types.ts";
import { keptHeads } from "../models/config.ts";
import type { TransformerModel } from "../models/model.ts";
import type { WeightLayout } from "../models/ops.ts";
import { traceModel } from "../models/trace_ops.ts";
import { mixSeed, normalGenerator } from "../rng.ts";
import type { Tensor } from "../tensor.ts";
import { headOutputRows, outputProjection, withWeight } from "./readout.ts";

/** The three kinds of composition. */
export const COMPOSITION_MODES = ["Q", "K", "V"] as const;

/** One kind of composition. */
export type CompositionMode = (typeof COMPOSITION_MODES)[number];

/** Options of {@linkcode compositionScores}. */
export interface CompositionOptions {
  /** Random pairs of heads the baseline averages (default 20; 0: no baseline). */
  baselineSamples?: number;
  /** The baseline's seed (default 0). */
  seed?: number;
}

/** The result of {@linkcode compositionScores}. */
export interface CompositionScores {
  /** [L, H, L, H] Q-composition of (layer a, head a) into (layer b, head b); 0 unless a's layer is earlier. */
  Q: Tensor;
  /** [L, H, L, H] K-composition. */
  K: Tensor;
  /** [L, H, L, H] V-composition. */
  V: Tensor;
  /** The mean score of random matrices of the same shapes, per mode (NaN without samples). */
  baseline: { Q: number; K: number; V: number; samples: number; seed: number };
}

/**
 * One head's weights, each as d_head rows of d_model (row-vector convention, x · W): the transposes W_Qᵀ, W_Kᵀ,
 * W_Vᵀ of the [d_model, d_head] projections, and W_O [d_head, d_model] itself.
 */
export interface HeadWeights {
  /** W_Qᵀ [d_head, d_model]. */
  q: Float64Array;
  /** W_Kᵀ (its kv head's, under GQA). */
  k: Float64Array;
  /** W_Vᵀ (its kv head's, under GQA). */
  v: Float64Array;
  /** W_O [d_head, d_model]. */
  o: Float64Array;
}

/**
 * Every kept head's W_Q, W_K, W_V, W_O of layer `layer`, un-rotated, per query head (see the module doc).
 *
 * @throws {Error} when the projections behind the layer's q, k, v cannot be found in the traced forward
 * @example Usage
 * ```ts
 * import { attentionWeights } from "./composition.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * attentionWeights(model, 0)[1]!.q.length; // d_head · d_model = 8 · 32
 * ```
 */
export function attentionWeights(model: TransformerModel, layer: number): HeadWeights[] {
  const { config: c, family } = model;
  const C = c.hidden, D = c.headDim;
  const trace = traceModel(family, c, (n) => (model.params.has(n) ? model.params.get(n).shape : undefined));
  const source = (kind: "q" | "k" | "v") => {
    const name = hookName(kind, layer);
    const id = trace.hooks.get(name)?.value;
    const maker = trace.ops.find((op) => op.outputs.includes(id ?? -1));
    const width = trace.values[id ?? 0]?.shape.at(-1);
    const fail = (why: string) =>
      new Error(`Composition scores: ${family.displayName} ${name} ${why}, not by a linear map of the residual stream`);
    if (maker === undefined || typeof width !== "number") throw fail("is not in the traced forward");
    if (maker.op === "linear") {
      return {
        weight: maker.weights[0]!,
        layout: maker.attrs.layout,
        width,
        feature: (i: number, d: number) => i * D + d,
      };
    }
    if (maker.op === "splitQKV") {
      const fused = trace.ops.find((op) => op.outputs.includes(maker.inputs[0]!));
      if (fused?.op !== "linear") throw fail(`is split from a ${fused?.op ?? "missing"} value`);
      const part = maker.outputs.indexOf(id!); // 0 q, 1 k, 2 v
      // `blocks` (GPT's c_attn): [q | k | v], each H·D wide; `heads` (GPT-NeoX): [q_h k_h v_h] for each head h
      const layout = (maker.attrs as { heads: number; layout?: string }).layout ?? "blocks";
      if (layout !== "blocks" && layout !== "heads") throw fail(`is split in an unknown "${layout}" layout`);
      const feature = layout === "blocks"
        ? (i: number, d: number) => part * width + i * D + d
        : (i: number, d: number) => (3 * i + part) * D + d;
      return { weight: fused.weights[0]!, layout: fused.attrs.layout, width, feature };
    }
    throw fail(`is made by ${maker.op}`);
  };
  const q = source("q"), k = source("k"), v = source("v");
  const H = keptHeads(c, layer).length;
  if (q.width !== H * D) throw new Error(`Composition scores: layer ${layer}'s q is ${q.width} wide for ${H} heads`);
  const kvHeads = k.width / D;
  if (!Number.isInteger(kvHeads) || kvHeads < 1 || H % kvHeads !== 0 || v.width !== k.width) {
    throw new Error(`Composition scores: layer ${layer}'s ${H} query heads do not share ${k.width / D} kv heads`);
  }
  const group = H / kvHeads;
  const headColumns = (
    s: { weight: string; layout: WeightLayout; feature: (i: number, d: number) => number },
    i: number,
  ) =>
    withWeight(model, s.weight, (w, shape) => {
      const out = new Float64Array(D * C); // Wᵀ [D, C]
      for (let d = 0; d < D; d++) {
        const f = s.feature(i, d);
        if (s.layout === "conv1d") { // [C, N]
          const N = shape[1]!;
          for (let r = 0; r < C; r++) out[d * C + r] = w[r * N + f]!;
        } else { // [N, C]: the feature's row
          out.set(w.subarray(f * C, (f + 1) * C), d * C);
        }
      }
      return out;
    });
  const proj = outputProjection(model, layer);
  return Array.from({ length: H }, (_, i) => ({
    q: headColumns(q, i),
    k: headColumns(k, Math.floor(i / group)),
    v: headColumns(v, Math.floor(i / group)),
    o: withWeight(model, proj.weight, (w) => headOutputRows(w, proj, i, D, C)),
  }));
}

/**
 * Q-, K- and V-composition scores between every pair of heads, with a random baseline (see the module doc).
 *
 * @param model any model with attention (its weights only are read)
 * @param opts the baseline's samples and seed
 * @throws {Error} for a bad sample count, or projections that cannot be found
 * @example Usage
 * ```ts
 * import { compositionScores } from "./composition.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * compositionScores(model, { baselineSamples: 0 }).Q.data[0]; // 0: a head does not compose with its own layer
 * ```
 */
export function compositionScores(model: TransformerModel, opts: CompositionOptions = {}): CompositionScores {
  const { config: c, kernels: k } = model;
  const samples = opts.baselineSamples ?? 20, seed = opts.seed ?? 0;
  if (!Number.isInteger(samples) || samples < 0) {
    throw new Error(`baselineSamples must be a non-negative integer, got ${samples}`);
  }
  const L = c.layers, H = c.heads, D = c.headDim, C = c.hidden;
  const kept = Array.from({ length: L }, (_, l) => keptHeads(c, l));
  const rowStart: number[] = [0]; // each layer's first factor row (heads · D rows per layer)
  for (let l = 0; l < L; l++) rowStart.push(rowStart[l]! + kept[l]!.length * D);
  const rows = rowStart[L]!;

  // the factors: left (R_V W_O)[D, C] per head; right (A R_Bᵀ)ᵀ [D, C] per head and mode
  const left = new Float32Array(rows * C);
  const right = { Q: new Float32Array(rows * C), K: new Float32Array(rows * C), V: new Float32Array(rows * C) };
  const leftNorm = new Float64Array(rows / D || 0);
  const rightNorm = {
    Q: new Float64Array(rows / D || 0),
    K: new Float64Array(rows / D || 0),
    V: new Float64Array(rows / D || 0),
  };
  for (let l = 0; l < L; l++) {
    attentionWeights(model, l).forEach((w, i) => {
      const f = headFactors(w, C, D);
      const at = rowStart[l]! + i * D, head = at / D;
      left.set(f.left, at * C);
      leftNorm[head] = frobenius(f.left);
      for (const mode of COMPOSITION_MODES) {
        right[mode].set(f.right[mode], at * C);
        rightNorm[mode][head] = frobenius(f.right[mode]);
      }
    });
  }

  const scores = {
    Q: new Float32Array(L * H * L * H),
    K: new Float32Array(L * H * L * H),
    V: new Float32Array(L * H * L * H),
  };
  for (let l = 0; l < L; l++) {
    for (const h of [...Array(H).keys()].filter((h) => !kept[l]!.includes(h))) {
      for (const mode of COMPOSITION_MODES) {
        for (let j = 0; j < L * H; j++) {
          scores[mode][(l * H + h) * L * H + j] = NaN;
          scores[mode][j * L * H + l * H + h] = NaN;
        }
      }
    }
  }
  const mem = k.mem;
  const mark = mem.mark();
  try {
    const leftPtr = mem.alloc(4 * left.length);
    mem.f32(leftPtr, left.length).set(left);
    const rightPtr = {} as Record<CompositionMode, number>;
    for (const mode of COMPOSITION_MODES) {
      rightPtr[mode] = mem.alloc(4 * right[mode].length);
      mem.f32(rightPtr[mode], right[mode].length).set(right[mode]);
    }
    const perLayer = mem.mark();
    for (let la = 0; la + 1 < L; la++) {
      const M = kept[la]!.length * D, first = rowStart[la + 1]!, N = rows - first;
      if (M === 0 || N === 0) continue;
      const out = mem.alloc(4 * M * N);
      for (const mode of COMPOSITION_MODES) {
        // [M, C] · ([N, C])ᵀ: every head of layer la against every head of the later layers
        k.matmul(out, leftPtr + 4 * rowStart[la]! * C, rightPtr[mode] + 4 * first * C, 0, M, C, N, MatmulFlags.TRANS_B);
        const product = mem.f32(out, M * N);
        kept[la]!.forEach((ha, i) => {
          for (let lb = la + 1; lb < L; lb++) {
            kept[lb]!.forEach((hb, j) => {
              const col = rowStart[lb]! - first + j * D;
              let sq = 0;
              for (let r = i * D; r < (i + 1) * D; r++) {
                for (let s = col; s < col + D; s++) sq += product[r * N + s]! ** 2;
              }
              const a = rowStart[la]! / D + i, b = rowStart[lb]! / D + j;
              scores[mode][((la * H + ha) * L + lb) * H + hb] = Math.sqrt(sq) / leftNorm[a]! / rightNorm[mode][b]!;
            });
          }
        });
      }
      mem.release(perLayer); // the product is not needed past its layer
    }
  } finally {
    mem.release(mark);
  }

  const shape = [L, H, L, H];
  return {
    Q: { shape, data: scores.Q },
    K: { shape, data: scores.K },
    V: { shape, data: scores.V },
    baseline: { ...randomBaseline(C, D, samples, seed), samples, seed },
  };
}

/**
 * The composition score ‖L R‖_F / (‖L‖_F ‖R‖_F) of one pair of heads, computed directly in float64 from the
 * d_model × d_model products (slow for large models: the reference the factored computation is tested against,
 * and the baseline's formula).
 *
 * @param a the earlier head (its OV circuit is L)
 * @param b the later head
 * @param mode which matrix of b: `Q` (W_Q W_Kᵀ), `K` (W_K W_Qᵀ) or `V` (W_V W_O)
 * @param C d_model
 * @param D d_head
 * @example Usage
 * ```ts
 * import { pairCompositionScore } from "./composition.ts";
 * const C = 2, D = 1;
 * const head = { q: Float64Array.of(1, 0), k: Float64Array.of(1, 0), v: Float64Array.of(1, 0), o: Float64Array.of(1, 0) };
 * pairCompositionScore(head, head, "V", C, D); // 1: both OV circuits are the same rank-1 projection
 * ```
 */
export function pairCompositionScore(
  a: HeadWeights,
  b: HeadWeights,
  mode: CompositionMode,
  C: number,
  D: number,
): number {
  const product = (xT: Float64Array, y: Float64Array) => {
    // xᵀᵀ · y: x [C, D] given as xT [D, C], y [D, C] → [C, C]
    const out = new Float64Array(C * C);
    for (let i = 0; i < C; i++) {
      for (let d = 0; d < D; d++) {
        const xv = xT[d * C + i]!;
        for (let j = 0; j < C; j++) out[i * C + j]! += xv * y[d * C + j]!;
      }
    }
    return out;
  };
  const Lm = product(a.v, a.o);
  const R = mode === "Q" ? product(b.q, b.k) : mode === "K" ? product(b.k, b.q) : product(b.v, b.o);
  const LR = new Float64Array(C * C);
  for (let i = 0; i < C; i++) {
    for (let m = 0; m < C; m++) {
      const lv = Lm[i * C + m]!;
      for (let j = 0; j < C; j++) LR[i * C + j]! += lv * R[m * C + j]!;
    }
  }
  return frobenius(LR) / frobenius(Lm) / frobenius(R);
}

/** The left factor R_V W_O [D, C] and, per mode, the right factor (A R_Bᵀ)ᵀ = R_B Aᵀ [D, C] of one head. */
function headFactors(
  w: HeadWeights,
  C: number,
  D: number,
): { left: Float64Array; right: Record<CompositionMode, Float64Array> } {
  // every matrix is D rows of C: Grams are dot products of rows, products are sums of scaled rows
  const gram = (x: Float64Array) => { // x xᵀ [D, D]
    const g = new Float64Array(D * D);
    for (let i = 0; i < D; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let r = i * C, t = j * C, end = r + C; r < end; r++, t++) s += x[r]! * x[t]!;
        g[i * D + j] = s;
        g[j * D + i] = s;
      }
    }
    return g;
  };
  const times = (R: Float64Array, x: Float64Array) => { // R [D, D] · x [D, C]
    const out = new Float64Array(D * C);
    for (let i = 0; i < D; i++) {
      for (let m = 0; m < D; m++) {
        const r = R[i * D + m]!;
        if (r === 0) continue;
        for (let j = 0, o = i * C, a = m * C; j < C; j++) out[o + j]! += r * x[a + j]!;
      }
    }
    return out;
  };
  const RV = gramFactor(gram(w.v), D), RQ = gramFactor(gram(w.q), D);
  const RK = gramFactor(gram(w.k), D), RO = gramFactor(gram(w.o), D);
  return { left: times(RV, w.o), right: { Q: times(RK, w.q), K: times(RQ, w.k), V: times(RO, w.v) } };
}

/**
 * A factor R with Rᵀ R = G of a symmetric positive semi-definite G [n, n]: Lᵀ of its Cholesky factor (the common
 * case — a head's projection has full rank), else Λ^½ Vᵀ of its eigendecomposition (rank-deficient G).
 */
function gramFactor(G: Float64Array, n: number): Float64Array {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += G[i * n + i]!;
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = G[j * n + j]!;
    for (let k = 0; k < j; k++) d -= L[j * n + k]! ** 2;
    if (!(d > 1e-12 * trace)) return eigenFactor(G, n);
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = G[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = s / ljj;
    }
  }
  const R = new Float64Array(n * n); // Lᵀ
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) R[i * n + j] = L[j * n + i]!;
  return R;
}

/** R = Λ^½ Vᵀ for a symmetric positive semi-definite G = V Λ Vᵀ [n, n], so that Rᵀ R = G (cyclic Jacobi). */
function eigenFactor(G: Float64Array, n: number): Float64Array {
  const a = G.slice(), v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (const x of a) scale += x * x;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off <= 1e-30 * scale) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1), sn = t * cs;
        for (let r = 0; r < n; r++) { // columns p, q of a
          const arp = a[r * n + p]!, arq = a[r * n + q]!;
          a[r * n + p] = cs * arp - sn * arq;
          a[r * n + q] = sn * arp + cs * arq;
        }
        for (let r = 0; r < n; r++) { // rows p, q of a
          const apr = a[p * n + r]!, aqr = a[q * n + r]!;
          a[p * n + r] = cs * apr - sn * aqr;
          a[q * n + r] = sn * apr + cs * aqr;
        }
        for (let r = 0; r < n; r++) { // columns p, q of v
          const vrp = v[r * n + p]!, vrq = v[r * n + q]!;
          v[r * n + p] = cs * vrp - sn * vrq;
          v[r * n + q] = sn * vrp + cs * vrq;
        }
      }
    }
  }
  const R = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const s = Math.sqrt(Math.max(0, a[i * n + i]!));
    for (let j = 0; j < n; j++) R[i * n + j] = s * v[j * n + i]!;
  }
  return R;
}

/** The mean score, per mode, of pairs of heads whose weights are independent standard normals. */
function randomBaseline(C: number, D: number, samples: number, seed: number): Record<CompositionMode, number> {
  const out = { Q: NaN, K: NaN, V: NaN };
  if (samples === 0) return out;
  const normal = normalGenerator(mixSeed(seed, C, D));
  const draw = (n: number) => Float64Array.from({ length: n }, normal);
  const head = (): HeadWeights => ({ q: draw(D * C), k: draw(D * C), v: draw(D * C), o: draw(D * C) });
  const sums = { Q: 0, K: 0, V: 0 };
  // each sample is one random pair of heads, scored in every mode
  for (let s = 0; s < samples; s++) {
    const a = headFactors(head(), C, D), b = headFactors(head(), C, D);
    for (const mode of COMPOSITION_MODES) sums[mode] += factoredScore(a.left, b.right[mode], C, D);
  }
  for (const mode of COMPOSITION_MODES) out[mode] = sums[mode] / samples;
  return out;
}

/** ‖left · rightᵀ‖_F / (‖left‖_F ‖right‖_F) of two [D, C] factors, in float64. */
function factoredScore(left: Float64Array, right: Float64Array, C: number, D: number): number {
  let sq = 0;
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < D; j++) {
      let s = 0;
      for (let r = 0; r < C; r++) s += left[i * C + r]! * right[j * C + r]!;
      sq += s * s;
    }
  }
  return Math.sqrt(sq) / frobenius(left) / frobenius(right);
}

function frobenius(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! ** 2;
  return Math.sqrt(s);
}
