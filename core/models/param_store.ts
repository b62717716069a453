/**
 * The model's weights in kernel memory, placed once and addressed by their Hugging Face checkpoint keys,
 * with gradient buffers when training asks for them.
 *
 * @module
 */

import type { Kernels, Ptr } from "../kernels/types.ts";
import { numel, type Tensor } from "../tensor.ts";

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
