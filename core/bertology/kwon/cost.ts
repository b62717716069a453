/**
 * What a head and an MLP neuron cost, for the mask search: FLOPs (counted as `forwardFlops` counts a
 * block: 2 per multiply-add of the linear layers and of attention's q·kᵀ and p·v, at a sequence length) or
 * latency measured on this engine (a table of per-layer times by head count and by neuron count, see
 * `studies/latency_table.ts`), with Kwon et al.'s piecewise-linear fit of such a table.
 *
 * @module
 */

import type { ModelConfig } from "../../models/config.ts";
import type { ModelFamily } from "../../models/family.ts";
import { type ModelTrace, opFlops } from "../../models/trace_ops.ts";

/** The shape a cost is computed for (a `ModelConfig` is one). */
export interface EncoderShape {
  /** Blocks. */
  layers: number;
  /** Heads per layer before pruning. */
  heads: number;
  /** d_head. */
  headDim: number;
  /** d_model. */
  hidden: number;
  /** Full MLP width. */
  intermediate: number;
}

/**
 * FLOPs of one head of one layer for a sequence of `seqLen` tokens: its q, k, v projections (3·T·C·D),
 * q·kᵀ and p·v (2·T²·D) and its share of the output projection (T·D·C) multiply-adds, times 2.
 *
 * @example Usage
 * ```ts
 * import { flopsPerHead } from "./cost.ts";
 * flopsPerHead(10, 128, 16); // 2 · (3·10·128·16 + 2·100·16 + 10·16·128)
 * ```
 */
export function flopsPerHead(seqLen: number, hidden: number, headDim: number): number {
  return 2 * (4 * seqLen * hidden * headDim + 2 * seqLen * seqLen * headDim);
}

/**
 * What one head and one MLP neuron of each layer cost, read from a family's traced forward pass (as
 * `forwardFlops` counts it, batch 1 at `seqLen` tokens): attention's products and every linear layer whose
 * weight holds the layer's heads (its `headSlices`) split over the layer's heads, every linear layer holding its
 * neurons (`neuronSlices`) split over its neurons. For BERT's blocks this is {@linkcode flopsPerHead} and
 * {@linkcode flopsPerNeuron}; a family with other geometry (shared k/v heads, gated MLPs) gets its own costs.
 */
export function unitFlops(
  trace: ModelTrace,
  family: ModelFamily,
  config: ModelConfig,
  seqLen: number,
): { head: number[]; neuron: number[] } {
  const head = new Array<number>(config.layers).fill(0), neuron = new Array<number>(config.layers).fill(0);
  const headWeights = new Set<string>(), neuronWeights = new Set<string>();
  for (let l = 0; l < config.layers; l++) {
    for (const s of family.headSlices(config, l)) headWeights.add(s.name);
    for (const s of family.neuronSlices(config, l)) neuronWeights.add(s.name);
  }
  for (const op of trace.ops) {
    const l = op.block;
    if (l === undefined) continue;
    const H = config.heads - config.prunedHeads[l]!.length, I = config.intermediateSizes[l]!;
    const f = opFlops(trace, op, 1, seqLen);
    if (op.op === "attention" && H > 0) head[l]! += f / H;
    else if (op.op === "linear" && H > 0 && headWeights.has(op.weights[0]!)) head[l]! += f / H;
    else if (op.op === "linear" && I > 0 && neuronWeights.has(op.weights[0]!)) neuron[l]! += f / I;
  }
  return { head, neuron };
}

/** FLOPs of one MLP neuron for `seqLen` tokens: a row of the input and a column of the output projection. */
export function flopsPerNeuron(seqLen: number, hidden: number): number {
  return 2 * 2 * seqLen * hidden;
}

/**
 * FLOPs of the encoder's blocks (attention and MLP matrix products; embeddings, LayerNorms and the head left
 * out) with `heads[l]` heads and `neurons[l]` neurons in layer l.
 */
export function encoderFlops(
  shape: EncoderShape,
  heads: readonly number[],
  neurons: readonly number[],
  seqLen: number,
): number {
  let f = 0;
  for (let l = 0; l < shape.layers; l++) {
    f += heads[l]! * flopsPerHead(seqLen, shape.hidden, shape.headDim);
    f += neurons[l]! * flopsPerNeuron(seqLen, shape.hidden);
  }
  return f;
}

/**
 * Per-layer latency measured on this engine: `mha[h]` = seconds of one attention sub-layer with h heads
 * (h = 0 … heads), `ffn[i]` = seconds of one MLP sub-layer with `ffnCounts[i]` neurons (0 first, the full
 * width last), both at the table's batch size and sequence length, with a model's fixed cost subtracted.
 */
export interface LatencyTable {
  /** Rows per timed batch. */
  batchSize: number;
  /** Tokens per row. */
  seqLen: number;
  /** Seconds by head count 0 … heads. */
  mha: number[];
  /** The neuron counts `ffn` was measured at (ascending, 0 first). */
  ffnCounts: number[];
  /** Seconds by `ffnCounts`. */
  ffn: number[];
}

/**
 * A sub-layer's latency as a function of its unit count: 0 for none, else `base` up to `threshold` units
 * and `base + slope · (n − threshold)` above (Kwon et al.: below a threshold the hardware is not saturated
 * and time barely depends on the count).
 */
export interface PiecewiseLatency {
  /** Units up to which the time is flat. */
  threshold: number;
  /** Seconds of a sub-layer with 1 … threshold units. */
  base: number;
  /** Seconds per unit above the threshold (≥ 0). */
  slope: number;
}

/** The latency of `n` units under a piecewise-linear fit. */
export function piecewiseLatency(fit: PiecewiseLatency, n: number): number {
  return n === 0 ? 0 : fit.base + fit.slope * Math.max(0, n - fit.threshold);
}

/**
 * Least-squares fit of a piecewise-linear latency (flat, then linear) to times measured at unit counts
 * `counts` (`counts[0]` = 0 is left out: no units cost nothing), over every threshold at a measured count.
 *
 * @example Usage
 * ```ts
 * import { fitPiecewiseLatency } from "./cost.ts";
 * fitPiecewiseLatency([0, 1, 2, 3, 4], [0, 1, 1, 2, 3]); // { threshold: 2, base: 1, slope: 1 }
 * ```
 */
export function fitPiecewiseLatency(counts: readonly number[], times: readonly number[]): PiecewiseLatency {
  const pts = counts.map((n, i) => [n, times[i]!] as const).filter(([n]) => n > 0);
  if (pts.length === 0) throw new Error("fitPiecewiseLatency: no measured count above 0");
  let best: PiecewiseLatency & { err: number } = { threshold: pts[0]![0], base: pts[0]![1], slope: 0, err: Infinity };
  for (let t = 0; t < pts.length; t++) {
    const threshold = pts[t]![0];
    const flat = pts.slice(0, t + 1), rising = pts.slice(t + 1);
    const base = flat.reduce((a, [, y]) => a + y, 0) / flat.length;
    // slope through (threshold, base), least squares over the rising part
    let sxy = 0, sxx = 0;
    for (const [n, y] of rising) {
      sxy += (n - threshold) * (y - base);
      sxx += (n - threshold) ** 2;
    }
    const slope = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
    let err = 0;
    for (const [n, y] of pts) err += (piecewiseLatency({ threshold, base, slope }, n) - y) ** 2;
    if (err < best.err - 1e-15) best = { threshold, base, slope, err };
  }
  return { threshold: best.threshold, base: best.base, slope: best.slope };
}

/** Interpolated table latency of a sub-layer with `n` units (linear between the measured counts). */
export function tableLatency(counts: readonly number[], times: readonly number[], n: number): number {
  if (n <= 0) return 0;
  for (let i = 1; i < counts.length; i++) {
    if (n <= counts[i]!) {
      const a = counts[i - 1]!, b = counts[i]!;
      const ta = a === 0 ? times[i]! : times[i - 1]!; // one unit already pays the fixed part
      return ta + ((times[i]! - ta) * (n - a)) / (b - a);
    }
  }
  return times[times.length - 1]!;
}

/** Latency the table predicts for a model with `heads[l]` heads and `neurons[l]` neurons in layer l. */
export function encoderLatency(table: LatencyTable, heads: readonly number[], neurons: readonly number[]): number {
  const hc = table.mha.map((_, h) => h);
  let t = 0;
  for (let l = 0; l < heads.length; l++) {
    t += tableLatency(hc, table.mha, heads[l]!) + tableLatency(table.ffnCounts, table.ffn, neurons[l]!);
  }
  return t;
}
