/**
 * The CLI on every encoder family (RoBERTa, DistilBERT, ELECTRA, ALBERT fixtures): `heads` (importance,
 * entropy, masking), `prune` by heads and to a FLOPs budget (the checkpoint reloads and equals the masked
 * model), `export` run by onnxruntime, `attribute`, `patch` and `attention-stats`.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
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
const FAMILIES = ["roberta-tiny-random", "distilbert-tiny-random", "electra-tiny-random", "albert-tiny-random"];

for (const name of FAMILIES) {
  const model = familyModel(name);

  Deno.test(`${name}: heads, prune (heads and budget) and export through the CLI`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "bertology-family-" });
    try {
      const heads = await cli(
        ...["heads", "--model", model, "--task", "sst-2", "--data-dir", GLUE, "--data-subset", "12"],
        ...[
          "--batch-size",
          "4",
          "--max-seq-length",
          "48",
          "--try-masking",
          "--output-dir",
          join(dir, "heads"),
          "--json",
        ],
      );
      strictEqual(heads.code, 0, heads.err);
      deepStrictEqual(readNpy(Deno.readFileSync(join(dir, "heads", "head_importance.npy")), "imp").shape, [3, 4]);
      deepStrictEqual(readNpy(Deno.readFileSync(join(dir, "heads", "attn_entropy.npy")), "ent").shape, [3, 4]);
      deepStrictEqual(JSON.parse(heads.out).examples, 12);

      // structural pruning by heads: reload, equal to the masked model
      const pruned = await cli(
        "prune",
        "--model",
        model,
        "--heads",
        '{"0":[1],"1":[1],"2":[1,3]}',
        "--out",
        join(dir, "p"),
      );
      strictEqual(pruned.code, 0, pruned.err);
      const { model: original } = await loadModel(localFiles(model), { tokenizer: false });
      const { model: reloaded } = await loadModel(localFiles(join(dir, "p")));
      const inputs = readFamilyInputs(`${name}.single`);
      const batch = batchFromArrays(inputs as { input_ids: unknown }, name);
      const shared = reloaded.config.prunedHeads[2]!.length === 1; // ALBERT keeps head 3: layers 0 and 1 use it
      if (shared) match(pruned.err, /heads 3 of layers 0, 1, 2: those layers share one set of weights/);
      const mask = [[1, 0, 1, 1], [1, 0, 1, 1], shared ? [1, 0, 1, 1] : [1, 0, 1, 0]];
      const d = maxAbsDiff("logits", original.run({ batch, headMask: mask }).logits!, reloaded.run({ batch }).logits!);
      ok(d <= 1e-5, `pruned logits differ by ${d}`);

      // pruning to a FLOPs budget (Kwon et al.), then the pruned checkpoint reloads
      const data = tinySst2(join(dir, "glue"), { train: 32, dev: 8 });
      const budget = await cli(
        ...["prune", "--model", model, "--budget", "flops=0.6", "--task", "sst-2", "--data-dir", data],
        ...["--sample", "16", "--batch-size", "4", "--tune-sample", "8", "--speed-repeats", "1"],
        ...["--out", join(dir, "budget"), "--json"],
      );
      strictEqual(budget.code, 0, budget.err);
      ok(JSON.parse(budget.out).flops.fraction <= 0.6 + 1e-9);
      await loadModel(localFiles(join(dir, "budget")), { tokenizer: false });

      // ONNX export, run by onnxruntime: the engine's logits
      const exported = await cli("export", "--model", model, "--out", join(dir, "m.onnx"));
      strictEqual(exported.code, 0, exported.err);
      const onnx = await OrtModel.create(ort, Deno.readFileSync(join(dir, "m.onnx")), original.config, {
        executionProviders: ["wasm"],
      });
      try {
        const r = await onnx.run({ batch });
        ok(maxAbsDiff("logits", original.run({ batch }).logits!, r.logits!) <= 1e-4);
      } finally {
        await onnx.release();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`${name}: attribute, patch, attention-stats, probe and syntax through the CLI`, async () => {
    const text = "the film is a gripping tale";
    for (const method of ["grad-input", "ig", "rollout"]) {
      const r = await cli("attribute", "--model", model, "--text", text, "--method", method, "--json");
      strictEqual(r.code, 0, r.err);
      const j = JSON.parse(r.out);
      strictEqual(j.scores.length, j.tokens.length);
      ok(j.words.length >= 1 && j.words.length <= j.tokens.length);
    }
    const p = await cli(
      "patch",
      "--model",
      model,
      "--clean",
      "it is a good film",
      "--corrupted",
      "it is a bad film",
      "--json",
    );
    strictEqual(p.code, 0, p.err);
    const effect = JSON.parse(p.out).effect as number[][];
    deepStrictEqual([effect.length, effect.every((row) => row.length === 4)], [3, true]);
    const dir = await Deno.makeTempDir();
    try {
      const s = await cli(
        ...["attention-stats", "--model", model, "--task", "sst-2", "--data-dir", GLUE, "--data-subset", "4"],
        ...["--max-seq-length", "32", "--output-dir", dir],
      );
      strictEqual(s.code, 0, s.err);
      const stats = JSON.parse(Deno.readTextFileSync(join(dir, "attention_stats.json")));
      deepStrictEqual([stats.layers, stats.heads, stats.examples], [3, 4, 4]);
      // Tenney's probes and the syntactic heads read word-level features (pieces pooled by the tokenizer's offsets)
      const ud = new URL("../data/ud/", import.meta.url).pathname;
      const probe = await cli(
        ...["probe", "--model", model, "--train", `${ud}en_ewt-ud-dev.conllu`, "--test", `${ud}en_ewt-ud-test.conllu`],
        ...["--task", "upos", "--max-sentences", "12", "--epochs", "2", "--output-dir", join(dir, "probe")],
      );
      strictEqual(probe.code, 0, probe.err);
      strictEqual(JSON.parse(Deno.readTextFileSync(join(dir, "probe", "probe.json"))).layer_accuracy.length, 4);
      const syntax = await cli(
        ...["syntax", "--model", model, "--conllu", `${ud}en_ewt-ud-dev.conllu`, "--max-sentences", "12"],
        ...["--output-dir", join(dir, "syntax")],
      );
      strictEqual(syntax.code, 0, syntax.err);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
