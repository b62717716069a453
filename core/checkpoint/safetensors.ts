/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
 * (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}`), then the byte buffer
 * the offsets point into. Parsing applies the reference library's checks: the header must fit in the file,
 * every tensor's byte span must match its shape and dtype, and the spans must tile the buffer exactly
 * (no overlap, no hole, nothing past the end, nothing left over). A header that names a tensor twice is
 * refused too (JSON parsers would silently keep one of the two).
 *
 * @module
 */

import { describeValue, excerpt } from "./_describe.ts";
import { decodeToFloat32, type Dtype, DTYPE_SIZES, isDtype } from "./dtype.ts";
import type { RandomAccessFile } from "./files.ts";
import { float32ToBfloat16Bits, float32ToFloat16Bits } from "./half.ts";

/** Where one tensor lives in a safetensors file. */
export interface TensorInfo {
  /** The tensor's name (the header key). */
  name: string;
  /** Element type as written in the header. */
  dtype: Dtype;
  /** Dimensions, outermost first (row-major). */
  shape: number[];
  /** Absolute byte offset of the first element in the file (header length + 8 + `data_offsets[0]`). */
  start: number;
  /** Absolute byte offset one past the last element. */
  end: number;
}

/** The parsed header of a safetensors file. */
export interface SafetensorsHeader {
  /** Tensors in header order. */
  tensors: Map<string, TensorInfo>;
  /** The `__metadata__` map (`{}` when absent). */
  metadata: Record<string, string>;
  /** Absolute offset where the byte buffer starts. */
  dataStart: number;
}

/** A decoded tensor. */
export interface DecodedTensor {
  /** Dimensions, outermost first. */
  shape: number[];
  /** The element type the file stored. */
  dtype: Dtype;
  /** The values, converted to float32. */
  data: Float32Array;
}

/** The reference library refuses headers larger than this (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

function fail(fileName: string, message: string): never {
  throw new Error(`Invalid safetensors file "${excerpt(fileName)}": ${message}`);
}

/**
 * Parses and validates the header of a safetensors file, including the `__metadata__` map.
 *
 * @param bytes The whole file, or its first bytes up to the end of the header (then give `fileSize`).
 * @param fileName Used in error messages.
 * @param fileSize The file's length (default `bytes.length`): tensor spans are checked against it.
 * @returns The tensors (absolute byte spans), the metadata and where the data starts.
 * @throws {Error} Naming the file and the tensor or field at fault when the file is malformed.
 *
 * @example Usage
 * ```ts
 * import { parseSafetensorsHeader, writeSafetensors } from "./safetensors.ts";
 * const bytes = writeSafetensors([{ name: "w", shape: [2], data: new Float32Array([1, 2]) }], {
 *   metadata: { format: "pt" },
 * });
 * const { tensors, metadata } = parseSafetensorsHeader(bytes, "model.safetensors");
 * ```
 */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  fileName: string,
  fileSize: number = bytes.length,
): SafetensorsHeader {
  const headerLength = safetensorsHeaderLength(bytes, fileName, fileSize);
  const dataStart = 8 + headerLength;
  if (bytes.length < dataStart) {
    throw new RangeError(
      `parseSafetensorsHeader: "${fileName}": ${bytes.length} bytes given, the header needs ${dataStart}`,
    );
  }
  const dataLength = fileSize - dataStart;
  let header: unknown;
  let headerText: string;
  try {
    headerText = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart));
    header = JSON.parse(headerText);
  } catch (e) {
    return fail(fileName, `header is not valid UTF-8 JSON (${excerpt((e as Error).message)})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail(fileName, `header is not a JSON object`);
  }
  const duplicate = duplicateTopLevelKey(headerText);
  if (duplicate !== undefined) {
    fail(fileName, `header names tensor "${excerpt(duplicate)}" twice (which copy is meant is ambiguous)`);
  }
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
        fail(fileName, `"__metadata__" must be an object of strings`);
      }
      for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof value !== "string") {
          fail(fileName, `"__metadata__" field "${excerpt(key)}" must be a string, got ${describeValue(value)}`);
        }
        metadata[key] = value;
      }
      continue;
    }
    tensors.set(name, checkEntry(fileName, name, entry, dataStart, dataLength));
  }
  checkCoverage(fileName, [...tensors.values()], dataStart, dataLength);
  return { tensors, metadata, dataStart };
}

/** The header length the first 8 bytes give, checked against the file's size. */
function safetensorsHeaderLength(first: Uint8Array, fileName: string, fileSize: number): number {
  if (fileSize < 8 || first.length < 8) {
    fail(fileName, `truncated: ${fileSize} bytes, need at least 8 for the header length`);
  }
  const view = new DataView(first.buffer, first.byteOffset, 8);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength > fileSize - 8) {
    fail(fileName, `header length ${headerLength} is past the end of the file (${fileSize - 8} bytes after it)`);
  }
  if (headerLength > MAX_HEADER_BYTES) fail(fileName, `header length ${headerLength} exceeds ${MAX_HEADER_BYTES}`);
  return headerLength;
}

/**
 * Reads and validates the header of an open safetensors file, reading only the header's bytes (the tensor
 * data stays on disk until a loader copies each tensor where it belongs).
 *
 * @param file The open file.
 * @param fileName Used in error messages.
 * @returns As {@linkcode parseSafetensorsHeader}; the byte spans are file offsets.
 * @throws {Error} As {@linkcode parseSafetensorsHeader}.
 *
 * @example Usage
 * ```ts
 * import { readSafetensorsHeader, writeSafetensors } from "./safetensors.ts";
 * import { bytesFile } from "./files.ts";
 * const bytes = writeSafetensors([{ name: "w", shape: [2], data: new Float32Array([1, 2]) }]);
 * const { tensors } = await readSafetensorsHeader(bytesFile(bytes, "model.safetensors"), "model.safetensors");
 * tensors.get("w")?.end; // the file's length
 * ```
 */
export async function readSafetensorsHeader(file: RandomAccessFile, fileName: string): Promise<SafetensorsHeader> {
  const first = new Uint8Array(Math.min(8, file.size));
  await file.readAt(0, first);
  const headerLength = safetensorsHeaderLength(first, fileName, file.size);
  const prefix = new Uint8Array(8 + headerLength);
  await file.readAt(0, prefix);
  return parseSafetensorsHeader(prefix, fileName, file.size);
}

/**
 * The first top-level key of a JSON object text that appears twice, or `undefined`. `text` must already have
 * parsed as an object, so the scan only has to skip strings and count brackets.
 */
function duplicateTopLevelKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // a string: find its closing quote, skipping escapes
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
      if (depth === 1 && expectKey) {
        const raw = text.slice(start, i + 1);
        const key: string = raw.includes("\\") ? JSON.parse(raw) : raw.slice(1, -1);
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
    } else if (c === 0x7b || c === 0x5b) { // { [
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === 0x7d || c === 0x5d) depth--; // } ]
    else if (c === 0x2c && depth === 1) expectKey = true; // ,
  }
  return undefined;
}

function checkEntry(fileName: string, name: string, entry: unknown, dataStart: number, dataLength: number) {
  const tensor = `tensor "${excerpt(name)}"`;
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    fail(fileName, `${tensor} entry is not an object`);
  }
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== "string" || !isDtype(dtype)) {
    return fail(fileName, `${tensor} has unknown dtype ${describeValue(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return fail(fileName, `${tensor} shape ${describeValue(shape)} is not a list of non-negative integers`);
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    fail(fileName, `${tensor} data_offsets ${describeValue(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(fileName, `${tensor} data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) {
    fail(
      fileName,
      `${tensor} data_offsets [${begin}, ${end}] are out of range: the data section has ${dataLength} bytes (file truncated?)`,
    );
  }
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const expected = count * DTYPE_SIZES[dtype];
  if (!Number.isSafeInteger(expected) || expected !== end - begin) {
    const needs = Number.isSafeInteger(expected) ? `${expected} bytes` : "more than 2^53 bytes";
    fail(
      fileName,
      `${tensor} shape [${
        excerpt(String(shape), 80)
      }] of ${dtype} needs ${needs} but data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  return { name, dtype, shape: [...shape as number[]], start: dataStart + begin, end: dataStart + end };
}

function checkCoverage(fileName: string, infos: TensorInfo[], dataStart: number, dataLength: number) {
  const sorted = [...infos].sort((a, b) => a.start - b.start || a.end - b.end);
  let covered = dataStart;
  let previous: TensorInfo | undefined;
  for (const info of sorted) {
    if (info.start < covered) {
      fail(
        fileName,
        `tensor "${excerpt(info.name)}" data_offsets [${info.start - dataStart}, ${
          info.end - dataStart
        }] overlap tensor "${excerpt(previous!.name)}" (which ends at ${covered - dataStart})`,
      );
    }
    if (info.start > covered) {
      fail(
        fileName,
        `bytes ${covered - dataStart}..${
          info.start - dataStart
        } of the data section belong to no tensor (hole before "${excerpt(info.name)}")`,
      );
    }
    covered = info.end;
    previous = info;
  }
  if (covered - dataStart !== dataLength) {
    fail(fileName, `the data section has ${dataLength} bytes but the tensors cover only ${covered - dataStart}`);
  }
}

/**
 * Parses and validates a safetensors file's header; the byte spans of the result index into `bytes`.
 *
 * @param bytes The whole file.
 * @param fileName Used in error messages.
 * @returns Tensor name → dtype, shape and absolute byte span, in header order.
 * @throws {Error} When the file is truncated, the header is not a JSON object, a dtype is unknown, a shape
 * does not match its byte span, or the spans overlap, leave holes or run past the end.
 *
 * @example Usage
 * ```ts
 * import { parseSafetensors, writeSafetensors } from "./safetensors.ts";
 * const bytes = writeSafetensors([{ name: "w", shape: [2, 3], data: new Float32Array(6) }]);
 * const info = parseSafetensors(bytes, "model.safetensors").get("w"); // { dtype: "F32", shape: [2, 3], … }
 * ```
 */
export function parseSafetensors(bytes: Uint8Array, fileName: string): Map<string, TensorInfo> {
  return parseSafetensorsHeader(bytes, fileName).tensors;
}

/**
 * Decodes one tensor of a parsed file into a new Float32Array (see {@linkcode decodeToFloat32}).
 *
 * @param bytes The whole file, as given to {@linkcode parseSafetensors}.
 * @param info The tensor's entry from {@linkcode parseSafetensors}.
 * @returns The values as float32; the array does not alias `bytes`.
 *
 * @example Usage
 * ```ts
 * import { parseSafetensors, readSafetensorsTensor, writeSafetensors } from "./safetensors.ts";
 * const bytes = writeSafetensors([{ name: "w", shape: [2], data: new Float32Array([1, 2]) }], { dtype: "BF16" });
 * const data = readSafetensorsTensor(bytes, parseSafetensors(bytes, "x.safetensors").get("w")!); // [1, 2]
 * ```
 */
export function readSafetensorsTensor(bytes: Uint8Array, info: TensorInfo): Float32Array {
  return decodeToFloat32(bytes.subarray(info.start, info.end), info.dtype);
}

/**
 * Parses a safetensors file and decodes every tensor to float32.
 *
 * @param bytes The whole file.
 * @param fileName Used in error messages.
 * @returns Tensor name → shape, stored dtype and float32 values, in header order.
 * @throws {Error} As {@linkcode parseSafetensors}.
 *
 * @example Usage
 * ```ts
 * import { loadSafetensors, writeSafetensors } from "./safetensors.ts";
 * const bytes = writeSafetensors([{ name: "w", shape: [2], data: new Float32Array([1, 2]) }]);
 * const w = loadSafetensors(bytes, "model.safetensors").get("w"); // { shape: [2], dtype: "F32", data }
 * ```
 */
export function loadSafetensors(bytes: Uint8Array, fileName: string): Map<string, DecodedTensor> {
  const out = new Map<string, DecodedTensor>();
  for (const [name, info] of parseSafetensors(bytes, fileName)) {
    out.set(name, { shape: info.shape, dtype: info.dtype, data: readSafetensorsTensor(bytes, info) });
  }
  return out;
}

/** A tensor to write. */
export interface TensorToWrite {
  /** Header key. */
  name: string;
  /** Dimensions, outermost first; their product must equal `data.length`. */
  shape: number[];
  /** Row-major values. */
  data: Float32Array;
}

/** Options for {@linkcode writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /** Stored element type (default `F32`); F16 and BF16 round to nearest, ties to even. */
  dtype?: "F32" | "F16" | "BF16";
  /** String → string pairs for `__metadata__` (e.g. `{ format: "pt" }`). */
  metadata?: Record<string, string>;
}

/**
 * Serialises tensors as a safetensors file the reference library accepts: tensors sorted by name, contiguous
 * offsets, the JSON header padded with spaces to a multiple of 8 bytes.
 *
 * @param tensors A list, or a map from name to `{ shape, data }`.
 * @param opts Stored dtype and metadata.
 * @returns The file's bytes.
 * @throws {Error} When a name repeats or is `__metadata__`, or a shape does not match its data length.
 *
 * @example Usage
 * ```ts
 * import { writeSafetensors } from "./safetensors.ts";
 * const bytes = writeSafetensors(new Map([["bias", { shape: [3], data: new Float32Array([0, 1, 2]) }]]), {
 *   dtype: "F16",
 *   metadata: { format: "pt" },
 * });
 * ```
 */
export function writeSafetensors(
  tensors: TensorToWrite[] | Map<string, { shape: number[]; data: Float32Array }>,
  opts: WriteSafetensorsOptions = {},
): Uint8Array {
  const dtype = opts.dtype ?? "F32";
  if (!["F32", "F16", "BF16"].includes(dtype)) throw new Error(`writeSafetensors: unsupported dtype "${dtype}"`);
  const list: TensorToWrite[] = Array.isArray(tensors)
    ? tensors
    : [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
  const seen = new Set<string>();
  for (const t of list) {
    if (t.name === "__metadata__") throw new Error(`writeSafetensors: "__metadata__" is reserved, not a tensor name`);
    if (seen.has(t.name)) throw new Error(`writeSafetensors: tensor "${t.name}" appears twice`);
    seen.add(t.name);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || count !== t.data.length) {
      throw new Error(`writeSafetensors: tensor "${t.name}" shape [${t.shape}] does not hold ${t.data.length} values`);
    }
  }
  const sorted = [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const size = DTYPE_SIZES[dtype];
  const header: Record<string, unknown> = {};
  if (opts.metadata !== undefined) {
    for (const [key, value] of Object.entries(opts.metadata)) {
      if (typeof value !== "string") throw new Error(`writeSafetensors: metadata field "${key}" must be a string`);
    }
    header.__metadata__ = opts.metadata;
  }
  let offset = 0;
  for (const t of sorted) {
    const bytes = t.data.length * size;
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const withSpaces = new Uint8Array(padded).fill(0x20);
    withSpaces.set(json);
    json = withSpaces;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length % 2 ** 32, true);
  view.setUint32(4, Math.floor(json.length / 2 ** 32), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of sorted) {
    const d = t.data;
    if (dtype === "F32") {
      for (let i = 0; i < d.length; i++) view.setFloat32(at + i * 4, d[i]!, true);
    } else {
      const narrow = dtype === "F16" ? float32ToFloat16Bits : float32ToBfloat16Bits;
      for (let i = 0; i < d.length; i++) view.setUint16(at + i * 2, narrow(d[i]!), true);
    }
    at += d.length * size;
  }
  return out;
}
