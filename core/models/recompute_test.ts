import assert from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { batchFromArrays } from "./inputs.ts";
import { loadModel } from "./load.ts";
import type { Labels, RunRequest, TransformerModel } from "./model.ts";
import type { RecomputeMode } from "./run.ts";

// Recomputation: a backward pass that keeps only each block's input and runs the block again when its backward
// comes must give the stored-activation pass's results bit for bit — head-mask, neuron-mask, input, inner and
// weight gradients, under dropout, patches and observers — at 1, 2 and 3 threads; and hooks must not be emitted
// twice (an observer sees each value once, a patch is called once, kept values are the forward's).
const CASES: Array<[string, number[][], Labels]> = [
  ["bert-tiny-random", [[2, 45, 17, 3, 60, 71, 3], [2, 9, 3, 88, 0, 0, 0]], [1, 0]],
  ["gpt2-tiny-random", [[5, 6, 7, 8, 9, 10, 11], [10, 11, 12, 13, 0, 0, 0]], "lm"],
];

function bits(a: ArrayLike<number>): Uint32Array {
  return new Uint32Array(Float32Array.from(a).buffer);
}

/** One training-like pass with every kind of gradient, a patch, an observer and dropout; what it saw. */
function fullPass(model: TransformerModel, ids: number[][], labels: Labels, recompute: RecomputeMode) {
  const attention_mask = ids.map((r) => r.map((v, i) => (i === 0 || v !== 0 ? 1 : 0)));
  const batch = batchFromArrays({ input_ids: ids, attention_mask }, "recompute test");
  const { layers: L, heads: H } = model.config;
  const headMask = Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => ((l + h) % 3 ? 1 : 0.5)));
  const neuronMask = model.config.intermediateSizes.map((I, l) =>
    Array.from({ length: I }, (_, j) => 1 - ((l + j) % 4) / 8)
  );
  const observed: string[] = [];
  const observedSums: number[] = [];
  const observe = new Map(
    [`blocks.0.mlp.hook_post`, `blocks.1.attn.hook_pattern`].map((name) =>
      [name, (a: { ptr: number; size: number }, run: { read(p: number, n: number): Float32Array }) => {
        observed.push(name);
        observedSums.push(run.read(a.ptr, a.size).reduce((s, v) => s + v, 0));
      }] as const
    ),
  );
  let patched = 0;
  // an ablation inside a block that is recomputed: its values must be reused, not recomputed nor re-patched
  const patch = new Map([["blocks.0.attn.hook_z", (values: Float32Array) => {
    patched++;
    for (let i = 0; i < values.length; i += 5) values[i] = 0;
  }]]);
  model.params.enableGrads();
  model.params.zeroGrads();
  const req: RunRequest = {
    batch,
    labels,
    headMask,
    neuronMask,
    paramGrads: true,
    dropout: { p: 0.2, seed: 7 },
    observe,
    patch,
    recompute,
    names: [
      "hook_head_mask_grad",
      "neuron_mask_grad",
      "embed.hook_out_grad",
      "blocks.1.attn.hook_z_grad",
      "blocks.0.attn.hook_z_grad",
      "blocks.0.mlp.hook_post",
      `blocks.${L - 1}.hook_resid_post`,
    ],
  };
  const r = model.run(req);
  return { r, grads: model.params.gradTensors(), observed, observedSums, patched };
}

/** The importance pass alone: head-mask gradients per example, no weight gradients. */
function importancePass(model: TransformerModel, ids: number[][], labels: Labels, recompute: RecomputeMode) {
  const attention_mask = ids.map((r) => r.map((v, i) => (i === 0 || v !== 0 ? 1 : 0)));
  const batch = batchFromArrays({ input_ids: ids, attention_mask }, "recompute test");
  return model.run({ batch, labels, names: ["hook_head_mask_grad"], perExampleHeadMaskGrad: true, recompute });
}

for (const [name, ids, labels] of CASES) {
  for (const threads of [1, 2, 3]) {
    Deno.test(`${name}: recomputed blocks give the stored-activation pass's gradients bit for bit (${threads} thread${threads > 1 ? "s" : ""})`, async () => {
      const { model } = await loadModel(localFiles(fixtureModel(name)), { tokenizer: false, threads });
      try {
        const off = fullPass(model, ids, labels, "off"), on = fullPass(model, ids, labels, "on");
        const L = model.config.layers;
        assert.equal(off.r.recomputedBlocks, 0);
        assert.equal(on.r.recomputedBlocks, L);
        assert.equal(on.r.loss, off.r.loss);
        assert.deepEqual([...on.r.cache.keys()], [...off.r.cache.keys()]);
        for (const [key, t] of off.r.cache) {
          assert.deepEqual(on.r.cache.get(key)!.shape, t.shape, key);
          assert.deepEqual(bits(on.r.cache.get(key)!.data), bits(t.data), key);
        }
        assert.ok(
          off.r.cache.get("embed.hook_out_grad")!.data.some((v) => v !== 0),
          "the input gradient is not all zero",
        );
        assert.deepEqual(on.r.neuronMaskGrad!.map(bits), off.r.neuronMaskGrad!.map(bits));
        assert.equal(on.grads.size, off.grads.size);
        for (const [key, t] of off.grads) assert.deepEqual(bits(on.grads.get(key)!.data), bits(t.data), `${key} grad`);
        // each hook once: the observers saw the forward's values once each, the patch was called once
        assert.deepEqual(on.observed, off.observed);
        assert.deepEqual(on.observed, ["blocks.0.mlp.hook_post", "blocks.1.attn.hook_pattern"]);
        assert.deepEqual(on.observedSums, off.observedSums);
        assert.equal(on.patched, 1);
        assert.equal(off.patched, 1);

        const a = importancePass(model, ids, labels, "off"), b = importancePass(model, ids, labels, "on");
        assert.equal(b.recomputedBlocks, L);
        assert.deepEqual(bits(b.headMaskGrad!.data), bits(a.headMaskGrad!.data));
        assert.deepEqual(bits(b.headMaskGradPerExample!.data), bits(a.headMaskGradPerExample!.data));
      } finally {
        model.kernels.close();
      }
    });
  }
}

Deno.test("TransformerModel.run() recompute auto: recomputes under a budget the stored pass exceeds, not otherwise", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false });
  const [ids, labels] = [CASES[0]![1], CASES[0]![2]];
  const stored = importancePass(model, ids, labels, "off");
  // the weights alone take more than 1 MB of kernel memory: any such budget makes the pass recompute
  model.memoryBudgetMB = 1;
  const tight = importancePass(model, ids, labels, "auto");
  assert.equal(tight.recomputedBlocks, model.config.layers);
  assert.deepEqual(bits(tight.headMaskGrad!.data), bits(stored.headMaskGrad!.data));
  model.memoryBudgetMB = 4096;
  assert.equal(importancePass(model, ids, labels, "auto").recomputedBlocks, 0);
  // the request's budget wins over the model's
  const attention_mask = ids.map((r) => r.map((v, i) => (i === 0 || v !== 0 ? 1 : 0)));
  const batch = batchFromArrays({ input_ids: ids, attention_mask }, "recompute test");
  assert.equal(model.run({ batch, labels, names: ["hook_head_mask_grad"], memoryBudgetMB: 1 }).recomputedBlocks, 3);
  assert.throws(
    () => model.run({ batch, labels, names: ["hook_head_mask_grad"], memoryBudgetMB: -5 }),
    /memoryBudgetMB must be a positive number of MB, got -5/,
  );
  assert.throws(
    () => model.run({ batch, labels, names: ["hook_head_mask_grad"], recompute: "sometimes" as RecomputeMode }),
    /recompute must be one of on, off, auto, got "sometimes"/,
  );
});

Deno.test("loadModel() takes recompute and memoryBudgetMB, and names them when wrong", async () => {
  const files = localFiles(fixtureModel("gpt2-tiny-random"));
  const { model } = await loadModel(files, { tokenizer: false, recompute: "on", memoryBudgetMB: 300 });
  assert.equal(model.recompute, "on");
  assert.equal(model.memoryBudgetMB, 300);
  await assert.rejects(
    () => loadModel(files, { tokenizer: false, memoryBudgetMB: 0 }),
    /loadModel: memoryBudgetMB must be a positive number of MB, got 0/,
  );
  await assert.rejects(
    () => loadModel(files, { tokenizer: false, recompute: "yes" as RecomputeMode }),
    /loadModel: recompute must be one of on, off, auto/,
  );
});
