import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { makeBatches } from "../data/batches.ts";
import { parseGlueTsv } from "../data/glue.ts";
import { loadModel } from "../models/load.ts";
import { fixtureModel, maxAbsDiff, readGolden } from "../../tests/helpers/goldens.ts";
import { attentionEntropyOfProbs } from "./entropy.ts";
import { computeHeadImportance, computeHeadImportanceWith, type ImportanceEngine } from "./importance.ts";

const SST2_DEV = new URL("../../data/glue/SST-2/dev.tsv", import.meta.url).pathname;

async function sst2Batches(batchSize: number) {
  const { model, tokenizer } = await loadModel(localFiles(fixtureModel("bert-tiny-random")));
  const examples = parseGlueTsv("sst-2", "dev", Deno.readTextFileSync(SST2_DEV)).slice(0, 32);
  const encoded = examples.map((e) => tokenizer!.encode(e.textA, undefined, { maxLength: 64 }));
  const labels = examples.map((e) => Number(e.label));
  const batches = makeBatches(encoded, { batchSize, labels }).map((b) => ({
    batch: b,
    labels: b.labels as Int32Array,
  }));
  return { model, batches };
}

for (const bs of [1, 8]) {
  Deno.test(`computeHeadImportance() matches HF run_bertology importance and entropy, batch size ${bs}`, async () => {
    const { model, batches } = await sst2Batches(bs);
    const expected = readGolden(`bert-tiny-random.importance.bs${bs}`);
    const r = computeHeadImportance(model, batches);
    for (
      const [name, actual] of [
        ["importance", r.importance],
        ["importance_raw", r.importanceRaw],
        ["entropy", r.entropy],
      ] as const
    ) {
      const d = maxAbsDiff(name, expected.get(name)!, actual);
      ok(d <= 1e-4, `${name}: max|diff| ${d}`);
    }
    deepStrictEqual(r.totalTokens, expected.get("tot_tokens")!.data[0]);
    deepStrictEqual(r.preds, [...expected.get("preds")!.data]);
  });
}

Deno.test("computeHeadImportance() with hfAccumulate differs from fresh gradients once there are several batches", async () => {
  const { model, batches } = await sst2Batches(8);
  const fresh = computeHeadImportance(model, batches);
  const hf = computeHeadImportance(model, batches, { hfAccumulate: true });
  ok(maxAbsDiff("raw", fresh.importanceRaw, hf.importanceRaw) > 1e-6);
  // one batch: identical by definition
  const one = computeHeadImportance(model, batches.slice(0, 1));
  const oneHf = computeHeadImportance(model, batches.slice(0, 1), { hfAccumulate: true });
  deepStrictEqual([...one.importanceRaw.data], [...oneHf.importanceRaw.data]);
});

Deno.test("computeHeadImportance() rejects an empty dataset", async () => {
  const { model } = await sst2Batches(8);
  let message = "";
  try {
    computeHeadImportance(model, []);
  } catch (e) {
    message = (e as Error).message;
  }
  ok(/empty/.test(message), message);
});

Deno.test("computeHeadImportance() reports the loss per predicted token for LMs, whatever the batching", async () => {
  const { model, tokenizer } = await loadModel(localFiles(fixtureModel("gpt2-tiny-random")));
  const texts = ["a gripping film", "dull", "the best movie of the year , by far", "ok"];
  const encoded = texts.map((t) => tokenizer!.encode(t));
  const byOne = makeBatches(encoded, { batchSize: 1 }).map((b) => ({ batch: b, labels: "lm" as const }));
  const byFour = makeBatches(encoded, { batchSize: 4 }).map((b) => ({ batch: b, labels: "lm" as const }));
  const a = computeHeadImportance(model, byOne, { computeImportance: false, computeEntropy: false });
  const b = computeHeadImportance(model, byFour, { computeImportance: false, computeEntropy: false });
  ok(Math.abs(a.loss - b.loss) < 1e-5, `${a.loss} vs ${b.loss}`);
});

Deno.test("computeHeadImportanceWith() over an engine of the same passes gives computeHeadImportance's numbers", async () => {
  const { model, batches } = await sst2Batches(8);
  // an engine that runs the WASM model and measures entropy from the copied-out probabilities
  const engine: ImportanceEngine = ({ batch, labels, headMask, entropy }) => {
    const names = ["hook_head_mask_grad", ...Array.from({ length: model.config.layers }, (_, l) => `attentions.${l}`)];
    const r = model.run({ batch, labels, names, ...(headMask ? { headMask } : {}) });
    const sums = new Float64Array(model.config.layers * model.config.heads);
    for (let l = 0; l < model.config.layers; l++) {
      const probs = r.cache.get(model.resolveName(`attentions.${l}`))!;
      sums.set(attentionEntropyOfProbs(probs, batch.attentionMask), l * model.config.heads);
    }
    return Promise.resolve({ ...r, entropy: entropy ? sums : undefined });
  };
  for (const opts of [{}, { hfAccumulate: true, normalizeGlobal: false }]) {
    const want = computeHeadImportance(model, batches, opts);
    const got = await computeHeadImportanceWith(engine, model.config, batches, opts);
    for (const k of ["importance", "importanceRaw", "entropy"] as const) {
      ok(maxAbsDiff(k, want[k], got[k]) <= 1e-6, k);
    }
    deepStrictEqual([got.preds, got.totalTokens, got.batches], [want.preds, want.totalTokens, want.batches]);
    ok(Math.abs(got.loss - want.loss) <= 1e-12);
  }
  const noEntropy: ImportanceEngine = async (req) => ({ ...(await engine(req)), entropy: undefined });
  await rejects(computeHeadImportanceWith(noEntropy, model.config, batches), /returned no entropy/);
  deepStrictEqual(
    attentionEntropyOfProbs({ shape: [1, 1, 2, 2], data: Float32Array.from([0.5, 0.5, 1, 0]) })[0],
    Math.LN2 * Math.fround(0.5) * 2,
  );
});
