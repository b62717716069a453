/**
 * Lengths after truncation, as Hugging Face `tokenizers`' `truncate_encodings`.
 *
 * @module
 */

import type { TruncationStrategy } from "./types.ts";

/**
 * Computes how many tokens each sequence keeps so that together they fit `maxLength` (special tokens already
 * subtracted). `longest_first` trims the longer one first and, when both must be cut, splits `maxLength` in
 * half (the extra token going to the longer one).
 *
 * @param lenA Tokens in the first sequence.
 * @param lenB Tokens in the second sequence, or `undefined` for a single sequence.
 * @param maxLength Tokens allowed for the sequences.
 * @param strategy Which sequence(s) to cut.
 * @returns The kept lengths `[a, b]` (`b` is 0 for a single sequence).
 * @throws {RangeError} When `only_first`/`only_second` cannot fit by cutting that sequence alone.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(truncatedLengths(10, 3, 8), [5, 3]);
 * deepStrictEqual(truncatedLengths(10, 9, 7), [4, 3]);
 * ```
 */
export function truncatedLengths(
  lenA: number,
  lenB: number | undefined,
  maxLength: number,
  strategy: TruncationStrategy = "longest_first",
): [number, number] {
  if (maxLength < 0) throw new RangeError(`Truncation max length is "${maxLength}", expected at least 0`);
  if (lenB === undefined) return [Math.min(lenA, maxLength), 0];
  if (lenA + lenB <= maxLength) return [lenA, lenB];
  if (strategy === "only_first" || strategy === "only_second") {
    const other = strategy === "only_first" ? lenB : lenA;
    if (other > maxLength) {
      throw new RangeError(
        `Truncation "${strategy}" cannot fit: the other sequence has "${other}" tokens, expected at most "${maxLength}"`,
      );
    }
    return strategy === "only_first" ? [maxLength - lenB, lenB] : [lenA, maxLength - lenA];
  }
  let n1 = lenA;
  let n2 = lenB;
  const swap = n1 > n2;
  if (swap) [n1, n2] = [n2, n1];
  n2 = n1 > maxLength ? n1 : Math.max(n1, maxLength - n1);
  if (n1 + n2 > maxLength) {
    n1 = Math.floor(maxLength / 2);
    n2 = n1 + (maxLength % 2);
  }
  return swap ? [n2, n1] : [n1, n2];
}
