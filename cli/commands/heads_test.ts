import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { computeHeadImportance } from "@bertology/core/bertology";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { pearsonAndSpearman } from "@bertology/core/metrics";
import { loadModel } from "@bertology/core/models";
import { saveModel } from "@bertology/core/training";
import { readStudyDataset } from "@bertology/core/studies/read-dataset";
import { readNpy } from "@bertology/core/checkpoint";
import { maxAbsDiff, readGolden } from "../../tests/helpers/goldens.ts";
import { runCli } from "../../tests/helpers/cli.ts";
import { randomBertRegressor } from "../../tests/helpers/models.ts";
import { headsCommand } from "./heads.ts";

const BERT = new URL("../../tests/fixtures/models/bert-tiny-random", import.meta.url).pathname;

Deno.test("headsCommand() scores and masks a regressor on custom float labels by pearson", async () => {
  const dir = await Deno.makeTempDir({ prefix: "heads-regress-" });
  try {
    const { model } = await randomBertRegressor(3);
    await saveModel(model, `${dir}/model`, { tokenizerDir: BERT });
    const rows = ["a man is dancing", "a child rides a horse", "two dogs play", "the sun is hot", "rain falls"]
      .map((t, i) => `${t}\t${(i * 1.25).toFixed(2)}`);
    await Deno.writeTextFile(`${dir}/sts.tsv`, ["sentence\tscore", ...rows].join("\n") + "\n");
    const args = ["--model", `${dir}/model`, "--data-file", `${dir}/sts.tsv`, "--text-column", "sentence"];
    args.push("--label-column", "score", "--batch-size", "2", "--try-masking", "--masking-amount", "0.25");
    args.push("--metric-name", "pearson", "--no-prune", "--output-dir", `${dir}/out`);
    const { log, error } = console;
    console.log = console.error = () => {};
    try {
      strictEqual(await headsCommand(args), 0);
    } finally {
      Object.assign(console, { log, error });
    }
    const report = JSON.parse(await Deno.readTextFile(`${dir}/out/report.json`));
    strictEqual(report.metric, "pearson");
    ok(Number.isFinite(report.score) && report.score !== 0, `score ${report.score}`);
    const masking = report.masking as { original_score: number; steps: Array<{ score: number }> };
    strictEqual(masking.original_score, report.score);
    ok(masking.steps.length >= 1 && masking.steps.every((s) => Number.isFinite(s.score)));
    // the score is the correlation of the predictions with the float labels, not an exact-equality accuracy
    const saved = await loadModel(localFiles(`${dir}/model`));
    strictEqual(saved.model.task, "regress");
    const file = { path: `${dir}/sts.tsv`, format: "tsv" as const, textColumn: "sentence", labelColumn: "score" };
    const data = await readStudyDataset({ file }, saved.model, saved.tokenizer!, { batchSize: 2 });
    const pass = computeHeadImportance(saved.model, data.batches, { computeImportance: false, computeEntropy: false });
    strictEqual(pass.labels.join(" "), "0 1.25 2.5 3.75 5");
    ok(Math.abs(report.score - pearsonAndSpearman(pass.preds, pass.labels).pearson) < 1e-12);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bertology heads runs a command line copied from HF's run_bertology docs (local paths)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "heads-hf-" });
  try {
    // python run_bertology.py --data_dir $DATA_DIR/SST-2 --model_name_or_path $MODEL --task_name sst-2 \
    //   --batch_size 8 --max_seq_length 64 --cache_dir ~/.cache/torch/transformers --output_dir $OUT --try_masking
    const glue = new URL("../../data/glue", import.meta.url).pathname;
    const hf = `--data_dir ${glue}/SST-2 --model_name_or_path ${BERT} --task_name sst-2 --batch_size 8 ` +
      `--max_seq_length 64 --cache_dir ~/.cache/torch/transformers --output_dir ${dir}/out --try_masking`;
    const r = await runCli("heads", ...hf.split(" "), "--data_subset", "32", "--json");
    strictEqual(r.code, 0, r.err);
    ok(/--cache_dir \(run_bertology.py\) has no effect here/.test(r.err), r.err);
    const imp = readNpy(Deno.readFileSync(`${dir}/out/head_importance.npy`), "imp");
    // our default batching (bucketed, per-example gradients) gives HF's numbers at batch size 1
    ok(maxAbsDiff("importance", readGolden("bert-tiny-random.importance.bs1").get("importance")!, imp) <= 1e-4);
    deepStrictEqual(readNpy(Deno.readFileSync(`${dir}/out/head_mask.npy`), "mask").shape, [3, 4]);
    strictEqual(JSON.parse(r.out).examples, 32);
    // the task folder's parent, our own spelling, gives the same numbers
    const ours = await runCli(
      ...["heads", "--model", BERT, "--task", "sst-2", "--data-dir", glue, "--data-subset", "32"],
      ...["--max-seq-length", "64", "--output-dir", `${dir}/ours`],
    );
    strictEqual(ours.code, 0, ours.err);
    deepStrictEqual(readNpy(Deno.readFileSync(`${dir}/ours/head_importance.npy`), "ours").data, imp.data);
    const help = await runCli("heads", "--help");
    ok(/--data-dir DIR +the GLUE folder holding the task's folder .* or the\n.*task's folder itself/.test(help.out));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const GLUE = new URL("../../data/glue", import.meta.url).pathname;
const SST2_32 = ["--task", "sst-2", "--data-dir", GLUE, "--data-subset", "32", "--batch-size", "8"];

for (const backend of ["ort-wasm", "ort-node"]) {
  Deno.test(`bertology heads --backend ${backend} gives the HF goldens and the WASM engine's masking`, async () => {
    const dir = await Deno.makeTempDir({ prefix: `heads-${backend}-` });
    try {
      const args = ["heads", "--model", BERT, ...SST2_32, "--max-seq-length", "64", "--try-masking", "--json"];
      args.push("--masking-amount", "0.2", "--no-prune");
      const ours = await runCli(...args, "--output-dir", `${dir}/wasm`);
      strictEqual(ours.code, 0, ours.err);
      const r = await runCli(...args, "--backend", backend, "--output-dir", `${dir}/ort`);
      strictEqual(r.code, 0, r.err);
      const report = JSON.parse(r.out), wasm = JSON.parse(ours.out);
      ok(report.backend.startsWith("onnxruntime-"), report.backend);
      strictEqual(wasm.backend, "wasm");
      const golden = readGolden("bert-tiny-random.importance.bs1"); // bucketed, per example: HF at batch size 1
      for (const [file, name] of [["head_importance", "importance"], ["attn_entropy", "entropy"]] as const) {
        const got = readNpy(Deno.readFileSync(`${dir}/ort/${file}.npy`), file);
        ok(maxAbsDiff(name, golden.get(name)!, got) <= 1e-4, `${file} vs the HF golden`);
      }
      strictEqual(report.total_tokens, golden.get("tot_tokens")!.data[0]);
      ok(Math.abs(report.loss - wasm.loss) <= 1e-5, `loss ${report.loss} vs ${wasm.loss}`);
      ok(report.masking.steps.length >= 2, "at least one masking step after the unmasked pass");
      deepStrictEqual(
        report.masking.steps.map((s: { masked: unknown }) => s.masked),
        wasm.masking.steps.map((
          s: { masked: unknown },
        ) => s.masked),
      );
      deepStrictEqual(report.masking.head_mask, wasm.masking.head_mask);
      report.masking.steps.forEach((s: { score: number }, i: number) =>
        ok(Math.abs(s.score - wasm.masking.steps[i].score) <= 1e-6, `step ${i} score`)
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("bertology heads --backend ort-wasm matches the WASM engine on a GPT-2 language model", async () => {
  const dir = await Deno.makeTempDir({ prefix: "heads-ort-lm-" });
  try {
    const gpt2 = new URL("../../tests/fixtures/models/gpt2-tiny-random", import.meta.url).pathname;
    const lines = ["the cat sat on the mat", "a dog ran", "it rains in the north of the country", "hello"];
    await Deno.writeTextFile(`${dir}/lm.jsonl`, lines.map((text) => JSON.stringify({ text })).join("\n") + "\n");
    const args = ["heads", "--model", gpt2, "--data-file", `${dir}/lm.jsonl`, "--text-column", "text"];
    args.push("--batch-size", "3", "--json");
    const ours = await runCli(...args, "--output-dir", `${dir}/wasm`);
    strictEqual(ours.code, 0, ours.err);
    const r = await runCli(...args, "--backend", "ort-wasm", "--output-dir", `${dir}/ort`);
    strictEqual(r.code, 0, r.err);
    for (const file of ["head_importance", "attn_entropy"]) {
      const want = readNpy(Deno.readFileSync(`${dir}/wasm/${file}.npy`), file);
      const got = readNpy(Deno.readFileSync(`${dir}/ort/${file}.npy`), file);
      ok(maxAbsDiff(file, want, got) <= 1e-4, file);
    }
    const a = JSON.parse(r.out), b = JSON.parse(ours.out);
    strictEqual(a.metric, "inv_ppl");
    ok(Math.abs(a.score - b.score) <= 1e-5 * b.score, `score ${a.score} vs ${b.score}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const webgpuAsked = Deno.env.get("BERTOLOGY_TEST_WEBGPU") === "1";
Deno.test("bertology heads --backend ort-webgpu runs where an adapter is, and says why not where none is", async () => {
  const dir = await Deno.makeTempDir({ prefix: "heads-webgpu-" });
  try {
    const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    const adapter = gpu === undefined ? null : await gpu.requestAdapter().catch(() => null);
    if (adapter !== null && !webgpuAsked) {
      console.warn("SKIPPED heads --backend ort-webgpu: an adapter is here; set BERTOLOGY_TEST_WEBGPU=1 to run it");
      return;
    }
    const args = ["heads", "--model", BERT, ...SST2_32, "--max-seq-length", "64", "--backend", "ort-webgpu"];
    const r = await runCli(...args, "--output-dir", `${dir}/out`, "--json");
    if (adapter === null) {
      console.warn("SKIPPED heads --backend ort-webgpu numbers: no WebGPU adapter here (checked the refusal only)");
      strictEqual(r.code, 1);
      ok(/ort-webgpu is not available: /.test(r.err), r.err);
      return;
    }
    strictEqual(r.code, 0, r.err);
    const got = readNpy(Deno.readFileSync(`${dir}/out/head_importance.npy`), "imp");
    ok(maxAbsDiff("importance", readGolden("bert-tiny-random.importance.bs8").get("importance")!, got) <= 1e-4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bertology heads --try-masking reports bootstrap intervals, random-mask baselines and rank stability", async () => {
  const dir = await Deno.makeTempDir({ prefix: "heads-stats-" });
  try {
    const args = ["heads", "--model", BERT, ...SST2_32, "--max-seq-length", "64", "--try-masking", "--no-prune"];
    const r = await runCli(
      ...args,
      ...["--bootstrap", "300", "--random-masks", "2", "--stability-splits", "2", "--json", "--output-dir", dir],
    );
    strictEqual(r.code, 0, r.err);
    const report = JSON.parse(r.out);
    const steps = report.masking.steps as Array<
      {
        score: number;
        heads_kept: number;
        score_ci: [number, number];
        random_masks: { scores: number[]; mean: number };
      }
    >;
    ok(steps.length >= 2);
    for (const s of steps) {
      ok(s.score_ci[0] <= s.score && s.score <= s.score_ci[1], `step score ${s.score} in ${s.score_ci}`);
      ok(s.score_ci[1] - s.score_ci[0] > 0, "32 examples leave an interval of some width");
      strictEqual(s.random_masks.scores.length, 2);
    }
    // keeping every head "at random" is the unmasked model
    deepStrictEqual(steps[0]!.random_masks.scores, [steps[0]!.score, steps[0]!.score]);
    strictEqual(report.masking.statistics.bootstrap.resamples, 300);
    const stability = report.importance_rank_stability;
    strictEqual(stability.spearman.length, 2);
    for (const rho of stability.spearman) ok(rho >= -1 && rho <= 1);
    ok(r.err.includes("Importance rank stability: Spearman ρ between random halves"), r.err);

    const off = await runCli(
      ...args,
      ...["--bootstrap", "0", "--random-masks", "0", "--stability-splits", "0", "--json", "--output-dir", `${dir}/off`],
    );
    strictEqual(off.code, 0, off.err);
    const plain = JSON.parse(off.out);
    ok(plain.importance_rank_stability === undefined && plain.masking.steps[0].score_ci === undefined);
    const bad = await runCli(...args, "--random-masks=-1", "--output-dir", `${dir}/bad`);
    ok(bad.code === 2 && bad.err.includes("--random-masks must be a whole number ≥ 0"), bad.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
