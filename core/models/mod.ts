/**
 * The transformer models: the family registry (BERT for sequence classification, GPT-2 and OpenAI GPT
 * language models), their configs, checked loading from HF checkpoints, the semantic ops a family's forward
 * pass is written in, and its executors (WASM with backward; a recording tracer).
 *
 * @example Usage
 * ```ts
 * import { loadModel } from "./load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model, tokenizer } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"));
 * model.family.displayName; // "GPT-2"
 * model.task; // "lm"
 * ```
 *
 * @module
 */

export * from "./config.ts";
export * from "./family.ts";
export * from "./registry.ts";
export * from "./ops.ts";
export * from "./inputs.ts";
export * from "./param_store.ts";
export * from "./run.ts";
export * from "./kv_cache.ts";
export * from "./memory_budget.ts";
export * from "./wasm_ops.ts";
export * from "./trace_ops.ts";
export * from "./model.ts";
export * from "./load.ts";
export * from "./place_weights.ts";
export * from "./builders.ts";
export * from "./losses.ts";
export * from "./output_names.ts";
export { albert } from "./albert.ts";
export { bert } from "./bert.ts";
export { distilbert } from "./distilbert.ts";
export { electra } from "./electra.ts";
export { gpt2, gptBlockShapes } from "./gpt2.ts";
export { llama, mistral, qwen2 } from "./llama.ts";
export { openaiGpt } from "./openai_gpt.ts";
export { camembert, roberta, xlmRoberta } from "./roberta.ts";
