/**
 * Direct logit attribution. In a pre-norm language model the input of the final norm, at the last position, is
 * the sum of its components — the embeddings, each head's `result_{l,h}` (its context vector times its rows of
 * the output projection), each layer's attention-output bias and each MLP output. The final norm is linear in
 * its input once its scale is frozen at the clean run's value, so each component's DLA is its value, centred
 * (LayerNorm; not RMSNorm) and divided by that scale, dotted with γ ⊙ (W_U[:, target] − W_U[:, distractor]);
 * the norm's bias (and an unembedding bias) adds a constant term. The parts sum to m = logit[target] −
 * logit[distractor]; the result carries both so that a caller can print the check.
 *
 * Post-norm models (BERT and kin, OpenAI GPT) end every block in a norm: their final residual stream is no
 * such sum, and DLA is refused for them.
 *
 * @example Usage
 * ```ts
 * import { directLogitAttribution } from "./dla.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const dla = directLogitAttribution(model, { inputIds: [27, 70, 82] }, { target: 5, distractor: 9 });
 * Math.abs(dla.sum - dla.metric) < 1e-4; // true: the parts sum to m
 * ```
 *
 * @module
 */

import { type AttributionInput, repeatedBatch } from "../attribution/input.ts";
import { hookName } from "../hooks.ts";
import { keptHeads } from "../models/config.ts";
import type { TransformerModel } from "../models/model.ts";
import { traceModel } from "../models/trace_ops.ts";
import type { Tensor } from "../tensor.ts";
import { type LogitDiffMetric, metricOf, type MetricOptions, resolveMetric } from "./metric.ts";
import { finalReadout, headOutputRows, outputProjection, readWeight, withWeight } from "./readout.ts";

/** The result of {@linkcode directLogitAttribution}. */
export interface DirectLogitAttribution extends LogitDiffMetric {
  /** m = logit[target] − logit[distractor] at the last position, from the model's own logits. */
  metric: number;
  /** The embeddings' DLA. */
  embed: number;
  /** [L, H] each head's DLA (original numbering; NaN for a pruned head). */
  heads: Tensor;
  /** [L] each MLP output's DLA (its bias included). */
  mlps: Float64Array;
  /** [L] each attention-output bias's DLA (0 where the model has none). */
  attnBias: Float64Array;
  /** The constant term: β · (W_U[:, target] − W_U[:, distractor]) plus the unembedding bias's difference. */
  constant: number;
  /** The sum of every part above: equals `metric` up to rounding. */
  sum: number;
  /** The final norm's scale at the last position of the clean run (1 without a final norm). */
  scale: number;
  /** What the final norm is: `layerNorm` (centred), `rmsNorm`, or `none`. */
  norm: "layerNorm" | "rmsNorm" | "none";
  /** max |final residual − sum of the components| at the last position (the decomposition's own check). */
  residualGap: number;
}

/**
 * Direct logit attribution of every head, MLP, attention-output bias and the embeddings at a language model's
 * last position (see the module doc).
 *
 * @param model a pre-norm language model
 * @param input the (clean) input
 * @param opts target (default the prediction) and distractor (default the next-best token)
 * @throws {Error} for a model that is not a language model, a post-norm model, or a readout that is not a norm
 *   and one linear map
 * @example Usage
 * ```ts
 * import { directLogitAttribution } from "./dla.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const dla = directLogitAttribution(model, { inputIds: [27, 70, 82] });
 * dla.heads.shape; // [3, 4]
 * ```
 */
export function directLogitAttribution(
  model: TransformerModel,
  input: AttributionInput,
  opts: MetricOptions = {},
): DirectLogitAttribution {
  const { config: c, family } = model;
  if (model.task !== "lm") {
    throw new Error(
      `Direct logit attribution reads a language model's last position; this ${family.displayName} model is a ${model.task} model`,
    );
  }
  refusePostNorm(model);
  const readout = finalReadout(model);
  const metric = resolveMetric(model, input, undefined, opts);
  const C = c.hidden, D = c.headDim, L = c.layers, T = input.inputIds.length, t = T - 1;

  const names = [hookName("embed"), hookName("resid_post", L - 1)];
  for (let l = 0; l < L; l++) names.push(hookName("z", l), hookName("mlp_out", l));
  const { cache } = model.run({ batch: repeatedBatch(input), names });
  const lastRow = (name: string) => {
    const v = cache.get(name)!.data, w = v.length / T;
    return v.subarray(t * w, (t + 1) * w);
  };
  const final = lastRow(hookName("resid_post", L - 1));

  // the direction m reads: γ ⊙ (W_U[:, target] − W_U[:, distractor]), and the norm's scale and centring
  const direction = unembedDifference(model, readout.unembed, metric);
  let constant = 0, scale = 1;
  const norm = readout.norm;
  if (readout.unembed.bias !== undefined) {
    const b = readWeight(model, readout.unembed.bias);
    constant += b[metric.target]! - b[metric.distractor]!;
  }
  if (norm !== undefined) {
    const gamma = readWeight(model, norm.weight);
    for (let i = 0; i < C; i++) direction[i]! *= gamma[i]! + norm.offset;
    if (norm.bias !== undefined) {
      const beta = readWeight(model, norm.bias);
      // β was multiplied by nothing: its term is β · ΔW_U, not β · γ ⊙ ΔW_U
      const delta = unembedDifference(model, readout.unembed, metric);
      for (let i = 0; i < C; i++) constant += beta[i]! * delta[i]!;
    }
    scale = norm.kind === "layerNorm" ? Math.sqrt(variance(final) + norm.eps) : Math.sqrt(meanSquare(final) + norm.eps);
  }
  const centred = norm?.kind === "layerNorm";
  let directionSum = 0;
  for (let i = 0; i < C; i++) directionSum += direction[i]!;
  /** A component's DLA: (v − [mean v]) / scale · direction. */
  const dla = (v: ArrayLike<number>) => {
    let dot = 0, mean = 0;
    for (let i = 0; i < C; i++) {
      dot += v[i]! * direction[i]!;
      mean += v[i]!;
    }
    mean /= C;
    return (centred ? dot - mean * directionSum : dot) / scale;
  };

  const sumOfParts = new Float64Array(C); // the components, added up: checked against the final residual
  const add = (v: ArrayLike<number>) => {
    for (let i = 0; i < C; i++) sumOfParts[i]! += v[i]!;
  };
  const embedRow = lastRow(hookName("embed"));
  add(embedRow);
  const embed = dla(embedRow);
  const heads = new Float32Array(L * c.heads).fill(NaN);
  const mlps = new Float64Array(L), attnBias = new Float64Array(L);
  let headSum = 0;
  for (let l = 0; l < L; l++) {
    const proj = outputProjection(model, l);
    const z = lastRow(hookName("z", l)); // [H_l · D] at the last position
    const kept = keptHeads(c, l);
    withWeight(model, proj.weight, (values) => {
      kept.forEach((h, i) => {
        const rows = headOutputRows(values, proj, i, D, C);
        const result = new Float64Array(C); // result_{l,h} = z_{l,h} · W_O[h rows]
        for (let d = 0; d < D; d++) {
          const zd = z[i * D + d]!;
          for (let j = 0; j < C; j++) result[j]! += zd * rows[d * C + j]!;
        }
        add(result);
        const value = dla(result);
        headSum += value;
        heads[l * c.heads + h] = value;
      });
    });
    if (proj.bias !== undefined) {
      const bias = readWeight(model, proj.bias);
      add(bias);
      attnBias[l] = dla(bias);
    }
    const mlp = lastRow(hookName("mlp_out", l));
    add(mlp);
    mlps[l] = dla(mlp);
  }
  let residualGap = 0;
  for (let i = 0; i < C; i++) residualGap = Math.max(residualGap, Math.abs(sumOfParts[i]! - final[i]!));
  let finalNorm = 0;
  for (let i = 0; i < C; i++) finalNorm = Math.max(finalNorm, Math.abs(final[i]!));
  if (residualGap > 1e-3 * Math.max(1, finalNorm)) {
    throw new Error(
      `The ${family.displayName} final residual stream is not the sum of the embeddings, heads, attention biases and MLP outputs (off by ${
        residualGap.toPrecision(3)
      }): direct logit attribution is not defined for it`,
    );
  }

  const logits = model.unembed({ shape: [1, C], data: final.slice() });
  let sum = embed + constant + headSum;
  for (let l = 0; l < L; l++) sum += mlps[l]! + attnBias[l]!;
  return {
    ...metric,
    metric: metricOf(logits.data, logits.shape[1]!, metric),
    embed,
    heads: { shape: [L, c.heads], data: heads },
    mlps,
    attnBias,
    constant,
    sum,
    scale,
    norm: norm?.kind ?? "none",
    residualGap,
  };
}

/**
 * Refuses post-norm models: where the last block's output is made by a norm, the final residual stream is not
 * a sum of components.
 */
function refusePostNorm(model: TransformerModel): void {
  const { family, config } = model;
  const trace = traceModel(family, config, (n) => (model.params.has(n) ? model.params.get(n).shape : undefined));
  const last = trace.hooks.get(hookName("resid_post", config.layers - 1))?.value;
  const maker = trace.ops.find((op) => op.outputs.includes(last ?? -1));
  if (maker === undefined || maker.op === "layerNorm" || maker.op === "rmsNorm") {
    throw new Error(
      `Direct logit attribution is not defined for post-norm models such as this ${family.displayName}: each block ends in a norm, so the final residual stream is not a sum of components`,
    );
  }
}

/** W_U[:, target] − W_U[:, distractor] as float64 [d_model], read in place. */
function unembedDifference(
  model: TransformerModel,
  unembed: { weight: string; layout: "linear" | "conv1d" },
  metric: LogitDiffMetric,
): Float64Array {
  const C = model.config.hidden;
  return withWeight(model, unembed.weight, (w, shape) => {
    const out = new Float64Array(C);
    if (unembed.layout === "linear") { // [V, C]
      for (let i = 0; i < C; i++) out[i] = w[metric.target * C + i]! - w[metric.distractor * C + i]!;
    } else { // [C, V]
      const V = shape[1]!;
      for (let i = 0; i < C; i++) out[i] = w[i * V + metric.target]! - w[i * V + metric.distractor]!;
    }
    return out;
  });
}

function variance(x: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i]!;
  mean /= x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i]! - mean) ** 2;
  return v / x.length;
}

function meanSquare(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! ** 2;
  return s / x.length;
}
