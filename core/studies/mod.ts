/**
 * The BERTology studies, written once for every front-end (the CLI, the web analyzer, the demo): how a
 * model of each task kind reads an example (the GPT-2 `<|endoftext|>` framing included), predictions from
 * logits, the score of each task kind (`acc`, `f1`, `mcc`, `pearson` / `spearmanr` / `corr`, `inv_ppl`),
 * the dataset and its description, head importance, iterative masking by the task's own metric, and the
 * pruned-versus-masked comparison. Reading a dataset from disk is in `@bertology/core/studies/read-dataset`.
 *
 * @example Usage
 * ```ts ignore
 * import { buildStudyDataset, studyHeadImportance, studyMasking } from "@bertology/core/studies";
 * const data = buildStudyDataset(model, tokenizer, examples, { batchSize: 8 });
 * const { importance, score, metric } = studyHeadImportance(model, data);
 * const { headMask } = studyMasking(model, data, { threshold: 0.9 });
 * ```
 *
 * @module
 */

export * from "./encoding.ts";
export * from "./predictions.ts";
export * from "./score.ts";
export * from "./dataset.ts";
export * from "./importance_study.ts";
export * from "./masking_study.ts";
export * from "./masking_statistics.ts";
export * from "./pruning_comparison.ts";
export * from "./budget_pruning.ts";
export * from "./latency_table.ts";
export * from "./shard.ts";
export * from "./partial.ts";
export * from "./sharded_importance.ts";
export * from "./sharded_fisher.ts";
