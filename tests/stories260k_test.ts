// models/stories260k — Karpathy's llama2.c stories260K (TinyStories, MIT) in HF layout, the first model bertology
// runs that someone else pretrained: its logits, hidden states and attentions equal HF's (goldens/, within 1e-4),
// its tokenizer equals HF's on every line of tokenize.stories260K.jsonl, and greedy decoding from BOS by plain
// recomputation (argmax of the last position's logits, append, run the whole sequence again) gives the 200 ids
// of generation.json, whose text is the continuation llama2.c documents.
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { batchFromArrays, loadModel } from "@bertology/core";
import { loadSafetensors } from "@bertology/core/checkpoint";
import { assertTensorsClose, forwardGoldenNames } from "./helpers/goldens.ts";
import { countMismatches, readGolden } from "./helpers/tokenizer_goldens.ts";

const DIR = new URL("../models/stories260k/", import.meta.url).pathname;

Deno.test("models/stories260k: logits, hidden states and attentions equal HF's goldens", async () => {
  const { model } = await loadModel(localFiles(DIR), { tokenizer: false });
  strictEqual(model.config.kvHeads, 4);
  const inputs = JSON.parse(Deno.readTextFileSync(`${DIR}goldens/stories260K.lm.inputs.json`));
  const path = `${DIR}goldens/stories260K.lm.safetensors`;
  const expected = loadSafetensors(Deno.readFileSync(path), path);
  const names = forwardGoldenNames(expected, model.config.layers, "stories260K.lm");
  const { cache } = model.run({ batch: batchFromArrays(inputs, "stories260K.lm"), names });
  assertTensorsClose(expected, (n) => cache.get(model.resolveName(n)), names);
});

Deno.test("models/stories260k: its tokenizer gives HF's ids on every line of tokenize.stories260K.jsonl", async () => {
  const { tokenizer } = await loadModel(localFiles(DIR));
  const lines = await readGolden("../../models/stories260k/tokenize.stories260K.jsonl");
  strictEqual(lines.length > 30, true);
  strictEqual(countMismatches(tokenizer!, lines, "stories260K"), 0);
});

Deno.test("models/stories260k: greedy decoding from BOS by recomputation gives all 200 tokens of generation.json (llama2.c's documented text)", async () => {
  const { model, tokenizer } = await loadModel(localFiles(DIR));
  const generation = JSON.parse(Deno.readTextFileSync(`${DIR}generation.json`));
  const expected = generation.ids as number[];
  const ids = [1];
  while (ids.length < expected.length) {
    const { logits } = model.run({ batch: batchFromArrays({ input_ids: [ids] }, "greedy"), names: ["logits"] });
    const V = logits!.shape.at(-1)!, last = logits!.data.subarray((ids.length - 1) * V, ids.length * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v]! > last[best]!) best = v;
    ids.push(best);
  }
  deepStrictEqual(ids, expected);
  strictEqual(expected.length, 201);
  strictEqual(tokenizer!.decode(ids, { skipSpecialTokens: true }), generation.expected_llama2c);
});
