/**
 * Edge-level runs of a pre-norm model: every receiver reads its own residual copy (see `graph.ts`), through the
 * family's own forward pass on the WASM executor — no second forward implementation.
 *
 * How: `model.run({ wrapOps })` hands the family a thin wrapper of the executor ({@linkcode ReceiverSplitOps})
 * that delegates every op and watches four places every pre-norm family passes through: the residual hooks
 * (`resid_pre`, `resid_mid`, and a block's output), a norm applied to one of them (a receiver group reads it:
 * the first in a block is the attention's, the second the MLP's, after the last block the logits'), the head
 * outputs (`linear` of the `z` hook: each head's `result` is that linear on the head's columns alone, without
 * the bias) and `mlp_out`. In a split pass, the norm of an attention group is applied to R = 3·H stacked copies
 * of the residual ([R·B, T, C], copy `p·H + i` is head i's path p), the family's q/k/v projections run on all
 * copies, and the `q`, `k`, `v` hooks gather head i's columns from its own copy back to [B, T, H·D]. Both the
 * stacking and the gather push their backward steps, so one backward gives ∂m/∂(receiver input) for every
 * receiver at once (EAP). The cost: in a gradient pass the copies are equal, so the projection's forward runs
 * once and only its backward runs over the R copies; in an edge-patched pass (no backward) the projection runs
 * over the R copies of a group only where one of its receivers has a patched edge — the price of reusing the
 * family's ops unchanged (the linear op has no per-head weight slices). A group whose receivers all read the
 * residual itself, in a pass without gradients, is not split at all.
 *
 * A receiver's copy in an edge-patched pass (faithfulness, path patching, ACDC): with P the receiver's edges
 * that carry the corrupted value, input = resid − Σ_{u∈P} (out_u − out_u^corr); or, equal in exact
 * arithmetic and cheaper when most edges are patched, input = resid^corr + Σ_{u∉P} (out_u − out_u^corr),
 * where out_u is the sender's output in this same pass (recomputed from its own patched inputs) and
 * resid^corr the residual the corrupted pass gave that receiver.
 *
 * Grouped-query attention (Llama's `num_key_value_heads` < heads): query head h's k and v receivers read their
 * own copies too, so in a split layer k and v are computed per QUERY head — the `k` / `v` gather takes head h's
 * kv head's (h // group) columns from head h's own copy, giving [B, T, H·D] — and the rest of the layer runs as
 * if it had one kv head per query head: the `k`, `v` and `rot_k` hooks are laid out by query head, `rotary`
 * rotates H heads, and `attention` gets kvHeads = H with the identity map. In a gradient pass the copies are
 * equal, so the per-query-head k and v equal the shared ones repeated and m is unchanged; each query head's k and
 * v receivers get its own share of the gradient, and a group's shares sum to the shared kv head's gradient.
 *
 * @module
 */

import { hookName, parseHookName } from "../hooks.ts";
import { keptHeads, kvHeadOfKept, type ModelConfig } from "../models/config.ts";
import type { Batch } from "../models/inputs.ts";
import type { TransformerModel } from "../models/model.ts";
import type { ExecutorOps, HookLayout, LayerNormParams, LinearParams, ModelOps } from "../models/ops.ts";
import type { Act, ActivationPatch, Run } from "../models/run.ts";
import type { WasmOps } from "../models/wasm_ops.ts";
import { MatmulFlags } from "../kernels/types.ts";
import { type OpName, OPS, type OpSignatures } from "../ops/mod.ts";
import type { RmsNormParams } from "../ops/rms_norm.ts";
import type { RotaryAttrs } from "../ops/rotary.ts";
import type { AttentionSpec } from "../ops/attention.ts";
import { makeGraph, type Receiver, type ReceiverPath, type ResidualGraph } from "./graph.ts";
import { metricObjective, type MetricSpec } from "./metric.ts";

/** What one pass recorded. */
export interface PassRecord {
  /** The residual graph the pass met. */
  graph: ResidualGraph;
  /** m of this pass. */
  metric: number;
  /** Per sender (graph order): its output in this pass, [B·T·C] (only when asked). */
  senders: Float32Array[];
  /** Per receiver: the residual stream its group normalised in this pass, [B·T·C] (shared within a group). */
  residuals: Float32Array[];
  /** Per receiver: ∂m/∂(its input), [B·T·C] (only with gradients). */
  grads: Float32Array[];
  /** The last position's logits (only when asked). */
  lastLogits?: Float32Array;
}

/** Which edges of a pass carry their corrupted value, and the corrupted pass they take it from. */
export interface EdgePatch {
  /** The corrupted input's pass, with sender outputs and residuals. */
  corrupted: PassRecord;
  /** Per edge (forward order): 1 = carries the corrupted value (outside the circuit), 0 = this pass's. */
  patched: Uint8Array;
}

/** What a pass computes. */
export interface PassOptions {
  /** Record each sender's output (needed by an edge patch's corrupted pass and by EAP). */
  senders?: boolean;
  /** ∂m/∂(receiver input) for every receiver, from one backward. */
  grads?: boolean;
  /** Feed these edges their corrupted value. */
  patch?: EdgePatch;
  /** Replaces the `input` node's output (the residual entering block 0): EAP-IG's interpolated embeddings. */
  input?: Float32Array;
  /** Also read the last position's logits (ACDC's KL divergence). */
  lastLogits?: boolean;
}

const PATHS: readonly ReceiverPath[] = ["q", "k", "v"];

/**
 * Runs `batch` (one row) through `model` with receivers split as {@linkcode PassOptions} asks.
 *
 * @throws {Error} for a model that is not pre-norm (no receiver reads a residual sum), or a patch whose
 *   corrupted pass met another graph
 */
export function splitPass(
  model: TransformerModel,
  batch: Batch,
  metric: MetricSpec,
  opts: PassOptions = {},
): PassRecord {
  let split: ReceiverSplitOps | undefined;
  let lastLogits: Float32Array | undefined;
  const patch = new Map<string, ActivationPatch>();
  if (opts.input !== undefined) {
    const values = opts.input;
    patch.set(hookName("resid_pre", 0), (v) => {
      if (v.length !== values.length) {
        throw new Error(`The input node's replacement has ${values.length} values, not ${v.length}`);
      }
      v.set(values);
    });
  }
  const T = batch.seqLen;
  const result = model.run({
    batch,
    objective: { ...metricObjective(metric), ...(model.task === "lm" ? { position: [T - 1] } : {}) },
    // a gradient asked by name turns the backward on; the receivers' own gradients are read by the wrapper
    names: opts.grads ? [hookName("resid_pre", 0, true)] : [],
    // the objective limits a language model's logits to the last position: read them where they are
    observe: opts.lastLogits
      ? new Map([[hookName("logits"), (a: Act, run: Run) => (lastLogits = run.readAct(a))]])
      : undefined,
    patch,
    wrapOps: (ops) => (split = new ReceiverSplitOps(ops, model.config, opts)),
  });
  const s = split!;
  if (s.receivers.length === 0) {
    throw new Error(
      `A ${model.family.displayName} model normalises after the residual sum (post-norm): no receiver reads a sum ` +
        `of sender outputs, so it has no edge graph. Use the node-level methods (bertology patch, atp, dla)`,
    );
  }
  const graph = makeGraph(s.nodes, s.receivers);
  if (opts.patch !== undefined) checkSameGraph(graph, opts.patch.corrupted.graph);
  const record: PassRecord = {
    graph,
    metric: result.objective![0]!,
    senders: s.senderOut,
    residuals: s.residuals,
    grads: s.grads,
  };
  if (lastLogits !== undefined) record.lastLogits = lastLogits;
  return record;
}

function checkSameGraph(a: ResidualGraph, b: ResidualGraph): void {
  const same = a.nodes.join() === b.nodes.join() &&
    a.receivers.length === b.receivers.length &&
    a.receivers.every((r, i) => r.node === b.receivers[i]!.node && r.path === b.receivers[i]!.path);
  if (!same) throw new Error("The clean and corrupted passes met different residual graphs");
}

/** A receiver group being read: the attention's (3·H receivers) waits for its q, k, v hooks. */
interface AttentionGroup {
  layer: number;
  heads: number;
  first: number;
}

/**
 * The executor wrapper of a split pass (see the module doc). Delegates every op to the WASM executor and
 * overrides `block`, `hook`, `layerNorm`, `rmsNorm` and `linear` to find senders and receivers.
 */
export class ReceiverSplitOps implements ExecutorOps<Act> {
  /** Senders met so far, in forward order. */
  readonly nodes: string[] = [];
  /** Receivers met so far, in forward order. */
  readonly receivers: Receiver[] = [];
  /** Per sender: its output (when recorded). */
  readonly senderOut: Float32Array[] = [];
  /** Per receiver: the residual its group read. */
  readonly residuals: Float32Array[] = [];
  /** Per receiver: ∂m/∂(its input), filled by the backward. */
  readonly grads: Float32Array[] = [];
  readonly #inner: WasmOps;
  readonly #config: ModelConfig;
  readonly #opts: PassOptions;
  // residual streams (the values of resid hooks and block outputs) → how many senders are summed in them
  readonly #residual = new Map<Act, number>();
  #layer = -1;
  #inBlock = false;
  #normsInBlock = 0;
  #z: { act: Act; layer: number } | undefined;
  #attention: AttentionGroup | undefined;
  // the norm output of the attention group's stacked copies, which the q|k|v projection reads
  #stackedNorm: { act: Act; group: AttentionGroup; shared: boolean } | undefined;
  // a split layer's k and v (and rotated k) laid out by query head: what `rotary` and `attention` must see so
  // (grouped-query attention; see the module doc)
  readonly #perQueryHead = new Set<Act>();

  /**
   * @param inner the executor of this run
   * @param config the model's config (head numbering after pruning)
   * @param opts what the pass computes
   */
  constructor(inner: WasmOps, config: ModelConfig, opts: PassOptions) {
    this.#inner = inner;
    this.#config = config;
    this.#opts = opts;
    this.executor = inner;
  }

  /** The executor every op goes to. */
  readonly executor: WasmOps;

  hasWeight(name: string): boolean {
    return this.#inner.hasWeight(name);
  }

  block(x: Act, body: (x: Act) => Act): Act {
    const out = this.#inner.block(x, (input) => {
      this.#layer++;
      this.#normsInBlock = 0;
      this.#inBlock = true;
      try {
        return body(input);
      } finally {
        this.#inBlock = false;
      }
    });
    this.#residual.set(out, this.nodes.length);
    return out;
  }

  hook(name: string, x: Act, layout?: HookLayout): Act {
    const parsed = parseHookName(name);
    const kind = parsed?.kind;
    const group = this.#attention;
    let value = x, byQueryHead = this.#perQueryHead.has(x);
    if ((kind === "q" || kind === "k" || kind === "v") && group !== undefined && group.layer === parsed!.layer) {
      value = this.#gather(x, group, PATHS.indexOf(kind));
      byQueryHead = kind !== "q";
    }
    // a per-query-head k or v (grouped-query attention) is hooked with the query heads' layout
    const a = byQueryHead
      ? this.#inner.hook(name, value, { heads: value.shape.at(-1)! / this.#config.headDim })
      : this.#inner.hook(name, value, layout);
    if (byQueryHead) this.#perQueryHead.add(a);
    if (kind === "resid_pre" || kind === "resid_mid") {
      if (kind === "resid_pre" && parsed!.layer === 0 && this.nodes.length === 0) this.#send("input", a);
      this.#residual.set(a, this.nodes.length);
    } else if (kind === "z") this.#z = { act: a, layer: parsed!.layer! };
    else if (kind === "mlp_out") this.#send(`m${parsed!.layer}`, a);
    return a;
  }

  linear(x: Act, p: LinearParams): Act {
    const stacked = this.#stackedNorm;
    if (stacked !== undefined && stacked.act === x && stacked.shared) {
      return this.#sharedCopiesLinear(x, p, 3 * stacked.group.heads);
    }
    const y = this.#inner.linear(x, p);
    const z = this.#z;
    if (z !== undefined && z.act === x) {
      // the attention's output projection: each head's own write, `result`, is this linear on its columns alone
      // (no bias) — every head at once, on H copies of z that each keep one head's columns
      this.#z = undefined;
      const heads = keptHeads(this.#config, z.layer);
      const names = heads.map((h) => `a${z.layer}.h${h}`);
      if (!this.#opts.senders && this.#opts.patch === undefined) {
        this.nodes.push(...names);
        return y;
      }
      const run = this.#inner.run, k = run.k, H = heads.length;
      const D = this.#config.headDim, HD = H * D, rows = x.size / HD;
      const own = run.act([H * x.shape[0]!, ...x.shape.slice(1)]);
      for (let i = 0; i < H; i++) {
        for (let r = 0; r < rows; r++) {
          k.copy(own.ptr + 4 * ((i * rows + r) * HD + i * D), x.ptr + 4 * (r * HD + i * D), D);
        }
      }
      const results = this.#inner.linear(own, { weight: p.weight, layout: p.layout });
      const C = results.shape[results.shape.length - 1]!;
      names.forEach((name, i) => {
        this.nodes.push(name);
        this.senderOut.push(run.read(results.ptr + 4 * i * rows * C, rows * C));
      });
    }
    return y;
  }

  rotary(x: Act, attrs: RotaryAttrs): Act {
    if (!this.#perQueryHead.has(x)) return this.#inner.rotary(x, attrs);
    // a split layer's k, one per query head: rotate each head's copy (the rotation is per head and position)
    const y = this.#inner.rotary(x, { ...attrs, heads: x.shape.at(-1)! / attrs.headDim });
    this.#perQueryHead.add(y);
    return y;
  }

  attention(q: Act, k: Act, v: Act, spec: AttentionSpec): Act {
    if (!this.#perQueryHead.has(k)) return this.#inner.attention(q, k, v, spec);
    // k and v of a split layer are per query head: one kv head per query head, read in order
    const { kvHeads: _, kvHeadOf: __, ...mha } = spec;
    this.#perQueryHead.clear();
    return this.#inner.attention(q, k, v, mha);
  }

  layerNorm(x: Act, p: LayerNormParams): Act {
    return this.#normed(x, (input) => this.#inner.layerNorm(input, p));
  }

  rmsNorm(x: Act, p: RmsNormParams): Act {
    return this.#normed(x, (input) => this.#inner.rmsNorm(input, p));
  }

  /** A norm of `x`, applied to the receivers' copies when `x` is a residual stream read by a split group. */
  #normed(x: Act, norm: (input: Act) => Act): Act {
    const before = this.#attention;
    const input = this.#receive(x);
    const y = norm(input);
    if (input !== x && this.#attention !== undefined && this.#attention !== before) {
      this.#stackedNorm = { act: y, group: this.#attention, shared: this.#opts.patch === undefined };
    }
    return y;
  }

  /**
   * The q|k|v projection of an attention group's stacked copies in a gradient pass whose copies all equal the
   * residual (EAP, EAP-IG): the forward projects one copy and repeats it (the values are the same), the backward
   * is the linear's own over every copy — each copy's gradient is nonzero only in the columns its gather read,
   * so dx of copy r is that receiver's alone. In an edge-patched pass the copies differ: the executor's linear
   * projects them all.
   */
  #sharedCopiesLinear(x: Act, p: LinearParams, copies: number): Act {
    const run = this.#inner.run, k = run.k, params = this.#inner.params;
    const W = params.get(p.weight), nnLinear = p.layout === "linear";
    const K = nnLinear ? W.shape[1]! : W.shape[0]!, N = nnLinear ? W.shape[0]! : W.shape[1]!;
    const rows = x.size / K / copies;
    const y = run.output([x.shape[0]!, ...x.shape.slice(1, -1), N]);
    const bias = p.bias === undefined ? 0 : params.f32(params.get(p.bias), 1);
    k.matmul(y.ptr, x.ptr, params.f32(W, 0), bias, rows, K, N, nnLinear ? MatmulFlags.TRANS_B : 0);
    for (let r = 1; r < copies; r++) k.copy(y.ptr + 4 * r * rows * N, y.ptr, rows * N);
    run.derive(y, x);
    run.onBackward(() => {
      if (!run.hasGrad(y) || !run.requiresGrad(x)) return;
      const flags = MatmulFlags.ACCUMULATE | (nnLinear ? 0 : MatmulFlags.TRANS_B);
      k.matmul(run.gradOf(x), run.gradOf(y), params.f32(W, 0), 0, copies * rows, N, K, flags);
    });
    return y;
  }

  /** A sender's output: named, and recorded when asked. */
  #send(node: string, a: Act): void {
    this.nodes.push(node);
    if (this.#opts.senders || this.#opts.patch !== undefined) this.senderOut.push(this.#inner.run.readAct(a));
  }

  /**
   * A norm's input: when it is a residual stream, a receiver group reads it — the block's first norm of one is
   * its attention's (3·H receivers), the second its MLP's, one after the last block the logits'.
   */
  #receive(x: Act): Act {
    const senders = this.#residual.get(x);
    if (senders === undefined) return x;
    const run = this.#inner.run;
    const resid = run.readAct(x);
    const first = this.receivers.length;
    const inBlock = this.#inBlock && this.#normsInBlock < 2;
    if (inBlock && this.#normsInBlock++ === 0) {
      const l = this.#layer, heads = keptHeads(this.#config, l);
      for (const h of heads) for (const path of PATHS) this.receivers.push({ node: `a${l}.h${h}`, path, senders });
      for (let i = 0; i < 3 * heads.length; i++) this.residuals.push(resid);
      // stacked copy p·H + i is receiver first + 3i + p
      const order = PATHS.flatMap((_, p) => heads.map((_, i) => first + 3 * i + p));
      const inputs = this.#inputs(order, resid);
      if (inputs === undefined || heads.length === 0) return x; // no copy needed, or no head left to read one
      this.#attention = { layer: l, heads: heads.length, first };
      return this.#stack(x, inputs, order);
    }
    const node = inBlock ? `m${this.#layer}` : "logits";
    this.receivers.push({ node, path: inBlock ? "mlp" : "logits", senders });
    this.residuals.push(resid);
    const inputs = this.#inputs([first], resid);
    return inputs === undefined ? x : this.#stack(x, inputs, [first]);
  }

  /**
   * The inputs of receivers `order` (`undefined` for one that reads the residual itself); `undefined` when none
   * needs a copy of its own — every receiver reads the residual and no gradient is asked — so the group runs
   * unsplit, at the cost of the plain forward.
   */
  #inputs(order: number[], resid: Float32Array): Array<Float32Array | undefined> | undefined {
    const inputs = order.map((g) => this.#receiverInput(g, resid));
    return !this.#opts.grads && inputs.every((v) => v === undefined) ? undefined : inputs;
  }

  /**
   * The residual copies of receivers `order` stacked along the batch axis, each patched as the pass asks. The
   * backward reads each copy's gradient (EAP) and adds it into the residual's.
   */
  #stack(x: Act, inputs: Array<Float32Array | undefined>, order: number[]): Act {
    const run = this.#inner.run, k = run.k, n = x.size, R = order.length;
    const stacked = run.output([R * x.shape[0]!, ...x.shape.slice(1)]);
    inputs.forEach((own, r) => {
      if (own === undefined) k.copy(stacked.ptr + 4 * r * n, x.ptr, n);
      else k.mem.f32(stacked.ptr + 4 * r * n, n).set(own);
    });
    run.derive(stacked, x);
    if (this.#opts.grads) {
      run.requireGrad(stacked);
      for (const g of order) this.grads[g] = new Float32Array(n);
    }
    run.onBackward(() => {
      if (!run.hasGrad(stacked)) return;
      const d = run.gradOf(stacked);
      if (this.#opts.grads) order.forEach((g, r) => (this.grads[g] = run.read(d + 4 * r * n, n)));
      if (run.requiresGrad(x)) {
        const dx = run.gradOf(x);
        for (let r = 0; r < R; r++) k.add(dx, dx, d + 4 * r * n, n);
      }
    });
    return stacked;
  }

  /** Receiver g's input in an edge-patched pass (`undefined`: the residual itself). See the module doc. */
  #receiverInput(g: number, resid: Float32Array): Float32Array | undefined {
    const patch = this.#opts.patch;
    if (patch === undefined) return undefined;
    const { corrupted, patched } = patch;
    const receiver = this.receivers[g]!, n = receiver.senders;
    const expected = corrupted.graph.receivers[g];
    if (expected?.node !== receiver.node || expected.path !== receiver.path || expected.senders !== n) {
      throw new Error("The clean and corrupted passes met different residual graphs");
    }
    const start = corrupted.graph.edgeStart[g]!;
    let count = 0;
    for (let s = 0; s < n; s++) count += patched[start + s]!;
    if (count === 0) return undefined;
    // (out_u − out_u^corr) summed over the fewer of the patched and the unpatched edges
    const fromCorrupted = count > n - count;
    const out = (fromCorrupted ? corrupted.residuals[g]! : resid).slice();
    const sign = fromCorrupted ? 1 : -1;
    for (let s = 0; s < n; s++) {
      if ((patched[start + s] === 1) === fromCorrupted) continue;
      const mine = this.senderOut[s]!, theirs = corrupted.senders[s]!;
      for (let i = 0; i < out.length; i++) out[i]! += sign * (mine[i]! - theirs[i]!);
    }
    return out;
  }

  /**
   * Query head i's columns of a q, k or v projection of the stacked copies, taken from its own copy (`path`·H + i):
   * [R·B, T, Hp·D] → [B, T, H·D], where Hp is H for q and the layer's kv heads for k and v — under grouped-query
   * attention query head i's k and v are its kv head's columns of its own copy (see the module doc). The backward
   * adds the gradient back into those columns of that copy.
   */
  #gather(x: Act, group: AttentionGroup, path: number): Act {
    const run = this.#inner.run, k = run.k, H = group.heads, D = this.#config.headDim;
    const W = x.shape[x.shape.length - 1]!;
    const R = 3 * H, rows = x.size / W / R;
    const grouped = path > 0 && W !== H * D;
    // the column block each query head reads: its own, or its kv head's (pruned layers keep their kv heads)
    const source = grouped ? kvHeadOfKept(this.#config, group.layer) : [...Array(H).keys()];
    if (!Number.isInteger(rows) || W % D !== 0 || source.some((s) => s < 0 || (s + 1) * D > W)) {
      throw new Error(
        `Edge-level patching cannot read layer ${group.layer}'s ${PATHS[path]} projection: width ${W} is not ` +
          `${grouped ? "the kv heads'" : `${H} heads`} × head size ${D}`,
      );
    }
    const HD = H * D;
    const out = run.output([x.shape[0]! / R, ...x.shape.slice(1, -1), HD]);
    const at = (h: number, row: number) => 4 * (((path * H + h) * rows + row) * x.rowStride + source[h]! * D);
    for (let h = 0; h < H; h++) {
      for (let row = 0; row < rows; row++) k.copy(out.ptr + 4 * (row * HD + h * D), x.ptr + at(h, row), D);
    }
    run.derive(out, x);
    run.onBackward(() => {
      if (!run.hasGrad(out) || !run.requiresGrad(x)) return;
      const d = run.gradOf(out), dx = run.gradOf(x);
      for (let h = 0; h < H; h++) {
        for (let row = 0; row < rows; row++) k.add(dx + at(h, row), dx + at(h, row), d + 4 * (row * HD + h * D), D);
      }
    });
    if (path === 2) this.#attention = this.#stackedNorm = undefined;
    return out;
  }
}

// every other op: the executor's own
export interface ReceiverSplitOps extends OpSignatures<Act> {}
for (const name of Object.keys(OPS) as OpName[]) {
  if (Object.hasOwn(ReceiverSplitOps.prototype, name)) continue;
  Object.defineProperty(ReceiverSplitOps.prototype, name, {
    value: function (this: ReceiverSplitOps, ...args: unknown[]) {
      return (this.executor[name] as (...a: unknown[]) => unknown).apply(this.executor, args);
    },
  });
}

/** The wrapper as the family sees it. */
export type SplitOps = ModelOps<Act>;
