/**
 * Measures the per-layer latency table Kwon et al.'s latency search needs, on this engine: the model with
 * every layer cut to h heads and no MLP, for h = 0 … heads, and with no heads and n neurons, for n from 0 to
 * the full width; each timed as the median of several forward passes over one batch, minus the time of the
 * model with neither (embeddings, LayerNorms, head), divided by the number of layers. Time cannot fall as
 * units are added, so each row is made non-decreasing (pool-adjacent-violators: the least-squares monotone
 * fit) — on a loaded machine single medians still jitter.
 *
 * @module
 */

import type { LatencyTable } from "../bertology/kwon/cost.ts";
import { pruneNeuronWeights, pruneWeights } from "../bertology/prune.ts";
import type { Kernels } from "../kernels/types.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { TransformerModel } from "../models/model.ts";
import type { Batch } from "../models/inputs.ts";

/** Options of {@linkcode measureLatencyTable}. */
export interface LatencyTableOptions {
  /** Rows per timed batch (default 32). */
  batchSize?: number | undefined;
  /** Tokens per row (default 32). */
  seqLen?: number | undefined;
  /** Timed passes per entry; the median is kept (default 5). */
  repeats?: number | undefined;
  /** MLP widths measured: every `ffnStep` neurons (default width / 16). */
  ffnStep?: number | undefined;
  /** Kernels of the timed models (default: fresh WASM kernels). */
  kernels?: Kernels | undefined;
}

/** The median of a list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Seconds per forward pass of a model on a batch: the median of `repeats` passes after one warm-up.
 *
 * @param model the model
 * @param batch the batch
 * @param repeats timed passes
 */
export function timeForward(model: TransformerModel, batch: Batch, repeats: number): number {
  model.run({ batch });
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    model.run({ batch });
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

/**
 * Measures the latency table of a model (see the module doc). An unpruned model is expected (every layer
 * the same size).
 *
 * @param model the model
 * @param opts batch shape, repeats, MLP step, kernels
 * @returns the table
 * @throws {Error} for a model with pruned heads or neurons
 */
export function measureLatencyTable(model: TransformerModel, opts: LatencyTableOptions = {}): LatencyTable {
  const c = model.config;
  if (c.prunedHeads.some((p) => p.length > 0) || c.intermediateSizes.some((s) => s !== c.intermediate)) {
    throw new Error("measureLatencyTable: the model is already pruned; measure the table on the unpruned model");
  }
  const B = opts.batchSize ?? 32, T = Math.min(opts.seqLen ?? 32, c.maxPositions), repeats = opts.repeats ?? 5;
  const step = Math.max(1, opts.ffnStep ?? Math.ceil(c.intermediate / 16));
  const kernels = opts.kernels ?? createWasmKernels();
  const inputIds = Int32Array.from({ length: B * T }, (_, i) => 1 + ((i * 7919) % Math.max(1, c.vocabSize - 1)));
  const batch: Batch = { batchSize: B, seqLen: T, inputIds };
  const weights = model.params.toTensors();
  const all = <T>(v: T) => Object.fromEntries(Array.from({ length: c.layers }, (_, l) => [String(l), v]));
  const timed = (heads: number, neurons: number) => {
    const h = pruneWeights(c, weights, all(Array.from({ length: c.heads - heads }, (_, i) => heads + i)));
    const n = pruneNeuronWeights(
      h.config,
      h.weights,
      all(Array.from({ length: c.intermediate - neurons }, (_, i) => neurons + i)),
    );
    return timeForward(new TransformerModel(n.config, n.weights, kernels), batch, repeats);
  };
  const base = timed(0, 0);
  const perLayer = (t: number) => Math.max(0, (t - base) / c.layers);
  const mha = Array.from({ length: c.heads + 1 }, (_, h) => (h === 0 ? 0 : perLayer(timed(h, 0))));
  const ffnCounts: number[] = [];
  for (let n = 0; n < c.intermediate; n += step) ffnCounts.push(n);
  ffnCounts.push(c.intermediate);
  const ffn = ffnCounts.map((n) => (n === 0 ? 0 : perLayer(timed(0, n))));
  return { batchSize: B, seqLen: T, mha: nonDecreasing(mha), ffnCounts, ffn: nonDecreasing(ffn) };
}

/**
 * The least-squares non-decreasing fit of a sequence (pool adjacent violators).
 *
 * @example Usage
 * ```ts
 * import { nonDecreasing } from "./latency_table.ts";
 * nonDecreasing([0, 3, 1, 4]); // [0, 2, 2, 4]
 * ```
 */
export function nonDecreasing(xs: readonly number[]): number[] {
  const blocks: Array<{ sum: number; n: number }> = [];
  for (const x of xs) {
    blocks.push({ sum: x, n: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1]!, a = blocks[blocks.length - 2]!;
      if (a.sum / a.n <= b.sum / b.n) break;
      blocks.splice(-2, 2, { sum: a.sum + b.sum, n: a.n + b.n });
    }
  }
  return blocks.flatMap((b) => new Array<number>(b.n).fill(b.sum / b.n));
}
