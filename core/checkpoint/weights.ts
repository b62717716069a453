/**
 * Loads a checkpoint's weights from a {@linkcode ModelFiles}, whatever the layout: `model.safetensors`,
 * sharded safetensors (`model.safetensors.index.json`), `pytorch_model.bin`, or sharded PyTorch
 * (`pytorch_model.bin.index.json`), tried in that order. Every tensor comes back as float32 with the file
 * it came from; each file's bytes are dropped as soon as its tensors are decoded. A model loader that places
 * tensors itself opens the safetensors files and reads only their headers ({@linkcode openSafetensorsWeights}).
 *
 * @module
 */

import { describeValue, excerpt } from "./_describe.ts";
import type { Dtype } from "./dtype.ts";
import { isSafeFileName, type ModelFiles, openFile, type RandomAccessFile } from "./files.ts";
import { loadSafetensors, parseSafetensors, readSafetensorsHeader, type TensorInfo } from "./safetensors.ts";
import { listTorchTensors, loadTorchCheckpoint } from "./torch_pickle.ts";

/** One loaded tensor. */
export interface Weight {
  /** Dimensions, outermost first, as the checkpoint stores them (HF layout; no transposes applied). */
  shape: number[];
  /** Row-major values as float32. */
  data: Float32Array;
  /** The dtype the file stored (`F32`, `F16`, `BF16`, …). */
  dtype: Dtype;
  /** The file the tensor came from (`model.safetensors`, `model-00001-of-00002.safetensors`, …). */
  file: string;
  /** For PyTorch files: the earlier tensor this one is the same view of (tied weights); `data` is shared. */
  tiedTo?: string;
}

/** Tensor name → weight, in file order. */
export type WeightSet = Map<string, Weight>;

/** Name-level facts about one tensor of a checkpoint, known before its data is decoded. */
export interface WeightInfo {
  /** Dimensions, outermost first, as the checkpoint stores them. */
  shape: number[];
  /** The dtype the file stores. */
  dtype: Dtype;
  /** The file that holds the tensor. */
  file: string;
}

/**
 * The files {@linkcode loadWeights} looks for, in order.
 *
 * @example Usage
 * ```ts
 * import { WEIGHT_FILES } from "./weights.ts";
 * WEIGHT_FILES[0]; // "model.safetensors"
 * ```
 */
export const WEIGHT_FILES = [
  "model.safetensors",
  "model.safetensors.index.json",
  "pytorch_model.bin",
  "pytorch_model.bin.index.json",
] as const;

/**
 * Loads every tensor of a checkpoint, from the first layout present (see {@linkcode WEIGHT_FILES}).
 *
 * @param files Where the checkpoint's files come from.
 * @returns Tensor name → shape, float32 data, stored dtype and source file.
 * @throws {Error} When none of the files exists (naming `files.location` and the names tried), when a
 * shard index is malformed, a shard is missing, a listed tensor is absent from its shard, a tensor appears
 * in two shards, or a file is invalid.
 *
 * @example Usage
 * ```ts
 * import { loadWeights } from "./weights.ts";
 * import { memoryFiles } from "./files.ts";
 * import { writeSafetensors } from "./safetensors.ts";
 * const bytes = writeSafetensors([{ name: "w", shape: [2], data: new Float32Array([1, 2]) }]);
 * const weights = await loadWeights(memoryFiles({ "model.safetensors": bytes }));
 * weights.get("w")?.file; // "model.safetensors"
 * ```
 */
export async function loadWeights(files: ModelFiles): Promise<WeightSet> {
  const out: WeightSet = new Map();
  await eachWeightFile(files, {
    safetensors: (bytes, file) => addSafetensors(out, bytes, file),
    torch: (bytes, file) => addTorch(out, bytes, file),
  });
  return out;
}

/**
 * Lists a checkpoint's tensors (name, shape, dtype, file) from the safetensors headers or the PyTorch pickles,
 * without decoding any tensor data: a model loader can check a config's sizes against the weights before it
 * allocates anything per layer. Each file is still read once (from disk or the hub cache).
 *
 * @param files Where the checkpoint's files come from.
 * @returns Tensor name → shape, dtype and file, in file order.
 * @throws {Error} As {@linkcode loadWeights}, for everything but the tensors' contents.
 *
 * @example Usage
 * ```ts
 * import { listWeights } from "./weights.ts";
 * import { memoryFiles } from "./files.ts";
 * import { writeSafetensors } from "./safetensors.ts";
 * const bytes = writeSafetensors([{ name: "w", shape: [2, 3], data: new Float32Array(6) }]);
 * (await listWeights(memoryFiles({ "model.safetensors": bytes }))).get("w")?.shape; // [2, 3]
 * ```
 */
export async function listWeights(files: ModelFiles): Promise<Map<string, WeightInfo>> {
  const out = new Map<string, WeightInfo>();
  const addAll = (infos: Iterable<[string, { shape: number[]; dtype: Dtype }]>, file: string) => {
    const names = new Set<string>();
    for (const [name, t] of infos) {
      add(out, name, { shape: t.shape, dtype: t.dtype, file }, file);
      names.add(name);
    }
    return names;
  };
  await eachWeightFile(files, {
    safetensors: (bytes, file) => addAll(parseSafetensors(bytes, file), file),
    torch: async (bytes, file) => addAll(await listTorchTensors(bytes, file), file),
  });
  return out;
}

/** What to do with each weight file; each returns the tensor names it found (to check shard indexes). */
interface WeightFileReaders {
  safetensors(bytes: Uint8Array, file: string): Set<string>;
  torch(bytes: Uint8Array, file: string): Promise<Set<string>>;
}

/** Finds the first layout of {@linkcode WEIGHT_FILES} present and hands each of its files to a reader. */
async function eachWeightFile(files: ModelFiles, readers: WeightFileReaders): Promise<void> {
  const single = await files.read("model.safetensors");
  if (single !== undefined) {
    readers.safetensors(single, "model.safetensors");
    return;
  }
  const stIndex = await files.read("model.safetensors.index.json");
  if (stIndex !== undefined) {
    await loadShards(files, "model.safetensors.index.json", stIndex, readShardBytes(files, readers.safetensors));
    return;
  }
  const bin = await files.read("pytorch_model.bin");
  if (bin !== undefined) {
    await readers.torch(bin, "pytorch_model.bin");
    return;
  }
  const binIndex = await files.read("pytorch_model.bin.index.json");
  if (binIndex !== undefined) {
    await loadShards(files, "pytorch_model.bin.index.json", binIndex, readShardBytes(files, readers.torch));
    return;
  }
  throw new Error(`No weights found in "${files.location}": tried ${WEIGHT_FILES.map((f) => `"${f}"`).join(", ")}`);
}

/** One open safetensors file of a checkpoint, its header read and checked. */
export interface OpenSafetensors {
  /** The file name (`model.safetensors`, a shard's name). */
  file: string;
  /** The open file; the tensors' byte spans are offsets into it. */
  handle: RandomAccessFile;
  /** Tensor name → dtype, shape and byte span. */
  tensors: Map<string, TensorInfo>;
}

/**
 * Opens a checkpoint's safetensors files (`model.safetensors`, else the shards a `model.safetensors.index.json`
 * lists) and reads only their headers, so that a loader can copy each tensor's bytes straight to where they
 * belong. Shard indexes are checked as {@linkcode loadWeights} checks them. The caller closes the handles.
 *
 * @param files Where the checkpoint's files come from.
 * @returns The open files in order, or `undefined` when the checkpoint has no safetensors layout.
 * @throws {Error} As {@linkcode loadWeights}: invalid headers, a malformed index, a missing shard, a tensor
 * missing from its shard or present in two.
 *
 * @example Usage
 * ```ts
 * import { openSafetensorsWeights } from "./weights.ts";
 * import { memoryFiles } from "./files.ts";
 * import { writeSafetensors } from "./safetensors.ts";
 * const bytes = writeSafetensors([{ name: "w", shape: [2], data: new Float32Array([1, 2]) }]);
 * const open = await openSafetensorsWeights(memoryFiles({ "model.safetensors": bytes }));
 * open?.[0]?.tensors.get("w")?.dtype; // "F32"
 * ```
 */
export async function openSafetensorsWeights(files: ModelFiles): Promise<OpenSafetensors[] | undefined> {
  const opened: OpenSafetensors[] = [];
  const seen = new Map<string, { file: string }>();
  const openOne = async (file: string): Promise<Set<string> | undefined> => {
    const handle = await openFile(files, file);
    if (handle === undefined) return undefined;
    opened.push({ file, handle, tensors: new Map() });
    const { tensors } = await readSafetensorsHeader(handle, file);
    opened[opened.length - 1]!.tensors = tensors;
    for (const name of tensors.keys()) add(seen, name, { file }, file);
    return new Set(tensors.keys());
  };
  try {
    if (await openOne("model.safetensors") !== undefined) return opened;
    const index = await files.read("model.safetensors.index.json");
    if (index === undefined) return undefined;
    await loadShards(files, "model.safetensors.index.json", index, openOne);
    return opened;
  } catch (e) {
    for (const o of opened) o.handle.close();
    throw e;
  }
}

function add<T extends { file: string }>(out: Map<string, T>, name: string, weight: T, file: string) {
  const earlier = out.get(name);
  if (earlier !== undefined) {
    throw new Error(`Tensor "${excerpt(name)}" appears in both "${excerpt(earlier.file)}" and "${excerpt(file)}"`);
  }
  out.set(name, weight);
}

function addSafetensors(out: WeightSet, bytes: Uint8Array, file: string): Set<string> {
  const names = new Set<string>();
  for (const [name, t] of loadSafetensors(bytes, file)) {
    add(out, name, { ...t, file }, file);
    names.add(name);
  }
  return names;
}

async function addTorch(out: WeightSet, bytes: Uint8Array, file: string): Promise<Set<string>> {
  const names = new Set<string>();
  const byData = new Map<Float32Array, string>();
  for (const [name, t] of await loadTorchCheckpoint(bytes, file)) {
    const tiedTo = byData.get(t.data);
    const weight: Weight = { shape: t.shape, data: t.data, dtype: t.dtype, file };
    if (tiedTo !== undefined) weight.tiedTo = tiedTo;
    else byData.set(t.data, name);
    add(out, name, weight, file);
    names.add(name);
  }
  return names;
}

/** A shard reader given the bytes of each shard (the whole-file readers). */
function readShardBytes(
  files: ModelFiles,
  read: (bytes: Uint8Array, shard: string) => Set<string> | Promise<Set<string>>,
): (shard: string) => Promise<Set<string> | undefined> {
  return async (shard) => {
    const bytes = await files.read(shard);
    return bytes === undefined ? undefined : await read(bytes, shard);
  };
}

async function loadShards(
  files: ModelFiles,
  indexName: string,
  indexBytes: Uint8Array,
  loadShard: (shard: string) => Promise<Set<string> | undefined>,
) {
  const where = `"${indexName}" in "${files.location}"`;
  let index: unknown;
  try {
    index = JSON.parse(new TextDecoder().decode(indexBytes));
  } catch (e) {
    throw new Error(`${where} is not valid JSON (${excerpt((e as Error).message)})`);
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new Error(`${where} has no "weight_map" object`);
  }
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== "string" || !isSafeFileName(shard)) {
      throw new Error(`${where} maps tensor "${excerpt(name)}" to an invalid shard name ${describeValue(shard)}`);
    }
    const names = byShard.get(shard) ?? [];
    names.push(name);
    byShard.set(shard, names);
  }
  for (const [shard, listed] of byShard) {
    const found = await loadShard(shard);
    if (found === undefined) {
      throw new Error(
        `Shard "${excerpt(shard)}" listed in ${where} is missing (it should hold "${excerpt(listed[0] ?? "")}")`,
      );
    }
    for (const name of listed) {
      if (!found.has(name)) {
        throw new Error(
          `Tensor "${excerpt(name)}" is listed in ${where} under shard "${excerpt(shard)}", which does not contain it`,
        );
      }
    }
  }
}

/**
 * Returns a weight, checking its shape when one is given, with an error that names the key and both shapes.
 *
 * @param weights A loaded weight set.
 * @param name The tensor name (HF checkpoint key).
 * @param shape The expected dimensions, if any.
 * @returns The weight.
 * @throws {Error} When the tensor is missing or its shape differs.
 *
 * @example Usage
 * ```ts
 * import { expectWeight } from "./weights.ts";
 * const weights = new Map([["b", { shape: [2], data: new Float32Array(2), dtype: "F32" as const, file: "x" }]]);
 * expectWeight(weights, "b", [2]).data.length; // 2
 * ```
 */
export function expectWeight(weights: WeightSet, name: string, shape?: number[]): Weight {
  const weight = weights.get(name);
  if (weight === undefined) throw new Error(`Checkpoint has no tensor "${excerpt(name)}"`);
  if (shape !== undefined && (shape.length !== weight.shape.length || shape.some((d, i) => d !== weight.shape[i]))) {
    throw new Error(`Tensor "${name}" has shape [${weight.shape}], expected [${shape}]`);
  }
  return weight;
}
