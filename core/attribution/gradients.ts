/**
 * Gradient attributions of one target logit to the input tokens: saliency (the L2 norm over the hidden
 * dimension of ∂logit/∂token embedding) and gradient × input (Σ over the hidden dimension of that gradient
 * times the token embedding). The embedding is `embed.hook_tok`, the token embedding before position and
 * segment embeddings are added; the gradient is the logit's own (`objective`), not a loss's.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { TransformerModel } from "../models/model.ts";
import type { Tensor } from "../tensor.ts";
import { type AttributionInput, outputPosition, repeatedBatch, resolveTarget } from "./input.ts";

/** Options of {@linkcode tokenGradients}. */
export interface TokenGradientsOptions {
  /** The class (classifier) or next-token id (language model) whose logit is explained; default the predicted one. */
  target?: number;
}

/** Per-token gradient attributions of one logit. */
export interface TokenGradients {
  /** The explained class or next-token id. */
  target: number;
  /** The explained logit, f(x). */
  value: number;
  /** Per token: ‖∂f/∂e_t‖₂. */
  saliency: Float32Array;
  /** Per token: Σ_c ∂f/∂e_{t,c} · e_{t,c}. */
  gradInput: Float32Array;
  /** ∂f/∂e [T, d_model]. */
  gradient: Tensor;
  /** The token embeddings e [T, d_model]. */
  embedding: Tensor;
}

/**
 * Saliency and gradient × input of a target logit, from one forward and backward pass.
 *
 * @param model the model (classifier, regressor or language model)
 * @param input the tokenised sequence
 * @param opts the target
 * @throws {Error} for an empty input or a target outside the logits
 * @example Usage
 * ```ts
 * import { tokenGradients } from "./gradients.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * const g = tokenGradients(model, { inputIds: [2, 45, 67, 3] });
 * g.saliency.length; // 4
 * ```
 */
export function tokenGradients(
  model: TransformerModel,
  input: AttributionInput,
  opts: TokenGradientsOptions = {},
): TokenGradients {
  const target = resolveTarget(model, input, opts.target);
  const T = input.inputIds.length, C = model.config.embeddingSize; // token embeddings are E wide (ALBERT, ELECTRA: E < d_model)
  const tok = hookName("tok_embed");
  const r = model.run({
    batch: repeatedBatch(input),
    names: [tok, `${tok}_grad`],
    objective: objectiveAt(model, T, [target]),
  });
  const e = r.cache.get(tok)!, g = r.cache.get(`${tok}_grad`)!;
  const saliency = new Float32Array(T), gradInput = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    let sq = 0, dot = 0;
    for (let c = 0; c < C; c++) {
      const gi = g.data[t * C + c]!;
      sq += gi * gi;
      dot += gi * e.data[t * C + c]!;
    }
    saliency[t] = Math.sqrt(sq);
    gradInput[t] = dot;
  }
  return {
    target,
    value: r.objective![0]!,
    saliency,
    gradInput,
    gradient: { shape: [T, C], data: g.data },
    embedding: { shape: [T, C], data: e.data },
  };
}

/**
 * The objective "logit `targets[b]` of row b at the output position" for a batch of rows of length `seqLen`.
 *
 * @param model the model
 * @param seqLen tokens per row
 * @param targets one class or next-token id per row
 * @example Usage
 * ```ts
 * import { objectiveAt } from "./gradients.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * objectiveAt(model, 4, [7, 7]); // { logit: [7, 7], position: [3, 3] }
 * ```
 */
export function objectiveAt(
  model: TransformerModel,
  seqLen: number,
  targets: readonly number[],
): { logit: number[]; position?: number[] } {
  if (model.task !== "lm") return { logit: [...targets] };
  return { logit: [...targets], position: targets.map(() => outputPosition(model, seqLen)) };
}
