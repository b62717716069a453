/**
 * The plain tensor type every public API returns: a shape and a row-major Float32Array that JavaScript owns
 * (copied out of the kernel memory, so it stays valid after the model runs again).
 *
 * @module
 */

/** A dense row-major f32 tensor. */
export interface Tensor {
  /** Dimensions, outermost first (e.g. [batch, heads, query, key]). */
  readonly shape: readonly number[];
  /** The values, row-major; `data.length` equals the product of `shape`. */
  readonly data: Float32Array;
}

/**
 * The number of elements of a shape.
 *
 * @example Usage
 * ```ts
 * import { numel } from "./tensor.ts";
 * numel([2, 3, 4]); // 24
 * ```
 */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Makes a tensor, checking that the data length matches the shape.
 *
 * @throws {Error} when `data.length` differs from the product of `shape`.
 * @example Usage
 * ```ts
 * import { tensor } from "./tensor.ts";
 * const t = tensor([2, 2], new Float32Array([1, 2, 3, 4]));
 * ```
 */
export function tensor(shape: readonly number[], data: Float32Array): Tensor {
  if (data.length !== numel(shape)) {
    throw new Error(`Tensor data has ${data.length} values but shape [${shape.join(", ")}] needs ${numel(shape)}`);
  }
  return { shape: [...shape], data };
}
