/**
 * A small builder of ONNX graphs — nodes, initializers, graph inputs and outputs — and their encoding to a
 * `ModelProto` with protobufjs over the official `onnx.proto` (`_onnx_proto.ts`). The exporter (`export.ts`)
 * writes every op of a traced model through it; nothing here knows a model.
 *
 * @module
 */

import protobuf from "npm:protobufjs@7.5.4";
import { ONNX_PROTO } from "./_onnx_proto.ts";

import { type AttrValue, bytesOf, DataType, type DataTypeCode, type GraphBuilder, type OnnxDim } from "./onnx_types.ts";

export { type AttrValue, bytesOf, DataType, type DataTypeCode, type GraphBuilder, type OnnxDim };

/** The ONNX opset the exporter targets (LayerNormalization needs ≥ 17). */
export const OPSET = 17;

/** The IR version written (ONNX 1.13, the first with opset 18; loads in every onnxruntime ≥ 1.14). */
export const IR_VERSION = 8;

// AttributeProto.AttributeType
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

interface NodeMsg {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: Array<Record<string, unknown>>;
}

/** A graph under construction. Value names are unique; {@linkcode OnnxGraph.fresh} makes new ones. */
export class OnnxGraph implements GraphBuilder {
  readonly #nodes: NodeMsg[] = [];
  readonly #inits: Array<Record<string, unknown>> = [];
  readonly #inputs: Array<Record<string, unknown>> = [];
  readonly #outputs: Array<Record<string, unknown>> = [];
  readonly #consts = new Map<string, string>();
  readonly #names = new Set<string>();
  #counter = 0;

  /** A new unique value name starting with `hint`. */
  fresh(hint: string): string {
    let name = `${hint}_${this.#counter++}`;
    while (this.#names.has(name)) name = `${hint}_${this.#counter++}`;
    this.#names.add(name);
    return name;
  }

  /** Reserves an exact value name (a graph input, output or initializer), refusing a duplicate. */
  reserve(name: string): string {
    if (this.#names.has(name)) throw new Error(`ONNX graph: the value name "${name}" is used twice`);
    this.#names.add(name);
    return name;
  }

  /**
   * Adds a node; returns its output names (`outputs` fresh names unless `names` gives them).
   *
   * @param op the ONNX op type (`MatMul`, `LayerNormalization`, …)
   * @param inputs input value names (`""` for an omitted optional input)
   * @param attrs attributes by name
   * @param outputs how many outputs, or their exact names
   */
  node(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    outputs: number | string[] = 1,
  ): string[] {
    const out = typeof outputs === "number"
      ? Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()))
      : outputs.map((n) => this.reserve(n));
    this.#nodes.push({
      input: [...inputs],
      output: out,
      name: `${op}_${this.#nodes.length}`,
      op_type: op,
      attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
    });
    return out;
  }

  /** Adds a one-output node; returns its output name. */
  op(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(op, inputs, attrs)[0]!;
  }

  /**
   * Adds an initializer of raw little-endian bytes.
   *
   * @param name its exact name (a checkpoint key for weights)
   * @param type its data type code
   * @param dims its shape
   * @param raw its bytes, row-major
   */
  initializer(name: string, type: DataTypeCode, dims: readonly number[], raw: Uint8Array): string {
    return this.#init(this.reserve(name), type, dims, raw);
  }

  #init(name: string, type: DataTypeCode, dims: readonly number[], raw: Uint8Array): string {
    this.#inits.push({ name, data_type: type, dims: [...dims], raw_data: raw });
    return name;
  }

  /** A float32 constant (an initializer shared by equal values). */
  floats(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `f${dims.join("x")}:${values.join(",")}`;
    const have = this.#consts.get(key);
    if (have !== undefined) return have;
    const data = Float32Array.from(values);
    const name = this.#init(this.fresh("const_f"), DataType.FLOAT, dims, bytesOf(data));
    this.#consts.set(key, name);
    return name;
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    return this.floats([value], []);
  }

  /** An int64 constant (a 1-D list, or a scalar when `dims` is `[]`). */
  ints(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i${dims.join("x")}:${values.join(",")}`;
    const have = this.#consts.get(key);
    if (have !== undefined) return have;
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    const name = this.#init(this.fresh("const_i"), DataType.INT64, dims, bytesOf(data));
    this.#consts.set(key, name);
    return name;
  }

  /** Caches any value under `key` (a value the graph needs once: the sequence length, the key mask …). */
  cached(key: string, make: () => string): string {
    const k = `value:${key}`;
    const have = this.#consts.get(k);
    if (have !== undefined) return have;
    const name = make();
    this.#consts.set(k, name);
    return name;
  }

  /** Declares a graph input. */
  input(name: string, type: DataTypeCode, dims: readonly OnnxDim[]): string {
    this.reserve(name);
    this.#inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Declares a graph output, as an `Identity` of `value` named `name` (a value may be output under many names). */
  output(name: string, value: string, type: DataTypeCode, dims: readonly OnnxDim[] | undefined): void {
    this.node("Identity", [value], {}, [name]);
    this.declareOutput(name, type, dims);
  }

  /** Declares an existing value (a node's output named so) as a graph output. */
  declareOutput(name: string, type: DataTypeCode, dims: readonly OnnxDim[] | undefined): void {
    this.#outputs.push(valueInfo(name, type, dims));
  }

  /** Number of nodes so far. */
  get nodeCount(): number {
    return this.#nodes.length;
  }

  /**
   * Encodes the graph as an ONNX `ModelProto` (IR version {@linkcode IR_VERSION}, default-domain opset
   * {@linkcode OPSET}).
   *
   * @param name the graph's name
   * @param metadata `metadata_props` of the model (string pairs)
   */
  encode(name: string, metadata: Record<string, string> = {}): Uint8Array {
    return this.#encode(name, metadata, this.#inits);
  }

  /**
   * Encodes the graph with its large initializers as ONNX external data — for a model past protobuf's 2 GB:
   * each initializer of at least `minBytes` bytes gets `data_location` EXTERNAL and `external_data` entries
   * `location`, `offset` and `length`, and its bytes go to the data file at that offset (each 4096-aligned,
   * as `onnx.external_data_helper` writes them, so a runtime can map them).
   *
   * @param name the graph's name
   * @param metadata `metadata_props` of the model
   * @param location the data file's path relative to the `.onnx` file (e.g. `model.onnx.data`)
   * @param minBytes the smallest initializer moved out (default 1024, as onnx's helper)
   * @returns the model's bytes, and the data file's content as chunks in order (no copies of the weights)
   */
  encodeWithExternalData(
    name: string,
    metadata: Record<string, string>,
    location: string,
    minBytes = 1024,
  ): { bytes: Uint8Array; data: Uint8Array[]; dataBytes: number } {
    const data: Uint8Array[] = [];
    let offset = 0;
    const inits = this.#inits.map((init) => {
      const raw = init.raw_data as Uint8Array;
      if (raw.length < minBytes) return init;
      const pad = (ALIGN - offset % ALIGN) % ALIGN;
      if (pad > 0) data.push(new Uint8Array(pad));
      offset += pad;
      data.push(raw);
      const { raw_data: _inline, ...rest } = init;
      const entry = {
        ...rest,
        data_location: DATA_LOCATION_EXTERNAL,
        external_data: [
          { key: "location", value: location },
          { key: "offset", value: String(offset) },
          { key: "length", value: String(raw.length) },
        ],
      };
      offset += raw.length;
      return entry;
    });
    return { bytes: this.#encode(name, metadata, inits), data, dataBytes: offset };
  }

  #encode(name: string, metadata: Record<string, string>, initializer: Array<Record<string, unknown>>): Uint8Array {
    const ModelProto = onnxRoot().lookupType("onnx.ModelProto");
    const model = {
      ir_version: IR_VERSION,
      producer_name: "bertology",
      producer_version: "0.1.0",
      opset_import: [{ domain: "", version: OPSET }],
      metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name,
        node: this.#nodes,
        initializer,
        input: this.#inputs,
        output: this.#outputs,
      },
    };
    const err = ModelProto.verify(model);
    if (err !== null) throw new Error(`ONNX export: invalid ModelProto: ${err}`);
    return ModelProto.encode(ModelProto.fromObject(model)).finish();
  }
}

/** `TensorProto.DataLocation.EXTERNAL`. */
const DATA_LOCATION_EXTERNAL = 1;

/** Alignment of each tensor in an external data file (a page, so a runtime can map it in place). */
const ALIGN = 4096;

let ROOT: protobuf.Root | undefined;

/** The parsed `onnx.proto` (snake_case field names, as in the schema); parsed once, on first use. */
export function onnxRoot(): protobuf.Root {
  ROOT ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  return ROOT;
}

/**
 * Decodes an ONNX `ModelProto` to a plain object (int64 fields as numbers, bytes as Uint8Array) — for tests
 * and tools that inspect an exported file.
 *
 * @param bytes the file's bytes
 * @returns the model as a plain object with onnx.proto's field names
 * @example Usage
 * ```ts
 * import { decodeModelProto, OnnxGraph } from "./onnx_graph.ts";
 * const g = new OnnxGraph();
 * g.input("x", 1, ["batch"]);
 * g.output("y", "x", 1, ["batch"]);
 * const model = decodeModelProto(g.encode("demo"));
 * (model.graph as { name: string }).name; // "demo"
 * ```
 */
export function decodeModelProto(bytes: Uint8Array): Record<string, unknown> {
  const ModelProto = onnxRoot().lookupType("onnx.ModelProto");
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Uint8Array, defaults: false });
}

function attribute(name: string, v: AttrValue): Record<string, unknown> {
  if ("i" in v) return { name, type: ATTR.INT, i: v.i };
  if ("f" in v) return { name, type: ATTR.FLOAT, f: v.f };
  if ("ints" in v) return { name, type: ATTR.INTS, ints: [...v.ints] };
  return { name, type: ATTR.STRING, s: new TextEncoder().encode(v.s) };
}

function valueInfo(name: string, type: DataTypeCode, dims: readonly OnnxDim[] | undefined): Record<string, unknown> {
  const tensorType: Record<string, unknown> = { elem_type: type };
  if (dims !== undefined) {
    tensorType.shape = { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) };
  }
  return { name, type: { tensor_type: tensorType } };
}
