/**
 * bertology core: read every hidden state and attention head of BERT, GPT and GPT-2 checkpoints, get each
 * head's output and its gradient, score head importance (Michel, Levy & Neubig 2019), mask and really prune
 * heads — in WebAssembly SIMD, in Deno, Deno Deploy or a browser. Deno-only parts (local folders, the HF hub
 * cache, checkpoint writing) live in `@bertology/core/checkpoint/deno`.
 *
 * @example Usage
 * ```ts
 * import { loadModel, memoryFiles } from "@bertology/core";
 * const dir = "tests/fixtures/models/bert-tiny-random";
 * const files = Object.fromEntries(
 *   ["config.json", "model.safetensors", "vocab.txt"].map((f) => [f, Deno.readFileSync(`${dir}/${f}`)]),
 * );
 * const { model, tokenizer } = await loadModel(memoryFiles(files, dir));
 * const enc = tokenizer!.encode("a gripping film");
 * const batch = { batchSize: 1, seqLen: enc.ids.length, inputIds: Int32Array.from(enc.ids) };
 * const { cache } = model.run({ batch, names: ["blocks.0.attn.hook_pattern"] });
 * ```
 *
 * @module
 */

export * from "./tensor.ts";
export * from "./hooks.ts";
export * from "./kernels/mod.ts";
export * from "./checkpoint/mod.ts";
export * from "./tokenizers/mod.ts";
export * from "./models/mod.ts";
export * from "./bertology/mod.ts";
export * from "./attribution/mod.ts";
export * from "./circuits/mod.ts";
export * from "./data/mod.ts";
export * from "./metrics/mod.ts";
export * from "./studies/mod.ts";
export * from "./analysis/mod.ts";
export * from "./generate/mod.ts";
