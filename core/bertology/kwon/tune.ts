/**
 * Stage 4 of Kwon et al. 2022: layer-wise least-squares mask tuning. Pruning shifts each layer's output;
 * because every head and every MLP neuron adds its own term to the sub-layer's output before the residual
 * sum (and the LayerNorm), that output is linear in the kept units' mask values. Layer by layer, first the
 * attention sub-layer then the MLP, the kept values are re-fitted so that the pruned model's pre-LayerNorm
 * sum `sub-layer output + residual` matches the unpruned model's over the sample's real tokens, the pruned
 * model's earlier layers already tuned:
 *
 *   min_m ‖ Σ_i m_i · A_i + b + r_pruned − (y_full + r_full) ‖²,  A_i = unit i's contribution, b = the bias.
 *
 * As in the paper's code: attention also fits a free constant (discarded); the first layer's attention is
 * left alone; a classifier's last MLP is fitted on the first token only (all its head reads); a solution
 * outside [−10, 10] (a badly conditioned fit) stops the tuning there, keeping what was tuned so far.
 *
 * @module
 */

import { hookName } from "../../hooks.ts";
import { keptHeads } from "../../models/config.ts";
import type { LabelledBatch } from "../importance.ts";
import { sharingGroups } from "../prune.ts";
import { MatmulFlags } from "../../kernels/types.ts";
import type { HeadSlice } from "../../models/family.ts";
import type { TransformerModel } from "../../models/model.ts";
import type { Tensor } from "../../tensor.ts";

/** The key of an output projection's bias (every family's output slices name it). */
function outputBias(slice: HeadSlice): string {
  if (slice.bias === undefined) throw new Error(`The output slice "${slice.name}" names no bias`);
  return slice.bias;
}

/** Options of {@linkcode tuneMasks}. */
export interface TuneOptions {
  /** Called after each layer, with the layer and whether its values changed. */
  onLayer?: ((layer: number) => void) | undefined;
  /** The largest |value| accepted (default 10, the paper's). */
  limit?: number | undefined;
}

/** What {@linkcode tuneMasks} returns. */
export interface TunedMasks {
  /** Head mask [layer][head]: 0 pruned, the fitted value kept. */
  heads: number[][];
  /** Neuron mask [layer][neuron]: 0 pruned, the fitted value kept. */
  neurons: number[][];
  /** Sub-layers fitted, as `mha.{l}` / `ffn.{l}`. */
  tuned: string[];
  /** Why tuning stopped early, if it did. */
  stopped?: string;
}

/**
 * Fits the kept units' mask values layer by layer (see the module doc).
 *
 * @param model the unpruned model
 * @param batches the sample
 * @param masks the 0/1 masks from the search (and rearrangement)
 * @param opts progress and the value limit
 * @returns the tuned masks
 */
export function tuneMasks(
  model: TransformerModel,
  batches: readonly LabelledBatch[],
  masks: { heads: number[][]; neurons: number[][] },
  opts: TuneOptions = {},
): TunedMasks {
  const c = model.config;
  const limit = opts.limit ?? 10;
  const heads = masks.heads.map((r) => [...r]);
  const neurons = masks.neurons.map((r) => [...r]);
  const weights = model.params.toTensors();
  const family = model.family;
  const tuned: string[] = [];
  const classifierHead = c.task !== "lm";
  const teacher = teacherSums(model, batches);
  // a layer whose weights other layers share (ALBERT) keeps 0/1 masks: one tensor cannot hold per-layer fits
  const shared = sharingGroups(c.layers, (l) => family.headSlices(c, l));
  for (let l = 0; l < c.layers; l++) {
    if (shared[l]!.length > 1) {
      opts.onLayer?.(l);
      continue;
    }
    const kept = keptHeads(c, l);
    const live = kept.map((h, i) => ({ h, i })).filter(({ h }) => heads[l]![h] !== 0);
    if (l > 0 && live.length > 0) {
      const out = family.headSlices(c, l).find((s) => s.output)!;
      const W = weights.get(out.name)!;
      const bias = weights.get(outputBias(out))!;
      const perHead = live.map(({ i }) => unitRows(W, out.axis, i * c.headDim, c.headDim));
      const targets = teacher.map((t) => t.mha[l]!);
      const fit = fitHeads(model, batches, targets, l, heads, neurons, live.map((x) => x.i), perHead, bias.data);
      if (!fit.every((v) => Number.isFinite(v) && Math.abs(v) <= limit)) {
        return { heads, neurons, tuned, stopped: `attention of layer ${l}: fitted values outside ±${limit}` };
      }
      live.forEach(({ h }, k) => (heads[l]![h]! *= fit[k]!));
      tuned.push(`mha.${l}`);
    }
    const liveN = neurons[l]!.flatMap((v, j) => (v !== 0 ? [j] : []));
    if (liveN.length > 0) {
      const out = family.neuronSlices(c, l).find((s) => s.output)!;
      const W = weights.get(out.name)!;
      const bias = weights.get(outputBias(out))!;
      const firstOnly = classifierHead && l === c.layers - 1;
      const targets = teacher.map((t) => t.ffn[l]!);
      const fit = fitNeurons(model, batches, targets, l, heads, neurons, liveN, W, out.axis, bias.data, firstOnly);
      if (!fit.every((v) => Number.isFinite(v) && Math.abs(v) <= limit)) {
        return { heads, neurons, tuned, stopped: `MLP of layer ${l}: fitted values outside ±${limit}` };
      }
      liveN.forEach((j, k) => (neurons[l]![j]! *= fit[k]!));
      tuned.push(`ffn.${l}`);
    }
    opts.onLayer?.(l);
  }
  return { heads, neurons, tuned };
}

/** Thrown by an observer to end a pass early: the layers after the one being fitted are not needed. */
const STOP = Symbol("stop the pass");

/**
 * A forward pass that keeps `names` and stops right after the activation `last` (later layers are not
 * computed).
 */
function runUntil(
  model: TransformerModel,
  batch: LabelledBatch["batch"],
  names: string[],
  last: string,
  masks?: { headMask: number[][]; neuronMask: number[][] },
): Map<string, Tensor> {
  let cache: Map<string, Tensor> | undefined;
  const observe = new Map([[last, (_a: unknown, run: { cache: Map<string, Tensor> }) => {
    cache = run.cache;
    throw STOP;
  }]]);
  try {
    model.run({ batch, names, observe, ...(masks ?? {}) });
  } catch (e) {
    if (e !== STOP) throw e;
  }
  if (cache === undefined) throw new Error(`tuneMasks: the pass never reached "${last}"`);
  return cache;
}

/** The `w` input rows of unit rows starting at `first` of an output projection, as [w, C]. */
function unitRows(W: Tensor, axis: 0 | 1, first: number, w: number): Float32Array {
  const [R, K] = W.shape as [number, number];
  if (axis === 0) return W.data.slice(first * K, (first + w) * K); // [in, C] (GPT Conv1D)
  const out = new Float32Array(w * R); // [C, in] (nn.Linear): transpose the unit's columns
  for (let d = 0; d < w; d++) for (let r = 0; r < R; r++) out[d * R + r] = W.data[r * K + first + d]!;
  return out;
}

/** Rows of a [B, T, ·] tensor that are real tokens (or each row's first token). */
function rowsOf(batch: LabelledBatch["batch"], firstOnly: boolean): number[] {
  const { batchSize: B, seqLen: T, attentionMask: m } = batch;
  const rows: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < (firstOnly ? 1 : T); t++) if (!m || m[b * T + t] === 1) rows.push(b * T + t);
  }
  return rows;
}

/** Per batch, per layer: the unpruned model's pre-LayerNorm sums, sub-layer output + residual, [B·T, C]. */
interface TeacherSums {
  mha: Float32Array[];
  ffn: Float32Array[];
}

/** One unpruned pass per batch gives every layer's targets. */
function teacherSums(model: TransformerModel, batches: readonly LabelledBatch[]): TeacherSums[] {
  const L = model.config.layers;
  const pairs = Array.from({ length: L }, (_, l) => [
    [hookName("attn_out", l), hookName("resid_pre", l)],
    [hookName("mlp_out", l), hookName("resid_mid", l)],
  ]);
  const names = pairs.flat(2);
  return batches.map(({ batch }) => {
    const cache = model.run({ batch, names }).cache;
    const sum = ([a, b]: string[]) => {
      const x = cache.get(a!)!.data, y = cache.get(b!)!.data;
      return Float32Array.from(x, (v, i) => v + y[i]!);
    };
    return { mha: pairs.map((p) => sum(p[0]!)), ffn: pairs.map((p) => sum(p[1]!)) };
  });
}

/** target − bias − residual_pruned, per kept row: what the units must add up to. */
function residualTarget(
  full: Float32Array,
  pruned: Map<string, Tensor>,
  residName: string,
  bias: Float32Array,
  rows: number[],
): Float64Array {
  const C = bias.length;
  const rp = pruned.get(residName)!.data;
  const out = new Float64Array(rows.length * C);
  rows.forEach((r, k) => {
    for (let c = 0; c < C; c++) out[k * C + c] = full[r * C + c]! - bias[c]! - rp[r * C + c]!;
  });
  return out;
}

function fitHeads(
  model: TransformerModel,
  batches: readonly LabelledBatch[],
  targets: Float32Array[],
  l: number,
  headMask: number[][],
  neuronMask: number[][],
  idx: number[],
  perHead: Float32Array[],
  bias: Float32Array,
): number[] {
  const D = model.config.headDim, C = bias.length, n = idx.length + 1;
  const ata = new Float64Array(n * n), atb = new Float64Array(n);
  const outName = hookName("attn_out", l), residName = hookName("resid_pre", l), zName = hookName("z", l);
  batches.forEach(({ batch }, bi) => {
    const pruned = runUntil(model, batch, [zName, residName], outName, { headMask, neuronMask });
    const rows = rowsOf(batch, false);
    const target = residualTarget(targets[bi]!, pruned, residName, bias, rows);
    const z = pruned.get(zName)!.data;
    const HD = z.length / (batch.batchSize * batch.seqLen);
    // A[k] = head k's contribution z_k · W_k over the kept rows, [rows, C]; the last column is the constant 1
    const A = idx.map((i, k) => {
      const a = new Float64Array(rows.length * C);
      const w = perHead[k]!;
      rows.forEach((r, q) => {
        for (let d = 0; d < D; d++) {
          const zv = z[r * HD + i * D + d]!;
          if (zv === 0) continue;
          for (let c = 0; c < C; c++) a[q * C + c]! += zv * w[d * C + c]!;
        }
      });
      return a;
    });
    for (let p = 0; p < idx.length; p++) {
      const ap = A[p]!;
      for (let q = p; q < idx.length; q++) {
        const aq = A[q]!;
        let s = 0;
        for (let e = 0; e < ap.length; e++) s += ap[e]! * aq[e]!;
        ata[p * n + q]! += s;
        if (q !== p) ata[q * n + p]! += s;
      }
      let s1 = 0, st = 0;
      for (let e = 0; e < ap.length; e++) {
        s1 += ap[e]!;
        st += ap[e]! * target[e]!;
      }
      ata[p * n + n - 1]! += s1;
      ata[(n - 1) * n + p]! += s1;
      atb[p]! += st;
    }
    ata[n * n - 1]! += rows.length * C;
    atb[n - 1]! += target.reduce((a, b) => a + b, 0);
  });
  return solveSymmetric(ata, atb, n).slice(0, idx.length);
}

function fitNeurons(
  model: TransformerModel,
  batches: readonly LabelledBatch[],
  targets: Float32Array[],
  l: number,
  headMask: number[][],
  neuronMask: number[][],
  idx: number[],
  W: Tensor,
  axis: 0 | 1,
  bias: Float32Array,
  firstOnly: boolean,
): number[] {
  const k = model.kernels, mem = k.mem;
  const C = bias.length, N = idx.length, I = model.config.intermediateSizes[l]!;
  // the kept neurons' output rows, [N, C]
  const Wn = new Float32Array(N * C);
  idx.forEach((j, q) => Wn.set(unitRows(W, axis, j, 1), q * C));
  const outName = hookName("mlp_out", l), residName = hookName("resid_mid", l), postName = hookName("mlp_post", l);
  const mark = mem.mark();
  try {
    const wPtr = mem.alloc(4 * N * C);
    mem.f32(wPtr, N * C).set(Wn);
    const gram = mem.alloc(4 * N * N); // Σ_rows HᵀH
    mem.f32(gram, N * N).fill(0);
    const atb = new Float64Array(N);
    batches.forEach(({ batch }, bi) => {
      const pruned = runUntil(model, batch, [postName, residName], outName, { headMask, neuronMask });
      const rows = rowsOf(batch, firstOnly);
      const target = residualTarget(targets[bi]!, pruned, residName, bias, rows);
      const post = pruned.get(postName)!.data;
      const R = rows.length;
      const inner = mem.mark();
      const h = mem.alloc(4 * R * N), t = mem.alloc(4 * R * C), p = mem.alloc(4 * R * N);
      const hv = mem.f32(h, R * N);
      rows.forEach((r, q) => idx.forEach((j, m) => (hv[q * N + m] = post[r * I + j]!)));
      mem.f32(t, R * C).set(target);
      k.matmul(gram, h, h, 0, N, R, N, MatmulFlags.TRANS_A | MatmulFlags.ACCUMULATE);
      k.matmul(p, t, wPtr, 0, R, C, N, MatmulFlags.TRANS_B); // P = target · Wnᵀ
      const pv = mem.f32(p, R * N), hv2 = mem.f32(h, R * N);
      for (let e = 0; e < R * N; e++) atb[e % N]! += hv2[e]! * pv[e]!;
      mem.release(inner);
    });
    // ATA = (Wn Wnᵀ) ∘ (HᵀH)
    const g = mem.f32(gram, N * N);
    const ata = new Float64Array(N * N);
    for (let a = 0; a < N; a++) {
      for (let b = a; b < N; b++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += Wn[a * C + c]! * Wn[b * C + c]!;
        ata[a * N + b] = ata[b * N + a] = s * g[a * N + b]!;
      }
    }
    return solveSymmetric(ata, atb, N);
  } finally {
    mem.release(mark);
  }
}

/**
 * Solves A x = b for a symmetric positive semi-definite A (normal equations) by Gaussian elimination with
 * partial pivoting, after a tiny ridge (10⁻⁹ of the mean diagonal) that keeps exactly dependent columns
 * solvable.
 */
export function solveSymmetric(A: Float64Array, b: Float64Array, n: number): number[] {
  const M = Float64Array.from(A), x = Float64Array.from(b);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += M[i * n + i]!;
  const ridge = 1e-9 * (trace / Math.max(1, n)) + 1e-30;
  for (let i = 0; i < n; i++) M[i * n + i]! += ridge;
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(M[r * n + col]!) > Math.abs(M[piv * n + col]!)) piv = r;
    if (piv !== col) {
      for (let c = 0; c < n; c++) [M[col * n + c], M[piv * n + c]] = [M[piv * n + c]!, M[col * n + c]!];
      [x[col], x[piv]] = [x[piv]!, x[col]!];
    }
    const d = M[col * n + col]!;
    if (d === 0) continue;
    for (let r = col + 1; r < n; r++) {
      const f = M[r * n + col]! / d;
      if (f === 0) continue;
      for (let c = col; c < n; c++) M[r * n + c]! -= f * M[col * n + c]!;
      x[r]! -= f * x[col]!;
    }
  }
  const out = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r]!;
    for (let c = r + 1; c < n; c++) s -= M[r * n + c]! * out[c]!;
    const d = M[r * n + r]!;
    out[r] = d === 0 ? 0 : s / d;
  }
  return out;
}
