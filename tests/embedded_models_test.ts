// The bundled models do what their cards say: models/bert-sst2 reaches ≥ 0.80 on all 872 SST-2 dev rows, with
// exactly the accuracy its MODEL_CARD.md states; models/gpt2-sst2 has the dev perplexity its card states. The
// numbers are measured the way the demo measures them (cli/_dataset.ts, max sequence length 64).
import { ok, strictEqual } from "node:assert/strict";
import { openModel } from "../cli/_common.ts";
import { loadDataset } from "../cli/_dataset.ts";
import { computeHeadImportance } from "../core/bertology/importance.ts";
import { scoreTask } from "../core/studies/score.ts";

const root = (p: string) => new URL(`../${p}`, import.meta.url).pathname;

async function devStudy(dir: string, batchSize: number) {
  const { model, tokenizer } = await openModel(root(dir));
  const data = await loadDataset(
    { task: "sst-2", "data-dir": root("data/glue"), "batch-size": String(batchSize), "max-seq-length": "64" },
    model,
    tokenizer!,
  );
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
