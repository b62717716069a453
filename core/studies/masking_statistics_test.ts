import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { computeHeadImportance } from "../bertology/importance.ts";
import { parseGlueTsv } from "../data/glue.ts";
import { randomBertRegressor } from "../../tests/helpers/models.ts";
import { buildStudyDataset } from "./dataset.ts";
import {
  bootstrapInterval,
  importanceRankStability,
  randomHeadMasks,
  randomMaskingBaseline,
} from "./masking_statistics.ts";
import { scoreTask } from "./score.ts";

const accuracy = scoreTask({ kind: "classify", glueTask: "sst-2" });

Deno.test("bootstrapInterval() brackets the score with about the normal-approximation width, seeded", () => {
  const n = 800, p = 0.8;
  const preds = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 1)), labels = new Array(n).fill(1);
  const ci = bootstrapInterval({ preds, labels, loss: 0 }, accuracy, { resamples: 2000 })!;
  ok(ci.low < p && p < ci.high, JSON.stringify(ci));
  const normal = 2 * 1.96 * Math.sqrt((p * (1 - p)) / n);
  ok(Math.abs(ci.high - ci.low - normal) < 0.25 * normal, `width ${ci.high - ci.low} vs ${normal}`);
  deepStrictEqual(bootstrapInterval({ preds, labels, loss: 0 }, accuracy, { resamples: 2000 }), ci);
  const wider = bootstrapInterval({ preds, labels, loss: 0 }, accuracy, { resamples: 2000, level: 0.99 })!;
  ok(wider.low <= ci.low && wider.high >= ci.high);
  strictEqual(bootstrapInterval({ preds: [], labels: [], loss: 1 }, () => 1), null, "a language model's pass");
  throws(() => bootstrapInterval({ preds, labels, loss: 0 }, accuracy, { level: 1 }), /level must be in \(0, 1\)/);
});

Deno.test("randomHeadMasks() keeps the asked number of heads, never a pruned one, and differs mask to mask", () => {
  const masks = randomHeadMasks(3, 4, 5, 4, { seed: 1, prunedHeads: [[0, 1], [], [3]] });
  for (const m of masks) {
    strictEqual(m.flat().reduce((a, b) => a + b, 0), 5);
    strictEqual(m[0]![0]! + m[0]![1]! + m[2]![3]!, 0);
  }
  ok(new Set(masks.map((m) => JSON.stringify(m))).size > 1);
  deepStrictEqual(randomHeadMasks(3, 4, 5, 4, { seed: 1, prunedHeads: [[0, 1], [], [3]] }), masks);
  throws(() => randomHeadMasks(3, 4, 10, 1, { prunedHeads: [[0, 1], [], [3]] }), /cannot keep 10 of 9 heads/);
});

/** A small random BERT regressor and STS-B pairs with its own outputs as labels. */
async function study() {
  const { model, tokenizer } = await randomBertRegressor(3);
  const dev = new URL("../../data/glue/STS-B/dev.tsv", import.meta.url).pathname;
  const pairs = parseGlueTsv("sts-b", "dev", Deno.readTextFileSync(dev)).slice(0, 24);
  const source = { name: "STS-B-like", outputMode: "regression" as const, labels: [], examples: pairs };
  const data = buildStudyDataset(model, tokenizer!, source, { batchSize: 4, maxSeqLength: 48 });
  return { model, data, score: scoreTask({ kind: "regress", glueTask: "sts-b", metric: "pearson" }) };
}

Deno.test("randomMaskingBaseline() scores each random mask by a forward pass; all heads kept is the model", async () => {
  const { model, data, score } = await study();
  const all = model.config.layers * model.config.heads;
  const unmasked = score(computeHeadImportance(model, data.batches, { computeImportance: false }));
  const full = randomMaskingBaseline(model, data.batches, score, all, { count: 2 });
  deepStrictEqual(full.scores, [unmasked, unmasked]);
  const half = randomMaskingBaseline(model, data.batches, score, all / 2, { count: 3, seed: 4 });
  strictEqual(half.scores.length, 3);
  strictEqual(half.mean, half.scores.reduce((a, b) => a + b, 0) / 3);
  ok(half.min <= half.mean && half.mean <= half.max);
  const [mask] = randomHeadMasks(model.config.layers, model.config.heads, all / 2, 1, { seed: 4 });
  strictEqual(
    half.scores[0],
    score(computeHeadImportance(model, data.batches, { headMask: mask!, computeImportance: false })),
  );
});

Deno.test("importanceRankStability() is 1 when both halves hold the same data, and splits every batch once", async () => {
  const { model, data } = await study();
  const one = data.batches[0]!;
  const same = importanceRankStability(model, [one, one, one, one], { splits: 2 });
  deepStrictEqual(same.spearman, [1, 1]);
  const r = importanceRankStability(model, data.batches, { splits: 3, seed: 2 });
  strictEqual(r.spearman.length, 3);
  for (const [a, b] of r.halves) strictEqual(a + b, 24);
  for (const rho of r.spearman) ok(rho >= -1 && rho <= 1 && rho < 1, `ρ ${rho}`);
  throws(() => importanceRankStability(model, [one]), /at least 2 batches/);
});
