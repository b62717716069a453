/**
 * Reads PyTorch checkpoints (`pytorch_model.bin`) in the zip format `torch.save` writes since PyTorch 1.6:
 * `{dir}/data.pkl` (the pickled state dict), `{dir}/data/{key}` (one raw storage per key) and
 * `{dir}/byteorder`. The pickle runs on {@linkcode unpickle} with an allow-list of exactly the globals a
 * state dict needs (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
 * `torch._utils._rebuild_parameter`, the `torch.*Storage` types); anything else is refused, never run.
 * Views (storage offset, strides) are materialised as contiguous Float32Arrays. The legacy pre-1.6
 * format (a bare pickle stream or a tar) is rejected with a clear error.
 *
 * Nothing is allocated past what the file can back: `data.pkl` is capped at {@linkcode MAX_DATA_PKL_BYTES};
 * every storage must be backed by its entry's bytes; deflated storages (torch.save stores them uncompressed)
 * may inflate to at most {@linkcode MAX_STORAGE_INFLATION} times the file's size in all; a view may not have
 * more elements than its storage; and all the views together at most {@linkcode MAX_VIEW_EXPANSION} times the
 * elements of the storages they read. A hostile file is refused before the large allocation it asks for.
 *
 * @module
 */

import { describeValue, excerpt } from "./_describe.ts";
import { decodeToFloat32, type Dtype, DTYPE_SIZES } from "./dtype.ts";
import { type PickleCallable, unpickle } from "./pickle.ts";
import { openZip, type ZipArchive } from "./zip.ts";

/** Largest `data.pkl` accepted (32 MiB); a real state dict's pickle is about 200 bytes per tensor. */
export const MAX_DATA_PKL_BYTES = 32 * 1024 * 1024;

/**
 * Deflated storages may inflate to at most this many times the archive's size, in all (plus 16 MiB of slack for
 * small files). torch.save stores storages uncompressed, and re-zipped float weights shrink by less than 2×.
 */
export const MAX_STORAGE_INFLATION = 16;

/**
 * The distinct views of a file may hold at most this many times the elements of the storages they read (tied
 * weights are one view and count once). Views of one storage that overlap are rare; a stride-0 view that
 * repeats one element a billion times is an attack.
 */
export const MAX_VIEW_EXPANSION = 4;

/** Name, shape and dtype of one tensor of a PyTorch checkpoint, read from its pickle without reading data. */
export interface TorchTensorInfo {
  /** Dimensions, outermost first. */
  shape: number[];
  /** Element type of the storage, in safetensors naming. */
  dtype: Dtype;
  /** The storage key (`data/{key}` in the archive). */
  storage: string;
}

/** A tensor read from a PyTorch checkpoint. */
export interface TorchTensor {
  /** Dimensions, outermost first. */
  shape: number[];
  /** Element type of the storage, in safetensors naming (`FloatStorage` → `F32`). */
  dtype: Dtype;
  /** The values, contiguous row-major, as float32. Tensors that are the same view of the same storage share it. */
  data: Float32Array;
  /** The storage key (`data/{key}` in the archive); tied weights share a key. */
  storage: string;
  /** Offset of the first element in the storage, in elements. */
  storageOffset: number;
  /** Strides in elements, as saved. */
  stride: number[];
}

const STORAGE_DTYPES: Record<string, Dtype> = {
  DoubleStorage: "F64",
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

class StorageType {
  constructor(readonly qualifiedName: string, readonly dtype: Dtype) {}
}

class StorageRef {
  constructor(readonly key: string, readonly dtype: Dtype, readonly numel: number) {}
}

class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** What {@linkcode readTorchPickle} finds: the archive, its directory prefix and the state dict's views. */
interface TorchPickle {
  zip: ZipArchive;
  dir: string;
  tensors: Map<string, TensorRef>;
  fail: (message: string) => never;
}

async function readTorchPickle(bytes: Uint8Array, fileName: string): Promise<TorchPickle> {
  const fail = (message: string): never => {
    throw new Error(`Cannot read PyTorch checkpoint "${excerpt(fileName)}": ${message}`);
  };
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04)) {
    const tar = bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === "ustar";
    if (bytes[0] === 0x80 || tar) {
      fail(
        "this is the legacy (PyTorch < 1.6) non-zip format, which is not supported; re-save it with a newer torch.save or convert it to safetensors",
      );
    }
    fail("not a zip archive (expected torch.save's zip format)");
  }
  const zip = openZip(bytes, fileName);
  const pickles = [...zip.entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  const pickleName = pickles[0];
  if (pickles.length !== 1 || pickleName === undefined) {
    return fail(`expected one "{dir}/data.pkl" entry, found ${pickles.length}`);
  }
  const dir = pickleName.slice(0, -"/data.pkl".length);
  if (zip.entries.has(`${dir}/byteorder`)) {
    const order = new TextDecoder().decode(await zip.read(`${dir}/byteorder`, { maxSize: 64 })).trim();
    if (order !== "little") fail(`byteorder "${excerpt(order)}" is not supported (only "little")`);
  }

  const storages = new Map<string, StorageRef>();
  const callable = (qualifiedName: string, call: (args: unknown[]) => unknown): PickleCallable => ({
    qualifiedName,
    call,
  });
  const rebuildTensor = (qualifiedName: string) =>
    callable(qualifiedName, ([storage, offset, shape, stride]) => {
      const ints = (v: unknown) => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0);
      if (
        !(storage instanceof StorageRef) || !Number.isSafeInteger(offset) || (offset as number) < 0 || !ints(shape) ||
        !ints(stride)
      ) {
        fail(`${qualifiedName} called with unexpected arguments ${describeValue([storage, offset, shape, stride])}`);
      }
      return new TensorRef(storage as StorageRef, offset as number, shape as number[], stride as number[]);
    });
  const passTensor = (qualifiedName: string) =>
    callable(qualifiedName, ([data]) => {
      if (!(data instanceof TensorRef)) fail(`${qualifiedName} called without a tensor`);
      return data;
    });
  const globals: Record<string, unknown> = {
    "collections.OrderedDict": callable("collections.OrderedDict", (args) => {
      const map = new Map<unknown, unknown>();
      if (Array.isArray(args[0])) { for (const pair of args[0]) if (Array.isArray(pair)) map.set(pair[0], pair[1]); }
      return map;
    }),
    "torch._utils._rebuild_tensor_v2": rebuildTensor("torch._utils._rebuild_tensor_v2"),
    "torch._utils._rebuild_tensor": rebuildTensor("torch._utils._rebuild_tensor"),
    "torch._utils._rebuild_parameter": passTensor("torch._utils._rebuild_parameter"),
    "torch._utils._rebuild_parameter_with_state": passTensor("torch._utils._rebuild_parameter_with_state"),
  };
  for (const [name, dtype] of Object.entries(STORAGE_DTYPES)) {
    globals[`torch.${name}`] = new StorageType(`torch.${name}`, dtype);
  }

  const root = unpickle(await zip.read(pickleName, { maxSize: MAX_DATA_PKL_BYTES }), {
    fileName: `${fileName}:${pickleName}`,
    findGlobal: (module, name) => globals[`${module}.${name}`],
    persistentLoad: (id) => {
      if (!Array.isArray(id) || id[0] !== "storage" || id.length < 5) {
        fail(`unexpected persistent id ${describeValue(id)}`);
      }
      const [, type, key, , numel] = id as unknown[];
      if (typeof key !== "string" || !Number.isSafeInteger(numel) || (numel as number) < 0) {
        return fail(`malformed storage id ${describeValue(id)}`);
      }
      const quoted = `"${excerpt(key)}"`;
      if (!(type instanceof StorageType)) return fail(`persistent id for storage ${quoted} has no storage type`);
      const dtype = type.dtype;
      let ref = storages.get(key);
      if (ref === undefined) {
        const entryName = `${dir}/data/${key}`;
        const entry = zip.entries.get(entryName);
        if (entry === undefined) return fail(`storage ${quoted} has no entry "${excerpt(entryName)}"`);
        // A storage is no larger than the bytes behind it (the product cannot overflow past this check).
        const needed = (numel as number) * DTYPE_SIZES[dtype];
        if (entry.size < needed) {
          fail(`storage ${quoted} holds ${entry.size} bytes but ${numel} ${dtype} elements need ${needed}`);
        }
        ref = new StorageRef(key, dtype, numel as number);
        storages.set(key, ref);
      } else if (ref.dtype !== dtype) {
        fail(`storage ${quoted} is used as both ${ref.dtype} and ${dtype}`);
      } else if (ref.numel !== numel) {
        fail(`storage ${quoted} is declared with both ${ref.numel} and ${numel} elements`);
      }
      return ref;
    },
  });
  if (!(root instanceof Map)) return fail("the pickle does not hold a state dict");

  const tensors = new Map<string, TensorRef>();
  for (const [name, value] of root as Map<unknown, unknown>) {
    if (typeof name !== "string") return fail(`state-dict key ${describeValue(name)} is not a string`);
    if (!(value instanceof TensorRef)) return fail(`state-dict entry "${excerpt(name)}" is not a tensor`);
    checkView(value, (message) => fail(`tensor "${excerpt(name)}": ${message}`));
    tensors.set(name, value);
  }
  return { zip, dir, tensors, fail };
}

/**
 * Lists the tensors of a PyTorch zip checkpoint (names, shapes, dtypes) from its pickle alone: no storage is
 * read or decoded, so a caller can check a config against the file before allocating anything.
 *
 * @param bytes The whole `.bin`/`.pt` file.
 * @param fileName Used in error messages.
 * @returns State-dict key → shape, dtype and storage key, in file order.
 * @throws {Error} As {@linkcode loadTorchCheckpoint}, for everything but the storages' contents.
 *
 * @example Usage
 * ```ts
 * import { listTorchTensors } from "./torch_pickle.ts";
 * const url = new URL("../../tests/fixtures/models/bert-tiny-random/pytorch_model.bin", import.meta.url);
 * const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
 * (await listTorchTensors(bytes, "pytorch_model.bin")).get("classifier.bias")?.shape; // [2]
 * ```
 */
export async function listTorchTensors(bytes: Uint8Array, fileName: string): Promise<Map<string, TorchTensorInfo>> {
  const { tensors } = await readTorchPickle(bytes, fileName);
  const out = new Map<string, TorchTensorInfo>();
  for (const [name, t] of tensors) {
    out.set(name, { shape: [...t.shape], dtype: t.storage.dtype, storage: t.storage.key });
  }
  return out;
}

/**
 * Reads every tensor of a PyTorch zip checkpoint.
 *
 * @param bytes The whole `.bin`/`.pt` file.
 * @param fileName Used in error messages.
 * @returns State-dict key → tensor, in the order the file lists them.
 * @throws {Error} Naming the file for the legacy format, a corrupt archive, a refused pickle global, a
 * missing or short storage, a view past its storage's end or larger than its storage, views that together
 * expand their storages more than {@linkcode MAX_VIEW_EXPANSION} times, deflated storages past
 * {@linkcode MAX_STORAGE_INFLATION}, or a state-dict value that is not a tensor.
 *
 * @example Usage
 * ```ts
 * import { loadTorchCheckpoint } from "./torch_pickle.ts";
 * const url = new URL("../../tests/fixtures/models/bert-tiny-random/pytorch_model.bin", import.meta.url);
 * const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
 * const tensors = await loadTorchCheckpoint(bytes, "pytorch_model.bin");
 * tensors.get("classifier.bias")?.shape; // [2]
 * ```
 */
export async function loadTorchCheckpoint(bytes: Uint8Array, fileName: string): Promise<Map<string, TorchTensor>> {
  const { zip, dir, tensors, fail } = await readTorchPickle(bytes, fileName);

  // Budgets, checked before any storage is read: inflation of deflated storages, and elements of all views.
  const used = new Map<string, StorageRef>();
  for (const t of tensors.values()) used.set(t.storage.key, t.storage);
  let inflated = 0;
  let storageElements = 0;
  for (const ref of used.values()) {
    const entry = zip.entries.get(`${dir}/data/${ref.key}`)!;
    if (entry.method !== 0) inflated += entry.size;
    storageElements += ref.numel;
  }
  const inflationBudget = MAX_STORAGE_INFLATION * bytes.length + 16 * 1024 * 1024;
  if (inflated > inflationBudget) {
    fail(
      `its deflated storages would inflate to ${inflated} bytes, more than ${MAX_STORAGE_INFLATION}× the file's ${bytes.length} (torch.save stores storages uncompressed)`,
    );
  }
  const views = new Set<string>();
  let viewElements = 0;
  for (const t of tensors.values()) {
    const viewKey = `${t.storage.key}|${t.offset}|${t.shape}|${t.stride}`;
    if (views.has(viewKey)) continue;
    views.add(viewKey);
    viewElements += t.shape.reduce((a, b) => a * b, 1);
  }
  if (viewElements > MAX_VIEW_EXPANSION * storageElements + 1024) {
    fail(
      `its tensors hold ${viewElements} elements in all but their storages only ${storageElements} (views may repeat storage elements at most ${MAX_VIEW_EXPANSION}×)`,
    );
  }

  const storageBytes = new Map<string, Uint8Array>();
  const decoded = new Map<string, Float32Array>();
  const out = new Map<string, TorchTensor>();
  for (const [name, t] of tensors) {
    const { key, dtype } = t.storage;
    let raw = storageBytes.get(key);
    if (raw === undefined) {
      raw = await zip.read(`${dir}/data/${key}`);
      storageBytes.set(key, raw);
    }
    const viewKey = `${key}|${t.offset}|${t.shape}|${t.stride}`;
    let data = decoded.get(viewKey);
    if (data === undefined) {
      data = materialise(t, raw);
      decoded.set(viewKey, data);
    }
    out.set(name, {
      shape: [...t.shape],
      dtype,
      data,
      storage: key,
      storageOffset: t.offset,
      stride: [...t.stride],
    });
  }
  return out;
}

/**
 * Refuses a view that reads outside its storage or has more elements than its storage: both are computed
 * with the storage's size as a ceiling, so a huge shape cannot overflow into a small number.
 */
function checkView(t: TensorRef, fail: (message: string) => never): void {
  const { shape, stride, offset, storage } = t;
  const describe = () =>
    `view (offset ${offset}, shape [${excerpt(String(shape), 80)}], stride [${excerpt(String(stride), 80)}])`;
  if (shape.length !== stride.length) {
    fail(`shape [${excerpt(String(shape), 80)}] and stride [${excerpt(String(stride), 80)}] differ in rank`);
  }
  let count = 1;
  for (const d of shape) count *= d;
  if (count === 0) return;
  if (count > storage.numel) {
    fail(
      `${describe()} has ${
        count > Number.MAX_SAFE_INTEGER ? "more than 2^53" : count
      } elements, more than the ${storage.numel} of storage "${excerpt(storage.key)}"`,
    );
  }
  let last = offset;
  for (let i = 0; i < shape.length; i++) last += (shape[i]! - 1) * stride[i]!;
  if (!(last < storage.numel)) {
    fail(`${describe()} reaches element ${last} of storage "${excerpt(storage.key)}" which has ${storage.numel}`);
  }
}

/** Copies a view (already checked by {@linkcode checkView}) into a contiguous Float32Array. */
function materialise(t: TensorRef, raw: Uint8Array): Float32Array {
  const { shape, stride, offset, storage } = t;
  const count = shape.reduce((a, b) => a * b, 1);
  if (count === 0) return new Float32Array(0);
  const size = DTYPE_SIZES[storage.dtype];
  let contiguous = true;
  for (let i = shape.length - 1, expected = 1; i >= 0; expected *= shape[i]!, i--) {
    if (shape[i] !== 1 && stride[i] !== expected) contiguous = false;
  }
  if (contiguous) return decodeToFloat32(raw.subarray(offset * size, (offset + count) * size), storage.dtype);
  // Non-contiguous view: gather the elements' bytes in row-major order, then decode once.
  const gathered = new Uint8Array(count * size);
  const index = new Array<number>(shape.length).fill(0);
  let at = offset;
  for (let n = 0; n < count; n++) {
    gathered.set(raw.subarray(at * size, at * size + size), n * size);
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]!++;
      at += stride[d]!;
      if (index[d]! < shape[d]!) break;
      at -= stride[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return decodeToFloat32(gathered, storage.dtype);
}
