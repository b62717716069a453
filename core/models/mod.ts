/**
 * The transformer models: BERT (sequence classification), GPT-2 and OpenAI GPT (language models), their
 * configs, checked loading from HF checkpoints, and the op graph they run on.
 *
 * @example Usage
 * ```ts ignore
 * import { loadModel } from "@bertology/core/models";
 * import { localFiles } from "@bertology/core/checkpoint/deno";
 * const { model, tokenizer } = await loadModel(localFiles("models/bert-sst2"));
 * ```
 *
 * @module
 */

export * from "./config.ts";
export * from "./inputs.ts";
export * from "./graph.ts";
export * from "./model.ts";
export * from "./load.ts";
export * from "./bert.ts";
export * from "./gpt2.ts";
export * from "./openai_gpt.ts";
