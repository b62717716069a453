import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { computeHeadImportance } from "../bertology/importance.ts";
import { parseGlueTsv } from "../data/glue.ts";
import { pearsonAndSpearman } from "../metrics/pearson_and_spearman.ts";
import { randomBertRegressor } from "../../tests/helpers/models.ts";
import { buildStudyDataset } from "./dataset.ts";
import { studyHeadImportance } from "./importance_study.ts";
import { studyMasking } from "./masking_study.ts";
import { comparePrunedToMasked } from "./pruning_comparison.ts";

const STSB_DEV = new URL("../../data/glue/STS-B/dev.tsv", import.meta.url).pathname;

/** A small random BERT regressor (STS-B's head: one output, problem_type "regression") and STS-B-like pairs. */
async function regressionStudy() {
  const { model, tokenizer } = await randomBertRegressor(7);
  const pairs = parseGlueTsv("sts-b", "dev", Deno.readTextFileSync(STSB_DEV)).slice(0, 24);
  const source = { name: "STS-B-like", outputMode: "regression" as const, labels: [], examples: pairs };
  // float labels the unmasked model predicts well (its own outputs plus a little noise), so masking has a
  // correlation to lose
  const probe = buildStudyDataset(model, tokenizer!, source, { batchSize: 8, maxSeqLength: 48 });
  const { preds } = computeHeadImportance(model, probe.batches, { computeImportance: false, computeEntropy: false });
  const mean = preds.reduce((a, b) => a + b, 0) / preds.length;
  const std = Math.sqrt(preds.reduce((a, b) => a + (b - mean) ** 2, 0) / preds.length);
  const examples = pairs.map((e, i) => ({ ...e, label: preds[i]! + 0.05 * std * Math.sin(7 * i) }));
  const data = buildStudyDataset(model, tokenizer!, { ...source, examples }, { batchSize: 8, maxSeqLength: 48 });
  return { model, data };
}

Deno.test("studyMasking() masks a regressor by its own metric (pearson), not by exact-equality accuracy", async () => {
  const { model, data } = await regressionStudy();
  const r = studyMasking(model, data, { metric: "pearson", threshold: 0.9, amount: 0.125 });
  strictEqual(r.metric, "pearson");
  ok(r.originalScore > 0.99, `original pearson ${r.originalScore}`);
  // every step's score is the pearson of that step's mask, measured independently
  let mask = [[1, 1, 1, 1], [1, 1, 1, 1]];
  for (const step of r.steps) {
    for (const [l, h] of step.newlyMasked) mask[l]![h] = 0;
    const pass = computeHeadImportance(model, data.batches, { headMask: mask, computeImportance: false });
    strictEqual(step.score, pearsonAndSpearman(pass.preds, pass.labels).pearson);
    mask = mask.map((row) => [...row]);
  }
  // it stops at the first mask whose correlation falls below 90 % of the original, keeping the one before
  const last = r.steps.at(-1)!;
  ok(r.steps.length >= 2, JSON.stringify(r.steps));
  ok(last.score < 0.9 * r.originalScore, JSON.stringify(r.steps));
  strictEqual(r.finalScore, r.steps.at(-2)!.score);
  ok(r.finalScore >= 0.9 * r.originalScore && r.finalScore < r.originalScore);
  strictEqual(r.headMask.flat().reduce((a, b) => a + b, 0), r.steps.at(-2)!.headsKept);
});

Deno.test("studyMasking() and studyHeadImportance() score custom regression by corr unless told otherwise", async () => {
  const { model, data } = await regressionStudy();
  const imp = studyHeadImportance(model, data);
  strictEqual(imp.metric, "corr");
  strictEqual(imp.score, pearsonAndSpearman(imp.preds, imp.labels).corr);
  deepStrictEqual(Object.keys(imp.metrics), ["pearson", "spearmanr", "corr"]);
  const masking = studyMasking(model, { ...data, task: "sts-b" }, { amount: 0.5, threshold: 0.5 });
  strictEqual(masking.metric, "corr");
  strictEqual(masking.originalScore, imp.score);
});

Deno.test("comparePrunedToMasked() scores the pruned regressor like the masked one, by the same metric", async () => {
  const { model, data } = await regressionStudy();
  const mask = [[1, 0, 1, 0], [1, 1, 0, 1]];
  const cmp = comparePrunedToMasked(model, data, mask, { metric: "spearmanr", includeOriginal: true });
  strictEqual(cmp.metric, "spearmanr");
  deepStrictEqual(cmp.headsPruned, { "0": [1, 3], "1": [2] });
  ok(cmp.parametersAfter < cmp.parametersBefore);
  ok(Math.abs(cmp.pruned.score - cmp.masked.score) < 1e-3, `${cmp.pruned.score} vs ${cmp.masked.score}`);
  ok(cmp.original !== undefined && Number.isFinite(cmp.original.score));
  strictEqual(cmp.speedup, cmp.masked.seconds / cmp.pruned.seconds);
  deepStrictEqual(cmp.pruned.runs, [cmp.pruned.seconds]);
});

Deno.test("comparePrunedToMasked() times every pass `repeats` times and reports medians and the speed-up", async () => {
  const { model, data } = await regressionStudy();
  const mask = [[1, 0, 1, 0], [1, 1, 0, 1]];
  const cmp = comparePrunedToMasked(model, data, mask, { repeats: 3, includeOriginal: true });
  for (const pass of [cmp.original!, cmp.masked, cmp.pruned]) {
    strictEqual(pass.runs.length, 3);
    strictEqual(pass.seconds, [...pass.runs].sort((a, b) => a - b)[1]);
  }
  strictEqual(cmp.speedup, cmp.masked.seconds / cmp.pruned.seconds);
  throws(() => comparePrunedToMasked(model, data, mask, { repeats: 0 }), /repeats must be a positive integer, got 0/);
});
