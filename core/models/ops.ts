/**
 * The semantic ops a model family's forward pass is written in. A family file describes its model once,
 * against {@linkcode ModelOps}, naming weights by their Hugging Face checkpoint keys and activations by their
 * stable hook names; it never sees pointers, byte offsets or kernels. Executors give the ops a meaning:
 *
 * - `wasm_ops.ts` runs them eagerly on the WASM kernels and records each op's backward on a tape;
 * - `trace_ops.ts` records them as a graph (ops, weights, shapes, FLOPs) — what an exporter walks.
 *
 * `T` is the executor's tensor handle. Shapes follow HF's: activations are `[batch, pos, features]`.
 *
 * @module
 */

import type { GeluKind } from "../kernels/types.ts";

/** How a linear layer's weight is stored: `linear` = nn.Linear `[out, in]`; `conv1d` = GPT's Conv1D `[in, out]`. */
export type WeightLayout = "linear" | "conv1d";

/** A linear layer's parameters, by HF checkpoint key. */
export interface LinearParams {
  /** The weight's key. */
  weight: string;
  /** The bias's key (none for a tied LM head). */
  bias?: string;
  /** The weight's storage layout. */
  layout: WeightLayout;
}

/** A LayerNorm's parameters, by HF checkpoint key. */
export interface LayerNormParams {
  /** The scale γ. */
  weight: string;
  /** The shift β. */
  bias: string;
  /** ε added to the variance. */
  eps: number;
}

/** The integer inputs an embedding can look up. */
export type TokenInput = "input_ids" | "position_ids" | "token_type_ids";

/** One attention layer's shape and behaviour. */
export interface AttentionSpec {
  /** The block index: selects the layer's row of the head mask. */
  layer: number;
  /** Heads present in this layer (after pruning). */
  heads: number;
  /** d_head. */
  headDim: number;
  /** Multiplier of q·k (1/√d_head, GPT-2 options aside). */
  scale: number;
  /** Whether a query sees only keys at or before its position. */
  causal: boolean;
  /** The hook name of the probabilities times the head mask (HF's `attentions`). */
  patternHook: string;
}

/** How a hook's value is shaped: `heads` splits the last axis into `[heads, d_head]`. */
export interface HookLayout {
  /** Split the feature axis into this many heads. */
  heads?: number;
}

/**
 * The op vocabulary of a transformer forward pass. Every op is pure in its inputs (the executor decides
 * where values live and whether to record a backward).
 */
export interface ModelOps<T> {
  /** Whether the checkpoint holds a weight of that key (optional heads: pooler, classifier, untied LM head). */
  hasWeight(name: string): boolean;
  /**
   * Rows of the embedding table `table` [rows, C] picked by an integer input → [batch, pos, C]. Position ids
   * follow the config's position scheme (`ModelConfig.positions`), computed by the executor.
   */
  embedding(table: string, input: TokenInput): T;
  /** Element-wise sum of two tensors of the same shape (residual connections, embedding sums). */
  add(a: T, b: T): T;
  /** LayerNorm over the feature axis. */
  layerNorm(x: T, p: LayerNormParams): T;
  /** x · W (+ b) over the feature axis, W in the layout given. */
  linear(x: T, p: LinearParams): T;
  /** Splits a fused projection [.., 3·H·D] (GPT's `c_attn`) into q, k, v [.., H·D]. */
  splitQKV(x: T, heads: number): [T, T, T];
  /**
   * Multi-head scaled dot-product attention of q, k, v [batch, pos, H·D] with the input's key mask (padding),
   * the causal mask when asked, and the layer's head mask; returns each head's context concatenated
   * [batch, pos, H·D] (HF's context layer, before the output projection). Emits `spec.patternHook`.
   */
  attention(q: T, k: T, v: T, spec: AttentionSpec): T;
  /**
   * Multiplies each column of the MLP activation [.., I_l] by layer `layer`'s neuron mask (Kwon et al.'s
   * neuron mask, applied before the MLP's output projection); the identity when the run has no neuron mask.
   */
  neuronMask(x: T, layer: number): T;
  /** GELU, erf or tanh form. */
  gelu(x: T, kind: GeluKind): T;
  /** tanh (BERT's pooler). */
  tanh(x: T): T;
  /** max(x, 0) (DistilBERT's classifier head, `relu` MLPs). */
  relu(x: T): T;
  /** Each sequence's first position [batch, pos, C] → [batch, C] (BERT's `[CLS]`). */
  firstToken(x: T): T;
  /**
   * The positions whose prediction a loss counts, [batch, pos, C] → [rows, C], when the executor knows them
   * (a next-token loss needs no LM head on padding or on each row's last token); otherwise `x` unchanged.
   */
  lossRows(x: T): T;
  /** Training dropout at one of HF's dropout sites; the identity at evaluation. */
  dropout(x: T): T;
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
