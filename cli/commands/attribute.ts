/**
 * `bertology attribute --model DIR --text S [--text-pair S2] --method saliency|grad-input|ig|rollout|flow`:
 * one score per token for the target logit (a classifier's predicted class, a language model's predicted next
 * token, or `--target`). Integrated gradients report their relative completeness gap; rollout and flow give
 * the output position's row (`[CLS]` for a classifier, the last token for a language model).
 *
 * @module
 */

import {
  attentionFlow,
  attentionRollout,
  BASELINE_KINDS,
  type BaselineKind,
  integratedGradients,
  outputPosition,
  resolveBaseline,
  resolveTarget,
  tokenGradients,
  wordScores,
  wordSpans,
} from "@bertology/core/attribution";
import { DTYPE_OPTION, dtypeFlag, numberFlag, openModel, parseFlags, required, UsageError } from "../_common.ts";
import { encodeText, parseTarget, specialPositions, targetName } from "./_target.ts";

/** The methods `--method` takes. */
export const ATTRIBUTION_METHODS = ["saliency", "grad-input", "ig", "rollout", "flow"] as const;

/** Help text. */
export const ATTRIBUTE_HELP =
  `bertology attribute --model DIR --text S [--text-pair S2] --method saliency|grad-input|ig|rollout|flow
                    [--steps 50] [--baseline pad|zero|mask] [--target LABEL] [--json] [--offline] [--dtype f32|f16]
  One score per token for the target logit (default: the predicted class, or a language model's predicted
  next token; --target takes a class index or label, or a token id or token):
    saliency    ‖∂logit/∂token embedding‖₂
    grad-input  Σ over the hidden dimension of ∂logit/∂embedding · embedding
    ig          integrated gradients from a baseline (the [PAD] embedding by default; position and segment
                embeddings kept; special tokens kept), --steps midpoint-rule steps; prints the relative
                completeness gap |Σ scores − (f(x) − f(baseline))| / |f(x) − f(baseline)|
    rollout     attention rollout (Abnar & Zuidema 2020): the output position's row of Π (0.5·Ā + 0.5·I)
    flow        attention flow: each token's max-flow to the output position through the layers
  The output position is [CLS] for a classifier, the last token for a language model.
  --json prints {"tokens", "target", "scores", "completeness_gap"?, "method", "words"}.`;

/** Runs the command; returns the exit code. */
export async function attributeCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    text: { type: "string" },
    "text-pair": { type: "string" },
    method: { type: "string" },
    steps: { type: "string" },
    baseline: { type: "string" },
    target: { type: "string" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    ...DTYPE_OPTION,
  });
  const modelDir = required(values.model, "model");
  const text = required(values.text, "text");
  const method = required(values.method, "method") as (typeof ATTRIBUTION_METHODS)[number];
  if (!ATTRIBUTION_METHODS.includes(method)) {
    throw new UsageError(`--method must be one of ${ATTRIBUTION_METHODS.join(", ")}, got "${values.method}"`);
  }
  const steps = numberFlag(values.steps, "steps", 50, true);
  if (steps < 1) throw new UsageError(`--steps must be at least 1, got ${steps}`);
  const baselineKind = (values.baseline ?? "pad") as BaselineKind;
  if (!BASELINE_KINDS.includes(baselineKind)) {
    throw new UsageError(`--baseline must be one of ${BASELINE_KINDS.join(", ")}, got "${values.baseline}"`);
  }
  for (const f of ["steps", "baseline"] as const) {
    if (values[f] !== undefined && method !== "ig") throw new UsageError(`--${f} is for --method ig`);
  }
  const { model, tokenizer } = await openModel(modelDir, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  if (!model.hasHead) throw new Error(`${modelDir} has no classifier or LM head: there is no logit to explain`);
  const tok = tokenizer!;
  const { input, tokens, encoding } = encodeText(model, tok, text, values["text-pair"]);
  const target = resolveTarget(model, input, parseTarget(model, tok, values.target));

  let scores: Float32Array;
  let gap: number | undefined;
  if (method === "saliency" || method === "grad-input") {
    const g = tokenGradients(model, input, { target });
    scores = method === "saliency" ? g.saliency : g.gradInput;
  } else if (method === "ig") {
    const ig = integratedGradients(model, input, {
      target,
      steps,
      baseline: resolveBaseline(model, tok, baselineKind),
      keep: specialPositions(tok, input.inputIds),
    });
    scores = ig.scores;
    gap = ig.relativeGap;
  } else scores = (method === "rollout" ? attentionRollout : attentionFlow)(model, input).scores;

  const spans = wordSpans(encoding, text, values["text-pair"]);
  const perWord = wordScores(scores, spans);
  const words = spans.map((w, i) => ({ text: w.text, tokens: [w.start, w.end], score: perWord[i]! }));
  if (values.json) {
    console.log(JSON.stringify({
      tokens,
      target,
      scores: Array.from(scores),
      ...(gap === undefined ? {} : { completeness_gap: gap }),
      method,
      words,
    }));
    return 0;
  }
  const where = method === "rollout" || method === "flow"
    ? ` at position ${outputPosition(model, tokens.length)} (${tokens[outputPosition(model, tokens.length)]})`
    : "";
  console.log(`${method} for target ${target} (${targetName(model, tok, target)})${where}`);
  const width = Math.max(5, ...tokens.map((t) => t.length));
  tokens.forEach((t, i) => console.log(`${String(i).padStart(4)}  ${t.padEnd(width)}  ${scores[i]!.toFixed(6)}`));
  if (gap !== undefined) console.log(`completeness gap (relative): ${(100 * gap).toFixed(4)} %`);
  return 0;
}
