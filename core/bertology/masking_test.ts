import { deepStrictEqual, ok } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { makeBatches } from "../data/batches.ts";
import { parseGlueTsv } from "../data/glue.ts";
import { loadModel } from "../models/load.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { computeHeadImportance } from "./importance.ts";
import { maskHeadsIteratively } from "./masking.ts";

const SST2_DEV = new URL("../../data/glue/SST-2/dev.tsv", import.meta.url).pathname;

async function setup() {
  const { model, tokenizer } = await loadModel(localFiles(fixtureModel("bert-tiny-random")));
  const examples = parseGlueTsv("sst-2", "dev", Deno.readTextFileSync(SST2_DEV)).slice(0, 16);
  const encoded = examples.map((e) => tokenizer!.encode(e.textA, undefined, { maxLength: 64 }));
  const batches = makeBatches(encoded, { batchSize: 8, labels: examples.map((e) => Number(e.label)) })
    .map((b) => ({ batch: b, labels: b.labels as Int32Array }));
  return { model, batches };
}

const lowest = (importance: Float32Array, mask: number[][], n: number) =>
  [...importance.keys()].filter((i) => mask[Math.floor(i / 4)]![i % 4] === 1)
    .sort((a, b) => importance[a]! - importance[b]! || a - b).slice(0, n).map((i) => [Math.floor(i / 4), i % 4]);

Deno.test("maskHeadsIteratively() masks the least important remaining heads, re-ranking after each step", async () => {
  const { model, batches } = await setup();
  // a score that never drops: masking runs until too few heads remain
  const r = maskHeadsIteratively(model, batches, { amount: 0.25, score: () => 1 });
  deepStrictEqual(r.steps.map((s) => s.headsKept), [12, 9, 6, 3]);
  let mask = [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]];
  for (const step of r.steps.slice(1)) {
    const importance = computeHeadImportance(model, batches, { headMask: mask, computeEntropy: false }).importance.data;
    deepStrictEqual(step.newlyMasked, lowest(importance, mask, 3));
    mask = mask.map((row) => [...row]);
    for (const [l, h] of step.newlyMasked) mask[l]![h] = 0;
  }
  deepStrictEqual(r.headMask, mask);
});

Deno.test("maskHeadsIteratively() with rerank false follows the unmasked ranking", async () => {
  const { model, batches } = await setup();
  const r = maskHeadsIteratively(model, batches, { amount: 0.25, score: () => 1, rerank: false });
  const importance = computeHeadImportance(model, batches, { computeEntropy: false }).importance.data;
  const order = lowest(importance, [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]], 9);
  deepStrictEqual(r.steps.slice(1).flatMap((s) => s.newlyMasked), order);
});

Deno.test("maskHeadsIteratively() keeps at least K heads per layer", async () => {
  const { model, batches } = await setup();
  const r = maskHeadsIteratively(model, batches, { amount: 0.25, score: () => 1, atLeastHeadsPerLayer: 2 });
  for (const row of r.headMask) ok(row.reduce((a, b) => a + b, 0) >= 2, JSON.stringify(r.headMask));
  deepStrictEqual(r.steps.at(-1)!.headsKept, 6);
});

Deno.test("maskHeadsIteratively() returns the last mask above the threshold, not the one that fell below", async () => {
  const { model, batches } = await setup();
  // the score falls with the number of masked heads: 1, 0.95, 0.9, 0.85 … (threshold 0.9 accepts two steps)
  let calls = 0;
  const r = maskHeadsIteratively(model, batches, { amount: 0.1, threshold: 0.9, score: () => 1 - 0.05 * calls++ });
  deepStrictEqual(r.steps.map((s) => s.headsKept), [12, 11, 10, 9]);
  deepStrictEqual(r.headMask.flat().reduce((a, b) => a + b, 0), 10);
  ok(Math.abs(r.finalScore - 0.9) < 1e-12 && r.originalScore === 1);
});
