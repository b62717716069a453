import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import {
  computeHeadImportance,
  computeHeadImportancePartial,
  importanceFromPartials,
} from "../bertology/importance.ts";
import { maskHeadsIteratively } from "../bertology/masking.ts";
import { parseGlueTsv } from "../data/glue.ts";
import { loadModel } from "../models/load.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { buildStudyDataset } from "./dataset.ts";
import { decodeFloats } from "./partial.ts";
import { shardUnits } from "./shard.ts";
import {
  batchesFingerprint,
  importancePartialFromJson,
  importancePartialToJson,
  type MaskingRound,
  replayMaskingRounds,
  sumImportancePartials,
  withRows,
} from "./sharded_importance.ts";
import { scoreTask } from "./score.ts";

const SST2_DEV = new URL("../../data/glue/SST-2/dev.tsv", import.meta.url).pathname;

async function setup(n = 40) {
  const { model, tokenizer } = await loadModel(localFiles(fixtureModel("bert-tiny-random")));
  const examples = parseGlueTsv("sst-2", "dev", Deno.readTextFileSync(SST2_DEV)).slice(0, n);
  const data = buildStudyDataset(model, tokenizer!, {
    name: "SST-2 dev",
    task: "sst-2",
    outputMode: "classification",
    labels: ["0", "1"],
    examples,
  }, { batchSize: 4 });
  return { model, batches: withRows(data.batches) };
}

/** Each shard's sums through the partial file's JSON, as merge reads them. */
function shardSums(
  model: Awaited<ReturnType<typeof setup>>["model"],
  batches: ReturnType<typeof withRows>,
  n: number,
  opts = {},
) {
  return Array.from({ length: n }, (_, i) => {
    const part = computeHeadImportancePartial(model, shardUnits(batches, { index: i, count: n }).items, {
      perExample: true,
      ...opts,
    });
    const json = JSON.parse(JSON.stringify(importancePartialToJson(part)));
    return importancePartialFromJson(json, `shard ${i}`, model.config.layers * model.config.heads);
  });
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

Deno.test("importance sums of 3 shards, through their JSON, merge to one run's importance, entropy and predictions", async () => {
  const { model, batches } = await setup();
  const whole = computeHeadImportance(model, batches, { perExample: true });
  const merged = importanceFromPartials(model.config, shardSums(model, batches, 3));
  for (const k of ["importance", "importanceRaw", "entropy"] as const) {
    ok(maxDiff(whole[k].data, merged[k].data) <= 1e-6, `${k}: ${maxDiff(whole[k].data, merged[k].data)}`);
  }
  deepStrictEqual(merged.preds, whole.preds);
  deepStrictEqual(merged.labels, whole.labels);
  strictEqual(merged.totalTokens, whole.totalTokens);
  strictEqual(merged.batches, whole.batches);
  ok(Math.abs(merged.loss - whole.loss) <= 1e-12);
  // a shard's sums are sums: not the whole run's, and adding them gives the whole
  const sum = sumImportancePartials(shardSums(model, batches, 3));
  ok(maxDiff(importanceFromPartials(model.config, [sum]).importance.data, whole.importance.data) <= 1e-6);
});

Deno.test("importancePartialFromJson() names the file and field of a bad value", async () => {
  const { model, batches } = await setup(8);
  const json = JSON.parse(JSON.stringify(importancePartialToJson(computeHeadImportancePartial(model, batches))));
  let err = "";
  try {
    importancePartialFromJson({ ...json, tokens: -1 }, "s/partial.json sums.pass", 12);
  } catch (e) {
    err = (e as Error).message;
  }
  strictEqual(err, "s/partial.json sums.pass.tokens must be a non-negative integer, got -1");
  try {
    importancePartialFromJson(json, "s/partial.json sums.pass", 13);
  } catch (e) {
    err = (e as Error).message;
  }
  strictEqual(err, "s/partial.json sums.pass.raw has 12 values, expected 13");
  deepStrictEqual(decodeFloats(json.raw, "raw"), computeHeadImportancePartial(model, batches).raw);
});

Deno.test("masking as rounds of 2 shards, replayed over the merged rounds, takes one run's steps and mask", async () => {
  const { model, batches } = await setup();
  const score = scoreTask({ kind: "classify", glueTask: "sst-2" });
  const opts = { amount: 0.25, threshold: 0.95, perExample: true, score };
  const single = maskHeadsIteratively(model, batches, opts);
  const rounds: MaskingRound[] = [];
  for (;;) {
    const next = replayMaskingRounds(model.config, opts, rounds);
    if (next.done) {
      deepStrictEqual(next.result.headMask, single.headMask);
      deepStrictEqual(
        next.result.steps.map((s) => [s.score, s.newlyMasked]),
        single.steps.map((s) => [s.score, s.newlyMasked]),
      );
      strictEqual(next.result.finalScore, single.finalScore);
      break;
    }
    strictEqual(next.round, rounds.length);
    const sums = shardSums(model, batches, 2, { headMask: next.request.headMask, computeEntropy: false });
    rounds.push({ sums: sumImportancePartials(sums), seconds: 0 });
  }
  ok(rounds.length === single.steps.length && rounds.length >= 2, `${rounds.length} rounds`);
});

Deno.test("batchesFingerprint() changes with any token, label or row", async () => {
  const { batches } = await setup(8);
  const base = await batchesFingerprint(batches);
  strictEqual(await batchesFingerprint(withRows(batches)), base);
  const b0 = batches[0]!;
  const ids = Int32Array.from(b0.batch.inputIds);
  ids[1] = ids[1]! + 1;
  ok(await batchesFingerprint([{ ...b0, batch: { ...b0.batch, inputIds: ids } }, ...batches.slice(1)]) !== base);
  const labels = Int32Array.from(b0.labels as Int32Array).map((v) => 1 - v);
  ok(await batchesFingerprint([{ ...b0, labels }, ...batches.slice(1)]) !== base);
  ok(await batchesFingerprint([{ ...b0, rows: [...b0.rows!].reverse() }, ...batches.slice(1)]) !== base);
});
