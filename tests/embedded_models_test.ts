// The bundled models do what their cards say: models/bert-sst2 reaches ≥ 0.80 on all 872 SST-2 dev rows, with
// exactly the accuracy its MODEL_CARD.md states; models/gpt2-sst2 has the dev perplexity its card states. The
// numbers are measured the way the demo measures them (core/studies' dataset reader, max sequence length 64).
import { ok, strictEqual } from "node:assert/strict";
import { computeHeadImportance } from "@bertology/core/bertology";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { loadModel } from "@bertology/core/models";
import { scoreTask } from "@bertology/core/studies";
import { readStudyDataset } from "@bertology/core/studies/read-dataset";

const root = (p: string) => new URL(`../${p}`, import.meta.url).pathname;

async function devStudy(dir: string, batchSize: number) {
  const { model, tokenizer } = await loadModel(localFiles(root(dir)));
  const data = await readStudyDataset({ glue: { dataDir: root("data/glue"), task: "sst-2" } }, model, tokenizer!, {
    batchSize,
    maxSeqLength: 64,
  });
  strictEqual(data.examples.length, 872);
  return computeHeadImportance(model, data.batches, { computeImportance: false, computeEntropy: false });
}

Deno.test("models/bert-sst2 scores its card's SST-2 dev accuracy (≥ 0.80) on all 872 rows", async () => {
  const accuracy = scoreTask({ kind: "classify", glueTask: "sst-2" })(await devStudy("models/bert-sst2", 32));
  ok(accuracy >= 0.8, `accuracy ${accuracy}`);
  const card = Deno.readTextFileSync(root("models/bert-sst2/MODEL_CARD.md"));
  const stated = /\*\*(0\.\d{4})\*\* \((\d+) \/ 872\)/.exec(card);
  ok(stated, "the card states the accuracy as **0.xxxx** (n / 872)");
  strictEqual(accuracy.toFixed(4), stated[1]);
  strictEqual(Math.round(accuracy * 872), Number(stated[2]));
});

Deno.test("models/gpt2-sst2 has its card's SST-2 dev perplexity", async () => {
  const perplexity = Math.exp((await devStudy("models/gpt2-sst2", 4)).loss);
  const card = Deno.readTextFileSync(root("models/gpt2-sst2/MODEL_CARD.md"));
  const stated = /\| 872 \| [\d ]+ \| \*\*(\d+\.\d)\*\*/.exec(card);
  ok(stated, "the card states the dev perplexity");
  strictEqual(perplexity.toFixed(1), stated[1]);
});
