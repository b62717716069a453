/**
 * Structural pruning of the Llama family (grouped-query attention: 4 query heads, 2 key/value heads, query heads
 * 0, 1 read kv head 0 and 2, 3 kv head 1): a query head is removed alone, a kv head only with the last query head
 * it serves, and the pruned checkpoint, saved and reloaded, computes what the masked model computes — logits and
 * the kept heads' mask gradients — in the bertology and dense formats; hf-v4 is refused.
 */

import { deepStrictEqual, match, ok, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { saveCheckpoint } from "../checkpoint/save_checkpoint.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { batchFromArrays } from "../models/inputs.ts";
import { loadModel } from "../models/load.ts";
import { TransformerModel } from "../models/model.ts";
import { familyModel, maxAbsDiff, readFamilyInputs } from "../../tests/helpers/goldens.ts";
import { applyMasks } from "./kwon/apply.ts";
import { pruneModel } from "./prune.ts";

// layer 0 loses query head 1 (kv head 0 still serves head 0), layer 1 heads 0, 1, 3 (kv head 0 goes, kv head 1
// stays for head 2), layer 2 every head (both kv heads go)
const HEAD_MASK = [[1, 0, 1, 1], [0, 0, 1, 0], [0, 0, 0, 0]];

async function fixture(name: string) {
  const { model } = await loadModel(localFiles(familyModel(name)), { tokenizer: false });
  const inputs = readFamilyInputs(`${name}.lm`);
  return { model, batch: batchFromArrays(inputs as { input_ids: unknown }, name) };
}

for (const name of ["llama-tiny-random", "qwen2-tiny-random"]) {
  Deno.test(`${name}: pruned query heads, kv heads and gated-MLP neurons, saved and reloaded, equal the masked model`, async () => {
    const { model, batch } = await fixture(name);
    const neuronMask = model.config.intermediateSizes.map((I, l) =>
      Array.from({ length: I }, (_, j) => (j % (l + 2) === 0 ? 0 : 1))
    );
    const masks = { heads: HEAD_MASK, neurons: neuronMask };
    const masked = model.run({ batch, headMask: HEAD_MASK, neuronMask, labels: "lm", names: ["head_mask_grad"] });
    const maskedLogits = model.run({ batch, headMask: HEAD_MASK, neuronMask, names: ["logits"] }).logits!;
    const pruned = applyMasks(model.config, model.params.toTensors(), masks, "bertology");
    match(pruned.note, /Kept key\/value heads 0 of layer 0; 1 of layer 1: with grouped-query attention/);
    const D = model.config.headDim, C = model.config.hidden;
    const rows = (l: number, n: string) => pruned.weights.get(`model.layers.${l}.self_attn.${n}.weight`)!.shape;
    deepStrictEqual([0, 1, 2].map((l) => rows(l, "q_proj")), [[3 * D, C], [D, C], [0, C]]);
    deepStrictEqual([0, 1, 2].map((l) => rows(l, "k_proj")), [[2 * D, C], [D, C], [0, C]]);
    deepStrictEqual([0, 1, 2].map((l) => rows(l, "v_proj")), [[2 * D, C], [D, C], [0, C]]);
    deepStrictEqual(
      pruned.weights.get("model.layers.0.mlp.up_proj.weight")!.shape,
      [model.config.intermediate / 2, C],
    );
    const dir = await Deno.makeTempDir();
    try {
      await saveCheckpoint(`${dir}/pruned`, { config: pruned.config.raw, weights: pruned.weights });
      const { model: reloaded } = await loadModel(localFiles(`${dir}/pruned`), { tokenizer: false });
      deepStrictEqual(reloaded.headsPerLayer, [3, 1, 0]);
      const ours = reloaded.run({ batch, labels: "lm", names: ["logits", "head_mask_grad"] });
      const d = maxAbsDiff("logits", maskedLogits, ours.logits!);
      ok(d <= 1e-5, `logits differ by ${d}`);
      ok(Math.abs(ours.loss! - masked.loss!) <= 1e-6, `loss ${ours.loss} vs masked ${masked.loss}`);
      // a kept head's gradient is the same in the pruned and the masked model (layer 0's head 2 reads kv head 1)
      HEAD_MASK.flat().forEach((m, i) => {
        if (m === 1) {
          const a = ours.headMaskGrad!.data[i]!, e = masked.headMaskGrad!.data[i]!;
          ok(Math.abs(a - e) <= 1e-5 + 1e-3 * Math.abs(e), `head_mask_grad[${i}] ${a} vs masked ${e}`);
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    // dense: every shape kept, kv heads zeroed only where no kept query head reads them
    const dense = applyMasks(model.config, model.params.toTensors(), masks, "dense");
    const zeroed = new TransformerModel(dense.config, dense.weights, createWasmKernels());
    ok(maxAbsDiff("logits", maskedLogits, zeroed.run({ batch, names: ["logits"] }).logits!) <= 1e-5);
    const k0 = dense.weights.get("model.layers.0.self_attn.k_proj.weight")!;
    ok(k0.data.subarray(0, D * C).some((v) => v !== 0), "kv head 0 of layer 0 still serves query head 0");
    ok(dense.weights.get("model.layers.2.self_attn.k_proj.weight")!.data.every((v) => v === 0));
    // hf-v4: transformers 4.x cannot prune Llama-family heads on load
    throws(() => applyMasks(model.config, model.params.toTensors(), masks, "hf-v4"), /--format dense/);
  });
}

Deno.test("llama-tiny-random: pruning query heads one call at a time keeps each kv head until its last query head goes", async () => {
  const { model, batch } = await fixture("llama-tiny-random");
  const notes: string[] = [];
  const once = pruneModel(model, { 0: [0] }, createWasmKernels(), (n) => notes.push(n));
  deepStrictEqual(notes, [
    "Kept key/value heads 0 of layer 0: with grouped-query attention a query head is removed alone, and a " +
    "key/value head only when every query head it serves is pruned.",
  ]);
  const twice = pruneModel(once, { 0: [1, 3] }, createWasmKernels(), (n) => notes.push(n));
  // kv head 0 goes with query head 1; kv head 1 stays for query head 2
  deepStrictEqual(notes.length, 2);
  match(notes[1]!, /^Kept key\/value heads 1 of layer 0:/);
  deepStrictEqual(twice.config.prunedHeads[0], [0, 1, 3]);
  deepStrictEqual(twice.params.toTensors().get("model.layers.0.self_attn.k_proj.weight")!.shape, [8, 32]);
  const headMask = [[0, 0, 1, 0], [1, 1, 1, 1], [1, 1, 1, 1]];
  const masked = model.run({ batch, headMask, names: ["logits"] }).logits!;
  ok(maxAbsDiff("logits", masked, twice.run({ batch, names: ["logits"] }).logits!) <= 1e-5);
});
