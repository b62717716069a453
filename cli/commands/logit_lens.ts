/**
 * `bertology logit-lens --model DIR --text S [--top-k 5]`: a language model's final LayerNorm and unembedding
 * applied to the residual stream after the embeddings and after every layer — per layer and position the
 * top-k next tokens with their probabilities, and the rank of the target (the next input token; at the last
 * position the model's own prediction).
 *
 * @module
 */

import { logitLens } from "@bertology/core/attribution";
import { DTYPE_OPTION, dtypeFlag, numberFlag, openModel, parseFlags, required, UsageError } from "../_common.ts";
import { encodeText } from "./_target.ts";

/** Help text. */
export const LOGIT_LENS_HELP =
  `bertology logit-lens --model DIR --text S [--top-k 5] [--json] [--offline] [--dtype f32|f16]
  The logit lens of a language model (GPT, GPT-2): the final LayerNorm and unembedding applied to the residual
  stream after the embeddings ("embed") and after each layer ("0" … "L-1"). For every layer and position: the
  top-k next tokens and their probabilities, and the rank (0 = top) and probability of the target — the next
  input token, and at the last position the model's own prediction. The last layer's lens is the model's output.
  --json prints {"tokens", "layers", "targets", "top": [layer][position][{"token", "id", "prob"}],
  "target_rank": [layer][position], "target_prob": [layer][position]}.`;

/** Runs the command; returns the exit code. */
export async function logitLensCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    text: { type: "string" },
    "top-k": { type: "string" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    ...DTYPE_OPTION,
  });
  const modelDir = required(values.model, "model");
  const text = required(values.text, "text");
  const k = numberFlag(values["top-k"], "top-k", 5, true);
  if (k < 1) throw new UsageError(`--top-k must be at least 1, got ${k}`);
  const { model, tokenizer } = await openModel(modelDir, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  if (model.task !== "lm") {
    throw new UsageError(`the logit lens is for language models; ${modelDir} is a ${model.task} model`);
  }
  const tok = tokenizer!;
  const { input, tokens } = encodeText(model, tok, text);
  const lens = logitLens(model, input, { topK: k });
  const T = tokens.length;
  const at = (r: number, t: number) =>
    Array.from({ length: k }, (_, i) => {
      const j = (r * T + t) * k + i;
      return { token: tok.idToToken(lens.topIds[j]!), id: lens.topIds[j]!, prob: lens.topProbs[j]! };
    });
  const grid = <V>(f: (r: number, t: number) => V) =>
    lens.layers.map((_, r) => Array.from({ length: T }, (_, t) => f(r, t)));
  if (values.json) {
    console.log(JSON.stringify({
      tokens,
      layers: lens.layers,
      targets: Array.from(lens.targets, (id) => ({ id, token: tok.idToToken(id) })),
      top: grid(at),
      target_rank: grid((r, t) => lens.ranks[r * T + t]!),
      target_prob: grid((r, t) => lens.targetProbs[r * T + t]!),
    }));
    return 0;
  }
  const width = Math.max(8, ...tokens.map((t) => t.length));
  console.log(`top-1 next token per layer (rows) and position (columns); [rank of the target]`);
  console.log(["layer".padEnd(6), ...tokens.map((t) => t.padEnd(width + 6))].join(" "));
  lens.layers.forEach((label, r) => {
    const cells = Array.from({ length: T }, (_, t) => {
      const top = tok.idToToken(lens.topIds[(r * T + t) * k]!);
      return `${top} [${lens.ranks[r * T + t]}]`.padEnd(width + 6);
    });
    console.log([label.padEnd(6), ...cells].join(" "));
  });
  return 0;
}
