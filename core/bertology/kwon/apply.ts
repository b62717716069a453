/**
 * A tuned head/neuron mask turned into checkpoint weights, in one of three formats:
 *
 * - `bertology`: heads and neurons removed (`pruned_heads`, and `intermediate_sizes` per layer — which only
 *   bertology reads), the tuned values folded into the output projections: the smallest and fastest;
 * - `hf-v4`: heads removed with `pruned_heads` (Hugging Face transformers ≤ 4.x honours it on load), pruned
 *   neurons zeroed in place (HF has no per-layer MLP width);
 * - `dense`: every original shape, the pruned heads' and neurons' weights zeroed — any transformers release,
 *   v5 included, loads it and computes the masked model's outputs.
 *
 * Each equals the masked model (`run({ headMask, neuronMask })`) up to float rounding.
 *
 * @module
 */

import type { ModelConfig } from "../../models/config.ts";
import { familyOf, parseConfig } from "../../models/registry.ts";
import type { Tensor } from "../../tensor.ts";
import { foldMasks, headsFromMask, neuronsFromMask, pruneNeuronWeights, pruneWeights, zeroUnits } from "../prune.ts";

/** The checkpoint formats of a pruned model (see the module doc). */
export type PrunedFormat = "bertology" | "hf-v4" | "dense";

/** The formats, for flag checking. */
export const PRUNED_FORMATS: readonly PrunedFormat[] = ["bertology", "hf-v4", "dense"];

/**
 * The weights (and config) of a model under head and neuron masks, in a format.
 *
 * @param config the model's config
 * @param weights its weights
 * @param masks head mask [layer][head] (original numbering) and neuron mask [layer][neuron]; 0 = pruned
 * @param format the checkpoint format
 * @returns the new config and weights
 */
export function applyMasks(
  config: ModelConfig,
  weights: Map<string, Tensor>,
  masks: { heads: number[][]; neurons: number[][] },
  format: PrunedFormat,
): { config: ModelConfig; weights: Map<string, Tensor>; note: string } {
  const folded = foldMasks(config, weights, { headMask: masks.heads, neuronMask: masks.neurons });
  const heads = headsFromMask(masks.heads);
  const neurons = neuronsFromMask(masks.neurons);
  if (format === "dense") {
    // the dense format zeroes a unit of shared weights only where every sharing layer masks it
    const note = [pruneWeights(config, weights, heads).note, pruneNeuronWeights(config, weights, neurons).note]
      .filter((n) => n !== "").join(" ");
    return {
      config: parseConfig({ ...config.raw }, "dense config"),
      weights: zeroUnits(config, folded, { heads, neurons }),
      note,
    };
  }
  if (format === "hf-v4" && familyOf(config).hfPrunesHeads === false && Object.keys(heads).length > 0) {
    throw new Error(
      `The hf-v4 format cannot hold pruned ${familyOf(config).displayName} heads: Hugging Face transformers 4.x has ` +
        `no head pruning for this model (it ignores "pruned_heads" and the smaller tensors would not load); use ` +
        `--format dense (original shapes, any transformers release) or --format bertology`,
    );
  }
  const h = pruneWeights(config, folded, heads);
  if (format === "hf-v4") {
    return { config: h.config, weights: zeroUnits(h.config, h.weights, { neurons }), note: h.note };
  }
  const n = pruneNeuronWeights(h.config, h.weights, neurons);
  return { ...n, note: [h.note, n.note].filter((x) => x !== "").join(" ") };
}
