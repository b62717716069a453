/**
 * The recording executor of the semantic ops (`ops.ts`): runs a family's forward pass on symbolic shapes and
 * records it as a graph — every op with its inputs, weights, attributes and output shape, and every hook
 * name with the value it names. No arithmetic happens. An exporter (ONNX) walks this graph; the model uses it
 * to know exactly which activation names a family produces; FLOP counts come from it.
 *
 * @module
 */

import type { GeluKind } from "../kernels/types.ts";
import type { ModelConfig } from "./config.ts";
import type { ModelFamily } from "./family.ts";
import type { AttentionSpec, HookLayout, LayerNormParams, LinearParams, ModelOps, TokenInput } from "./ops.ts";

/** A dimension: a number, or a symbol for a size known only at run time. */
export type Dim = number | "batch" | "pos" | "rows";

/** A value of the traced graph. */
export interface TracedValue {
  /** Index in {@linkcode ModelTrace.values}. */
  readonly id: number;
  /** Its shape. */
  readonly shape: readonly Dim[];
}

/** One recorded op. */
export interface TracedOp {
  /** The op's name in {@linkcode ModelOps} (`linear`, `attention`, …). */
  op: string;
  /** Input value ids. */
  inputs: number[];
  /** Output value ids. */
  outputs: number[];
  /** Weight keys the op reads. */
  weights: string[];
  /** The op's attributes (layout, eps, attention spec, input name …). */
  attrs: Record<string, unknown>;
  /** The index of the transformer block the op runs in (`ModelOps.block`), absent outside blocks. */
  block?: number;
}

/** A recorded forward pass. */
export interface ModelTrace {
  /** Every value, by id. */
  values: TracedValue[];
  /** The ops in execution order. */
  ops: TracedOp[];
  /** Hook name → the id of the value it names, in the order the forward emits them. */
  hooks: Map<string, { value: number; layout?: HookLayout }>;
  /** The logits' value id (absent for a bare encoder). */
  logits?: number;
  /** Blocks, in order: the ids of each block's input and output. */
  blocks: Array<{ input: number; output: number }>;
}

/** Records a forward pass (see the module doc). `weightShape` answers for the checkpoint's tensors. */
export class TraceOps implements ModelOps<TracedValue> {
  readonly trace: ModelTrace = { values: [], ops: [], hooks: new Map(), blocks: [] };
  readonly #weightShape: (name: string) => readonly number[] | undefined;
  #block: number | undefined;

  /** @param weightShape the shape of a checkpoint tensor, `undefined` when the checkpoint lacks it */
  constructor(weightShape: (name: string) => readonly number[] | undefined) {
    this.#weightShape = weightShape;
  }

  #value(shape: readonly Dim[]): TracedValue {
    const v = { id: this.trace.values.length, shape: [...shape] };
    this.trace.values.push(v);
    return v;
  }

  #weight(name: string): readonly number[] {
    const s = this.#weightShape(name);
    if (s === undefined) throw new Error(`Weight "${name}" is missing`);
    return s;
  }

  #op(op: string, inputs: TracedValue[], shape: readonly Dim[], weights: string[] = [], attrs = {}): TracedValue {
    const out = this.#value(shape);
    this.#push({ op, inputs: inputs.map((v) => v.id), outputs: [out.id], weights, attrs });
    return out;
  }

  #push(op: TracedOp): void {
    if (this.#block !== undefined) op.block = this.#block;
    this.trace.ops.push(op);
  }

  hasWeight(name: string): boolean {
    return this.#weightShape(name) !== undefined;
  }

  embedding(table: string, input: TokenInput): TracedValue {
    const C = this.#weight(table)[1]!;
    return this.#op("embedding", [], ["batch", "pos", C], [table], { input });
  }

  add(a: TracedValue, b: TracedValue): TracedValue {
    return this.#op("add", [a, b], a.shape);
  }

  layerNorm(x: TracedValue, p: LayerNormParams): TracedValue {
    return this.#op("layerNorm", [x], x.shape, [p.weight, p.bias], { eps: p.eps });
  }

  linear(x: TracedValue, p: LinearParams): TracedValue {
    const W = this.#weight(p.weight);
    const [K, N] = p.layout === "linear" ? [W[1]!, W[0]!] : [W[0]!, W[1]!];
    const inner = x.shape[x.shape.length - 1];
    if (inner !== K) {
      throw new Error(`linear "${p.weight}": input has ${String(inner)} features, the weight takes ${K}`);
    }
    const weights = p.bias === undefined ? [p.weight] : [p.weight, p.bias];
    return this.#op("linear", [x], [...x.shape.slice(0, -1), N], weights, { layout: p.layout });
  }

  splitQKV(x: TracedValue, heads: number): [TracedValue, TracedValue, TracedValue] {
    const width = x.shape[x.shape.length - 1] as number;
    const shape = [...x.shape.slice(0, -1), width / 3];
    const outs = [this.#value(shape), this.#value(shape), this.#value(shape)];
    this.#push({
      op: "splitQKV",
      inputs: [x.id],
      outputs: outs.map((v) => v.id),
      weights: [],
      attrs: { heads },
    });
    return outs as [TracedValue, TracedValue, TracedValue];
  }

  attention(q: TracedValue, k: TracedValue, v: TracedValue, spec: AttentionSpec): TracedValue {
    const ctx = this.#op("attention", [q, k, v], q.shape, [], { ...spec });
    const pattern = this.#value(["batch", spec.heads, "pos", "pos"]);
    this.trace.ops[this.trace.ops.length - 1]!.outputs.push(pattern.id);
    this.trace.hooks.set(spec.patternHook, { value: pattern.id });
    return ctx;
  }

  /**
   * Recorded as where the neuron mask acts (a run option, like dropout's mask: the ONNX export has no
   * neuron-mask input and exports it as the identity).
   */
  neuronMask(x: TracedValue, layer: number): TracedValue {
    return this.#op("neuronMask", [x], x.shape, [], { layer });
  }

  gelu(x: TracedValue, kind: GeluKind): TracedValue {
    return this.#op("gelu", [x], x.shape, [], { kind });
  }

  tanh(x: TracedValue): TracedValue {
    return this.#op("tanh", [x], x.shape);
  }

  relu(x: TracedValue): TracedValue {
    return this.#op("relu", [x], x.shape);
  }

  firstToken(x: TracedValue): TracedValue {
    return this.#op("firstToken", [x], [x.shape[0]!, x.shape[2]!]);
  }

  lossRows(x: TracedValue): TracedValue {
    return this.#op("lossRows", [x], ["rows", x.shape[x.shape.length - 1]!]);
  }

  dropout(x: TracedValue): TracedValue {
    return this.#op("dropout", [x], x.shape);
  }

  block(x: TracedValue, body: (x: TracedValue) => TracedValue): TracedValue {
    this.#block = this.trace.blocks.length;
    try {
      const out = body(x);
      this.trace.blocks.push({ input: x.id, output: out.id });
      return out;
    } finally {
      this.#block = undefined;
    }
  }

  hook(name: string, x: TracedValue, layout?: HookLayout): TracedValue {
    this.trace.hooks.set(name, layout === undefined ? { value: x.id } : { value: x.id, layout });
    return x;
  }
}

/**
 * Records a family's forward pass for a config, with the checkpoint's tensors answering `hasWeight`.
 *
 * @param family the family
 * @param config its checked config
 * @param weightShape a checkpoint tensor's shape, or `undefined` when absent (default: the family's spec)
 */
export function traceModel(
  family: ModelFamily,
  config: ModelConfig,
  weightShape?: (name: string) => readonly number[] | undefined,
): ModelTrace {
  let shapeOf = weightShape;
  if (shapeOf === undefined) {
    const spec = family.weights(config);
    const all = new Map([...spec.required, ...spec.optional]);
    shapeOf = (name) => all.get(name);
  }
  const ops = new TraceOps(shapeOf);
  const logits = family.forward(ops, config);
  if (logits !== undefined) ops.trace.logits = logits.id;
  return ops.trace;
}

/**
 * Multiply-add FLOPs (2 per multiply-add) of one traced op at a batch size and sequence length: the matrix
 * product of a linear layer, or attention's q·kᵀ and p·v; element-wise ops count 0. `rows` (the positions a
 * loss counts) is taken as batch·pos.
 */
export function opFlops(trace: ModelTrace, op: TracedOp, batch: number, pos: number): number {
  const dim = (d: Dim) => (d === "batch" ? batch : d === "pos" ? pos : d === "rows" ? batch * pos : d);
  if (op.op === "linear") {
    const out = trace.values[op.outputs[0]!]!.shape.map(dim);
    const x = trace.values[op.inputs[0]!]!.shape.map(dim);
    return 2 * out.reduce((a, b) => a * b, 1) * x[x.length - 1]!;
  }
  if (op.op === "attention") {
    const spec = op.attrs as unknown as AttentionSpec;
    return 2 * 2 * batch * spec.heads * pos * pos * spec.headDim;
  }
  return 0;
}

/** FLOPs of a whole forward pass (see {@linkcode opFlops}). */
export function forwardFlops(trace: ModelTrace, batch: number, pos: number): number {
  let flops = 0;
  for (const op of trace.ops) flops += opFlops(trace, op, batch, pos);
  return flops;
}

/** FLOPs of each transformer block of a forward pass, in block order (see {@linkcode opFlops}). */
export function blockFlops(trace: ModelTrace, batch: number, pos: number): number[] {
  const out = new Array<number>(trace.blocks.length).fill(0);
  for (const op of trace.ops) if (op.block !== undefined) out[op.block]! += opFlops(trace, op, batch, pos);
  return out;
}
