/**
 * Reads PyTorch checkpoints (`pytorch_model.bin`) in the zip format `torch.save` writes since PyTorch 1.6:
 * `{dir}/data.pkl` (the pickled state dict), `{dir}/data/{key}` (one raw storage per key) and
 * `{dir}/byteorder`. The pickle runs on {@linkcode unpickle} with an allow-list of exactly the globals a
 * state dict needs (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
 * `torch._utils._rebuild_parameter`, the `torch.*Storage` types); anything else is refused, never run.
 * Views (storage offset, strides) are materialised as contiguous Float32Arrays. The legacy pre-1.6
 * format (a bare pickle stream or a tar) is rejected with a clear error.
 *
 * @module
 */

import { decodeToFloat32, type Dtype, DTYPE_SIZES } from "./dtype.ts";
import { type PickleCallable, unpickle } from "./pickle.ts";
import { openZip } from "./zip.ts";

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

/**
 * Reads every tensor of a PyTorch zip checkpoint.
 *
 * @param bytes The whole `.bin`/`.pt` file.
 * @param fileName Used in error messages.
 * @returns State-dict key → tensor, in the order the file lists them.
 * @throws {Error} Naming the file for the legacy format, a corrupt archive, a refused pickle global, a
 * missing or short storage, a view past its storage's end, or a state-dict value that is not a tensor.
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
  const fail = (message: string): never => {
    throw new Error(`Cannot read PyTorch checkpoint "${fileName}": ${message}`);
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
  if (pickles.length !== 1) fail(`expected one "{dir}/data.pkl" entry, found ${pickles.length}`);
  const dir = pickles[0].slice(0, -"/data.pkl".length);
  if (zip.entries.has(`${dir}/byteorder`)) {
    const order = new TextDecoder().decode(await zip.read(`${dir}/byteorder`)).trim();
    if (order !== "little") fail(`byteorder "${order}" is not supported (only "little")`);
  }

  const storages = new Map<string, StorageRef>();
  const callable = (qualifiedName: string, call: (args: unknown[]) => unknown): PickleCallable => ({
    qualifiedName,
    call,
  });
  const rebuildTensor = (qualifiedName: string) =>
    callable(qualifiedName, ([storage, offset, shape, stride]) => {
      const ints = (v: unknown) => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0);
      if (!(storage instanceof StorageRef) || !Number.isSafeInteger(offset) || !ints(shape) || !ints(stride)) {
        fail(`${qualifiedName} called with unexpected arguments`);
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

  const root = unpickle(await zip.read(pickles[0]), {
    fileName: `${fileName}:${pickles[0]}`,
    findGlobal: (module, name) => globals[`${module}.${name}`],
    persistentLoad: (id) => {
      if (!Array.isArray(id) || id[0] !== "storage" || id.length < 5) {
        fail(`unexpected persistent id ${JSON.stringify(id)}`);
      }
      const [, type, key, , numel] = id as unknown[];
      if (!(type instanceof StorageType)) fail(`persistent id for storage "${key}" has no storage type`);
      if (typeof key !== "string" || !Number.isSafeInteger(numel) || (numel as number) < 0) {
        fail(`malformed storage id for "${String(key)}"`);
      }
      const dtype = (type as StorageType).dtype;
      let ref = storages.get(key as string);
      if (ref === undefined) {
        const entry = zip.entries.get(`${dir}/data/${key}`);
        if (entry === undefined) fail(`storage "${key}" has no entry "${dir}/data/${key}"`);
        const needed = (numel as number) * DTYPE_SIZES[dtype];
        if (entry!.size < needed) {
          fail(`storage "${key}" holds ${entry!.size} bytes but ${numel} ${dtype} elements need ${needed}`);
        }
        ref = new StorageRef(key as string, dtype, numel as number);
        storages.set(key as string, ref);
      } else if (ref.dtype !== dtype) {
        fail(`storage "${key}" is used as both ${ref.dtype} and ${dtype}`);
      }
      return ref;
    },
  });
  if (!(root instanceof Map)) fail("the pickle does not hold a state dict");

  const storageBytes = new Map<string, Uint8Array>();
  const views = new Map<string, Float32Array>();
  const out = new Map<string, TorchTensor>();
  for (const [name, value] of root as Map<unknown, unknown>) {
    if (typeof name !== "string") fail(`state-dict key ${String(name)} is not a string`);
    if (!(value instanceof TensorRef)) fail(`state-dict entry "${name}" is not a tensor`);
    const t = value as TensorRef;
    const { key, dtype } = t.storage;
    let raw = storageBytes.get(key);
    if (raw === undefined) {
      raw = await zip.read(`${dir}/data/${key}`);
      storageBytes.set(key, raw);
    }
    const viewKey = `${key}|${t.offset}|${t.shape}|${t.stride}`;
    let data = views.get(viewKey);
    if (data === undefined) {
      data = materialise(t, raw, (message) => fail(`tensor "${name}": ${message}`));
      views.set(viewKey, data);
    }
    out.set(name as string, {
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

function materialise(t: TensorRef, raw: Uint8Array, fail: (message: string) => never): Float32Array {
  const { shape, stride, offset, storage } = t;
  if (shape.length !== stride.length) fail(`shape [${shape}] and stride [${stride}] differ in rank`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count === 0) return new Float32Array(0);
  const last = offset + shape.reduce((sum, d, i) => sum + (d - 1) * stride[i], 0);
  if (last >= storage.numel) {
    fail(
      `view (offset ${offset}, shape [${shape}], stride [${stride}]) reaches element ${last} of storage "${storage.key}" which has ${storage.numel}`,
    );
  }
  const size = DTYPE_SIZES[storage.dtype];
  let contiguous = true;
  for (let i = shape.length - 1, expected = 1; i >= 0; expected *= shape[i], i--) {
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
      index[d]++;
      at += stride[d];
      if (index[d] < shape[d]) break;
      at -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return decodeToFloat32(gathered, storage.dtype);
}
