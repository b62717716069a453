/**
 * The ONNX vocabulary the op modules (`core/ops/`) write their rules in — data type codes, dimensions,
 * attribute values — without the protobuf encoder (`onnx_graph.ts`), so that a model that only runs never
 * loads it.
 *
 * @module
 */

/** ONNX `TensorProto.DataType` codes used here. */
export const DataType = { FLOAT: 1, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;

/** One of {@linkcode DataType}'s codes. */
export type DataTypeCode = typeof DataType[keyof typeof DataType];

/** A dimension of a graph input or output: a size, or a symbol (`batch`, `seq`) for a dynamic axis. */
export type OnnxDim = number | string;

/** A node attribute's value: an integer, a float, a list of integers, or a string. */
export type AttrValue = { i: number } | { f: number } | { ints: readonly number[] } | { s: string };

/** The bytes of a typed array (a view, no copy). */
export function bytesOf(a: Float32Array | BigInt64Array | Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
