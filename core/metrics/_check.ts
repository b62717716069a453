/**
 * Input checks shared by the metrics.
 *
 * @module
 */

/**
 * Checks that `a` and `b` have the same non-zero length (and at least `min` elements).
 *
 * @param name The metric name, for the error message.
 * @param a Predictions (or x).
 * @param b Labels (or y).
 * @param min The smallest allowed length.
 * @throws {Error} When the lengths differ or are below `min`.
 */
export function checkPair(name: string, a: ArrayLike<number>, b: ArrayLike<number>, min = 1): void {
  if (a.length !== b.length) {
    throw new Error(`${name}() got inputs of different lengths ${a.length} and ${b.length}: expected equal lengths`);
  }
  if (a.length < min) {
    throw new Error(`${name}() got ${a.length} values: expected at least ${min}`);
  }
}
