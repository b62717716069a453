import { deepStrictEqual, ok, rejects, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { makeBatches } from "../data/batches.ts";
import { MatmulFlags } from "../kernels/contract.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { parseGlueTsv } from "../data/glue.ts";
import { loadModel } from "../models/load.ts";
import { fixtureModel, maxAbsDiff, readGolden } from "../../tests/helpers/goldens.ts";
import { attentionEntropyOfProbs } from "./entropy.ts";
import {
  computeHeadImportance,
  computeHeadImportanceWith,
  type ImportanceEngine,
  type ImportanceResult,
} from "./importance.ts";
import type { Tensor } from "../tensor.ts";

const SST2_DEV = new URL("../../data/glue/SST-2/dev.tsv", import.meta.url).pathname;

async function sst2Batches(batchSize: number, batching: { bucket?: boolean; seqLen?: number } = {}) {
  const { model, tokenizer } = await loadModel(localFiles(fixtureModel("bert-tiny-random")));
  const examples = parseGlueTsv("sst-2", "dev", Deno.readTextFileSync(SST2_DEV)).slice(0, 32);
  const encoded = examples.map((e) => tokenizer!.encode(e.textA, undefined, { maxLength: 64 }));
  const labels = examples.map((e) => Number(e.label));
  const batches = makeBatches(encoded, { batchSize, labels, ...batching }).map((b) => ({
    batch: b,
    labels: b.labels as Int32Array,
    rows: b.rows,
  }));
  return { model, batches };
}

/** The HF golden's importance, raw importance and entropy within 1e-4, its token count and predictions exactly. */
function expectImportanceGolden(r: ImportanceResult, expected: Map<string, Tensor>, what: string): void {
  for (
    const [name, actual] of [
      ["importance", r.importance],
      ["importance_raw", r.importanceRaw],
      ["entropy", r.entropy],
    ] as const
  ) {
    const d = maxAbsDiff(name, expected.get(name)!, actual);
    ok(d <= 1e-4, `${what} ${name}: max|diff| ${d}`);
  }
  deepStrictEqual(r.totalTokens, expected.get("tot_tokens")!.data[0]);
  deepStrictEqual(r.preds, [...expected.get("preds")!.data]);
}

for (const bs of [1, 8]) {
  Deno.test(`computeHeadImportance() matches HF run_bertology importance and entropy, batch size ${bs}`, async () => {
    const { model, batches } = await sst2Batches(bs);
    const expected = readGolden(`bert-tiny-random.importance.bs${bs}`);
    const r = computeHeadImportance(model, batches);
    expectImportanceGolden(r, expected, `batch size ${bs}`);
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

Deno.test("computeHeadImportance() perExample: bucketed batches of 8 give HF's batch-size-1 numbers, in dataset order", async () => {
  const expected = readGolden("bert-tiny-random.importance.bs1");
  for (const batching of [{ bucket: true }, { seqLen: 64 }, {}]) {
    const { model, batches } = await sst2Batches(8, batching);
    const r = computeHeadImportance(model, batches, { perExample: true });
    expectImportanceGolden(r, expected, JSON.stringify(batching));
  }
  // and per batch, which rows share a batch matters: bucketing changes HF's per-batch importance
  const inOrder = await sst2Batches(8);
  const plain = computeHeadImportance(inOrder.model, inOrder.batches);
  const bucketed = await sst2Batches(8, { bucket: true });
  ok(
    maxAbsDiff("raw", plain.importanceRaw, computeHeadImportance(bucketed.model, bucketed.batches).importanceRaw) >
      1e-6,
  );
  throws(
    () => computeHeadImportance(bucketed.model, bucketed.batches, { perExample: true, hfAccumulate: true }),
    /exclude/,
  );
});

Deno.test("computeHeadImportance() perExample for a language model equals batches of one", async () => {
  const { model, tokenizer } = await loadModel(localFiles(fixtureModel("gpt2-tiny-random")));
  const texts = ["a gripping film", "dull", "the best movie of the year , by far", "ok"];
  const encoded = texts.map((t) => tokenizer!.encode(t));
  const lm = (bs: number, bucket: boolean) =>
    makeBatches(encoded, { batchSize: bs, bucket }).map((b) => ({ batch: b, labels: "lm" as const, rows: b.rows }));
  const one = computeHeadImportance(model, lm(1, false));
  const four = computeHeadImportance(model, lm(4, true), { perExample: true });
  for (const k of ["importance", "importanceRaw", "entropy"] as const) {
    ok(maxAbsDiff(k, one[k], four[k]) <= 1e-5, k);
  }
  ok(Math.abs(one.loss - four.loss) < 1e-5);
});

Deno.test("computeHeadImportance() runs the least backward: no weight gradient, nothing below layer 0's attention", async () => {
  const calls: { name: string; args: number[] }[] = [];
  const wasm = createWasmKernels();
  const spy = new Proxy(wasm, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== "function") return value;
      return (...args: number[]) => {
        calls.push({ name: String(key), args });
        return value(...args);
      };
    },
  });
  const { model } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false, kernels: spy });
  const { batches } = await sst2Batches(8, { bucket: true });
  const L = model.config.layers;
  for (const perExample of [false, true]) {
    calls.length = 0;
    computeHeadImportance(model, batches.slice(0, 1), { perExample, computeEntropy: false });
    const named = (n: string) => calls.filter((c) => c.name === n);
    // no embedding gradient, no bias or weight gradient (a matmul reading x transposed into dW)
    deepStrictEqual(named("embeddingBackward").length, 0);
    deepStrictEqual(named("biasBackward").length, 0);
    deepStrictEqual(named("matmul").filter((c) => (c.args[7]! & MatmulFlags.TRANS_A) !== 0).length, 0);
    // both LayerNorms of every block, never the embeddings', and never their weight gradients
    const ln = named("layerNormBackward");
    deepStrictEqual(ln.length, 2 * L);
    ok(ln.every((c) => c.args[1] === 0 && c.args[2] === 0));
    // input gradients of the classifier, the pooler, each block's attention output and FFN, and q, k, v
    // above layer 0 only: layer 0's projections and everything below them get no backward
    const dx = named("matmul").filter((c) => (c.args[7]! & MatmulFlags.ACCUMULATE) !== 0);
    deepStrictEqual(dx.length, 2 + 3 * L + 3 * (L - 1));
    deepStrictEqual(named("attentionBackward").length, perExample ? L * batches[0]!.batch.batchSize : L);
  }
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
  // per example, an engine runs each row alone: the bucketed numbers of the WASM engine's per-row gradients
  const bucketed = await sst2Batches(8, { bucket: true });
  const want = computeHeadImportance(bucketed.model, bucketed.batches, { perExample: true });
  let calls = 0;
  const counting: ImportanceEngine = (req) => (calls++, engine(req));
  const got = await computeHeadImportanceWith(counting, model.config, bucketed.batches, { perExample: true });
  for (const k of ["importance", "importanceRaw", "entropy"] as const) ok(maxAbsDiff(k, want[k], got[k]) <= 1e-5, k);
  deepStrictEqual([got.preds, got.totalTokens, got.batches], [want.preds, want.totalTokens, want.batches]);
  deepStrictEqual(calls, bucketed.batches.reduce((n, b) => n + b.batch.batchSize, 0));
});
