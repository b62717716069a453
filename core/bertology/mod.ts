/**
 * The BERTology algorithms: head importance and attention entropy (Michel et al. 2019, as HF's
 * run_bertology.py computes them), iterative head masking, and real head pruning.
 *
 * @example Usage
 * ```ts
 * import { computeHeadImportance } from "@bertology/core/bertology";
 * import { loadModel } from "@bertology/core/models";
 * import { localFiles } from "@bertology/core/checkpoint/deno";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const batch = { batchSize: 1, seqLen: 4, inputIds: Int32Array.from([270, 705, 82, 257]) };
 * const { importance, entropy } = computeHeadImportance(model, [{ batch, labels: "lm" }]);
 * ```
 *
 * @module
 */

export * from "./entropy.ts";
export * from "./importance.ts";
export * from "./masking.ts";
export * from "./prune.ts";
