/**
 * NumPy `.npy` files (format version 1.0) for float32 arrays: what HF's `run_bertology.py` writes for
 * `head_importance.npy`, `attn_entropy.npy` and `head_mask.npy`, so results load with `np.load`.
 *
 * @module
 */

import { excerpt } from "./_describe.ts";
import type { Tensor } from "../tensor.ts";
import { numel } from "../tensor.ts";

/**
 * Encodes a float32 tensor as a little-endian C-order `.npy` file.
 *
 * @example Usage
 * ```ts
 * import { writeNpy } from "./npy.ts";
 * const bytes = writeNpy({ shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
 * ```
 */
export function writeNpy(t: Tensor): Uint8Array {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(", ")})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // magic (6) + version (2) + header length (2) + header + "\n" must be a multiple of 64
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += " ".repeat(pad % 64) + "\n";
  const out = new Uint8Array(10 + header.length + t.data.length * 4);
  out.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const body = new DataView(out.buffer, 10 + header.length);
  t.data.forEach((v, i) => body.setFloat32(4 * i, v, true));
  return out;
}

/**
 * Decodes a `.npy` file of float32 / float64 / int64 / int32 / bool values (C order) into a float32 tensor.
 *
 * @param bytes the file
 * @param fileName for error messages
 * @throws {Error} naming the file: bad magic, unsupported version/dtype, Fortran order, truncated data
 */
export function readNpy(bytes: Uint8Array, fileName: string): Tensor {
  const magic = new TextDecoder().decode(bytes.subarray(1, 6));
  if (bytes.length < 10 || bytes[0] !== 0x93 || magic !== "NUMPY") throw new Error(`${fileName}: not a .npy file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (major < 1 || major > 3) throw new Error(`${fileName}: unsupported .npy version ${major}`);
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) {
    throw new Error(`${fileName}: malformed .npy header ${excerpt(header)}`);
  }
  if (fortran === "True") throw new Error(`${fileName}: Fortran-order arrays are not supported`);
  const dims = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const d of dims) {
    if (!/^\d{1,15}$/.test(d)) {
      throw new Error(
        `${fileName}: the .npy header's shape (${excerpt(shapeText)}) has dimension ${excerpt(d)}; ` +
          `each must be a non-negative integer`,
      );
    }
  }
  const shape = dims.map(Number);
  const n = numel(shape);
  const sizes: Record<string, number> = { "<f4": 4, "<f8": 8, "<i8": 8, "<i4": 4, "|b1": 1 };
  const size = sizes[descr];
  if (size === undefined) {
    throw new Error(`${fileName}: unsupported dtype '${excerpt(descr)}' (float32/float64/int64/int32/bool)`);
  }
  const offset = start + headerLen;
  if (bytes.length < offset + n * size) {
    throw new Error(`${fileName}: truncated (${n} values of ${size} bytes expected)`);
  }
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const at = offset + i * size;
    data[i] = descr === "<f4"
      ? view.getFloat32(at, true)
      : descr === "<f8"
      ? view.getFloat64(at, true)
      : descr === "<i8"
      ? Number(view.getBigInt64(at, true))
      : descr === "<i4"
      ? view.getInt32(at, true)
      : bytes[at]!;
  }
  return { shape, data };
}
