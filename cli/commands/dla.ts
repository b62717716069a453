/**
 * `bertology dla --model DIR --text S --target T --distractor D`: direct logit attribution at a language model's
 * last position — each head's, MLP's, attention-output bias's and the embeddings' share of m = logit[target] −
 * logit[distractor] through the final norm (its scale frozen at this run's value), plus the norm bias's constant;
 * the parts sum to m, and the command prints both.
 *
 * @module
 */

import { directLogitAttribution } from "@bertology/core/circuits";
import { DTYPE_OPTION, dtypeFlag, formatTable, openModel, parseFlags, required } from "../_common.ts";
import { encodeText, parseTarget, targetName } from "./_target.ts";

/** Help text. */
export const DLA_HELP =
  `bertology dla --model DIR --text S [--target T] [--distractor D] [--json] [--offline] [--dtype f32|f16]
  Direct logit attribution of a pre-norm language model (GPT-2; Llama, GPT-NeoX, GPT-Neo) at the last position.
  The input of the final norm is the sum of the embeddings, each head's result (its context vector times its rows
  of the output projection), each layer's attention-output bias and each MLP output; a component's DLA is its
  value, centred (LayerNorm; not RMSNorm) and divided by the final norm's scale from this run, dotted with
  γ ⊙ (W_U[:, target] − W_U[:, distractor]); the norm's bias adds a constant. The parts sum to
  m = logit[target] − logit[distractor] (printed with the difference). --target / --distractor take a token id or
  a token (default: the prediction and the next-best token). Post-norm models (BERT and kin, OpenAI GPT) are
  refused: their final residual stream is not a sum of components.
  --json prints {"metric", "embed", "heads": [L][H], "mlps": [L], "attn_bias": [L], "constant"} (pruned heads null).`;

/** Runs the command; returns the exit code. */
export async function dlaCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    text: { type: "string" },
    target: { type: "string" },
    distractor: { type: "string" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    ...DTYPE_OPTION,
  });
  const modelDir = required(values.model, "model");
  const text = required(values.text, "text");
  const { model, tokenizer } = await openModel(modelDir, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  const tok = tokenizer!;
  const { input, tokens } = encodeText(model, tok, text);
  const dla = directLogitAttribution(model, input, {
    target: parseTarget(model, tok, values.target),
    distractor: parseTarget(model, tok, values.distractor, "distractor"),
  });
  const { layers: L, heads: H } = model.config;
  if (values.json) {
    console.log(JSON.stringify({
      metric: dla.metric,
      embed: dla.embed,
      heads: Array.from({ length: L }, (_, l) => Array.from(dla.heads.data.subarray(l * H, (l + 1) * H))),
      mlps: Array.from(dla.mlps),
      attn_bias: Array.from(dla.attnBias),
      constant: dla.constant,
    }));
    return 0;
  }
  const name = (i: number) => targetName(model, tok, i);
  console.log(`tokens: ${tokens.join(" ")}`);
  console.log(
    `m = logit[${dla.target} (${name(dla.target)})] − logit[${dla.distractor} (${name(dla.distractor)})] = ${
      dla.metric.toFixed(6)
    }   (final ${dla.norm}, scale ${dla.scale.toPrecision(6)})`,
  );
  console.log(formatTable("direct logit attribution per head (NaN: pruned)", dla.heads.data, L, H, 4));
  console.log(`MLP:                    ${Array.from(dla.mlps, (v, l) => `${l}: ${v.toFixed(4)}`).join("  ")}`);
  console.log(`attention-output bias:  ${Array.from(dla.attnBias, (v, l) => `${l}: ${v.toFixed(4)}`).join("  ")}`);
  console.log(`embeddings: ${dla.embed.toFixed(4)}   norm-bias constant: ${dla.constant.toFixed(4)}`);
  console.log(
    `sum of the parts ${dla.sum.toFixed(6)} = m ${dla.metric.toFixed(6)} (difference ${
      Math.abs(dla.sum - dla.metric).toExponential(1)
    })`,
  );
  return 0;
}
