/**
 * Loads a checkpoint in Hugging Face layout — `config.json`, weights, tokenizer files — from any
 * {@linkcode ModelFiles} source into a runnable {@linkcode TransformerModel}.
 *
 * @module
 */

import { type ModelFiles, readText } from "../checkpoint/files.ts";
import type { Kernels } from "../kernels/types.ts";
import { createWasmKernelsAsync } from "../kernels/wasm_kernels.ts";
import { loadTokenizer, type Tokenizer } from "../tokenizers/mod.ts";
import { familyOf, parseConfig } from "./registry.ts";
import { TransformerModel } from "./model.ts";
import { placeWeights, WEIGHT_DTYPES, type WeightDtype } from "./place_weights.ts";
import type { RecomputeMode } from "./run.ts";
import { checkMemoryBudget, checkRecompute } from "./memory_budget.ts";
import { readGenerationDefaults } from "../generate/generate.ts";

/** Options for {@linkcode loadModel}. */
export interface LoadOptions {
  /** The kernel backend (default: a fresh WASM-SIMD instance on `threads` threads). */
  kernels?: Kernels;
  /**
   * Threads for the default backend's matmuls and attention (default 1; ignored when `kernels` is given). With
   * more than one, close the pool when done — `model.kernels.close()` — or its workers keep the process alive.
   */
  threads?: number;
  /** Also load the tokenizer (default true; a missing tokenizer is then an error). */
  tokenizer?: boolean;
  /**
   * How the weights are kept in kernel memory (default `f32`): `f16` keeps F16/BF16 weights as stored and
   * rounds F32 ones to F16 — half the memory; the kernels widen each weight just before use.
   */
  dtype?: WeightDtype;
  /**
   * Whether backward passes recompute each block's activations from its input instead of keeping them: `on`,
   * `off`, or `auto` (the default: recompute when keeping them would pass `memoryBudgetMB`). Bit-identical results.
   */
  recompute?: RecomputeMode;
  /**
   * The kernel memory in MB (weights, activations, gradients) an `auto` backward pass may plan for (default: the
   * runtime's — Deno Deploy's 512 MB or the machine's memory, less 128 MB for the runtime, at most 4 GiB).
   */
  memoryBudgetMB?: number;
}

/** A model with its tokenizer. */
export interface LoadedModel {
  /** The model, weights in kernel memory. */
  model: TransformerModel;
  /** Present unless `tokenizer: false` was asked. */
  tokenizer?: Tokenizer;
  /** Where it came from. */
  files: ModelFiles;
}

/**
 * Reads `config.json`, checks it, loads and checks the weights against it, and places them in kernel memory
 * (each safetensors tensor read straight there, never the whole file at once).
 *
 * @throws {Error} naming the file and field/tensor at fault: missing or invalid config.json, unknown
 *   `model_type`, missing tensors, shapes that disagree with the config, unreadable weights or tokenizer
 * @example Usage
 * ```ts
 * import { loadModel } from "./load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model, tokenizer } = await loadModel(localFiles("models/bert-sst2"));
 * const enc = tokenizer!.encode("a gripping, beautifully made film");
 * const { logits } = model.run({ batch: { batchSize: 1, seqLen: enc.ids.length, inputIds: Int32Array.from(enc.ids) } });
 * logits!.shape; // [1, 2]
 * ```
 */
export async function loadModel(files: ModelFiles, opts: LoadOptions = {}): Promise<LoadedModel> {
  const configText = await readText(files, "config.json");
  if (configText === undefined) throw new Error(`${files.location}: config.json is missing`);
  let raw: unknown;
  try {
    raw = JSON.parse(configText);
  } catch (e) {
    throw new Error(`${files.location}/config.json: not valid JSON (${(e as Error).message})`);
  }
  const config = parseConfig(raw, `${files.location}/config.json`);
  const dtype = opts.dtype ?? "f32";
  if (!WEIGHT_DTYPES.includes(dtype)) {
    throw new Error(`loadModel: dtype must be one of ${WEIGHT_DTYPES.join(", ")}, got ${JSON.stringify(dtype)}`);
  }
  const kernels = opts.kernels ??
    await createWasmKernelsAsync(opts.threads === undefined ? {} : { threads: opts.threads });
  const model = new TransformerModel(config, await placeWeights(files, config, kernels, dtype), kernels);
  if (opts.recompute !== undefined) model.recompute = checkRecompute(opts.recompute, "loadModel: recompute");
  if (opts.memoryBudgetMB !== undefined) {
    model.memoryBudgetMB = checkMemoryBudget(opts.memoryBudgetMB, "loadModel: memoryBudgetMB");
  }
  const generation = await readText(files, "generation_config.json");
  if (generation !== undefined) {
    const source = `${files.location}/generation_config.json`;
    model.generationDefaults = readGenerationDefaults(generation, source, model.generationDefaults);
  }
  const result: LoadedModel = { model, files };
  if (opts.tokenizer !== false) result.tokenizer = await loadTokenizer(files, familyOf(config).tokenizer);
  return result;
}

/**
 * Loads only a checkpoint's tokenizer: `config.json` (whose `model_type` picks the tokenizer kind when there is
 * no `tokenizer.json`) and the tokenizer files, never the weights — so a hub model is tokenized without
 * downloading them.
 *
 * @param files Where the checkpoint's files are.
 * @returns The tokenizer.
 * @throws {Error} naming the file at fault: missing or invalid config.json, unknown `model_type`, missing or
 *   malformed tokenizer files
 * @example Usage
 * ```ts
 * import { loadModelTokenizer } from "./load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const tokenizer = await loadModelTokenizer(localFiles("models/bert-sst2"));
 * tokenizer.encode("a gripping film").ids.length; // 5
 * ```
 */
export async function loadModelTokenizer(files: ModelFiles): Promise<Tokenizer> {
  const configText = await readText(files, "config.json");
  if (configText === undefined) throw new Error(`${files.location}: config.json is missing`);
  let raw: unknown;
  try {
    raw = JSON.parse(configText);
  } catch (e) {
    throw new Error(`${files.location}/config.json: not valid JSON (${(e as Error).message})`);
  }
  return await loadTokenizer(files, familyOf(parseConfig(raw, `${files.location}/config.json`)).tokenizer);
}
