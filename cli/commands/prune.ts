/**
 * `bertology prune`: removes heads for real and writes a smaller checkpoint in HF layout (atomically), with
 * `pruned_heads` recorded in its config.json (original numbering, accumulated over prunings); or, with
 * `--budget`, prunes heads and MLP neurons to a FLOPs or latency budget (Kwon et al. 2022, `prune_budget.ts`).
 *
 * @module
 */

import { headsFromMask, parseHeadsToPrune, pruneModel } from "@bertology/core/bertology";
import { checkCheckpointDir, readLocalFileSync, resolveModel } from "@bertology/core/checkpoint/deno";
import { saveModel, storedDtype } from "@bertology/core/training";
import { readNpy } from "@bertology/core/checkpoint";
import { checkHeadMask } from "@bertology/core/models";
import { loadModel } from "@bertology/core/models";
import { commandKernels, localSources, parseFlags, readJsonFile, UsageError, withoutUndefined } from "../_common.ts";
import { PRUNE_BUDGET_FLAGS, PRUNE_BUDGET_HELP, pruneBudgetCommand } from "./prune_budget.ts";

/** Help text. */
export const PRUNE_HELP =
  `bertology prune --model DIR (--heads '{"0":[1,3],"2":[0]}' | --head-mask OUT/head_mask.npy) --out DIR2
                [--dtype f32|f16 (default: as the source's torch_dtype)] [--json] [--offline] [--force]
  Removes the heads (original numbering) from the attention weights and writes DIR2 in HF layout.
  A head mask (.npy or .json [layers][heads]) prunes the heads whose entry is 0.
  DIR2 is replaced in one atomic step if it is a checkpoint bertology wrote (it is a link to a hidden
  .DIR2.ckpt-* folder beside it); a DIR2 that is the model or holds it, or is a file, is refused, and so is a
  non-empty folder bertology did not write unless --force, which keeps every file in it.

${PRUNE_BUDGET_HELP}`;

/** Runs the command; returns the exit code. */
export async function pruneCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    heads: { type: "string" },
    "head-mask": { type: "string" },
    out: { type: "string" },
    dtype: { type: "string" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    force: { type: "boolean" },
    ...PRUNE_BUDGET_FLAGS,
  });
  if (!values.model) throw new UsageError("--model is required");
  if (!values.out) throw new UsageError("--out is required");
  const dtypeFlag = values.dtype?.toUpperCase();
  if (dtypeFlag !== undefined && dtypeFlag !== "F32" && dtypeFlag !== "F16") {
    throw new UsageError(`--dtype must be f32 or f16, got "${values.dtype}"`);
  }
  if (values.budget !== undefined) {
    if (values.heads !== undefined || values["head-mask"] !== undefined) {
      throw new UsageError("give --budget or --heads / --head-mask, not both");
    }
    return await pruneBudgetCommand({
      ...values,
      model: values.model,
      out: values.out,
      budget: values.budget,
      dtype: dtypeFlag as "F32" | "F16" | undefined,
    });
  }
  const budgetOnly = Object.keys(PRUNE_BUDGET_FLAGS).filter((f) => f !== "budget" && values[f as keyof typeof values]);
  if (budgetOnly.length > 0) throw new UsageError(`--${budgetOnly[0]} is for --budget`);
  if ((values.heads === undefined) === (values["head-mask"] === undefined)) {
    throw new UsageError("give exactly one of --heads, --head-mask or --budget");
  }
  const output = { force: values.force, sources: localSources(values.model, values["head-mask"]), flag: "--out" };
  await checkCheckpointDir(values.out, ["config.json", "model.safetensors"], output);
  const files = resolveModel(values.model, withoutUndefined({ offline: values.offline }));
  const { model } = await loadModel(files, { tokenizer: false });
  let heads: Record<string, number[]>;
  if (values.heads !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(values.heads);
    } catch {
      throw new UsageError(`--heads must be JSON like '{"0":[1,3]}', got ${values.heads}`);
    }
    heads = parseHeadsToPrune(parsed, model.config, "--heads");
  } else {
    const path = values["head-mask"]!;
    let mask: number[][];
    if (path.endsWith(".npy")) {
      const bytes = readLocalFileSync(path);
      if (bytes === undefined) throw new Error(`Cannot read ${path}: no such file`);
      const t = readNpy(bytes, path);
      if (t.shape.length !== 2) throw new Error(`${path}: expected a [layers, heads] array, got shape [${t.shape}]`);
      const [rows = 0, cols = 0] = t.shape;
      mask = Array.from({ length: rows }, (_, l) => [...t.data.subarray(l * cols, (l + 1) * cols)]);
    } else mask = readJsonFile(path) as number[][];
    checkHeadMask(mask, model.config, path);
    heads = headsFromMask(mask);
  }
  const before = model.params.count();
  const pruned = pruneModel(model, heads, commandKernels(), (note) => console.error(note));
  const after = pruned.params.count();
  const dtype = (dtypeFlag as "F32" | "F16" | undefined) ?? storedDtype(model);
  await saveModel(pruned, values.out, { dtype, tokenizerFrom: files, ...output });
  const summary = {
    out: values.out,
    heads_pruned: heads,
    pruned_heads: pruned.config.raw.pruned_heads,
    heads_per_layer: pruned.headsPerLayer,
    parameters_before: before,
    parameters_after: after,
  };
  if (values.json) console.log(JSON.stringify(summary));
  else {
    console.log(`pruned ${JSON.stringify(heads)} → heads per layer ${pruned.headsPerLayer.join(" ")}`);
    console.log(`parameters ${before} → ${after} (${(100 * after / before).toFixed(1)} %); wrote ${values.out}`);
  }
  return 0;
}
