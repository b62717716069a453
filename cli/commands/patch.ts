/**
 * `bertology patch --model DIR --clean S --corrupted S2`: activation patching per head. The corrupted input
 * is re-run with one head's `hook_z` (and, separately, one layer's MLP output) taken from the clean run; the
 * restored fraction of the logit difference d = logit[target] − logit[other] is
 * (d_patched − d_corrupted) / (d_clean − d_corrupted), one value per head [L, H]. With `--ablate` (no
 * `--corrupted`): zero and mean ablation of every head of one input, as the change of d.
 *
 * @module
 */

import { ablateHeads, patchHeads } from "@bertology/core/attribution";
import { DTYPE_OPTION, dtypeFlag, formatTable, openModel, parseFlags, required, UsageError } from "../_common.ts";
import { encodeText, parseTarget, targetName } from "./_target.ts";

/** Help text. */
export const PATCH_HELP =
  `bertology patch --model DIR --clean S --corrupted S2 [--target LABEL] [--other LABEL] [--positions] [--json]
               [--dtype f32|f16]
bertology patch --model DIR --clean S --ablate [--target LABEL] [--other LABEL] [--json] [--dtype f32|f16]
  Activation patching: for every head, the corrupted input (same token count, e.g. one word swapped) is re-run
  with that head's output (hook_z, before the output projection) from the clean run; the effect is the restored
  fraction (d_patched − d_corrupted) / (d_clean − d_corrupted) of d = logit[target] − logit[other]. target: the
  clean prediction (a class, or a language model's next token) unless given; other: the other class of two,
  else the corrupted run's largest other logit. Pruned heads are null. Also per layer's MLP ("mlp"), and with
  --positions the residual stream entering each layer at each position ("resid", [L, T]).
  --ablate: zero and mean ablation (mean over the input's positions) of every head: the change of d.
  --json prints {"effect": [[L×H]], "logit_diff_clean", "logit_diff_corrupted", "target", "other", "mlp", …}
  (with --ablate: {"zero", "mean", "logit_diff", "target", "other"}).`;

/** Runs the command; returns the exit code. */
export async function patchCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    clean: { type: "string" },
    corrupted: { type: "string" },
    target: { type: "string" },
    other: { type: "string" },
    positions: { type: "boolean" },
    ablate: { type: "boolean" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    ...DTYPE_OPTION,
  });
  const modelDir = required(values.model, "model");
  const cleanText = required(values.clean, "clean");
  if (values.ablate === true && values.corrupted !== undefined) {
    throw new UsageError("--ablate takes one input (--clean), not --corrupted");
  }
  if (values.ablate !== true && values.corrupted === undefined) throw new UsageError("--corrupted is required");
  if (values.ablate === true && values.positions === true) throw new UsageError("--positions is for patching");
  const { model, tokenizer } = await openModel(modelDir, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  if (!model.hasHead) throw new Error(`${modelDir} has no classifier or LM head: there is no logit difference`);
  const tok = tokenizer!;
  const clean = encodeText(model, tok, cleanText, undefined, "--clean");
  const pair: { target?: number; other?: number } = {};
  const target = parseTarget(model, tok, values.target);
  const other = parseTarget(model, tok, values.other, "other");
  if (target !== undefined) pair.target = target;
  if (other !== undefined) pair.other = other;
  const { layers: L, heads: H } = model.config;
  const rows = (data: Float32Array, cols: number) =>
    Array.from({ length: data.length / cols }, (_, r) => Array.from(data.subarray(r * cols, (r + 1) * cols)));
  const name = (i: number) => targetName(model, tok, i);

  if (values.ablate === true) {
    const a = ablateHeads(model, clean.input, pair);
    if (values.json) {
      console.log(JSON.stringify({
        zero: rows(a.zero.data, H),
        mean: rows(a.mean.data, H),
        logit_diff: a.logitDiff,
        target: a.target,
        other: a.other,
      }));
      return 0;
    }
    console.log(`d = logit[${a.target} (${name(a.target)})] − logit[${a.other} (${name(a.other)})] = ${a.logitDiff}`);
    console.log(formatTable("change of d, zero ablation", a.zero.data, L, H, 4));
    console.log(formatTable("change of d, mean ablation", a.mean.data, L, H, 4));
    return 0;
  }
  const corrupted = encodeText(model, tok, values.corrupted!, undefined, "--corrupted");
  if (corrupted.tokens.length !== clean.tokens.length) {
    throw new UsageError(
      `--clean and --corrupted must have the same number of tokens (${clean.tokens.length}: ${
        clean.tokens.join(" ")
      } vs ${corrupted.tokens.length}: ${corrupted.tokens.join(" ")})`,
    );
  }
  const p = patchHeads(model, clean.input, corrupted.input, { ...pair, positions: values.positions === true });
  if (values.json) {
    console.log(JSON.stringify({
      effect: rows(p.heads.data, H),
      logit_diff_clean: p.logitDiffClean,
      logit_diff_corrupted: p.logitDiffCorrupted,
      target: p.target,
      other: p.other,
      mlp: Array.from(p.mlp),
      ...(p.resid ? { resid: rows(p.resid.data, clean.tokens.length), tokens: clean.tokens } : {}),
    }));
    return 0;
  }
  console.log(`d = logit[${p.target} (${name(p.target)})] − logit[${p.other} (${name(p.other)})]`);
  console.log(`d clean ${p.logitDiffClean.toFixed(5)}, d corrupted ${p.logitDiffCorrupted.toFixed(5)}`);
  console.log(formatTable("restored fraction of d, per head (NaN: pruned)", p.heads.data, L, H, 4));
  console.log(`MLP: ${Array.from(p.mlp, (v, l) => `${l}: ${v.toFixed(4)}`).join("  ")}`);
  if (p.resid) {
    console.log(`residual stream entering each layer (rows) at each position: ${clean.tokens.join(" ")}`);
    console.log(formatTable("", p.resid.data, L, clean.tokens.length, 3));
  }
  return 0;
}
