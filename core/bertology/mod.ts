/**
 * The BERTology algorithms: head importance and attention entropy (Michel et al. 2019, as HF's
 * run_bertology.py computes them), iterative head masking, and real head pruning.
 *
 * @example Usage
 * ```ts ignore
 * import { computeHeadImportance, maskHeadsIteratively, pruneModel } from "@bertology/core/bertology";
 * const { importance, entropy } = computeHeadImportance(model, batches);
 * ```
 *
 * @module
 */

export * from "./importance.ts";
export * from "./masking.ts";
export * from "./prune.ts";
