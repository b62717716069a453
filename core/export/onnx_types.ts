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

/**
 * The graph-building surface the op modules' ONNX rules and the exporter's context write through (`OnnxGraph`
 * in `onnx_graph.ts` implements it). A type of its own so that an op module's types never lead to the protobuf
 * encoder: a model that only runs does not load — or download — it.
 */
export interface GraphBuilder {
  /** A new unique value name starting with `hint`. */
  fresh(hint: string): string;
  /** Reserves an exact value name, refusing a duplicate. */
  reserve(name: string): string;
  /** Adds a node; returns its output names (`outputs`: how many, or their exact names). */
  node(op: string, inputs: readonly string[], attrs?: Record<string, AttrValue>, outputs?: number | string[]): string[];
  /** Adds a one-output node; returns its output name. */
  op(op: string, inputs: readonly string[], attrs?: Record<string, AttrValue>): string;
  /** Adds an initializer of raw little-endian bytes under an exact name. */
  initializer(name: string, type: DataTypeCode, dims: readonly number[], raw: Uint8Array): string;
  /** A float32 constant (shared by equal values). */
  floats(values: readonly number[], dims?: readonly number[]): string;
  /** A float32 scalar constant. */
  scalar(value: number): string;
  /** An int64 constant (shared by equal values). */
  ints(values: readonly number[], dims?: readonly number[]): string;
  /** A value made once per key: `make()` the first time, the same name after. */
  cached(key: string, make: () => string): string;
}
