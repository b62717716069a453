/**
 * Places a checkpoint's weights in kernel memory without holding them twice: each safetensors tensor's bytes
 * are read from the file straight into its slot of kernel memory (converted in small chunks when the stored
 * dtype differs), so loading peaks near the weights' own size. PyTorch checkpoints are decoded whole first.
 *
 * @module
 */

import { decodeToFloat32, type Dtype, DTYPE_SIZES } from "../checkpoint/dtype.ts";
import type { ModelFiles } from "../checkpoint/files.ts";
import { float32ToBfloat16Bits, float32ToFloat16Bits } from "../checkpoint/half.ts";
import { loadWeights, type OpenSafetensors, openSafetensorsWeights } from "../checkpoint/weights.ts";
import type { Kernels } from "../kernels/types.ts";
import type { ModelConfig } from "./config.ts";
import { checkWeights, checkWeightShapes } from "./model.ts";
import { type ParamDtype, ParamStore } from "./param_store.ts";
import { familyOf } from "./registry.ts";

/**
 * The weight precisions a model can be loaded in: `f32` (every weight widened to F32 at load), or `f16`
 * (16-bit: F16 and BF16 weights stay as stored, F32 and other dtypes are rounded to F16; kernels widen each
 * weight just before use).
 *
 * @example Usage
 * ```ts
 * import { WEIGHT_DTYPES } from "./place_weights.ts";
 * WEIGHT_DTYPES.includes("f16"); // true
 * ```
 */
export const WEIGHT_DTYPES = ["f32", "f16"] as const;

/** One of {@linkcode WEIGHT_DTYPES}. */
export type WeightDtype = typeof WEIGHT_DTYPES[number];

/**
 * How a tensor stored as `fileDtype` is kept in kernel memory when the model is loaded as `want`.
 *
 * @example Usage
 * ```ts
 * import { storedDtype } from "./place_weights.ts";
 * storedDtype("BF16", "f16"); // "BF16" (kept as stored)
 * storedDtype("F32", "f16"); // "F16" (rounded)
 * ```
 */
export function storedDtype(fileDtype: Dtype, want: WeightDtype): ParamDtype {
  if (want === "f32") return "F32";
  return fileDtype === "BF16" ? "BF16" : "F16";
}

/** Elements converted per chunk when a tensor's stored dtype differs from its kernel-memory dtype. */
const CHUNK_ELEMENTS = 1 << 18;

/**
 * Reads `files`' weights, checks their names and shapes against `config`, and places the ones the model uses
 * in a new store in `kernels`' memory.
 *
 * @param files Where the checkpoint's files come from.
 * @param config The checked config.
 * @param kernels The backend whose memory receives the weights.
 * @param dtype How to store them (see {@linkcode WEIGHT_DTYPES}).
 * @returns The store (unsealed: its model seals it).
 * @throws {Error} naming the file and tensor at fault: unreadable files, missing tensors, wrong shapes, a dtype
 *   that cannot be read as floats
 *
 * @example Usage
 * ```ts
 * import { placeWeights } from "./place_weights.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * import { createWasmKernels } from "../kernels/wasm_kernels.ts";
 * import { parseConfig } from "./registry.ts";
 * const dir = "tests/fixtures/models/bert-tiny-random";
 * const config = parseConfig(JSON.parse(Deno.readTextFileSync(`${dir}/config.json`)), dir);
 * const store = await placeWeights(localFiles(dir), config, createWasmKernels(), "f16");
 * store.get("bert.embeddings.word_embeddings.weight").dtype; // "F16"
 * ```
 */
export async function placeWeights(
  files: ModelFiles,
  config: ModelConfig,
  kernels: Kernels,
  dtype: WeightDtype,
): Promise<ParamStore> {
  const opened = await openSafetensorsWeights(files);
  if (opened === undefined) {
    // PyTorch pickles: decoded whole, then copied (their tensors come back as f32 with the stored dtype)
    const weights = await loadWeights(files);
    const checked = checkWeights(config, weights, files.location);
    const dtypes = new Map([...weights].map(([k, w]) => [familyOf(config).renameKey(k), w.dtype]));
    const store = new ParamStore(kernels);
    for (const [name, t] of checked) store.addTensor(name, t, storedDtype(dtypes.get(name) ?? "F32", dtype));
    return store;
  }
  try {
    return await placeSafetensors(opened, files.location, config, kernels, dtype);
  } finally {
    for (const o of opened) o.handle.close();
  }
}

async function placeSafetensors(
  opened: OpenSafetensors[],
  location: string,
  config: ModelConfig,
  kernels: Kernels,
  dtype: WeightDtype,
): Promise<ParamStore> {
  const family = familyOf(config);
  const byName = new Map<string, { source: OpenSafetensors; key: string }>();
  for (const source of opened) {
    for (const key of source.tensors.keys()) byName.set(family.renameKey(key), { source, key });
  }
  const shapes = new Map([...byName].map(([name, { source, key }]) => [name, source.tensors.get(key)!.shape]));
  const spec = checkWeightShapes(config, shapes, location);
  const store = new ParamStore(kernels);
  for (const name of [...spec.required.keys(), ...spec.optional.keys()]) {
    const found = byName.get(name);
    if (found === undefined) continue;
    const info = found.source.tensors.get(found.key)!;
    const where = `${location}/${found.source.file}: tensor "${found.key}"`;
    const p = store.add(name, info.shape, storedDtype(info.dtype, dtype));
    if (info.dtype === p.dtype) {
      // the stored bytes are what kernel memory holds: read them straight there
      await found.source.handle.readAt(info.start, store.bytes(p));
      continue;
    }
    if (p.dtype === "F32" && (info.dtype === "F16" || info.dtype === "BF16")) {
      await widenInKernels(
        store,
        p.ptr,
        p.size,
        info.dtype === "BF16",
        (at, into) => found.source.handle.readAt(info.start + 2 * at, into),
      );
      continue;
    }
    const width = DTYPE_SIZES[info.dtype];
    const chunk = new Uint8Array(Math.min(p.size, CHUNK_ELEMENTS) * width);
    for (let at = 0; at < p.size; at += CHUNK_ELEMENTS) {
      const n = Math.min(CHUNK_ELEMENTS, p.size - at);
      const bytes = chunk.subarray(0, n * width);
      await found.source.handle.readAt(info.start + at * width, bytes);
      let values: Float32Array;
      try {
        values = decodeToFloat32(bytes, info.dtype);
      } catch (e) {
        throw new Error(`${where}: cannot read ${info.dtype} as floats (${(e as Error).message})`);
      }
      writeConverted(store, p.ptr, p.dtype, at, values);
    }
  }
  return store;
}

/**
 * Fills `n` f32 elements at `ptr` from 16-bit elements read chunk by chunk into a staging buffer above them in
 * kernel memory and widened there by the `halfToFloat` kernel (freed before the next weight is placed).
 */
async function widenInKernels(
  store: ParamStore,
  ptr: number,
  n: number,
  bfloat: boolean,
  read: (at: number, into: Uint8Array) => Promise<void>,
): Promise<void> {
  const { mem } = store.kernels;
  const mark = mem.mark();
  try {
    const stage = mem.alloc(2 * Math.min(n, CHUNK_ELEMENTS));
    for (let at = 0; at < n; at += CHUNK_ELEMENTS) {
      const count = Math.min(CHUNK_ELEMENTS, n - at);
      await read(at, new Uint8Array(mem.memory.buffer, stage, 2 * count));
      store.kernels.halfToFloat(ptr + 4 * at, stage, 0, count, bfloat);
    }
  } finally {
    mem.release(mark);
  }
}

/** Writes f32 `values` at element `at` of a weight stored as `dtype` (rounding to F16/BF16). */
function writeConverted(store: ParamStore, ptr: number, dtype: ParamDtype, at: number, values: Float32Array): void {
  const buffer = store.kernels.mem.memory.buffer;
  if (dtype === "F32") {
    new Float32Array(buffer, ptr + 4 * at, values.length).set(values);
    return;
  }
  const out = new Uint16Array(buffer, ptr + 2 * at, values.length);
  const round = dtype === "F16" ? float32ToFloat16Bits : float32ToBfloat16Bits;
  for (let i = 0; i < values.length; i++) out[i] = round(values[i]!);
}
