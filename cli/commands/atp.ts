/**
 * `bertology atp --model DIR --clean S --corrupted S2`: attribution patching — the gradient estimate
 * Σ_positions (a_clean − a_corrupted) · ∂m/∂a of every head's z and every MLP output, from one forward and one
 * backward of the corrupted input — beside exact activation patching and their correlation.
 *
 * @module
 */

import { attributionPatching } from "@bertology/core/circuits";
import { DTYPE_OPTION, dtypeFlag, formatTable, openModel, parseFlags, required, UsageError } from "../_common.ts";
import { encodeText, parseTarget, targetName } from "./_target.ts";

/** Help text. */
export const ATP_HELP =
  `bertology atp --model DIR --clean S --corrupted S2 [--target T] [--distractor D] [--positions] [--json]
             [--offline] [--dtype f32|f16]
  Attribution patching (Nanda 2023; AtP, Kramár et al. 2024): for every head's context vector z and every MLP
  output a, AtP = Σ_positions (a_clean − a_corrupted) · ∂m/∂a on the corrupted run, with
  m = logit[target] − logit[distractor] at the last position (a classifier: its logits) — one forward and one
  backward for all of them. Beside it, exact activation patching m(patched) − m(corrupted) of each head and MLP,
  and the Pearson correlation of the two over every head and MLP. The inputs must have the same token count.
  --target / --distractor take a token id or a token (a classifier: a class index or label); defaults: the clean
  prediction and the corrupted run's best other token (a classifier: the clean run's best other class).
  --positions adds each head's and MLP's estimate per position.
  --json prints {"heads": [L][H], "mlps": [L], "exact": {"heads", "mlps"}, "pearson"} (pruned heads null; with
  --positions also "heads_by_position": [L][H][T], "mlps_by_position": [L][T]).`;

/** Runs the command; returns the exit code. */
export async function atpCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    clean: { type: "string" },
    corrupted: { type: "string" },
    target: { type: "string" },
    distractor: { type: "string" },
    positions: { type: "boolean" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    ...DTYPE_OPTION,
  });
  const modelDir = required(values.model, "model");
  const cleanText = required(values.clean, "clean");
  const corruptedText = required(values.corrupted, "corrupted");
  const { model, tokenizer } = await openModel(modelDir, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  const tok = tokenizer!;
  const clean = encodeText(model, tok, cleanText, undefined, "--clean");
  const corrupted = encodeText(model, tok, corruptedText, undefined, "--corrupted");
  if (corrupted.tokens.length !== clean.tokens.length) {
    throw new UsageError(
      `--clean and --corrupted must have the same number of tokens (${clean.tokens.length}: ${
        clean.tokens.join(" ")
      } vs ${corrupted.tokens.length}: ${corrupted.tokens.join(" ")})`,
    );
  }
  const atp = attributionPatching(model, clean.input, corrupted.input, {
    target: parseTarget(model, tok, values.target),
    distractor: parseTarget(model, tok, values.distractor, "distractor"),
    positions: values.positions === true,
  });
  const { layers: L, heads: H } = model.config, T = clean.tokens.length;
  const rows = (data: ArrayLike<number>, cols: number) =>
    Array.from({ length: data.length / cols }, (_, r) => Array.from({ length: cols }, (_, c) => data[r * cols + c]!));
  if (values.json) {
    const out: Record<string, unknown> = {
      heads: rows(atp.heads.data, H),
      mlps: Array.from(atp.mlps),
      exact: { heads: rows(atp.exact!.heads.data, H), mlps: Array.from(atp.exact!.mlps) },
      pearson: atp.pearson,
    };
    if (atp.headsByPosition && atp.mlpsByPosition) {
      out.heads_by_position = rows(atp.headsByPosition.data, H * T).map((r) => rows(r, T));
      out.mlps_by_position = rows(atp.mlpsByPosition.data, T);
    }
    console.log(JSON.stringify(out));
    return 0;
  }
  const name = (i: number) => targetName(model, tok, i);
  console.log(`m = logit[${atp.target} (${name(atp.target)})] − logit[${atp.distractor} (${name(atp.distractor)})]`);
  console.log(`m clean ${atp.metricClean.toFixed(5)}, m corrupted ${atp.metricCorrupted.toFixed(5)}`);
  console.log(formatTable("attribution patching (AtP) per head (NaN: pruned)", atp.heads.data, L, H, 4));
  console.log(
    formatTable("exact activation patching per head: m(patched) − m(corrupted)", atp.exact!.heads.data, L, H, 4),
  );
  console.log(`MLP AtP:   ${Array.from(atp.mlps, (v, l) => `${l}: ${v.toFixed(4)}`).join("  ")}`);
  console.log(`MLP exact: ${Array.from(atp.exact!.mlps, (v, l) => `${l}: ${v.toFixed(4)}`).join("  ")}`);
  console.log(`Pearson correlation of AtP and exact patching over every head and MLP: ${atp.pearson!.toFixed(4)}`);
  if (atp.headsByPosition) {
    console.log(`per position (${clean.tokens.join(" ")}): see --json`);
  }
  return 0;
}
