/**
 * The circuit metric m: logit[target] − logit[distractor] at the last position of a language model (for a
 * classifier, logit[target] − the best other logit of the clean run, then held fixed so that every run of a
 * method measures the same difference).
 *
 * @module
 */

import type { Batch } from "../models/inputs.ts";
import type { LogitObjective, TransformerModel } from "../models/model.ts";

/** Which logit difference m is. */
export interface MetricSpec {
  /** The logit m rewards (a vocabulary id, or a class). */
  target: number;
  /** The logit subtracted from it. */
  distractor: number;
}

/** The objective of `model.run` whose value (and gradient) is m on a one-row batch. */
export function metricObjective(spec: MetricSpec): LogitObjective {
  return { logit: [spec.target], minus: [spec.distractor] };
}

/**
 * Fills in m's logits: the target defaults to the clean run's prediction, the distractor to the clean run's
 * largest other logit (a classifier's rule; for a language model give `--distractor`, e.g. the corrupted
 * answer).
 *
 * @throws {Error} for a model without logits, a batch of more than one row, or a target equal to its distractor
 */
export function resolveMetric(
  model: TransformerModel,
  clean: Batch,
  target?: number,
  distractor?: number,
): MetricSpec {
  if (!model.hasHead) {
    throw new Error("This checkpoint has no logits: the circuit metric needs an LM or classifier head");
  }
  if (clean.batchSize !== 1) throw new Error(`A circuit prompt is one row, got a batch of ${clean.batchSize}`);
  let t = target, d = distractor;
  if (t === undefined || d === undefined) {
    const { logits } = model.run({ batch: clean, names: model.task === "lm" ? ["hook_logits"] : [] });
    const W = logits!.shape[logits!.shape.length - 1]!;
    const last = logits!.data.subarray(logits!.data.length - W);
    const best = (skip: number) => {
      let j = -1;
      for (let i = 0; i < W; i++) if (i !== skip && (j < 0 || last[i]! > last[j]!)) j = i;
      return j;
    };
    t ??= best(-1);
    d ??= best(t);
  }
  if (t === d) throw new Error(`The target and the distractor are the same logit (${t}): m would be 0`);
  return { target: t, distractor: d };
}
