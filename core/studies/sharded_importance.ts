/**
 * Head importance sharded over machines: the importance sums of a shard as partial-results JSON, their sum,
 * the fingerprint of a dataset's batches, and iterative masking run as rounds.
 *
 * Masking's steps depend on each other (step k masks the heads step k − 1 ranked least important), so a sharded
 * masking study runs in rounds: round K is one importance pass over every shard under round K's mask, and
 * its merged sums are appended to the rounds before it. The mask of round K is never stored: it is recomputed
 * by replaying the engine-independent masking loop (`maskingLoop`) over the merged sums of rounds 0 … K − 1,
 * so a sharded study takes exactly the decisions a single run takes. {@linkcode replayMaskingRounds} does it.
 *
 * @module
 */

import {
  importanceFromPartials,
  type ImportancePartial,
  type ImportanceResult,
  type LabelledBatch,
} from "../bertology/importance.ts";
import { maskingLoop, type MaskingOptions, type MaskingResult, type PassRequest } from "../bertology/masking.ts";
import type { ModelConfig } from "../models/config.ts";
import { decodeCount, decodeFloats, digestParts, encodeFloats } from "./partial.ts";

/** An {@linkcode ImportancePartial} as JSON (the `sums` of a `heads` partial-results file). */
export interface ImportancePartialJson {
  /** Σ |∂L/∂mask| per head, float64. */
  raw: (number | string)[];
  /** Σ entropy per head, float64. */
  entropy: (number | string)[];
  /** Non-pad tokens. */
  tokens: number;
  /** Examples. */
  examples: number;
  /** Σ mean loss × predictions, float64. */
  loss_sum: number | string;
  /** Predictions. */
  predictions: number;
  /** Batches. */
  batches: number;
  /** [row, prediction, label] per example of a classifier or regressor. */
  outputs: [number, number | string, number | string][];
}

/**
 * Writes importance sums as JSON (float64 exactly).
 *
 * @param p The sums.
 * @returns The JSON value.
 * @example Usage
 * ```ts ignore
 * const json = importancePartialToJson(computeHeadImportancePartial(model, batches));
 * ```
 */
export function importancePartialToJson(p: ImportancePartial): ImportancePartialJson {
  return {
    raw: encodeFloats(p.raw),
    entropy: encodeFloats(p.entropy),
    tokens: p.tokens,
    examples: p.examples,
    loss_sum: encodeFloats([p.lossSum])[0]!,
    predictions: p.predictions,
    batches: p.batches,
    outputs: p.outputs.map((o) => [o.row, encodeFloats([o.pred])[0]!, encodeFloats([o.label])[0]!]),
  };
}

/**
 * Reads importance sums written by {@linkcode importancePartialToJson}.
 *
 * @param value The JSON value.
 * @param where The file and field, for messages.
 * @param heads Heads in all (layers × heads), which both arrays must have.
 * @returns The sums.
 * @throws {Error} naming `where` and the field when a value is missing or malformed
 * @example Usage
 * ```ts ignore
 * const p = importancePartialFromJson(partial.sums, "out/shard-0-of-4/partial.json sums", 32);
 * ```
 */
export function importancePartialFromJson(value: unknown, where: string, heads: number): ImportancePartial {
  const o = (value ?? {}) as Record<string, unknown>;
  if (!Array.isArray(o.outputs)) throw new Error(`${where}.outputs must be an array of [row, pred, label]`);
  const outputs = o.outputs.map((x, i) => {
    const [row, pred, label] = decodeFloats(x, `${where}.outputs[${i}]`, 3);
    return { row: decodeCount(row, `${where}.outputs[${i}][0]`), pred: pred!, label: label! };
  });
  return {
    raw: decodeFloats(o.raw, `${where}.raw`, heads),
    entropy: decodeFloats(o.entropy, `${where}.entropy`, heads),
    tokens: decodeCount(o.tokens, `${where}.tokens`),
    examples: decodeCount(o.examples, `${where}.examples`),
    lossSum: decodeFloats([o.loss_sum], `${where}.loss_sum`)[0]!,
    predictions: decodeCount(o.predictions, `${where}.predictions`),
    batches: decodeCount(o.batches, `${where}.batches`),
    outputs,
  };
}

/**
 * Adds importance sums (shards in order) into one: the same additions {@linkcode importanceFromPartials} makes,
 * so finishing the sum gives the same numbers as finishing the parts.
 *
 * @param parts The shards' sums.
 * @returns Their sum.
 * @throws {Error} when the parts have different head counts, or there is none
 * @example Usage
 * ```ts ignore
 * const round = sumImportancePartials([shard0, shard1]);
 * ```
 */
export function sumImportancePartials(parts: readonly ImportancePartial[]): ImportancePartial {
  const first = parts[0];
  if (first === undefined) throw new Error("No importance sums to add");
  const n = first.raw.length;
  const out: ImportancePartial = {
    raw: new Float64Array(n),
    entropy: new Float64Array(n),
    tokens: 0,
    examples: 0,
    lossSum: 0,
    predictions: 0,
    batches: 0,
    outputs: [],
  };
  for (const p of parts) {
    if (p.raw.length !== n) throw new Error(`Importance sums of ${p.raw.length} and ${n} heads cannot be added`);
    for (let i = 0; i < n; i++) {
      out.raw[i]! += p.raw[i]!;
      out.entropy[i]! += p.entropy[i]!;
    }
    out.tokens += p.tokens;
    out.examples += p.examples;
    out.lossSum += p.lossSum;
    out.predictions += p.predictions;
    out.batches += p.batches;
    out.outputs.push(...p.outputs);
  }
  return out;
}

/**
 * The fingerprint of a dataset's batches: SHA-256 of every batch's ids, masks, segment ids, labels and rows, in
 * order — equal exactly when two processes would run the same passes.
 *
 * @param batches The whole dataset's batches (before sharding).
 * @returns The hex digest.
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { batchesFingerprint } from "./sharded_importance.ts";
 * const batch = { batchSize: 1, seqLen: 2, inputIds: Int32Array.of(2, 3) };
 * strictEqual((await batchesFingerprint([{ batch, labels: Int32Array.of(1) }])).length, 64);
 * ```
 */
export async function batchesFingerprint(batches: readonly LabelledBatch[]): Promise<string> {
  const parts: (string | ArrayBufferView)[] = [];
  for (const { batch, labels, rows } of batches) {
    parts.push(`${batch.batchSize}x${batch.seqLen}`, batch.inputIds);
    parts.push(batch.attentionMask ?? "", batch.tokenTypeIds ?? "");
    parts.push(typeof labels === "string" ? labels : Float64Array.from(labels as ArrayLike<number>));
    parts.push(rows === undefined ? "" : Int32Array.from(rows));
  }
  return await digestParts(parts);
}

/**
 * The batches of a dataset with `rows` filled in (the examples each row is, counted over the whole dataset), so
 * a shard that runs some of them still puts every prediction at its place in the dataset.
 *
 * @param batches The whole dataset's batches.
 * @returns The same batches, each naming its rows.
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { withRows } from "./sharded_importance.ts";
 * const batch = { batchSize: 2, seqLen: 1, inputIds: Int32Array.of(5, 6) };
 * deepStrictEqual(withRows([{ batch, labels: "lm" }, { batch, labels: "lm" }])[1]!.rows, [2, 3]);
 * ```
 */
export function withRows(batches: readonly LabelledBatch[]): LabelledBatch[] {
  let seen = 0;
  return batches.map((b) => {
    const rows = b.rows ?? Array.from({ length: b.batch.batchSize }, (_, i) => seen + i);
    seen += b.batch.batchSize;
    return { ...b, rows };
  });
}

/** One merged round of a sharded masking study: the summed importance pass and its seconds. */
export interface MaskingRound {
  /** The pass's sums over every shard. */
  sums: ImportancePartial;
  /** Seconds the round's shards took, added. */
  seconds: number;
}

/** Where a masking study stands after some rounds. */
export type MaskingReplay =
  | {
    /** More rounds are needed. */
    done: false;
    /** The next round's number (= rounds merged so far). */
    round: number;
    /** The pass it runs: its mask and normalisations. */
    request: PassRequest;
  }
  | {
    /** The study is over. */
    done: true;
    /** Its outcome, as `maskHeadsIteratively` returns it. */
    result: MaskingResult;
  };

/**
 * Replays the masking loop over merged rounds: which pass round K = `rounds.length` runs, or the outcome when
 * the loop is over. Each round's sums are finished with the normalisations the loop asked for.
 *
 * @param config The model's config (sizes, pruned heads).
 * @param opts The masking options, with the score function.
 * @param rounds The merged rounds so far, in order.
 * @returns The next round, or the result.
 * @throws {Error} when there are more rounds than the loop asks for
 * @example Usage
 * ```ts ignore
 * const next = replayMaskingRounds(model.config, { threshold: 0.9, score }, []);
 * next.done === false && next.request.headMask; // round 0: every head
 * ```
 */
export function replayMaskingRounds(
  config: Pick<ModelConfig, "layers" | "heads" | "prunedHeads" | "task">,
  opts: MaskingOptions,
  rounds: readonly MaskingRound[],
): MaskingReplay {
  const loop = maskingLoop(config as ModelConfig, opts);
  let next = loop.next();
  for (const [k, round] of rounds.entries()) {
    if (next.done) throw new Error(`The masking study ended after round ${k - 1}, but round ${k} was merged too`);
    const r: ImportanceResult = importanceFromPartials(config, [round.sums], next.value);
    next = loop.next({ r, seconds: round.seconds });
  }
  return next.done ? { done: true, result: next.value } : { done: false, round: rounds.length, request: next.value };
}
