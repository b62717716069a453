/**
 * Checkpoint loading: safetensors (read and write), PyTorch zip checkpoints through a restricted pickle
 * reader, sharded layouts, and the {@linkcode ModelFiles} interface every loader reads through. Everything
 * here is browser-safe; the local-folder and hub sources (which use Deno APIs) live in `deno.ts`.
 *
 * @example Usage
 * ```ts
 * import { loadWeights, memoryFiles, writeSafetensors } from "./mod.ts";
 * const bytes = writeSafetensors([{ name: "wte.weight", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]);
 * const weights = await loadWeights(memoryFiles({ "model.safetensors": bytes }));
 * weights.get("wte.weight")?.shape; // [2, 2]
 * ```
 *
 * @module
 */

export * from "./dtype.ts";
export * from "./files.ts";
export * from "./half.ts";
export * from "./pickle.ts";
export * from "./safetensors.ts";
export * from "./torch_pickle.ts";
export * from "./weights.ts";
export * from "./zip.ts";
export * from "./npy.ts";
export * from "./browser_files.ts";
export * from "./checkpoint_files.ts";
export * from "./output_dir.ts";
