/**
 * Kwon et al.'s Fisher pass over many machines: each shard of `prune --budget` runs the mask gradients of its
 * batches of the training sample (every N-th batch, as a single run makes them) and writes them, per batch, as
 * partial results ("prune-budget-fisher"); the pruning run that follows (`prune --budget --gradients DIR`)
 * reads the N shards back, checks they are the shards of its own run (same command line, model and sample) and
 * puts every batch's gradients at its place, so the search, the rearrangement (which reads each batch's
 * gradients, not only their squares' sums) and the tuning see exactly what a single run computes.
 *
 * @module
 */

import type { MaskGradients } from "../bertology/kwon/fisher.ts";
import { checkShardSet, decodeFloats, encodeFloats, type ShardFile } from "./partial.ts";

/** The study name of a Fisher shard's partial results. */
export const FISHER_STUDY = "prune-budget-fisher";

/** What a Fisher shard writes: its batches' gradients, each at its index in the sample. */
export interface FisherShardSums {
  /** Per covered batch (in `units.covered` order): per layer, the head-mask gradient (original numbering). */
  heads: (number | string)[][][];
  /** Per covered batch: per layer, the neuron-mask gradient. */
  neurons: (number | string)[][][];
  /** Examples in the covered batches. */
  examples: number;
  /** Non-padding tokens in the covered batches. */
  tokens: number;
}

/** A shard's gradients as partial-result sums (float32 values, exact as JSON numbers). */
export function fisherShardSums(grads: MaskGradients): FisherShardSums {
  return {
    heads: grads.heads.map((b) => b.map((row) => encodeFloats(row))),
    neurons: grads.neurons.map((b) => b.map((row) => encodeFloats(row))),
    examples: grads.examples,
    tokens: grads.tokens,
  };
}

/**
 * The whole sample's gradients from its N shards, every batch at its place.
 *
 * @param shards the partial-results files of one run's shards
 * @param shape the model's layers, heads and MLP widths, checked against every row
 * @throws {Error} naming the file, for a set that is not the N shards of one Fisher run (see `checkShardSet`),
 *   or rows of the wrong length
 */
export function mergeFisherShards(
  shards: readonly ShardFile<unknown>[],
  shape: { layers: number; heads: number; intermediateSizes: readonly number[] },
): MaskGradients {
  const ordered = checkShardSet(shards);
  const first = ordered[0]!;
  if (first.partial.study !== FISHER_STUDY) {
    throw new Error(`${first.file}: holds a "${first.partial.study}" study, not the Fisher pass of prune --budget`);
  }
  const total = first.partial.units.total;
  const out: MaskGradients = { heads: new Array(total), neurons: new Array(total), examples: 0, tokens: 0 };
  for (const { file, partial } of ordered) {
    const s = partial.sums as FisherShardSums;
    partial.units.covered.forEach((batch, i) => {
      const where = `${file}: batch ${batch}`;
      const heads = s.heads[i], neurons = s.neurons[i];
      if (!Array.isArray(heads) || heads.length !== shape.layers || !Array.isArray(neurons)) {
        throw new Error(`${where} has no gradients for ${shape.layers} layers`);
      }
      out.heads[batch] = heads.map((row, l) =>
        Float32Array.from(decodeFloats(row, `${where} layer ${l}`, shape.heads))
      );
      out.neurons[batch] = neurons.map((row, l) =>
        Float32Array.from(decodeFloats(row, `${where} layer ${l} neurons`, shape.intermediateSizes[l]))
      );
    });
    out.examples += s.examples;
    out.tokens += s.tokens;
  }
  return out;
}
