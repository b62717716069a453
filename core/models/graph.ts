/**
 * The explicit computation graph the model files are written in: weights placed once in kernel memory
 * ({@linkcode ParamStore}), and a {@linkcode Run} that executes one forward pass op by op, keeps only the
 * activations that were asked for, and — when asked — records each op's backward on a tape that is replayed in
 * reverse (llm.c's "backward is the forward list reversed").
 *
 * Every op here is one or a few kernel calls on pointers; no op loops over floats in JavaScript.
 *
 * @module
 */

import { type GeluKind, type Kernels, MatmulFlags, type Ptr } from "../kernels/types.ts";
import { hookName } from "../hooks.ts";
import { numel, type Tensor } from "../tensor.ts";

/** An activation living in kernel memory for the duration of a {@linkcode Run}. */
export interface Act {
  /** Where the floats start. */
  readonly ptr: Ptr;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Number of floats. */
  readonly size: number;
}

/** A weight tensor in kernel memory, named as in the HF checkpoint. */
export interface Param {
  /** The HF checkpoint key. */
  readonly name: string;
  /** Where the floats start. */
  readonly ptr: Ptr;
  /** Dimensions as stored in the checkpoint. */
  readonly shape: readonly number[];
  /** Number of floats. */
  readonly size: number;
  /** Gradient buffer (same shape), 0 until {@linkcode ParamStore.enableGrads}. */
  grad: Ptr;
}

/** The model's weights, copied once into kernel memory, addressed by HF checkpoint name. */
export class ParamStore {
  readonly #params = new Map<string, Param>();
  /** The kernels whose memory holds the weights. */
  readonly kernels: Kernels;

  /**
   * Copies `weights` into kernel memory.
   *
   * @param kernels the backend whose memory receives the weights
   * @param weights tensors by HF name
   */
  constructor(kernels: Kernels, weights: Iterable<[string, Tensor]>) {
    this.kernels = kernels;
    for (const [name, t] of weights) {
      const size = numel(t.shape);
      const ptr = kernels.mem.alloc(size * 4);
      kernels.mem.f32(ptr, size).set(t.data);
      this.#params.set(name, { name, ptr, shape: [...t.shape], size, grad: 0 });
    }
  }

  /** Whether a weight of that name exists. */
  has(name: string): boolean {
    return this.#params.has(name);
  }

  /**
   * The weight `name`.
   *
   * @throws {Error} when it does not exist
   */
  get(name: string): Param {
    const p = this.#params.get(name);
    if (p === undefined) throw new Error(`Weight "${name}" is missing`);
    return p;
  }

  /** All weights, in insertion order. */
  all(): Param[] {
    return [...this.#params.values()];
  }

  /** Number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const p of this.#params.values()) n += p.size;
    return n;
  }

  /** Allocates (once) a zeroed gradient buffer for every weight. Call before any Run that needs them. */
  enableGrads(): void {
    for (const p of this.#params.values()) if (p.grad === 0) p.grad = this.kernels.mem.alloc(p.size * 4);
  }

  /** Sets every gradient to zero (backward passes accumulate). */
  zeroGrads(): void {
    for (const p of this.#params.values()) if (p.grad !== 0) this.kernels.fill(p.grad, 0, p.size);
  }

  /** Copies the weights out of kernel memory, by name. */
  toTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const p of this.#params.values()) {
      out.set(p.name, { shape: [...p.shape], data: this.kernels.mem.f32(p.ptr, p.size).slice() });
    }
    return out;
  }

  /** Copies the gradients out (only weights whose gradient is enabled). */
  gradTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const p of this.#params.values()) {
      if (p.grad !== 0) out.set(p.name, { shape: [...p.shape], data: this.kernels.mem.f32(p.grad, p.size).slice() });
    }
    return out;
  }
}

/**
 * Training-time dropout for a {@linkcode Run} (HF's `hidden_dropout_prob` / `resid_pdrop` / `embd_pdrop`).
 * Off unless given: evaluation runs never drop. Attention-probability dropout (`attention_probs_dropout_prob`,
 * `attn_pdrop`) is not applied: the attention kernels keep the probabilities that head importance reads.
 */
export interface DropoutOptions {
  /** Drop probability in [0, 1) for embeddings, block outputs and the classifier input. */
  p: number;
  /** RNG seed: the same seed gives the same masks (each {@linkcode Run.drop} call draws from its own stream). */
  seed: number;
}

/** What a {@linkcode Run} keeps and records. */
export interface RunOptions {
  /** Activation names to copy out (forward values, and `…_grad` names for gradients after backward). */
  keep?: ReadonlySet<string>;
  /** Record the tape so that {@linkcode Run.backward} can run. */
  backward?: boolean;
  /** Accumulate weight gradients during backward (needs {@linkcode ParamStore.enableGrads}). */
  paramGrads?: boolean;
  /** Dropout for {@linkcode Run.drop} (training); none when absent. */
  dropout?: DropoutOptions;
  /** Measure each head's attention entropy (see {@linkcode Run.hookPattern}). */
  entropy?: boolean;
}

/**
 * One pass through a model: allocates activations in kernel memory, copies out what was asked for, and frees
 * everything at {@linkcode Run.dispose}.
 */
export class Run {
  /** The kernels the ops call. */
  readonly k: Kernels;
  /** Whether ops record their backward. */
  readonly recording: boolean;
  /** Whether backward accumulates weight gradients. */
  readonly paramGrads: boolean;
  /** Kept activations (and, after backward, kept gradients), by name. */
  readonly cache: Map<string, Tensor> = new Map();
  readonly #keep: ReadonlySet<string>;
  readonly #mark: number;
  readonly #tape: Array<() => void> = [];
  readonly #grads = new Map<Ptr, Ptr>();
  readonly #gradHooks: Array<{ name: string; act: Act; shape: readonly number[] }> = [];
  #disposed = false;
  readonly #dropout: DropoutOptions | undefined;
  #dropCalls = 0;
  readonly #entropy: Map<number, Float64Array> | undefined;

  /**
   * Starts a run on `kernels` with the given options.
   *
   * @param kernels the backend
   * @param opts what to keep and record
   */
  constructor(kernels: Kernels, opts: RunOptions = {}) {
    this.k = kernels;
    this.#keep = opts.keep ?? new Set();
    this.recording = opts.backward ?? false;
    this.paramGrads = opts.paramGrads ?? false;
    this.#mark = kernels.mem.mark();
    if (opts.dropout && !(opts.dropout.p >= 0 && opts.dropout.p < 1)) {
      throw new Error(`Dropout probability must be in [0, 1), got ${opts.dropout.p}`);
    }
    this.#dropout = opts.dropout && opts.dropout.p > 0 ? opts.dropout : undefined;
    this.#entropy = opts.entropy ? new Map() : undefined;
  }

  /** Whether the activation or gradient `name` was asked for. */
  wants(name: string): boolean {
    return this.#keep.has(name);
  }

  /** Allocates an activation (zero-filled). */
  act(shape: readonly number[]): Act {
    const size = numel(shape);
    return { ptr: this.k.mem.alloc(Math.max(1, size) * 4), shape: [...shape], size };
  }

  /** Allocates an i32 buffer holding `values`. */
  ints(values: ArrayLike<number>): Ptr {
    const ptr = this.k.mem.alloc(Math.max(1, values.length) * 4);
    this.k.mem.i32(ptr, values.length).set(values);
    return ptr;
  }

  /** Allocates an f32 buffer holding `values`. */
  floats(values: ArrayLike<number>): Ptr {
    const ptr = this.k.mem.alloc(Math.max(1, values.length) * 4);
    this.k.mem.f32(ptr, values.length).set(values);
    return ptr;
  }

  /** Copies `n` floats at `ptr` out of kernel memory. */
  read(ptr: Ptr, n: number): Float32Array {
    return this.k.mem.f32(ptr, n).slice();
  }

  /** The gradient buffer of an activation (allocated zeroed on first use). */
  gradOf(a: Act): Ptr {
    let g = this.#grads.get(a.ptr);
    if (g === undefined) {
      g = this.k.mem.alloc(Math.max(1, a.size) * 4);
      this.#grads.set(a.ptr, g);
    }
    return g;
  }

  /** Whether a gradient buffer exists for `a` (something downstream needed it). */
  hasGrad(a: Act): boolean {
    return this.#grads.has(a.ptr);
  }

  /**
   * Names an activation: copies it out if `name` was asked for (with `shape`, defaulting to the act's), and
   * registers it for its gradient if `name_grad` was.
   */
  hook(name: string, a: Act, shape: readonly number[] = a.shape): Act {
    if (this.#keep.has(name)) this.cache.set(name, { shape: [...shape], data: this.read(a.ptr, a.size) });
    if (this.#keep.has(`${name}_grad`)) {
      if (!this.recording) throw new Error(`Gradient "${name}_grad" was asked for without a backward pass`);
      this.#gradHooks.push({ name: `${name}_grad`, act: a, shape });
    }
    return a;
  }

  /** Pushes a backward step (only when recording). */
  onBackward(step: () => void): void {
    if (this.recording) this.#tape.push(step);
  }

  /**
   * Replays the tape in reverse. The caller has seeded the loss gradient (e.g. via {@linkcode Run.gradOf}).
   * Afterwards the gradients asked for are in {@linkcode Run.cache}.
   *
   * @throws {Error} when the run did not record
   */
  backward(): void {
    if (!this.recording) throw new Error("backward() on a run that did not record (pass backward: true)");
    for (let i = this.#tape.length - 1; i >= 0; i--) this.#tape[i]();
    this.#tape.length = 0;
    for (const { name, act, shape } of this.#gradHooks) {
      this.cache.set(name, {
        shape: [...shape],
        data: this.hasGrad(act) ? this.read(this.gradOf(act), act.size) : new Float32Array(act.size),
      });
    }
  }

  /** Frees every activation of this run. Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.k.mem.release(this.#mark);
  }

  /**
   * Starts a block whose intermediate activations can be freed at {@linkcode Run.endScope} when nothing will
   * run backward (inference keeps one block's activations at a time). Allocates the block's output first.
   */
  beginScope(outShape: readonly number[]): { out: Act | undefined; mark: number } {
    if (this.recording) return { out: undefined, mark: -1 };
    const out = this.act(outShape);
    return { out, mark: this.k.mem.mark() };
  }

  /** Ends a block: copies its output `h` below the block's allocations, frees them, returns the copy. */
  endScope(scope: { out: Act | undefined; mark: number }, h: Act): Act {
    if (scope.out === undefined) return h;
    this.k.copy(scope.out.ptr, h.ptr, h.size);
    this.k.mem.release(scope.mark);
    return scope.out;
  }

  /**
   * Names layer `l`'s attention probabilities [B, H, T, T]. What is kept is HF's `attentions`: the
   * probabilities times the head mask (`headMask`: H floats, 0 = all ones). When the run measures entropy,
   * adds each head's −Σ p ln p over non-pad query rows (of the masked probabilities, as HF's script does).
   */
  hookPattern(l: number, probs: Act, headMask: Ptr, H: number, keyMask: Ptr): void {
    const name = hookName("pattern", l);
    const wantEntropy = this.#entropy !== undefined && H > 0;
    if (!this.#keep.has(name) && !wantEntropy) return;
    const [B, , T] = probs.shape;
    let masked = probs;
    if (headMask !== 0) {
      masked = this.act(probs.shape);
      this.k.copy(masked.ptr, probs.ptr, probs.size);
      const m = this.read(headMask, H);
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          const at = masked.ptr + 4 * (b * H + h) * T * T;
          this.k.scale(at, at, m[h], T * T);
        }
      }
    }
    this.hook(name, masked);
    if (wantEntropy) {
      const acc = this.act([H]);
      this.k.attentionEntropy(acc.ptr, masked.ptr, keyMask, B, H, T);
      this.#entropy!.set(l, Float64Array.from(this.read(acc.ptr, H)));
    }
  }

  /** Per-layer head entropies (kept heads only) measured by {@linkcode Run.hookPattern}, when asked for. */
  get entropy(): ReadonlyMap<number, Float64Array> | undefined {
    return this.#entropy;
  }

  // ------------------------------------------------------------------------------------------------- ops

  /**
   * y[rows, N] = x · op(W) + b. `transposed`: W stored [N, K] (nn.Linear); else [K, N] (GPT Conv1D).
   */
  linear(x: Act, W: Param, b: Param | undefined, transposed: boolean): Act {
    const K = transposed ? W.shape[1] : W.shape[0];
    const rows = numel(x.shape.slice(0, -1));
    const N = transposed ? W.shape[0] : W.shape[1];
    const outShape = [...x.shape.slice(0, -1), N];
    const y = this.act(outShape);
    const k = this.k;
    if (K === 0) {
      if (b) k.addBias(y.ptr, y.ptr, b.ptr, rows, N);
    } else {
      k.matmul(y.ptr, x.ptr, W.ptr, b ? b.ptr : 0, rows, K, N, transposed ? MatmulFlags.TRANS_B : 0);
    }
    this.onBackward(() => {
      if (!this.hasGrad(y)) return;
      const dy = this.gradOf(y);
      if (K > 0) {
        // dx += dy · op(W)ᵀ
        k.matmul(
          this.gradOf(x),
          dy,
          W.ptr,
          0,
          rows,
          N,
          K,
          MatmulFlags.ACCUMULATE | (transposed ? 0 : MatmulFlags.TRANS_B),
        );
        if (this.paramGrads && W.grad !== 0) {
          if (transposed) k.matmul(W.grad, dy, x.ptr, 0, N, rows, K, MatmulFlags.TRANS_A | MatmulFlags.ACCUMULATE);
          else k.matmul(W.grad, x.ptr, dy, 0, K, rows, N, MatmulFlags.TRANS_A | MatmulFlags.ACCUMULATE);
        }
      }
      if (this.paramGrads && b && b.grad !== 0) k.biasBackward(b.grad, dy, rows, N);
    });
    return y;
  }

  /**
   * Inverted dropout: y = x · mask, mask = 1/(1 − p) or 0 per element, drawn from (seed, index) by the
   * stateless RNG of `Kernels.dropoutForward`. Returns `x` itself (no op, no tape entry) when p = 0.
   */
  dropout(x: Act, p: number, seed: number): Act {
    if (p === 0) return x;
    const y = this.act(x.shape);
    const mask = this.act(x.shape);
    this.k.dropoutForward(y.ptr, mask.ptr, x.ptr, x.size, p, seed >>> 0);
    this.onBackward(() => {
      if (this.hasGrad(y)) this.k.dropoutBackward(this.gradOf(x), mask.ptr, this.gradOf(y), x.size);
    });
    return y;
  }

  /**
   * Dropout at one of the model's HF dropout sites, with the run's {@linkcode DropoutOptions}: the i-th call of
   * a run uses seed hash(seed, i), so every site draws an independent mask. Returns `x` when the run has none.
   */
  drop(x: Act): Act {
    if (this.#dropout === undefined) return x;
    const i = this.#dropCalls++;
    const seed = (Math.imul(this.#dropout.seed >>> 0, 0x9e3779b1) + Math.imul(i + 1, 0x85ebca77)) >>> 0;
    return this.dropout(x, this.#dropout.p, seed);
  }

  /** y = a + b (same shapes). */
  add(a: Act, b: Act): Act {
    const y = this.act(a.shape);
    this.k.add(y.ptr, a.ptr, b.ptr, a.size);
    this.onBackward(() => {
      if (!this.hasGrad(y)) return;
      const dy = this.gradOf(y);
      const da = this.gradOf(a);
      this.k.add(da, da, dy, a.size);
      const db = this.gradOf(b);
      this.k.add(db, db, dy, b.size);
    });
    return y;
  }

  /** LayerNorm over the last axis. */
  layerNorm(x: Act, weight: Param, bias: Param, eps: number): Act {
    const C = x.shape[x.shape.length - 1];
    const rows = x.size / C;
    const y = this.act(x.shape);
    const mean = this.act([rows]);
    const rstd = this.act([rows]);
    this.k.layerNormForward(y.ptr, mean.ptr, rstd.ptr, x.ptr, weight.ptr, bias.ptr, rows, C, eps);
    this.onBackward(() => {
      if (!this.hasGrad(y)) return;
      const scratchW = this.paramGrads && weight.grad !== 0 ? weight.grad : this.act([C]).ptr;
      const scratchB = this.paramGrads && bias.grad !== 0 ? bias.grad : this.act([C]).ptr;
      this.k.layerNormBackward(
        this.gradOf(x),
        scratchW,
        scratchB,
        this.gradOf(y),
        x.ptr,
        weight.ptr,
        mean.ptr,
        rstd.ptr,
        rows,
        C,
      );
    });
    return y;
  }

  /** GELU (erf or tanh form). */
  gelu(x: Act, kind: GeluKind): Act {
    const y = this.act(x.shape);
    this.k.geluForward(y.ptr, x.ptr, x.size, kind);
    this.onBackward(() => {
      if (this.hasGrad(y)) this.k.geluBackward(this.gradOf(x), x.ptr, this.gradOf(y), x.size, kind);
    });
    return y;
  }

  /** tanh. */
  tanh(x: Act): Act {
    const y = this.act(x.shape);
    this.k.tanhForward(y.ptr, x.ptr, x.size);
    this.onBackward(() => {
      if (this.hasGrad(y)) this.k.tanhBackward(this.gradOf(x), y.ptr, this.gradOf(y), x.size);
    });
    return y;
  }

  /** Rows `table[ids[r]]` for r < rows; `ids` is an i32 buffer. Output [...shape, C]. */
  embedding(table: Param, ids: Ptr, shape: readonly number[]): Act {
    const C = table.shape[1];
    const rows = numel(shape);
    const y = this.act([...shape, C]);
    this.k.embeddingForward(y.ptr, table.ptr, ids, rows, C);
    this.onBackward(() => {
      if (this.paramGrads && table.grad !== 0 && this.hasGrad(y)) {
        this.k.embeddingBackward(table.grad, this.gradOf(y), ids, rows, C);
      }
    });
    return y;
  }

  /** Rows `x[rows[i]]` of x viewed as [N, C] (`rows`: `count` i32 indices) → [count, C]; backward scatter-adds. */
  gatherRows(x: Act, rows: Ptr, count: number): Act {
    const C = x.shape[x.shape.length - 1];
    const y = this.act([count, C]);
    this.k.embeddingForward(y.ptr, x.ptr, rows, count, C);
    this.onBackward(() => {
      if (this.hasGrad(y)) this.k.embeddingBackward(this.gradOf(x), this.gradOf(y), rows, count, C);
    });
    return y;
  }

  /** Row 0 of each batch element of x [B, T, C] → [B, C] (BERT's [CLS] token). */
  firstToken(x: Act): Act {
    const [B, T, C] = x.shape;
    const y = this.act([B, C]);
    for (let b = 0; b < B; b++) this.k.copy(y.ptr + 4 * b * C, x.ptr + 4 * b * T * C, C);
    this.onBackward(() => {
      if (!this.hasGrad(y)) return;
      const dy = this.gradOf(y);
      const dx = this.gradOf(x);
      for (let b = 0; b < B; b++) this.k.add(dx + 4 * b * T * C, dx + 4 * b * T * C, dy + 4 * b * C, C);
    });
    return y;
  }

  /**
   * Multi-head attention over q/k/v that live inside activations at byte offsets (see the kernel contract).
   * Returns the context [B, T, H·D] and the saved (unmasked) probabilities [B, H, T, T].
   * `headMask` / `headMaskGrad`: H floats in kernel memory (0 = none / not wanted).
   */
  attention(
    qkv: { q: [Act, number]; k: [Act, number]; v: [Act, number]; ld: number },
    dims: { B: number; T: number; H: number; D: number; scale: number; causal: boolean },
    keyMask: Ptr,
    headMask: Ptr,
    headMaskGrad: Ptr,
  ): { ctx: Act; probs: Act } {
    const { B, T, H, D, scale, causal } = dims;
    const ctx = this.act([B, T, H * D]);
    const probs = this.act([B, H, T, T]);
    const [qa, qo] = qkv.q, [ka, ko] = qkv.k, [va, vo] = qkv.v;
    if (H > 0) {
      this.k.attentionForward(
        ctx.ptr,
        probs.ptr,
        qa.ptr + qo,
        ka.ptr + ko,
        va.ptr + vo,
        qkv.ld,
        keyMask,
        headMask,
        B,
        T,
        H,
        D,
        scale,
        causal,
      );
    }
    this.onBackward(() => {
      if (H === 0 || !this.hasGrad(ctx)) return;
      const scratch = this.act([T, T]);
      this.k.attentionBackward(
        this.gradOf(qa) + qo,
        this.gradOf(ka) + ko,
        this.gradOf(va) + vo,
        headMaskGrad,
        this.gradOf(ctx),
        probs.ptr,
        qa.ptr + qo,
        ka.ptr + ko,
        va.ptr + vo,
        qkv.ld,
        headMask,
        scratch.ptr,
        B,
        T,
        H,
        D,
        scale,
      );
    });
    return { ctx, probs };
  }

  /**
   * Mean softmax cross-entropy of logits [rows, V] against i32 targets (negative = ignored). Seeds the logits'
   * gradient when recording. Returns the loss and the number of counted rows.
   */
  crossEntropy(logits: Act, targets: Ptr, rows: number, V: number, counted: number): number {
    const losses = this.act([rows]);
    const probs = this.act([rows, V]);
    this.k.crossEntropyForward(losses.ptr, probs.ptr, logits.ptr, targets, rows, V);
    let sum = 0;
    for (const l of this.k.mem.f32(losses.ptr, rows)) sum += l;
    const n = Math.max(1, counted);
    if (this.recording) this.k.crossEntropyBackward(this.gradOf(logits), probs.ptr, targets, rows, V, 1 / n);
    return sum / n;
  }

  /** Mean squared error of predictions [rows] against `targets`; seeds the gradient when recording. */
  mse(pred: Act, targets: ArrayLike<number>): number {
    const p = this.k.mem.f32(pred.ptr, pred.size);
    const diff = new Float32Array(pred.size);
    let sum = 0;
    for (let i = 0; i < pred.size; i++) {
      diff[i] = p[i] - targets[i];
      sum += diff[i] * diff[i];
    }
    if (this.recording) {
      const g = this.gradOf(pred);
      const view = this.k.mem.f32(g, pred.size);
      for (let i = 0; i < pred.size; i++) view[i] += (2 * diff[i]) / pred.size;
    }
    return sum / pred.size;
  }
}
