import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { saveCheckpoint } from "../checkpoint/save_checkpoint.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { batchFromArrays } from "../models/inputs.ts";
import { loadModel } from "../models/load.ts";
import { assertTensorsClose, fixtureModel, maxAbsDiff, readGolden, readInputs } from "../../tests/helpers/goldens.ts";
import { headsFromMask, parseHeadsToPrune, pruneModel } from "./prune.ts";

for (const golden of ["bert-tiny-random.pruned", "gpt2-tiny-random.pruned"]) {
  Deno.test(`pruneModel() + saveCheckpoint() + reload matches HF golden ${golden}`, async () => {
    const inputs = readInputs(golden);
    const sidecar = JSON.parse(
      Deno.readTextFileSync(new URL(`../../tests/fixtures/goldens/${golden}.json`, import.meta.url)),
    );
    const source = localFiles(fixtureModel(inputs.model as string));
    const { model } = await loadModel(source, { tokenizer: false });
    const pruned = pruneModel(model, sidecar.heads_to_prune, createWasmKernels());
    const dir = await Deno.makeTempDir();
    try {
      await saveCheckpoint(`${dir}/pruned`, {
        config: pruned.config.raw,
        weights: pruned.params.toTensors(),
        tokenizerFrom: source,
      });
      const { model: reloaded, tokenizer } = await loadModel(localFiles(`${dir}/pruned`));
      ok(tokenizer, "tokenizer files were copied");
      deepStrictEqual(reloaded.config.raw.pruned_heads, sidecar.heads_to_prune);
      // state-dict names and shapes as HF's (HF also lists the tied lm_head; its dump filtered "*attn.bias"
      // names, which drops GPT-2's c_attn.bias along with the causal-mask buffer)
      const ours = new Map([...reloaded.params.all()].map((p) => [p.name, [...p.shape]]));
      const expected = new Map(Object.entries(sidecar.state_dict_shapes as Record<string, number[]>));
      for (const [name, shape] of expected) {
        if (name === "lm_head.weight") continue;
        deepStrictEqual(ours.get(name), shape, name);
      }
      const extra = [...ours.keys()].filter((n) => !expected.has(n));
      ok(extra.every((n) => n.endsWith("attn.c_attn.bias")), `unexpected tensors ${extra}`);

      const expectedOut = readGolden(golden);
      const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
      const names = [...expectedOut.keys()].filter((n) => /^(logits|hidden_states\.\d+|attentions\.\d+)$/.test(n));
      const { cache } = reloaded.run({ batch, names });
      assertTensorsClose(expectedOut, (n) => cache.get(reloaded.resolveName(n)), names);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("pruneModel() gives the outputs of the same heads masked, including a whole layer and pruning twice", async () => {
  const golden = "bert-tiny-random.pairs";
  const inputs = readInputs(golden);
  const { model } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false });
  const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
  const mask = [[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 0]];
  const masked = model.run({ batch, headMask: mask, names: ["hidden_states.3"] });
  // prune in two steps: one head first, then the rest
  const once = pruneModel(model, { 0: [1] }, createWasmKernels());
  const twice = pruneModel(once, headsFromMask(mask), createWasmKernels());
  deepStrictEqual(twice.config.prunedHeads, [[1, 3], [0, 1, 2, 3], [3]]);
  deepStrictEqual(twice.headsPerLayer, [2, 0, 3]);
  const pruned = twice.run({ batch, names: ["hidden_states.3"] });
  ok(maxAbsDiff("logits", masked.logits!, pruned.logits!) <= 1e-5);
  const h = "blocks.2.hook_resid_post";
  ok(maxAbsDiff(h, masked.cache.get(h)!, pruned.cache.get(h)!) <= 1e-5);
  ok(twice.params.count() < model.params.count());
});

Deno.test("parseHeadsToPrune() names the bad layer or head", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false });
  throws(() => parseHeadsToPrune({ 7: [0] }, model.config), /layer "7" is outside 0..2/);
  throws(() => parseHeadsToPrune({ 0: [4] }, model.config), /head indices in 0..3/);
  throws(() => parseHeadsToPrune([1], model.config), /expected an object/);
});
