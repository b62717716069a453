/**
 * How heads work together: direct logit attribution (each head's, MLP's and bias's share of m = logit[target] −
 * logit[distractor]), attribution patching beside exact activation patching, and Q-, K- and V-composition scores
 * between heads — all from the model's own hooks, patches and gradients, and its weights found through the
 * family's description (no family is named here).
 *
 * @example Usage
 * ```ts
 * import { attributionPatching, compositionScores, directLogitAttribution } from "@bertology/core/circuits";
 * import { loadModel } from "@bertology/core/models";
 * import { localFiles } from "@bertology/core/checkpoint/deno";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const clean = { inputIds: [27, 70, 82] }, corrupted = { inputIds: [27, 71, 82] };
 * const dla = directLogitAttribution(model, clean, { target: 5, distractor: 9 });
 * dla.sum - dla.metric; // ≈ 0: the parts sum to m
 * attributionPatching(model, clean, corrupted, { target: 5, distractor: 9 }).pearson;
 * compositionScores(model).V.shape; // [layers, heads, layers, heads]
 * ```
 *
 * @module
 */

export * from "./metric.ts";
export * from "./readout.ts";
export * from "./dla.ts";
export * from "./atp.ts";
export * from "./composition.ts";
