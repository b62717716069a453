/**
 * Element types of checkpoint tensors, named as safetensors names them (`F32`, `F16`, `BF16`, …), and the
 * decoding of raw little-endian bytes into a Float32Array.
 *
 * @module
 */

import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float8E4M3BitsToFloat32,
  float8E5M2BitsToFloat32,
} from "./half.ts";

/**
 * Bytes per element of every dtype safetensors defines.
 *
 * @example Usage
 * ```ts
 * import { DTYPE_SIZES } from "./dtype.ts";
 * DTYPE_SIZES.BF16; // 2
 * ```
 */
export const DTYPE_SIZES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
} as const;

/** A tensor element type, as written in a safetensors header. */
export type Dtype = keyof typeof DTYPE_SIZES;

/**
 * Whether `name` is a dtype this module knows.
 *
 * @param name A dtype string from a header.
 * @returns `true` for `F32`, `BF16`, … .
 *
 * @example Usage
 * ```ts
 * import { isDtype } from "./dtype.ts";
 * isDtype("BF16"); // true
 * isDtype("Q4_K"); // false
 * ```
 */
export function isDtype(name: string): name is Dtype {
  return Object.hasOwn(DTYPE_SIZES, name);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes `bytes` (little-endian elements of `dtype`) into a new Float32Array. Integers and booleans become
 * their numeric value (64-bit integers lose precision past 2^24, as any float32 does); F64 is rounded.
 * The result never aliases `bytes`, so the caller may drop the file's buffer afterwards.
 *
 * @param bytes The raw element bytes; the length must be a multiple of the element size.
 * @param dtype The element type.
 * @returns One float per element.
 * @throws {RangeError} When the byte length does not fit the dtype.
 *
 * @example Usage
 * ```ts
 * import { decodeToFloat32 } from "./dtype.ts";
 * const data = decodeToFloat32(new Uint8Array([0x00, 0x3c, 0x00, 0xc0]), "F16"); // Float32Array [1, -2]
 * ```
 */
export function decodeToFloat32(bytes: Uint8Array, dtype: Dtype): Float32Array {
  const size = DTYPE_SIZES[dtype];
  if (bytes.length % size !== 0) {
    throw new RangeError(`${bytes.length} bytes are not a whole number of ${dtype} elements (${size} bytes each)`);
  }
  const n = bytes.length / size;
  if (dtype === "F32" && LITTLE_ENDIAN) {
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "F32":
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case "F64":
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case "F16":
      for (let i = 0; i < n; i++) out[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
      break;
    case "BF16":
      for (let i = 0; i < n; i++) out[i] = bfloat16BitsToFloat32(view.getUint16(i * 2, true));
      break;
    case "F8_E4M3":
      for (let i = 0; i < n; i++) out[i] = float8E4M3BitsToFloat32(bytes[i]!);
      break;
    case "F8_E5M2":
      for (let i = 0; i < n; i++) out[i] = float8E5M2BitsToFloat32(bytes[i]!);
      break;
    case "BOOL":
      for (let i = 0; i < n; i++) out[i] = bytes[i] === 0 ? 0 : 1;
      break;
    case "U8":
      for (let i = 0; i < n; i++) out[i] = bytes[i]!;
      break;
    case "I8":
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      break;
    case "I16":
      for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
      break;
    case "U16":
      for (let i = 0; i < n; i++) out[i] = view.getUint16(i * 2, true);
      break;
    case "I32":
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
      break;
    case "U32":
      for (let i = 0; i < n; i++) out[i] = view.getUint32(i * 4, true);
      break;
    case "I64":
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 8 + 4, true) * 2 ** 32 + view.getUint32(i * 8, true);
      break;
    case "U64":
      for (let i = 0; i < n; i++) out[i] = view.getUint32(i * 8 + 4, true) * 2 ** 32 + view.getUint32(i * 8, true);
      break;
  }
  return out;
}
