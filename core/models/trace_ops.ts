/**
 * The recording executor of the semantic ops (`ops.ts`): runs a family's forward pass on symbolic shapes and
 * records it as a graph — every op with its inputs, weights, attributes and output shape, and every hook
 * name with the value it names. No arithmetic happens. An exporter (ONNX) walks this graph; the model uses it
 * to know exactly which activation names a family produces; FLOP counts come from it.
 *
 * @module
 */

import { opDef, OPS } from "../ops/mod.ts";
import type { OpAttrs, OpName, OpSignatures, TraceContext, TracedOp, TracedOpOf } from "../ops/mod.ts";
import type { ModelConfig } from "./config.ts";
import type { ModelFamily } from "./family.ts";
import type { ExecutorOps, HookLayout } from "./ops.ts";

export type { TracedOp } from "../ops/mod.ts";

/** A dimension: a number, or a symbol for a size known only at run time. */
export type Dim = number | "batch" | "pos" | "rows";

/** A value of the traced graph. */
export interface TracedValue {
  /** Index in {@linkcode ModelTrace.values}. */
  readonly id: number;
  /** Its shape. */
  readonly shape: readonly Dim[];
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

/**
 * Records a forward pass (see the module doc): each op's trace rule (`core/ops/*.ts`) records its node through
 * this executor. `weightShape` answers for the checkpoint's tensors.
 */
export class TraceOps implements ExecutorOps<TracedValue>, TraceContext {
  readonly trace: ModelTrace = { values: [], ops: [], hooks: new Map(), blocks: [] };
  readonly #weightShape: (name: string) => readonly number[] | undefined;
  #block: number | undefined;

  /** @param weightShape the shape of a checkpoint tensor, `undefined` when the checkpoint lacks it */
  constructor(weightShape: (name: string) => readonly number[] | undefined) {
    this.#weightShape = weightShape;
  }

  weightShape(name: string): readonly number[] {
    const s = this.#weightShape(name);
    if (s === undefined) throw new Error(`Weight "${name}" is missing`);
    return s;
  }

  hasWeight(name: string): boolean {
    return this.#weightShape(name) !== undefined;
  }

  record<K extends OpName>(
    op: K,
    inputs: readonly TracedValue[],
    shapes: readonly (readonly Dim[])[],
    weights: readonly string[],
    attrs: OpAttrs[K],
  ): TracedValue[] {
    const outs = shapes.map((shape) => {
      const v = { id: this.trace.values.length, shape: [...shape] };
      this.trace.values.push(v);
      return v;
    });
    const node: TracedOpOf<K> = {
      op,
      inputs: inputs.map((v) => v.id),
      outputs: outs.map((v) => v.id),
      weights: [...weights],
      attrs,
    };
    if (this.#block !== undefined) node.block = this.#block;
    this.trace.ops.push(node as TracedOp);
    return outs;
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

// the semantic ops: each method runs its op module's trace rule with this executor as the context
export interface TraceOps extends OpSignatures<TracedValue> {}
for (const name of Object.keys(OPS) as OpName[]) {
  const rule = opDef(name).trace as (cx: TraceContext, ...args: unknown[]) => unknown;
  Object.defineProperty(TraceOps.prototype, name, {
    value: function (this: TraceOps, ...args: unknown[]) {
      return rule(this, ...args);
    },
  });
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
  if (op.op === "attention") return 2 * 2 * batch * op.attrs.heads * pos * pos * op.attrs.headDim;
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
