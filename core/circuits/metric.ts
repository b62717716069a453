/**
 * The metric every circuit method measures: m = logit[target] − logit[distractor], read at the last position of a
 * language model and on the logits of a classifier (where the distractor defaults to the best other class of the
 * clean run, held fixed so that m stays one differentiable function). Its gradient with respect to any
 * activation comes from one forward and one backward of a two-row batch: row 0 differentiates logit[target],
 * row 1 logit[distractor], and ∂m/∂a is row 0's gradient less row 1's.
 *
 * @example Usage
 * ```ts
 * import { metricGradients, resolveMetric } from "./metric.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const input = { inputIds: [27, 70, 82] };
 * const metric = resolveMetric(model, input, undefined, { target: 5, distractor: 9 });
 * const { m, grads } = metricGradients(model, input, metric, ["blocks.0.hook_mlp_out"]);
 * grads.get("blocks.0.hook_mlp_out")!.shape; // [1, 3, 32]
 * ```
 *
 * @module
 */

import { argmax, type AttributionInput, outputLogits, repeatedBatch } from "../attribution/input.ts";
import type { Batch } from "../models/inputs.ts";
import type { LogitObjective, TransformerModel } from "../models/model.ts";
import type { ActivationPatch } from "../models/run.ts";
import type { Tensor } from "../tensor.ts";

/** m = logit[target] − logit[distractor]. */
export interface LogitDiffMetric {
  /** The class or vocabulary id whose logit counts positively. */
  target: number;
  /** The one it is compared with. */
  distractor: number;
}

/** Which logits m compares; defaults below. */
export interface MetricOptions {
  /** Default: the clean run's prediction. */
  target?: number | undefined;
  /**
   * Default: for a language model the corrupted run's best other token (the clean run's without a corrupted
   * input); for a classifier the clean run's best other class.
   */
  distractor?: number | undefined;
}

/**
 * Resolves and checks target and distractor against the model's logits.
 *
 * @param model a language model or a classifier
 * @param clean the clean input
 * @param corrupted the corrupted input, when the method has one (a language model's default distractor)
 * @param opts target and distractor
 * @throws {Error} for a model m is not defined on (no head, regression, masked LM), ids outside the logits, or
 *   a distractor equal to the target
 * @example Usage
 * ```ts
 * import { resolveMetric } from "./metric.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * resolveMetric(model, { inputIds: [27, 70, 82] }, { inputIds: [27, 71, 82] }); // { target, distractor }
 * ```
 */
export function resolveMetric(
  model: TransformerModel,
  clean: AttributionInput,
  corrupted: AttributionInput | undefined,
  opts: MetricOptions = {},
): LogitDiffMetric {
  checkMetricModel(model);
  const cleanLogits = outputLogits(model, repeatedBatch(clean));
  const W = cleanLogits.width;
  const check = (v: number, field: string) => {
    if (!Number.isInteger(v) || v < 0 || v >= W) {
      const what = model.task === "lm" ? "vocabulary ids" : "classes";
      throw new Error(`${field} ${v} is outside the model's ${W} ${what} (0..${W - 1})`);
    }
    return v;
  };
  if (W < 2) throw new Error("m = logit[target] − logit[distractor] needs at least two logits");
  const target = check(opts.target ?? argmax(cleanLogits.data), "target");
  let distractor = opts.distractor;
  if (distractor === undefined) {
    const from = model.task === "lm" && corrupted !== undefined
      ? outputLogits(model, repeatedBatch(corrupted)).data
      : cleanLogits.data;
    distractor = argmax(from, target);
  }
  check(distractor, "distractor");
  if (distractor === target) throw new Error(`distractor (${distractor}) must differ from target`);
  return { target, distractor };
}

/**
 * Refuses models m is not defined on: a bare encoder (no logits), a regression head (one output), a masked LM
 * (m would need a masked position).
 *
 * @throws {Error} saying why
 * @example Usage
 * ```ts
 * import { checkMetricModel } from "./metric.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * checkMetricModel(model); // a language model: nothing to refuse
 * ```
 */
export function checkMetricModel(model: TransformerModel): void {
  if (!model.hasHead) throw new Error("This checkpoint has no classifier or LM head: it has no logits to compare");
  if (model.task === "regress") throw new Error("A regression model has one output: there is no logit difference");
  if (model.task === "mlm") {
    throw new Error("Masked language models are not supported here: m is read at a language model's last position");
  }
}

/**
 * m of row `row` of row-major logits [rows, width].
 *
 * @example Usage
 * ```ts
 * import { metricOf } from "./metric.ts";
 * metricOf([1, 4, 2], 3, { target: 1, distractor: 2 }); // 2
 * ```
 */
export function metricOf(logits: ArrayLike<number>, width: number, metric: LogitDiffMetric, row = 0): number {
  return logits[row * width + metric.target]! - logits[row * width + metric.distractor]!;
}

/** What {@linkcode metricGradients} returns. */
export interface MetricGradients {
  /** m on the input. */
  m: number;
  /** Each named activation of the input, [1, …]. */
  values: Map<string, Tensor>;
  /** ∂m/∂(each named activation), [1, …]. */
  grads: Map<string, Tensor>;
}

/**
 * m and its gradient with respect to named activations, from one forward and one backward (a two-row batch of
 * the input: row 0 seeds logit[target], row 1 logit[distractor]).
 *
 * @param model a language model or a classifier
 * @param input the input
 * @param metric target and distractor
 * @param names activation names (`blocks.0.attn.hook_z`, …)
 * @param patch patches for the run (each sees both rows)
 * @throws {Error} for a model m is not defined on, or an activation the model does not produce
 * @example Usage
 * ```ts
 * import { metricGradients } from "./metric.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const { grads } = metricGradients(model, { inputIds: [27, 70] }, { target: 5, distractor: 9 }, ["blocks.2.attn.hook_z"]);
 * grads.get("blocks.2.attn.hook_z")!.shape; // [1, 2, 4, 8]
 * ```
 */
export function metricGradients(
  model: TransformerModel,
  input: AttributionInput,
  metric: LogitDiffMetric,
  names: readonly string[],
  patch?: ReadonlyMap<string, ActivationPatch>,
): MetricGradients {
  checkMetricModel(model);
  const resolved = names.map((n) => model.resolveName(n));
  const { cache, objective } = model.run({
    batch: repeatedBatch(input, 2),
    names: [...resolved, ...resolved.map((n) => `${n}_grad`)],
    objective: { logit: [metric.target, metric.distractor] },
    ...(patch ? { patch } : {}),
  });
  const values = new Map<string, Tensor>(), grads = new Map<string, Tensor>();
  resolved.forEach((name, i) => {
    const v = cache.get(name)!, g = cache.get(`${name}_grad`)!;
    const half = v.data.length / 2, shape = [1, ...v.shape.slice(1)];
    values.set(names[i]!, { shape, data: v.data.slice(0, half) });
    const diff = new Float32Array(half);
    for (let j = 0; j < half; j++) diff[j] = g.data[j]! - g.data[half + j]!;
    grads.set(names[i]!, { shape, data: diff });
  });
  return { m: objective![0]! - objective![1]!, values, grads };
}

/** m's two logits, as the edge methods (EAP, faithfulness, path patching, ACDC) name them. */
export type MetricSpec = LogitDiffMetric;

/**
 * The objective of `model.run` whose value (and gradient) is m on a one-row batch.
 *
 * @example Usage
 * ```ts
 * import { metricObjective } from "./metric.ts";
 * metricObjective({ target: 5, distractor: 9 }); // { logit: [5], minus: [9] }
 * ```
 */
export function metricObjective(spec: MetricSpec): LogitObjective {
  return { logit: [spec.target], minus: [spec.distractor] };
}

/**
 * {@linkcode resolveMetric} for a clean and a corrupted one-row batch (the edge methods' inputs).
 *
 * @throws {Error} for a batch of more than one row, or as `resolveMetric`
 * @example Usage
 * ```ts
 * import { resolvePairMetric } from "./metric.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const row = (ids: number[]) => ({ batchSize: 1, seqLen: ids.length, inputIds: Int32Array.from(ids) });
 * resolvePairMetric(model, row([27, 70, 82]), row([27, 71, 82]), { target: 5, distractor: 9 }); // { target: 5, distractor: 9 }
 * ```
 */
export function resolvePairMetric(
  model: TransformerModel,
  clean: Batch,
  corrupted: Batch,
  opts: MetricOptions = {},
): MetricSpec {
  for (const [b, name] of [[clean, "clean"], [corrupted, "corrupted"]] as const) {
    if (b.batchSize !== 1) throw new Error(`A circuit prompt is one row: the ${name} batch has ${b.batchSize}`);
  }
  return resolveMetric(
    model,
    { inputIds: Array.from(clean.inputIds) },
    { inputIds: Array.from(corrupted.inputIds) },
    opts,
  );
}
