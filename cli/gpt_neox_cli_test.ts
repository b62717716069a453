/**
 * The CLI on the GPT-NeoX fixture: `heads` (importance, entropy, masking by perplexity), `prune` to a FLOPs budget
 * (Kwon et al.'s tuned masks folded into the output projections: the reloaded checkpoint equals the model under
 * the masks it wrote), `export` run by onnxruntime, `attribute` and `patch`.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { readNpy } from "@bertology/core/checkpoint";
import { OrtModel } from "@bertology/core/export";
import { batchFromArrays, loadModel } from "@bertology/core/models";
import { familyModel, maxAbsDiff, readFamilyInputs } from "../tests/helpers/goldens.ts";
import { runCli as cli } from "../tests/helpers/cli.ts";
import { tinySst2 } from "../tests/helpers/glue.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const GLUE = new URL("../data/glue", import.meta.url).pathname;
const NAME = "gpt-neox-tiny-random";
const MODEL = familyModel(NAME);

/** A [rows, cols] .npy as rows of numbers. */
function npyRows(path: string): number[][] {
  const t = readNpy(Deno.readFileSync(path), path);
  const cols = t.shape[1]!;
  return Array.from({ length: t.shape[0]! }, (_, r) => Array.from(t.data.subarray(r * cols, (r + 1) * cols)));
}

Deno.test(`${NAME}: heads, prune to a FLOPs budget and export through the CLI`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "bertology-neox-" });
  try {
    const heads = await cli(
      ...["heads", "--model", MODEL, "--task", "sst-2", "--data-dir", GLUE, "--data-subset", "12"],
      ...["--batch-size", "4", "--max-seq-length", "48", "--try-masking", "--output-dir", join(dir, "heads"), "--json"],
    );
    strictEqual(heads.code, 0, heads.err);
    deepStrictEqual(readNpy(Deno.readFileSync(join(dir, "heads", "head_importance.npy")), "imp").shape, [3, 4]);
    strictEqual(JSON.parse(heads.out).metric, "inv_ppl");

    const { model: original } = await loadModel(localFiles(MODEL), { tokenizer: false });
    const golden = `${NAME}.lm`;
    const batch = batchFromArrays(readFamilyInputs(golden) as { input_ids: unknown }, golden);
    const data = tinySst2(join(dir, "glue"), { train: 32, dev: 8 });
    const budget = await cli(
      ...["prune", "--model", MODEL, "--budget", "flops=0.6", "--task", "sst-2", "--data-dir", data],
      ...["--sample", "16", "--batch-size", "4", "--tune-sample", "8", "--speed-repeats", "1"],
      ...["--out", join(dir, "budget"), "--json"],
    );
    strictEqual(budget.code, 0, budget.err);
    ok(JSON.parse(budget.out).flops.fraction <= 0.6 + 1e-9);
    const { model: pruned } = await loadModel(localFiles(join(dir, "budget")), { tokenizer: false });
    const headMask = npyRows(join(dir, "budget", "head_mask.npy"));
    const neuronMask = npyRows(join(dir, "budget", "neuron_mask.npy"));
    const masked = original.run({ batch, headMask, neuronMask, names: ["logits"] }).logits!;
    const d = maxAbsDiff("logits", masked, pruned.run({ batch, names: ["logits"] }).logits!);
    ok(d <= 1e-4, `the pruned checkpoint's logits differ from the masked model's by ${d}`);

    const exported = await cli("export", "--model", MODEL, "--out", join(dir, "m.onnx"));
    strictEqual(exported.code, 0, exported.err);
    const onnx = await OrtModel.create(ort, Deno.readFileSync(join(dir, "m.onnx")), original.config, {
      executionProviders: ["wasm"],
    });
    try {
      const r = await onnx.run({ batch, names: ["logits"] });
      ok(maxAbsDiff("logits", original.run({ batch, names: ["logits"] }).logits!, r.logits!) <= 1e-4);
    } finally {
      await onnx.release();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(`${NAME}: attribute and patch through the CLI`, async () => {
  const r = await cli(
    "attribute",
    "--model",
    MODEL,
    "--text",
    "the film is a gripping tale",
    "--method",
    "ig",
    "--json",
  );
  strictEqual(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  strictEqual(j.scores.length, j.tokens.length);
  const p = await cli(
    "patch",
    "--model",
    MODEL,
    "--clean",
    "it is a good film",
    "--corrupted",
    "it is a bad film",
    "--json",
  );
  strictEqual(p.code, 0, p.err);
  const effect = JSON.parse(p.out).effect as number[][];
  deepStrictEqual([effect.length, effect.every((row) => row.length === 4)], [3, true]);
});
