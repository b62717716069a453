/**
 * The model's weights in kernel memory, placed once and addressed by their Hugging Face checkpoint keys,
 * with gradient buffers when training asks for them. A weight is stored in F32, or in F16/BF16 (half the
 * bytes) and widened by the `halfToFloat` kernel into a small reusable scratch just before a kernel reads it.
 *
 * @module
 */

import { float32ToBfloat16Bits, float32ToFloat16Bits } from "../checkpoint/half.ts";
import type { Kernels, Ptr } from "../kernels/types.ts";
import { numel, type Tensor } from "../tensor.ts";

/** How a weight is stored in kernel memory. */
export type ParamDtype = "F32" | "F16" | "BF16";

/** Bytes per element of each {@linkcode ParamDtype}. */
const PARAM_BYTES: Record<ParamDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** A weight tensor in kernel memory, named as in the HF checkpoint. */
export interface Param {
  /** The HF checkpoint key. */
  readonly name: string;
  /** Where the stored elements start (f32 only when `dtype` is F32: use {@linkcode ParamStore.f32}). */
  readonly ptr: Ptr;
  /** Dimensions as stored in the checkpoint. */
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** How the elements are stored. */
  readonly dtype: ParamDtype;
  /** Gradient buffer (same shape, f32), 0 until {@linkcode ParamStore.enableGrads}. */
  grad: Ptr;
}

/**
 * Which of the two widening slots a weight goes to: a kernel reads at most two weights at once (a matrix and
 * its bias, a LayerNorm's weight and bias), so `0` takes the first and `1` the second.
 */
export type WideningSlot = 0 | 1;

/** The model's weights, copied once into kernel memory, addressed by HF checkpoint name. */
export class ParamStore {
  readonly #params = new Map<string, Param>();
  /** The kernels whose memory holds the weights. */
  readonly kernels: Kernels;
  /** The widening scratch, per slot (0 until {@linkcode ParamStore.seal}, and when every weight is F32). */
  readonly #scratch: [Ptr, Ptr] = [0, 0];
  /** Elements each scratch slot holds. */
  #capacity: [number, number] = [0, 0];
  #sealed = false;

  /**
   * Copies `weights` into kernel memory as F32 and seals the store; with no weights, an empty store to
   * {@linkcode ParamStore.add} to (a loader streaming a checkpoint), sealed by its model.
   *
   * @param kernels the backend whose memory receives the weights
   * @param weights tensors by HF name
   */
  constructor(kernels: Kernels, weights?: Iterable<[string, Tensor]>) {
    this.kernels = kernels;
    if (weights === undefined) return;
    for (const [name, t] of weights) this.addTensor(name, t, "F32");
    this.seal();
  }

  /**
   * Allocates a weight's storage (zeroed) for the caller to fill through {@linkcode ParamStore.bytes}.
   *
   * @throws {Error} once the store is sealed, or for a name already present
   */
  add(name: string, shape: readonly number[], dtype: ParamDtype): Param {
    if (this.#sealed) throw new Error(`Weight "${name}": the store is sealed (its widening scratch is placed)`);
    if (this.#params.has(name)) throw new Error(`Weight "${name}" is placed twice`);
    const size = numel(shape);
    const ptr = this.kernels.mem.alloc(size * PARAM_BYTES[dtype]);
    const p: Param = { name, ptr, shape: [...shape], size, dtype, grad: 0 };
    this.#params.set(name, p);
    return p;
  }

  /**
   * Adds a weight from f32 values, stored as `dtype` (F16/BF16 round to nearest, ties to even).
   *
   * @throws {Error} as {@linkcode ParamStore.add}, or when the values do not fill the shape
   */
  addTensor(name: string, t: Tensor, dtype: ParamDtype): Param {
    const p = this.add(name, t.shape, dtype);
    if (t.data.length !== p.size) {
      throw new Error(`Weight "${name}": shape [${t.shape}] needs ${p.size} values, got ${t.data.length}`);
    }
    if (dtype === "F32") this.kernels.mem.f32(p.ptr, p.size).set(t.data);
    else {
      const out = new Uint16Array(this.kernels.mem.memory.buffer, p.ptr, p.size);
      const round = dtype === "F16" ? float32ToFloat16Bits : float32ToBfloat16Bits;
      for (let i = 0; i < p.size; i++) out[i] = round(t.data[i]!);
    }
    return p;
  }

  /** The stored bytes of `p` in kernel memory (a fresh view: memory growth detaches older ones). */
  bytes(p: Param): Uint8Array {
    return new Uint8Array(this.kernels.mem.memory.buffer, p.ptr, p.size * PARAM_BYTES[p.dtype]);
  }

  /** Whether some weight is stored in F16/BF16 (and so is widened before use). */
  hasHalfWeights(): boolean {
    return this.all().some((p) => p.dtype !== "F32");
  }

  /**
   * Places the widening scratch after the weights, so that no run's arena can free it: slot 0 fits the largest
   * F16/BF16 weight among `widened` (default: all of them), slot 1 the largest such vector. Idempotent; nothing
   * can be added afterwards.
   *
   * @param widened the weights kernels read whole (matrices, norms); an embedding table read row by row need
   *   not fit — a weight that does not fit is widened into the caller's arena instead
   */
  seal(widened?: ReadonlySet<string>): void {
    if (this.#sealed) return;
    this.#sealed = true;
    let largest = 0, largestVector = 0;
    for (const p of this.#params.values()) {
      if (p.dtype === "F32") continue;
      if (widened === undefined || widened.has(p.name)) largest = Math.max(largest, p.size);
      if (p.shape.length === 1) largestVector = Math.max(largestVector, p.size);
    }
    this.#capacity = [largest, largestVector];
    if (largest > 0) this.#scratch[0] = this.kernels.mem.alloc(4 * largest);
    if (largestVector > 0) this.#scratch[1] = this.kernels.mem.alloc(4 * largestVector);
  }

  /**
   * Where `p`'s values are as f32 for the next kernel call: its own storage when F32, else widened into the
   * scratch `slot` (valid until that slot is widened into again), or — for a weight larger than the slot — into
   * a new allocation at the top of kernel memory, which belongs to the caller's run (freed with it).
   */
  f32(p: Param, slot: WideningSlot): Ptr {
    if (p.dtype === "F32" || p.size === 0) return p.ptr;
    const at = p.size <= this.#capacity[slot] ? this.#scratch[slot] : this.kernels.mem.alloc(4 * p.size);
    this.kernels.halfToFloat(at, p.ptr, 0, p.size, p.dtype === "BF16");
    return at;
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

  /** Bytes the stored weights take in kernel memory (gradients and scratch not counted). */
  storedBytes(): number {
    let n = 0;
    for (const p of this.#params.values()) n += p.size * PARAM_BYTES[p.dtype];
    return n;
  }

  /**
   * Allocates (once) a zeroed gradient buffer for every weight. Call before any Run that needs them.
   *
   * @throws {Error} when a weight is stored in F16/BF16 (training updates F32 weights: load with dtype f32)
   */
  enableGrads(): void {
    const half = this.all().find((p) => p.dtype !== "F32");
    if (half !== undefined) {
      throw new Error(
        `Weight "${half.name}" is stored as ${half.dtype}: weight gradients need F32 weights (dtype f32)`,
      );
    }
    for (const p of this.#params.values()) if (p.grad === 0) p.grad = this.kernels.mem.alloc(p.size * 4);
  }

  /** Sets every gradient to zero (backward passes accumulate). */
  zeroGrads(): void {
    for (const p of this.#params.values()) if (p.grad !== 0) this.kernels.fill(p.grad, 0, p.size);
  }

  /** Copies the weights out of kernel memory as f32, by name (F16/BF16 weights widened exactly). */
  toTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const mark = this.kernels.mem.mark();
    try {
      for (const p of this.#params.values()) {
        out.set(p.name, { shape: [...p.shape], data: this.kernels.mem.f32(this.f32(p, 0), p.size).slice() });
        this.kernels.mem.release(mark);
      }
    } finally {
      this.kernels.mem.release(mark);
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
