/**
 * What a semantic op is: one module per op in this folder holds everything about it, side by side as tfjs keeps
 * a kernel and its gradient — the signature a family calls (one member of `ModelOps`), its attributes, its
 * WASM-executor rule (the kernel calls and
 * the backward step it pushes on the run's tape), its trace rule (the recorded node and its shapes), its ONNX
 * rule and its ONNX backward rule. The executors (`../models/wasm_ops.ts`, `../models/trace_ops.ts`) and the
 * exporter (`../export/`) dispatch through the registry (`mod.ts`) and hold no op of their own.
 *
 * Adding an op: a new module here exporting its signature (`XOp<T>`), its attributes (`XAttrs`) and its
 * {@linkcode OpDef}, listed in `mod.ts`; its kernels go in `assembly/` and the kernel contract.
 *
 * @module
 */

import type { ArenaInputs } from "../models/inputs.ts";
import type { ParamStore } from "../models/param_store.ts";
import type { Act, Run } from "../models/run.ts";
import type { Dim, TracedValue } from "../models/trace_ops.ts";
import type { EmitContext, Emitted } from "../export/_emit.ts";
import type { OpAttrs, OpSignatures } from "./mod.ts";

/** An op's name. */
export type OpName = keyof OpAttrs & keyof OpSignatures<unknown>;

/** One recorded op of a given kind: its inputs, outputs and weights, and its typed attributes. */
export interface TracedOpOf<K extends OpName> {
  /** The op. */
  op: K;
  /** Input value ids. */
  inputs: number[];
  /** Output value ids. */
  outputs: number[];
  /** Weight keys the op reads. */
  weights: string[];
  /** Its attributes. */
  attrs: OpAttrs[K];
  /** The index of the transformer block the op runs in (`ModelOps.block`), absent outside blocks. */
  block?: number;
}

/** A recorded op: the union over every op kind, discriminated by `op`. */
export type TracedOp = { [K in OpName]: TracedOpOf<K> }[OpName];

/** What an op's WASM rule is given: the run (arena, tape), the weights and the batch in kernel memory. */
export interface WasmContext {
  /** The run. */
  readonly run: Run;
  /** The weights. */
  readonly params: ParamStore;
  /** The batch, masks and loss rows in kernel memory. */
  readonly inputs: ArenaInputs;
  /** The index of the next dropout site of this pass (each site draws its own mask). */
  nextDropoutSite(): number;
}

/** What an op's trace rule is given. */
export interface TraceContext {
  /** A checkpoint tensor's shape. @throws {Error} when the checkpoint lacks it */
  weightShape(name: string): readonly number[];
  /** Whether the checkpoint holds a tensor. */
  hasWeight(name: string): boolean;
  /** Records the op: its inputs, one output per shape, the weights it reads; returns the outputs. */
  record<K extends OpName>(
    op: K,
    inputs: readonly TracedValue[],
    shapes: readonly (readonly Dim[])[],
    weights: readonly string[],
    attrs: OpAttrs[K],
  ): TracedValue[];
  /** Names a recorded value (an op's own hook, such as attention's pattern). */
  hook(name: string, value: TracedValue): void;
}

/** What an op's ONNX backward rule is given. */
export interface BackwardArgs<K extends OpName> {
  /** The exporter's state. */
  cx: EmitContext;
  /** The op. */
  op: TracedOpOf<K>;
  /** Its index in the trace (where its saved values are). */
  index: number;
  /** Its emitted inputs. */
  inputs: Emitted[];
  /** Its emitted outputs. */
  outputs: Emitted[];
  /** dL/d(output i), `undefined` where no gradient reaches it. */
  dy: Array<string | undefined>;
  /** Receives layer `l`'s dL/d(head mask of its kept heads), [H_l]. */
  headMaskGrad: (layer: number, grad: string) => void;
}

/** One op: its rules (see the module doc). */
export interface OpDef<K extends OpName> {
  /** The op's name: the `ModelOps` method and the trace's `op`. */
  readonly name: K;
  /** Runs the op on the WASM kernels, pushing its backward on the run's tape when the run records. */
  readonly wasm: (cx: WasmContext, ...args: Parameters<OpSignatures<Act>[K]>) => ReturnType<OpSignatures<Act>[K]>;
  /** Records the op. */
  readonly trace: (
    cx: TraceContext,
    ...args: Parameters<OpSignatures<TracedValue>[K]>
  ) => ReturnType<OpSignatures<TracedValue>[K]>;
  /** Writes the op into an ONNX graph; returns its outputs. */
  readonly onnx: (cx: EmitContext, op: TracedOpOf<K>, index: number, inputs: Emitted[]) => Emitted[];
  /**
   * dL/d(each input) from dL/d(outputs), as ONNX nodes — activations only, never weights (the head-mask
   * gradient needs none). Absent: no gradient flows through the op (it only ever comes before the first
   * attention, like the embeddings).
   */
  readonly onnxBackward?: (args: BackwardArgs<K>) => Array<string | undefined>;
}
