/**
 * The backward pass of the ONNX exporter: each traced op's ONNX backward rule, from its op module
 * (`core/ops/*.ts`) — the nodes that turn the gradient of its outputs into the gradients of its inputs, only
 * activations, never weights (the head-mask gradient needs none). `export.ts` applies them over the trace in
 * reverse; each attention adds its layer's dL/dhead_mask. Private to `export.ts`.
 *
 * @module
 */

import { type BackwardArgs, opDef, type OpName, type TracedOp } from "../ops/mod.ts";

/** dL/d(input i) (`undefined` where none is produced). */
export type BackwardRule = (args: BackwardArgs<OpName>) => Array<string | undefined>;

/**
 * The backward rule of a traced op, or `undefined` for an op no gradient flows through (the embeddings, which
 * come before the first attention).
 */
export function backwardRule(op: TracedOp): BackwardRule | undefined {
  return opDef(op.op).onnxBackward as BackwardRule | undefined;
}

export type { BackwardArgs };
