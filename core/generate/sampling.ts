/**
 * Picking the next token from a language model's logits: greedy (temperature 0: the first largest logit), or a
 * draw from the softmax of logits / temperature restricted as HF's logits warpers restrict it — top-k first (the k largest logits, ties at the k-th kept), then top-p (the smallest set of most probable
 * tokens whose probability reaches p). Draws come from a seeded generator the caller owns: the same seed gives
 * the same tokens.
 *
 * @module
 */

import { argmax } from "../attribution/input.ts";

/** How {@linkcode pickToken} chooses. */
export interface SamplingOptions {
  /** 0: greedy (default); > 0: sample from softmax(logits / temperature). */
  temperature?: number;
  /** Sample among the k most likely tokens only; 0 or absent: no limit. */
  topK?: number;
  /** Sample among the most likely tokens whose probabilities sum to at least p, in (0, 1]; absent or 1: all. */
  topP?: number;
}

/**
 * Checks sampling options, naming the option at fault.
 *
 * @throws {Error} for a negative or non-finite temperature, a top-k that is not a non-negative integer, or a
 *   top-p outside (0, 1]
 * @example Usage
 * ```ts
 * import { checkSampling } from "./sampling.ts";
 * checkSampling({ temperature: 0.8, topK: 40, topP: 0.95 }); // no error
 * ```
 */
export function checkSampling(opts: SamplingOptions): void {
  const { temperature = 0, topK = 0, topP = 1 } = opts;
  if (!(Number.isFinite(temperature) && temperature >= 0)) {
    throw new Error(`temperature must be a number ≥ 0 (0 = greedy), got ${temperature}`);
  }
  if (!(Number.isInteger(topK) && topK >= 0)) throw new Error(`topK must be an integer ≥ 0 (0 = off), got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`topP must be in (0, 1] (1 = off), got ${topP}`);
}

/**
 * The tokens sampling may draw and their probabilities (summing to 1): softmax(logits / temperature) over the
 * top-k, then the top-p of those, renormalised — HF's `TopKLogitsWarper` then `TopPLogitsWarper`. Ordered from
 * most to least probable (ties by id).
 *
 * @param logits one position's logits [vocab]
 * @param opts temperature (> 0), topK, topP
 * @returns the candidate ids and their probabilities
 * @example Usage
 * ```ts
 * import { candidates } from "./sampling.ts";
 * const logits = Float32Array.from([Math.log(0.1), Math.log(0.4), Math.log(0.3), Math.log(0.2)]);
 * candidates(logits, { temperature: 1, topP: 0.6 }).ids; // [1, 2]: 0.4 + 0.3 reaches 0.6
 * candidates(logits, { temperature: 1, topK: 3 }).ids; // [1, 2, 3]
 * ```
 */
export function candidates(logits: ArrayLike<number>, opts: SamplingOptions): { ids: number[]; probs: number[] } {
  const temperature = opts.temperature ?? 1, topK = opts.topK ?? 0, topP = opts.topP ?? 1;
  const order = Array.from({ length: logits.length }, (_, i) => i)
    .filter((i) => !Number.isNaN(logits[i]!))
    .sort((a, b) => logits[b]! - logits[a]! || a - b);
  let ids = order;
  if (topK > 0 && topK < ids.length) {
    const kth = logits[ids[topK - 1]!]!;
    ids = ids.filter((i) => logits[i]! >= kth); // HF keeps every logit tied with the k-th
  }
  const max = logits[ids[0]!]!;
  let weights = ids.map((i) => Math.exp((logits[i]! - max) / temperature));
  let sum = weights.reduce((a, b) => a + b, 0);
  if (topP < 1) {
    // the smallest prefix of the most probable tokens whose probability reaches p (at least one token)
    let cum = 0, keep = 0;
    while (keep < ids.length && (keep === 0 || cum < topP * sum)) cum += weights[keep++]!;
    ids = ids.slice(0, keep);
    weights = weights.slice(0, keep);
    sum = cum;
  }
  return { ids, probs: weights.map((w) => w / sum) };
}

/**
 * The next token: greedy at temperature 0, else a draw (one uniform from `random`) among
 * {@linkcode candidates}.
 *
 * @param logits one position's logits [vocab]
 * @param opts temperature, topK, topP (checked with {@linkcode checkSampling})
 * @param random uniforms in [0, 1) (a seeded generator: `mulberry32(seed)`); unused when greedy
 * @example Usage
 * ```ts
 * import { pickToken } from "./sampling.ts";
 * import { mulberry32 } from "../rng.ts";
 * const logits = Float32Array.from([1, 3, 2]);
 * pickToken(logits, {}, mulberry32(0)); // 1
 * pickToken(logits, { temperature: 1, topK: 1 }, mulberry32(7)); // 1: top-1 leaves one token
 * ```
 */
export function pickToken(logits: ArrayLike<number>, opts: SamplingOptions, random: () => number): number {
  if ((opts.temperature ?? 0) === 0) return argmax(logits);
  const { ids, probs } = candidates(logits, opts);
  const u = random();
  let cum = 0;
  for (let i = 0; i < ids.length; i++) {
    cum += probs[i]!;
    if (u < cum) return ids[i]!;
  }
  return ids[ids.length - 1]!; // rounding left the sum a hair under u
}
