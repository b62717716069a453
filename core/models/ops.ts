/**
 * The op vocabulary a model family's forward pass is written in. A family file describes its model once,
 * against {@linkcode ModelOps}, naming weights by their Hugging Face checkpoint keys and activations by their
 * stable hook names; it never sees pointers, byte offsets or kernels. Each semantic op (`linear`, `attention`,
 * `layerNorm` …) is one module of `core/ops/` holding its signature and every rule; executors give the ops a
 * meaning by dispatching to those rules:
 *
 * - `wasm_ops.ts` runs them eagerly on the WASM kernels and records each op's backward on a tape;
 * - `trace_ops.ts` records them as a graph (ops, weights, shapes, FLOPs) — what an exporter walks.
 *
 * `T` is the executor's tensor handle. Shapes follow HF's: activations are `[batch, pos, features]`.
 *
 * @module
 */

import type { OpSignatures } from "../ops/mod.ts";

export type {
  AttentionSpec,
  LayerNormParams,
  LinearParams,
  OpSignatures,
  TokenInput,
  WeightLayout,
} from "../ops/mod.ts";

/** How a hook's value is shaped: `heads` splits the last axis into `[heads, d_head]`. */
export interface HookLayout {
  /** Split the feature axis into this many heads. */
  heads?: number;
}

/** What every executor provides besides the semantic ops: weights present, blocks, names. */
export interface ExecutorOps<T> {
  /** Whether the checkpoint holds a weight of that key (optional heads: pooler, classifier, untied LM head). */
  hasWeight(name: string): boolean;
  /**
   * One transformer block: `body` maps the block's input to its output. Executors may free the block's
   * intermediates once it returns (inference keeps one block's activations at a time).
   */
  block(x: T, body: (x: T) => T): T;
  /**
   * Names an activation (see `../hooks.ts`): kept, observed, differentiated or patched when asked for. Returns
   * the value to use downstream: `x`, or its patched replacement — so a family must continue from the result.
   */
  hook(name: string, x: T, layout?: HookLayout): T;
}

/**
 * The ops of a transformer forward pass: the semantic ops of `core/ops/` and the executor's own. Every op is
 * pure in its inputs (the executor decides where values live and whether to record a backward).
 */
export type ModelOps<T> = OpSignatures<T> & ExecutorOps<T>;
