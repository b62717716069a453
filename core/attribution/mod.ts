/**
 * Why a model decided: token attributions of a target logit (saliency, gradient × input, integrated
 * gradients with a completeness check, word-level sums), attention rollout and attention flow (Abnar &
 * Zuidema 2020), activation patching per head and per MLP with zero and mean ablation, and the logit lens of
 * language models — all from the model's own gradients, attention maps and patched re-runs.
 *
 * @example Usage
 * ```ts
 * import { attentionRollout, integratedGradients } from "@bertology/core/attribution";
 * import { loadModel } from "@bertology/core/models";
 * import { localFiles } from "@bertology/core/checkpoint/deno";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * const input = { inputIds: [2, 45, 67, 3] };
 * const ig = integratedGradients(model, input, { steps: 20 });
 * ig.relativeGap; // small: Σ attributions ≈ f(x) − f(baseline)
 * attentionRollout(model, input).scores.length; // 4
 * ```
 *
 * @module
 */

export * from "./input.ts";
export * from "./gradients.ts";
export * from "./baseline.ts";
export * from "./integrated_gradients.ts";
export * from "./words.ts";
export * from "./rollout.ts";
export * from "./max_flow.ts";
export * from "./flow.ts";
export * from "./patching.ts";
export * from "./logit_lens.ts";
