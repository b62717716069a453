import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { saveCheckpoint } from "../checkpoint/save_checkpoint.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { batchFromArrays } from "../models/inputs.ts";
import { loadModel } from "../models/load.ts";
import { assertTensorsClose, fixtureModel, maxAbsDiff, readGolden, readInputs } from "../../tests/helpers/goldens.ts";
import { TransformerModel } from "../models/model.ts";
import {
  foldMasks,
  headsFromMask,
  neuronsFromMask,
  parseHeadsToPrune,
  pruneModel,
  pruneNeuronWeights,
  pruneWeights,
  zeroUnits,
} from "./prune.ts";

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

for (const name of ["bert-tiny-random", "gpt2-tiny-random", "openai-gpt-tiny-random"]) {
  Deno.test(`${name}: pruning neurons (and heads) gives the masked outputs; intermediate_sizes reloads`, async () => {
    const source = localFiles(fixtureModel(name));
    const { model } = await loadModel(source, { tokenizer: false });
    const ids = [[2, 45, 17, 3, 9], [2, 9, 3, 0, 0]];
    const attention_mask = ids.map((r) => r.map((v, i) => (i === 0 || v !== 0 ? 1 : 0)));
    const batch = batchFromArrays({ input_ids: ids, attention_mask }, name);
    const { layers: L, heads: H } = model.config;
    // tuned (non-binary) values on kept units, 0 on pruned ones; layer 1 loses every neuron
    const headMask = Array.from(
      { length: L },
      (_, l) => Array.from({ length: H }, (_, h) => (h === l ? 0 : 1 + 0.1 * h)),
    );
    const neuronMask = model.config.intermediateSizes.map((I, l) =>
      Array.from({ length: I }, (_, j) => (l === 1 || j % 3 === 0 ? 0 : 0.5 + 0.01 * j))
    );
    const hs = `hidden_states.${L}`;
    const masked = model.run({ batch, headMask, neuronMask, names: [hs] });

    const heads = headsFromMask(headMask);
    const neurons = neuronsFromMask(neuronMask);
    const folded = foldMasks(model.config, model.params.toTensors(), { headMask, neuronMask });
    const a = pruneWeights(model.config, folded, heads);
    const b = pruneNeuronWeights(a.config, a.weights, neurons);
    const expectSizes = neuronMask.map((r) => r.filter((v) => v !== 0).length);
    deepStrictEqual(b.config.intermediateSizes, expectSizes);
    deepStrictEqual(b.config.raw.intermediate_sizes, expectSizes);
    const dir = await Deno.makeTempDir();
    try {
      await saveCheckpoint(`${dir}/pruned`, { config: b.config.raw, weights: b.weights, tokenizerFrom: source });
      const { model: reloaded } = await loadModel(localFiles(`${dir}/pruned`), { tokenizer: false });
      deepStrictEqual(reloaded.config.intermediateSizes, expectSizes);
      const pruned = reloaded.run({ batch, names: [hs] });
      const key = reloaded.resolveName(hs);
      ok(maxAbsDiff(hs, masked.cache.get(key)!, pruned.cache.get(key)!) <= 1e-5, "pruned = masked");
      ok(reloaded.params.count() < model.params.count());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }

    // dense: every shape kept, pruned units' weights zeroed, the same outputs
    const dense = zeroUnits(model.config, folded, { heads, neurons });
    for (const [k, t] of model.params.toTensors()) deepStrictEqual(dense.get(k)!.shape, t.shape, k);
    const denseModel = new TransformerModel(model.config, dense, createWasmKernels());
    const d = denseModel.run({ batch, names: [hs] });
    const key = model.resolveName(hs);
    ok(maxAbsDiff(hs, masked.cache.get(key)!, d.cache.get(key)!) <= 1e-5, "dense = masked");
  });
}

Deno.test("zeroing only a head's q/k/v weights leaves its value bias in the output: dense zeroes the biases too", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false });
  const batch = batchFromArrays({ input_ids: [[2, 45, 17, 3]] }, "bias");
  const headMask = [[0, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]];
  const masked = model.run({ batch, headMask });
  const w = model.params.toTensors();
  const D = model.config.headDim;
  for (const m of ["query", "key", "value"]) {
    const t = w.get(`bert.encoder.layer.0.attention.self.${m}.weight`)!;
    const data = t.data.slice();
    data.fill(0, 0, D * t.shape[1]!); // head 0's rows, but not its bias
    w.set(`bert.encoder.layer.0.attention.self.${m}.weight`, { shape: t.shape, data });
  }
  const weightsOnly = new TransformerModel(model.config, w, createWasmKernels()).run({ batch });
  ok(maxAbsDiff("logits", masked.logits!, weightsOnly.logits!) > 1e-4, "the value bias still contributes");
  const dense = new TransformerModel(
    model.config,
    zeroUnits(model.config, w, { heads: { 0: [0] } }),
    createWasmKernels(),
  );
  ok(maxAbsDiff("logits", masked.logits!, dense.run({ batch }).logits!) <= 1e-5);
  throws(() => pruneNeuronWeights(model.config, w, { 0: [64] }), /layer 0 has no neuron 64/);
});
