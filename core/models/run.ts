/**
 * One pass through a model in kernel memory: an arena of activations freed together at the end, the
 * activations kept by name, and — when gradients are wanted — a tape of backward steps replayed in reverse
 * (llm.c's "backward is the forward list reversed"). The ops that use it live in `wasm_ops.ts`.
 *
 * @module
 */

import type { Kernels, Ptr } from "../kernels/types.ts";
import { numel, type Tensor } from "../tensor.ts";

/**
 * An activation in kernel memory for the duration of a {@linkcode Run}: `shape` floats whose rows (vectors
 * along the last axis) are `rowStride` floats apart. A view into a wider activation (q, k or v inside a fused
 * projection) has `base` and `offset` set; its gradient lives at the same offset in the base's gradient.
 */
export interface Act {
  /** Where the first float is. */
  readonly ptr: Ptr;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Number of floats (of the view, not of its base). */
  readonly size: number;
  /** Floats from one row to the next (the last dimension, for a contiguous activation). */
  readonly rowStride: number;
  /** The activation a view lives in. */
  readonly base?: Act;
  /** The view's first float, counted from its base's. */
  readonly offset?: number;
}

/**
 * Training-time dropout for a {@linkcode Run} (HF's `hidden_dropout_prob` / `resid_pdrop` / `embd_pdrop`).
 * Off unless given: evaluation runs never drop. Attention-probability dropout (`attention_probs_dropout_prob`,
 * `attn_pdrop`) is not applied: the attention kernels keep the probabilities that head importance reads.
 */
export interface DropoutOptions {
  /** Drop probability in [0, 1) for embeddings, block outputs and the classifier input. */
  p: number;
  /** RNG seed: the same seed gives the same masks (each dropout site draws from its own stream). */
  seed: number;
}

/**
 * Called with an activation in kernel memory, by name, while the run is on: lets an analysis reduce an
 * activation where it lives (attention entropy over [B, H, T, T]) instead of copying it out.
 */
export type ActivationObserver = (value: Act, run: Run) => void;

/**
 * Replaces an activation's values for the rest of the pass (activation patching, ablation, interpolated
 * inputs): called with a copy of the values (dense, in the hook's shape), edits it in place. The edited copy
 * is a constant of the pass: gradients reach it (`name_grad`) but stop there.
 */
export type ActivationPatch = (values: Float32Array, shape: readonly number[]) => void;

/** What a {@linkcode Run} keeps and records. */
export interface RunOptions {
  /** Activation names to copy out (forward values, and `…_grad` names for gradients after backward). */
  keep?: ReadonlySet<string>;
  /** Observers by activation name (see {@linkcode ActivationObserver}). */
  observe?: ReadonlyMap<string, ActivationObserver>;
  /** Patches by activation name (see {@linkcode ActivationPatch}). */
  patch?: ReadonlyMap<string, ActivationPatch>;
  /** Record the tape so that {@linkcode Run.backward} can run. */
  backward?: boolean;
  /** Accumulate weight gradients during backward (needs `ParamStore.enableGrads`). */
  paramGrads?: boolean;
  /** Dropout at the model's dropout sites (training); none when absent. */
  dropout?: DropoutOptions;
  /**
   * Whether a recording run keeps each block's activations for backward (`off`), keeps only each block's input and
   * recomputes the block when its backward runs (`on`), or decides at the first block from its measured cost
   * and `memoryBudget` (`auto`, the default). Results are bit-identical either way (see {@linkcode Run.scoped}).
   */
  recompute?: RecomputeMode;
  /** For `auto`: the kernel-memory bytes (weights included) the pass may plan for; `Infinity` when absent. */
  memoryBudget?: number;
  /** For `auto`: how many blocks the forward runs (the first block's cost is multiplied by it); 1 when absent. */
  blocks?: number;
}

/**
 * How a recording run treats each block's activations: `off` keeps them, `on` recomputes them from the block's
 * input when its backward runs, `auto` chooses under a memory budget (see {@linkcode RunOptions.recompute}).
 */
export type RecomputeMode = "on" | "off" | "auto";

/** A gradient kept by name: the activation it is of, read after backward (or, in a recomputed block, at its end). */
interface GradHook {
  name: string;
  act: Act;
  shape: readonly number[];
  /** Read already: the activation lived in a recomputed block, freed after its backward. */
  data?: Float32Array;
}

/**
 * What a recomputed block replays: the patched values its first pass made, the op outputs it kept
 * ({@linkcode Run.keepForReplay}), and its gradients kept by name.
 */
interface Replay {
  patches: Float32Array[];
  patchesUsed: number;
  kept: Act[];
  keptUsed: number;
  hooks: GradHook[];
  hooksBound: number;
}

/** One pass through a model: its arena, kept activations, observers and backward tape. */
export class Run {
  /** The kernels the ops call. */
  readonly k: Kernels;
  /** Whether ops record their backward. */
  readonly recording: boolean;
  /** Whether backward accumulates weight gradients. */
  readonly paramGrads: boolean;
  /** Dropout of this run, if any. */
  readonly dropout: DropoutOptions | undefined;
  /** Kept activations (and, after backward, kept gradients), by name. */
  readonly cache: Map<string, Tensor> = new Map();
  /** The batch's key mask, f32 [B, T] (1 = real token), once the inputs are placed; observers read it. */
  keyMask: Ptr = 0;
  readonly #keep: ReadonlySet<string>;
  readonly #observe: ReadonlyMap<string, ActivationObserver>;
  readonly #patch: ReadonlyMap<string, ActivationPatch>;
  readonly #mark: number;
  readonly #tape: Array<() => void> = [];
  readonly #grads = new Map<Ptr, Ptr>();
  // activations (by base pointer) that depend on something differentiated: only their gradients are computed
  readonly #needsGrad = new Set<Ptr>();
  readonly #gradHooks: GradHook[] = [];
  readonly #recompute: RecomputeMode;
  readonly #memoryBudget: number;
  readonly #blocks: number;
  #recomputed = 0;
  // for auto: kernel memory the pass needs beside the blocks' (a vocabulary head's logits), see Run.reserve
  #reserved = 0;
  // auto: decided from the first block's measured cost; undefined until then
  #recomputeBlocks: boolean | undefined;
  // the patched values and kept op outputs of a block's first pass, for its recomputation (undefined outside one)
  #capture: Float32Array[] | undefined;
  #captureActs: Act[] | undefined;
  // set while a block is recomputed: its hooks replay instead of emitting again
  #replay: Replay | undefined;
  #disposed = false;

  /**
   * Starts a run on `kernels` with the given options.
   *
   * @param kernels the backend
   * @param opts what to keep, observe and record
   */
  constructor(kernels: Kernels, opts: RunOptions = {}) {
    this.k = kernels;
    this.#keep = opts.keep ?? new Set();
    this.#observe = opts.observe ?? new Map();
    this.#patch = opts.patch ?? new Map();
    this.recording = opts.backward ?? false;
    this.paramGrads = opts.paramGrads ?? false;
    this.#mark = kernels.mem.mark();
    if (opts.dropout && !(opts.dropout.p >= 0 && opts.dropout.p < 1)) {
      throw new Error(`Dropout probability must be in [0, 1), got ${opts.dropout.p}`);
    }
    this.dropout = opts.dropout && opts.dropout.p > 0 ? opts.dropout : undefined;
    this.#recompute = opts.recompute ?? "auto";
    if (!["on", "off", "auto"].includes(this.#recompute)) {
      throw new Error(`recompute must be "on", "off" or "auto", got ${JSON.stringify(opts.recompute)}`);
    }
    this.#memoryBudget = opts.memoryBudget ?? Infinity;
    if (!(this.#memoryBudget > 0)) {
      throw new Error(`memoryBudget must be a positive number of bytes, got ${opts.memoryBudget}`);
    }
    this.#blocks = opts.blocks ?? 1;
    this.#recomputeBlocks = this.#recompute === "auto" ? undefined : this.#recompute === "on";
  }

  /**
   * Sets aside kernel memory that the pass needs after its blocks, beside their activations — a language model's
   * [rows, vocab] logits, their softmax and their gradient — so that `auto` counts it when it decides at the first
   * block. Call before the first block.
   *
   * @param bytes kernel-memory bytes to count
   */
  reserve(bytes: number): void {
    this.#reserved += bytes;
  }

  /** How many blocks this run's backward recomputes (so far): 0 when every block kept its activations. */
  get recomputedBlocks(): number {
    return this.#recomputed;
  }

  /** Whether the activation `name` (or its gradient) is kept or observed: ops may skip work otherwise. */
  wants(name: string): boolean {
    return this.#keep.has(name) || this.#keep.has(`${name}_grad`) || this.#observe.has(name) || this.#patch.has(name);
  }

  /** Allocates a contiguous activation (zero-filled). */
  act(shape: readonly number[]): Act {
    return this.#newAct(shape, true);
  }

  /**
   * A new activation that is not zeroed: for the output of a kernel that writes every element (zeroing the
   * forward activations cost ≈ 4 % of an importance pass, more on a shared memory).
   */
  output(shape: readonly number[]): Act {
    return this.#newAct(shape, false);
  }

  #newAct(shape: readonly number[], zeroed: boolean): Act {
    const size = numel(shape), bytes = Math.max(1, size) * 4;
    const rowStride = shape.length > 0 ? shape[shape.length - 1]! : 1;
    const ptr = zeroed ? this.k.mem.alloc(bytes) : this.k.mem.allocUninitialized(bytes);
    return { ptr, shape: [...shape], size, rowStride };
  }

  /**
   * A view of `columns` floats of each row of `a`, starting at column `first` (q, k, v in a fused projection).
   */
  view(a: Act, first: number, columns: number): Act {
    const rows = a.size / a.rowStride;
    const base = a.base ?? a;
    const offset = (a.offset ?? 0) + first;
    return {
      ptr: a.ptr + 4 * first,
      shape: [...a.shape.slice(0, -1), columns],
      size: rows * columns,
      rowStride: a.rowStride,
      base,
      offset,
    };
  }

  /** Whether `a` is laid out densely (not a strided view). */
  isContiguous(a: Act): boolean {
    return a.rowStride === (a.shape.length > 0 ? a.shape[a.shape.length - 1] : 1);
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

  /** Copies an activation (or a strided view, row by row) out of kernel memory. */
  readAct(a: Act, ptr: Ptr = a.ptr): Float32Array {
    if (this.isContiguous(a)) return this.read(ptr, a.size);
    const C = a.shape[a.shape.length - 1]!, rows = a.size / C;
    const out = new Float32Array(a.size);
    const mem = this.k.mem.f32(ptr, (rows - 1) * a.rowStride + C);
    for (let r = 0; r < rows; r++) out.set(mem.subarray(r * a.rowStride, r * a.rowStride + C), r * C);
    return out;
  }

  /** The gradient buffer of an activation (allocated zeroed on first use; a view's lies inside its base's). */
  gradOf(a: Act): Ptr {
    if (a.base !== undefined) return this.gradOf(a.base) + 4 * a.offset!;
    let g = this.#grads.get(a.ptr);
    if (g === undefined) {
      g = this.k.mem.alloc(Math.max(1, a.size) * 4);
      this.#grads.set(a.ptr, g);
    }
    return g;
  }

  /**
   * Whether backward must compute `a`'s gradient: weight gradients are on (every activation depends on the
   * weights), or `a` depends on an activation whose gradient was asked for or on a head mask being
   * differentiated ({@linkcode Run.requireGrad}, {@linkcode Run.derive}). Ops skip the others' gradients, so
   * a pass wanting only head-mask gradients runs no backward below the lowest layer it differentiates.
   */
  requiresGrad(a: Act): boolean {
    return this.recording && (this.paramGrads || this.#needsGrad.has((a.base ?? a).ptr));
  }

  /** Marks `a` as needing its gradient (it is differentiated, or feeds something that is). */
  requireGrad(a: Act): void {
    if (this.recording) this.#needsGrad.add((a.base ?? a).ptr);
  }

  /** Marks `y` as needing its gradient when any of the activations it is computed from does. */
  derive(y: Act, ...inputs: Act[]): void {
    if (this.recording && inputs.some((x) => this.requiresGrad(x))) this.requireGrad(y);
  }

  /** Whether a gradient buffer exists for `a` (something downstream needed it). */
  hasGrad(a: Act): boolean {
    return this.#grads.has((a.base ?? a).ptr);
  }

  /**
   * Names an activation: replaces it by its patch if `name` has one, copies it out if `name` was asked for
   * (reported with `shape`, by default the act's), hands it to an observer of `name`, and registers it for
   * its gradient if `name_grad` was asked. Returns the activation to use downstream.
   */
  hook(name: string, act: Act, shape: readonly number[] = act.shape): Act {
    if (this.#replay !== undefined) return this.#replayHook(this.#replay, name, act);
    let a = act;
    const patch = this.#patch.get(name);
    if (patch !== undefined) {
      const values = this.readAct(a);
      patch(values, shape);
      a = this.act(a.shape);
      this.k.mem.f32(a.ptr, a.size).set(values);
      this.#capture?.push(values.slice()); // a recomputed block uses these values again, without patching again
    }
    if (this.#keep.has(name)) this.cache.set(name, { shape: [...shape], data: this.readAct(a) });
    const observer = this.#observe.get(name);
    if (observer !== undefined) observer(a, this);
    if (this.#keep.has(`${name}_grad`)) {
      if (!this.recording) throw new Error(`Gradient "${name}_grad" was asked for without a backward pass`);
      this.requireGrad(a);
      this.#gradHooks.push({ name: `${name}_grad`, act: a, shape });
    }
    return a;
  }

  /**
   * A hook met while a block is recomputed: it was kept, observed and patched in the block's first pass, so it
   * is not emitted again — a patch gives the values it gave then, and a gradient kept by name is bound to the
   * recomputed activation (read once the block's backward is done).
   */
  #replayHook(replay: Replay, name: string, act: Act): Act {
    let a = act;
    if (this.#patch.has(name)) {
      const values = replay.patches[replay.patchesUsed++];
      if (values === undefined) throw new Error(`Recomputing a block: "${name}" was not patched in its first pass`);
      a = this.act(a.shape);
      this.k.mem.f32(a.ptr, a.size).set(values);
    }
    if (this.#keep.has(`${name}_grad`)) {
      const hook = replay.hooks[replay.hooksBound++];
      if (hook?.name !== `${name}_grad`) {
        throw new Error(`Recomputing a block: "${name}_grad" was not met in its first pass`);
      }
      this.requireGrad(a);
      hook.act = a;
    }
    return a;
  }

  /**
   * Offers an op's output to the block being run, in case it is recomputed: the value is then kept beside the
   * block's output, and {@linkcode Run.replayed} hands it back when the block runs again, so the op is not
   * computed twice. For outputs that cost little memory and much compute (a projection to fewer features than
   * it reads: the MLP's output projection keeps C floats a row and spares C·I multiply-adds).
   */
  keepForReplay(y: Act): void {
    if (this.#captureActs === undefined) return;
    if (!this.isContiguous(y) || y.base !== undefined) throw new Error("keepForReplay: needs a dense activation");
    this.#captureActs.push(y);
  }

  /**
   * While a block is recomputed: the next output its first pass offered to {@linkcode Run.keepForReplay} (an op
   * calls both at the same point, so the order matches); `undefined` otherwise.
   *
   * @throws {Error} when the block's second pass asks for more than its first kept
   */
  replayed(): Act | undefined {
    const replay = this.#replay;
    if (replay === undefined) return undefined;
    const a = replay.kept[replay.keptUsed++];
    if (a === undefined) throw new Error("Recomputing a block: an op asks for an output its first pass did not keep");
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
    for (let i = this.#tape.length - 1; i >= 0; i--) this.#tape[i]!();
    this.#tape.length = 0;
    for (const hook of this.#gradHooks) {
      this.cache.set(hook.name, { shape: [...hook.shape], data: this.#gradData(hook) });
    }
  }

  /** A kept gradient's values (zeros where nothing downstream needed it). */
  #gradData(hook: GradHook): Float32Array {
    if (hook.data !== undefined) return hook.data;
    return this.hasGrad(hook.act) ? this.readAct(hook.act, this.gradOf(hook.act)) : new Float32Array(hook.act.size);
  }

  /**
   * Replaces the tape's steps from `start` (one block's) by one step that runs them below a mark and then frees
   * every gradient buffer they allocated. Only the block input's gradient outlives the block's backward (the
   * output's and the weights' and head mask's were allocated before), so it is placed first, below the mark.
   */
  #scopedBackward(start: number, input: Act): void {
    const steps = this.#tape.splice(start);
    if (steps.length === 0) return;
    this.#tape.push(() => {
      this.gradOf(input);
      const mark = this.k.mem.mark();
      for (let i = steps.length - 1; i >= 0; i--) steps[i]!();
      for (const [act, grad] of this.#grads) if (grad >= mark) this.#grads.delete(act);
      this.k.mem.release(mark);
    });
  }

  /** Frees every activation of this run. Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.k.mem.release(this.#mark);
  }

  /**
   * Runs a block whose intermediate activations are freed when it returns, unless the run records (backward
   * needs them). The block's output is allocated first and its value copied there. When recording, the block's
   * backward frees its own gradient buffers once done instead, so a backward pass holds one block's gradients
   * at a time (a block that keeps a `…_grad` by name keeps its buffers to the end).
   *
   * With recomputation (`recompute: "on"`, or `"auto"` over the budget) a recording run frees the block's
   * activations too, keeping only its input and output, and runs `body` again when the block's backward comes:
   * the same kernels on the same values, so every result is bit-identical to keeping them. Hooks are not
   * emitted twice (kept values and observers see the first pass only; a patch is not called again, its values
   * are reused), and dropout draws the same masks when the body starts its site count where it did
   * (`WasmOps.block`). `body` must therefore be pure in the run's state: callable again, giving the same ops.
   *
   * @param outShape the block's output shape (its input's)
   * @param body the block (may run twice when recording)
   * @param input the block's input: when recording, its gradient is placed before the block's are
   */
  scoped(outShape: readonly number[], body: () => Act, input?: Act): Act {
    if (this.recording && input !== undefined && this.#recomputeBlocks !== false) {
      return this.#checkpointed(outShape, body, input);
    }
    if (this.recording) {
      const tapeStart = this.#tape.length, hooksStart = this.#gradHooks.length;
      return this.#stored(body(), tapeStart, hooksStart, input);
    }
    const out = this.output(outShape); // the block's result is copied over it in full
    const mark = this.k.mem.mark();
    const h = body();
    if (!this.isContiguous(h) || h.size !== out.size) {
      throw new Error("A block must return a dense activation of its input's shape");
    }
    this.k.copy(out.ptr, h.ptr, h.size);
    this.k.mem.release(mark);
    return out;
  }

  /** A recording block whose activations stay for backward: its backward frees its own gradient buffers. */
  #stored(h: Act, tapeStart: number, hooksStart: number, input: Act | undefined): Act {
    // a gradient kept by name is read after the whole backward: a block holding one keeps its buffers
    if (input !== undefined && this.#gradHooks.length === hooksStart) this.#scopedBackward(tapeStart, input);
    return h;
  }

  /**
   * A recording block that may be recomputed: runs it, and — unless `auto` finds at the first block that every
   * block's activations fit the budget — copies its output below its activations, frees them, and pushes one
   * backward step that runs the block again from its input and then the block's backward. The first pass emits
   * the block's hooks (kept, observed, patched); the second replays them silently. (The last block is recomputed
   * too: kept, its activations would lie under the head's until the end of the pass, adding to the peak.)
   */
  #checkpointed(outShape: readonly number[], body: () => Act, input: Act): Act {
    const tapeStart = this.#tape.length, hooksStart = this.#gradHooks.length;
    const out = this.output(outShape); // the block's result is copied over it in full
    const mark = this.k.mem.mark();
    const patches: Float32Array[] = [], offered: Act[] = [];
    this.#capture = patches;
    this.#captureActs = offered;
    let h: Act;
    try {
      h = body();
    } finally {
      this.#capture = undefined;
      this.#captureActs = undefined;
    }
    if (this.#recomputeBlocks === undefined) {
      // auto: every block's activations as the first one's, one block's gradients and the reserve (the head's
      // logits), against the budget
      const cost = this.k.mem.mark() - mark;
      this.#recomputeBlocks = mark + (this.#blocks + 1) * cost + this.#reserved > this.#memoryBudget;
      if (!this.#recomputeBlocks) return this.#stored(h, tapeStart, hooksStart, input);
    }
    if (!this.isContiguous(h) || h.size !== out.size) {
      throw new Error("A block must return a dense activation of its input's shape");
    }
    this.k.copy(out.ptr, h.ptr, h.size);
    const needsGrad = this.requiresGrad(h);
    this.#tape.length = tapeStart; // the second pass records the block's backward again
    const hooks = this.#gradHooks.slice(hooksStart);
    this.#forget(mark);
    this.k.mem.release(mark);
    // the kept op outputs move down to where the block's activations began, beside its output (no copy through
    // JavaScript: that garbage would add to the peak): each lands at or below where it lay, in allocation order,
    // so a forward copy never overwrites one not yet moved
    const kept = offered.map((a) => {
      const moved = this.output(a.shape);
      this.k.copy(moved.ptr, a.ptr, a.size);
      return moved;
    });
    if (needsGrad) this.requireGrad(out);
    this.#recomputed++;
    this.#tape.push(() => this.#recomputeBackward(body, input, out, { patches, kept, hooks }));
    return out;
  }

  /**
   * The backward step of a recomputed block: runs the block again from its input (recording), gives the
   * recomputed output the kept output's gradient, replays the block's backward steps, reads the gradients kept
   * by name, and frees the block's activations and gradient buffers. Only the input's gradient outlives it — in
   * the output gradient's buffer, spent by then, when nothing else had started the input's: one [B, T, C]
   * gradient then passes down the blocks instead of one per block piling up.
   */
  #recomputeBackward(
    body: () => Act,
    input: Act,
    out: Act,
    { patches, kept, hooks }: { patches: Float32Array[]; kept: Act[]; hooks: GradHook[] },
  ): void {
    if (!this.hasGrad(out)) {
      for (const hook of hooks) hook.data = new Float32Array(hook.act.size); // nothing downstream: all zero
      return;
    }
    const below = this.k.mem.mark(), started = this.hasGrad(input);
    const dInput = this.gradOf(input); // outlives the block's backward: placed below its buffers
    const mark = this.k.mem.mark();
    const tapeStart = this.#tape.length;
    this.#replay = { patches, patchesUsed: 0, kept, keptUsed: 0, hooks, hooksBound: 0 };
    let h: Act;
    try {
      h = body();
    } finally {
      this.#replay = undefined;
    }
    const steps = this.#tape.splice(tapeStart);
    const dOut = this.gradOf(out);
    if (h.ptr >= mark) this.#grads.set(h.ptr, dOut); // the recomputed output's gradient is the kept output's
    else {
      const dh = this.gradOf(h); // a block that returns a value from before it (its input): add, do not alias
      this.k.add(dh, dh, dOut, h.size);
    }
    for (let i = steps.length - 1; i >= 0; i--) steps[i]!();
    for (const hook of hooks) hook.data = this.#gradData(hook);
    this.#forget(mark);
    this.k.mem.release(mark);
    // every use of the output lies after the block: its gradient is complete, read, and now dead
    if (!started && input.base === undefined && input.ptr !== out.ptr && input.size === out.size) {
      this.k.copy(dOut, dInput, input.size);
      this.#grads.delete(out.ptr);
      this.#grads.set(input.ptr, dOut);
      this.k.mem.release(below);
    }
  }

  /** Drops what the run knows about activations and gradient buffers at or above `mark`, about to be freed. */
  #forget(mark: number): void {
    for (const [act, grad] of this.#grads) if (act >= mark || grad >= mark) this.#grads.delete(act);
    for (const act of this.#needsGrad) if (act >= mark) this.#needsGrad.delete(act);
  }
}
