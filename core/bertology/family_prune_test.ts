/**
 * Structural pruning of the encoder families: a pruned checkpoint, saved and reloaded, computes what the same
 * units masked compute; ALBERT's shared weights lose only the units pruned in every layer that shares them.
 */

import { deepStrictEqual, match, ok } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { saveCheckpoint } from "../checkpoint/save_checkpoint.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { batchFromArrays } from "../models/inputs.ts";
import { loadModel } from "../models/load.ts";
import { TransformerModel } from "../models/model.ts";
import { familyModel, maxAbsDiff, readFamilyInputs } from "../../tests/helpers/goldens.ts";
import { applyMasks } from "./kwon/apply.ts";
import { headsFromMask, pruneModel, pruneNeuronWeights, zeroUnits } from "./prune.ts";

async function fixture(name: string) {
  const { model } = await loadModel(localFiles(familyModel(name)), { tokenizer: false });
  const inputs = readFamilyInputs(`${name}.single`);
  return { model, batch: batchFromArrays(inputs as { input_ids: unknown }, name) };
}

for (const name of ["roberta-tiny-random", "distilbert-tiny-random", "electra-tiny-random"]) {
  Deno.test(`${name}: pruned heads and neurons, saved and reloaded, equal the masked model`, async () => {
    const { model, batch } = await fixture(name);
    const headMask = [[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 0]];
    const neuronMask = model.config.intermediateSizes.map((I, l) =>
      Array.from({ length: I }, (_, j) => (j % (l + 2) === 0 ? 0 : 1))
    );
    const masked = model.run({ batch, headMask, neuronMask });
    const pruned = applyMasks(
      model.config,
      model.params.toTensors(),
      { heads: headMask, neurons: neuronMask },
      "bertology",
    );
    deepStrictEqual(pruned.note, "");
    const dir = await Deno.makeTempDir();
    try {
      await saveCheckpoint(`${dir}/pruned`, { config: pruned.config.raw, weights: pruned.weights });
      const { model: reloaded } = await loadModel(localFiles(`${dir}/pruned`), { tokenizer: false });
      deepStrictEqual(reloaded.headsPerLayer, [2, 0, 3]);
      ok(reloaded.params.count() < model.params.count());
      const d = maxAbsDiff("logits", masked.logits!, reloaded.run({ batch }).logits!);
      ok(d <= 1e-5, `logits differ by ${d}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    // dense: every shape kept, the same outputs
    const dense = applyMasks(model.config, model.params.toTensors(), { heads: headMask, neurons: neuronMask }, "dense");
    const zeroed = new TransformerModel(dense.config, dense.weights, createWasmKernels());
    ok(maxAbsDiff("logits", masked.logits!, zeroed.run({ batch }).logits!) <= 1e-5);
  });
}

for (const name of ["albert-tiny-random", "albert-spm-tiny-random"]) {
  Deno.test(`${name}: a head leaves the shared weights only when pruned in every layer, and the note says so`, async () => {
    const { model, batch } = await fixture(name);
    const notes: string[] = [];
    // head 1 in every layer; head 3 only in layer 2
    const pruned = pruneModel(model, { 0: [1], 1: [1], 2: [1, 3] }, createWasmKernels(), (n) => notes.push(n));
    deepStrictEqual(pruned.config.prunedHeads, [[1], [1], [1]]);
    // HF's AlbertModel reads pruned_heads by layer group (one shared block): {"0": [1]} (transformers ≤ 4.x)
    deepStrictEqual(pruned.config.raw.pruned_heads, { 0: [1] });
    deepStrictEqual(pruned.headsPerLayer, [3, 3, 3]);
    deepStrictEqual(notes.length, 1);
    match(notes[0]!, /heads 3 of layers 0, 1, 2: those layers share one set of weights/);
    const masked = model.run({ batch, headMask: [[1, 0, 1, 1], [1, 0, 1, 1], [1, 0, 1, 1]] });
    ok(maxAbsDiff("logits", masked.logits!, pruned.run({ batch }).logits!) <= 1e-5);
    // per-layer masks and importance stay per (layer, head) use of the shared weights
    const g = model.run({ batch, labels: Int32Array.from([1, 0, 0]), names: ["head_mask_grad"] }).headMaskGrad!;
    deepStrictEqual(g.shape, [3, 4]);
    ok(g.data[1] !== g.data[5], "layers 0 and 1 use head 1 differently");
  });

  Deno.test(`${name}: neurons and the dense format leave shared units that another layer still uses`, async () => {
    const { model, batch } = await fixture(name);
    const I = model.config.intermediate;
    const weights = model.params.toTensors();
    const some = pruneNeuronWeights(model.config, weights, { 0: [0, 5], 1: [5], 2: [5] });
    deepStrictEqual(some.config.intermediateSizes, [I - 1, I - 1, I - 1]);
    match(some.note, /neurons 0 of layers 0, 1, 2/);
    // dense zeroing: head 2 is pruned in every layer, head 0 only in layer 0 (still used by layers 1 and 2)
    const heads = { 0: [0, 2], 1: [2], 2: [2] };
    const zeroed = new TransformerModel(model.config, zeroUnits(model.config, weights, { heads }), createWasmKernels());
    const masked = model.run({ batch, headMask: [[1, 1, 0, 1], [1, 1, 0, 1], [1, 1, 0, 1]] });
    ok(maxAbsDiff("logits", masked.logits!, zeroed.run({ batch }).logits!) <= 1e-5);
    const mask = [[0, 1, 0, 1], [1, 1, 0, 1], [1, 1, 0, 1]];
    deepStrictEqual(headsFromMask(mask), heads);
    const dense = applyMasks(model.config, weights, {
      heads: mask,
      neurons: model.config.intermediateSizes.map((n) => Array(n).fill(1)),
    }, "dense");
    match(dense.note, /heads 0 of layers 0, 1, 2/);
  });
}
