/**
 * Attention flow (Abnar & Zuidema 2020): the layers as a graph — node (l, i) is position i after layer l,
 * (0, j) the input token j — whose edge (l−1, j) → (l, i) has capacity Â_l[i, j], the residual-augmented
 * attention of `rollout.ts`. A token's flow is the maximum flow from (0, j) to the output position (L, o),
 * computed exactly (`max_flow.ts`) for each input token.
 *
 * @module
 */

import type { TransformerModel } from "../models/model.ts";
import { type AttributionInput, outputPosition } from "./input.ts";
import { FlowNetwork } from "./max_flow.ts";
import { type AttentionGraphOptions, residualAttention } from "./rollout.ts";

/**
 * The maximum flow from every input token to position `output` of the last layer through per-layer [T, T]
 * capacity matrices (row = query i, column = key j; first layer first).
 *
 * @param layers per-layer capacities Â_l, row-major
 * @param T sequence length
 * @param output the position of the last layer the flow ends at
 * @throws {Error} for a matrix that is not [T, T] or an output outside the sequence
 * @example Usage
 * ```ts
 * import { flowScores } from "./flow.ts";
 * // one layer: position 0 reads 0.25 of token 0 and 0.75 of token 1
 * flowScores([Float32Array.from([0.25, 0.75, 0, 1])], 2, 0); // [0.25, 0.75]
 * ```
 */
export function flowScores(layers: readonly Float32Array[], T: number, output: number): Float32Array {
  if (!Number.isInteger(output) || output < 0 || output >= T) {
    throw new Error(`output position ${output} is outside the sequence (0..${T - 1})`);
  }
  const L = layers.length;
  const net = new FlowNetwork((L + 1) * T);
  layers.forEach((a, l) => {
    if (a.length !== T * T) throw new Error(`layer ${l}: expected a [${T}, ${T}] matrix, got ${a.length} values`);
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        const w = a[i * T + j]!;
        if (w > 0) net.addEdge(l * T + j, (l + 1) * T + i, w);
      }
    }
  });
  return Float32Array.from({ length: T }, (_, j) => net.maxFlow(j, L * T + output));
}

/** The result of {@linkcode attentionFlow}. */
export interface AttentionFlow {
  /** The output position (the classifier's `[CLS]`, a language model's last token). */
  position: number;
  /** Per input token: its maximum flow to the output position. */
  scores: Float32Array;
}

/**
 * Attention flow of one sequence to its output position.
 *
 * @param model the model
 * @param input the tokenised sequence
 * @param opts the heads averaged in each layer
 * @throws {Error} as `residualAttention`
 * @example Usage
 * ```ts
 * import { attentionFlow } from "./flow.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * attentionFlow(model, { inputIds: [2, 45, 3] }).scores.length; // 3
 * ```
 */
export function attentionFlow(
  model: TransformerModel,
  input: AttributionInput,
  opts: AttentionGraphOptions = {},
): AttentionFlow {
  const T = input.inputIds.length;
  const position = outputPosition(model, T);
  return { position, scores: flowScores(residualAttention(model, input, opts), T, position) };
}
