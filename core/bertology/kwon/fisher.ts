/**
 * Stage 1 of Kwon et al. 2022 ("A Fast Post-Training Pruning Framework for Transformers"): the mask
 * gradients of every head and MLP neuron on each batch of a sample, and their diagonal Fisher information
 * Σ_batches (∂L/∂m)² — the importance the mask search ranks by. The per-batch gradients are kept: the
 * rearrangement (`rearrange.ts`) reads their correlations within a layer.
 *
 * @module
 */

import type { LabelledBatch } from "../importance.ts";
import type { TransformerModel } from "../../models/model.ts";

/** Per-batch mask gradients of one sample. */
export interface MaskGradients {
  /** Per batch, per layer: dL/d(head mask) of every head (original numbering; pruned heads 0). */
  heads: Float32Array[][];
  /** Per batch, per layer: dL/d(neuron mask) of the layer's neurons (`intermediateSizes[l]`). */
  neurons: Float32Array[][];
  /** Examples seen. */
  examples: number;
  /** Non-padding tokens seen. */
  tokens: number;
}

/** Diagonal Fisher information per layer: Σ over batches of the squared mask gradient. */
export interface FisherImportance {
  /** [layer][head] (original numbering). */
  heads: Float64Array[];
  /** [layer][neuron]. */
  neurons: Float64Array[];
}

/**
 * Runs the model with a loss on every batch and keeps each batch's head- and neuron-mask gradients (at the
 * unmasked model: masks of ones).
 *
 * @param model the model (a classifier, regressor or language model)
 * @param batches the sample, with the labels its loss needs
 * @param onBatch called after each batch
 * @throws {Error} for an empty sample or a batch the model rejects
 */
export function collectMaskGradients(
  model: TransformerModel,
  batches: readonly LabelledBatch[],
  onBatch?: (done: number) => void,
): MaskGradients {
  if (batches.length === 0) throw new Error("collectMaskGradients: the sample has no batch");
  const { layers: L, heads: H } = model.config;
  const out: MaskGradients = { heads: [], neurons: [], examples: 0, tokens: 0 };
  for (const { batch, labels } of batches) {
    const r = model.run({ batch, labels, names: ["head_mask_grad", "neuron_mask_grad"] });
    const hg = r.headMaskGrad!.data;
    out.heads.push(Array.from({ length: L }, (_, l) => hg.slice(l * H, (l + 1) * H)));
    out.neurons.push(r.neuronMaskGrad!);
    out.examples += batch.batchSize;
    out.tokens += batch.attentionMask ? batch.attentionMask.reduce((a, b) => a + b, 0) : batch.inputIds.length;
    onBatch?.(out.heads.length);
  }
  return out;
}

/**
 * Σ over batches of the squared gradients (Kwon et al.'s empirical Fisher, diagonal).
 *
 * @example Usage
 * ```ts
 * import { fisherImportance } from "./fisher.ts";
 * const f = fisherImportance({
 *   heads: [[Float32Array.from([1, 2])], [Float32Array.from([1, 0])]],
 *   neurons: [[Float32Array.from([3])], [Float32Array.from([4])]],
 *   examples: 2, tokens: 4,
 * });
 * f.heads[0]; // Float64Array [2, 4]
 * f.neurons[0]; // Float64Array [25]
 * ```
 */
export function fisherImportance(grads: MaskGradients): FisherImportance {
  const sumSquares = (per: Float32Array[][]) =>
    per[0]!.map((_, l) => {
      const acc = new Float64Array(per[0]![l]!.length);
      for (const b of per) b[l]!.forEach((g, i) => (acc[i]! += g * g));
      return acc;
    });
  return { heads: sumSquares(grads.heads), neurons: sumSquares(grads.neurons) };
}
