/**
 * Training for bertology models: new models from scratch (HF config and init), AdamW with HF's recipe
 * (weight-decay exclusions, linear warm-up/decay, gradient clipping), seeded shuffling and dropout, per-epoch
 * evaluation with the task's metric, and atomic HF-layout checkpoints (best and last).
 *
 * @example Usage
 * ```ts
 * import { initWeights, newConfig } from "./mod.ts";
 * const { config } = newConfig({ family: "bert", layers: 1, heads: 2, hidden: 8, vocabSize: 20, maxPositions: 16 });
 * const weights = initWeights(config, 1);
 * ```
 *
 * @module
 */

export * from "./checkpoint.ts";
export * from "./init.ts";
export * from "./mlm_masking.ts";
export * from "./optimizer.ts";
export * from "./trainer.ts";
