/**
 * Integrated gradients (Sundararajan, Taly & Yan 2017) of a target logit on the token embeddings: the
 * straight path from a baseline x′ to the input x in `steps` midpoint-rule steps, α_k = (k + ½)/steps,
 * attribution_t = Σ_c (x − x′)_{t,c} · mean_k ∂f/∂x_{t,c}(x′ + α_k (x − x′)). The steps run as batches
 * (each row one α, its `embed.hook_tok` patched with the interpolated embeddings), so position and segment
 * embeddings stay the input's. Completeness — Σ attributions = f(x) − f(x′) — holds up to the quadrature
 * error, which is reported.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { TransformerModel } from "../models/model.ts";
import type { Tensor } from "../tensor.ts";
import { type Baseline, resolveBaseline } from "./baseline.ts";
import { type AttributionInput, repeatedBatch, resolveTarget } from "./input.ts";
import { objectiveAt } from "./gradients.ts";

/** Options of {@linkcode integratedGradients}. */
export interface IntegratedGradientsOptions {
  /** The class or next-token id explained; default the predicted one. */
  target?: number;
  /** Midpoint-rule steps (default 50). */
  steps?: number;
  /** The baseline (default: `pad_token_id`'s embedding; see `resolveBaseline` for names). */
  baseline?: Baseline;
  /**
   * Positions whose token the baseline keeps (e.g. `[CLS]` and `[SEP]`, so only the words are taken away);
   * their attribution is then 0. Default none.
   */
  keep?: readonly boolean[];
  /** Rows per forward/backward pass (default 16). */
  batchSize?: number;
}

/** The result of {@linkcode integratedGradients}. */
export interface IntegratedGradients {
  /** The explained class or next-token id. */
  target: number;
  /** Per token: Σ over d_model of its attributions. */
  scores: Float32Array;
  /** Attributions [T, d_model]. */
  attributions: Tensor;
  /** f(x): the target logit on the input. */
  value: number;
  /** f(x′): the target logit on the baseline. */
  baselineValue: number;
  /** Σ scores − (f(x) − f(x′)). */
  gap: number;
  /** |gap| / |f(x) − f(x′)| (the gap itself when f(x) = f(x′)). */
  relativeGap: number;
  /** Steps used. */
  steps: number;
}

/**
 * Integrated gradients of a target logit with respect to the token embeddings.
 *
 * @param model the model
 * @param input the tokenised sequence
 * @param opts target, steps, baseline, kept positions, batch size
 * @throws {Error} naming the option, for bad steps, batch size, `keep` length or baseline token
 * @example Usage
 * ```ts
 * import { integratedGradients } from "./integrated_gradients.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * const ig = integratedGradients(model, { inputIds: [2, 45, 67, 3] }, { steps: 20 });
 * ig.scores.length; // 4
 * ```
 */
export function integratedGradients(
  model: TransformerModel,
  input: AttributionInput,
  opts: IntegratedGradientsOptions = {},
): IntegratedGradients {
  const steps = opts.steps ?? 50;
  const rowsPerPass = opts.batchSize ?? 16;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(rowsPerPass) || rowsPerPass < 1) {
    throw new Error(`batchSize must be a positive integer, got ${rowsPerPass}`);
  }
  const T = input.inputIds.length, C = model.config.embeddingSize; // token embeddings are E wide (ALBERT, ELECTRA: E < d_model)
  if (opts.keep !== undefined && opts.keep.length !== T) {
    throw new Error(`keep has ${opts.keep.length} values for ${T} tokens`);
  }
  const target = resolveTarget(model, input, opts.target);
  const tok = hookName("tok_embed");
  const x = model.run({ batch: repeatedBatch(input), names: [tok] }).cache.get(tok)!.data;
  const x0 = baselineEmbeddings(model, input, x, opts.baseline ?? defaultBaseline(model), opts.keep);

  // f at the ends, and the gradients along the path, all with the token embeddings patched
  const logitAt = (embeddings: Float32Array) =>
    model.run({
      batch: repeatedBatch(input),
      objective: objectiveAt(model, T, [target]),
      patch: new Map([[tok, (v: Float32Array) => v.set(embeddings)]]),
    }).objective![0]!;
  const value = logitAt(x), baselineValue = logitAt(x0);

  const gradSum = new Float64Array(T * C);
  for (let first = 0; first < steps; first += rowsPerPass) {
    const n = Math.min(rowsPerPass, steps - first);
    const fill = (v: Float32Array) => {
      for (let r = 0; r < n; r++) {
        const alpha = (first + r + 0.5) / steps;
        for (let i = 0; i < T * C; i++) v[r * T * C + i] = x0[i]! + alpha * (x[i]! - x0[i]!);
      }
    };
    const g = model.run({
      batch: repeatedBatch(input, n),
      names: [`${tok}_grad`],
      objective: objectiveAt(model, T, Array.from({ length: n }, () => target)),
      patch: new Map([[tok, fill]]),
    }).cache.get(`${tok}_grad`)!.data;
    for (let r = 0; r < n; r++) for (let i = 0; i < T * C; i++) gradSum[i]! += g[r * T * C + i]!;
  }

  const attributions = new Float32Array(T * C);
  const scores = new Float32Array(T);
  let total = 0;
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let c = 0; c < C; c++) {
      const i = t * C + c;
      const a = (x[i]! - x0[i]!) * (gradSum[i]! / steps);
      attributions[i] = a;
      s += a;
    }
    scores[t] = s;
    total += s;
  }
  const delta = value - baselineValue;
  const gap = total - delta;
  return {
    target,
    scores,
    attributions: { shape: [T, C], data: attributions },
    value,
    baselineValue,
    gap,
    relativeGap: delta === 0 ? Math.abs(gap) : Math.abs(gap) / Math.abs(delta),
    steps,
  };
}

/** The default baseline: `pad_token_id`'s embedding (`eos_token_id`'s for models without one), else zeros. */
function defaultBaseline(model: TransformerModel): Baseline {
  try {
    return resolveBaseline(model, undefined, "pad");
  } catch {
    return { kind: "zero" };
  }
}

/** The baseline's token embeddings [T, C]: zeros or one token's row, the input's own where `keep` says so. */
function baselineEmbeddings(
  model: TransformerModel,
  input: AttributionInput,
  x: Float32Array,
  baseline: Baseline,
  keep: readonly boolean[] | undefined,
): Float32Array {
  const T = input.inputIds.length, C = model.config.embeddingSize; // token embeddings are E wide (ALBERT, ELECTRA: E < d_model)
  let out: Float32Array;
  if (baseline.kind === "zero") out = new Float32Array(T * C);
  else {
    const id = baseline.tokenId;
    if (!Number.isInteger(id) || id < 0 || id >= model.config.vocabSize) {
      throw new Error(`baseline tokenId ${id} is outside the vocabulary (0..${model.config.vocabSize - 1})`);
    }
    const tok = hookName("tok_embed");
    const ids = { ...input, inputIds: input.inputIds.map(() => id) };
    out = model.run({ batch: repeatedBatch(ids), names: [tok] }).cache.get(tok)!.data;
  }
  keep?.forEach((k, t) => {
    if (k) out.set(x.subarray(t * C, (t + 1) * C), t * C);
  });
  return out;
}
