/**
 * Text generation: `generate` continues a prompt with any causal language model (greedy or seeded sampling with
 * temperature, top-k, top-p; a KV cache, or full recomputation for checking), and the sampling rules it uses.
 * `TransformerModel.generate` is the same call on a loaded model.
 *
 * @example Usage
 * ```ts
 * import { generate } from "./mod.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model, tokenizer } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"));
 * const out = await generate(model, { prompt: "Hello", tokenizer, maxNewTokens: 3, temperature: 0.8, seed: 1 });
 * out.ids.length; // the prompt's ids and up to 3 new ones
 * ```
 *
 * @module
 */

export * from "./generate.ts";
export * from "./sampling.ts";
