import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { createReferenceKernels } from "../kernels/reference_kernels.ts";
import { familyModel, fixtureModel, maxAbsDiff } from "../../tests/helpers/goldens.ts";
import { batchFromArrays } from "./inputs.ts";
import { loadModel } from "./load.ts";
import { type Labels, TransformerModel } from "./model.ts";

// Neuron masks: the gradient the backward pass hands back equals central differences of the loss, for each
// family, and a mask of ones changes nothing.
const CASES: Array<[string, number[][], Labels]> = [
  ["bert-tiny-random", [[2, 45, 17, 3, 0], [2, 9, 3, 0, 0]], [1, 0]],
  ["gpt2-tiny-random", [[5, 6, 7, 8, 9], [10, 11, 12, 0, 0]], "lm"],
  ["openai-gpt-tiny-random", [[5, 6, 7, 8, 9], [10, 11, 12, 0, 0]], "lm"],
  ["roberta-tiny-random", [[0, 45, 17, 2, 1], [0, 9, 2, 1, 1]], [1, 0]],
  ["distilbert-tiny-random", [[2, 45, 17, 3, 0], [2, 9, 3, 0, 0]], [1, 0]],
  ["albert-tiny-random", [[2, 45, 17, 3, 0], [2, 9, 3, 0, 0]], [1, 0]],
  ["electra-tiny-random", [[2, 45, 17, 3, 0], [2, 9, 3, 0, 0]], [1, 0]],
];

/** A fixture folder: the original three, or an encoder family's. */
function modelDir(name: string): string {
  return /^(bert|gpt2|openai-gpt)-/.test(name) ? fixtureModel(name) : familyModel(name);
}

function batchOf(ids: number[][]) {
  const attention_mask = ids.map((r) => r.map((v, i) => (i === 0 || v !== 0 ? 1 : 0)));
  return batchFromArrays({ input_ids: ids, attention_mask }, "neuron mask test");
}

function baseMask(m: TransformerModel): number[][] {
  return m.config.intermediateSizes.map((I, l) => Array.from({ length: I }, (_, j) => 0.5 + 0.1 * ((l + j) % 7)));
}

for (const [name, ids, labels] of CASES) {
  Deno.test(`${name}: neuron_mask_grad equals finite differences of the loss`, async () => {
    const { model } = await loadModel(localFiles(modelDir(name)), { tokenizer: false });
    const m = new TransformerModel(model.config, model.params.toTensors(), createReferenceKernels());
    const batch = batchOf(ids);
    const base = baseMask(m);
    const r = m.run({ batch, labels, neuronMask: base, names: ["neuron_mask_grad"] });
    const grads = r.neuronMaskGrad!;
    deepStrictEqual(grads.map((g) => g.length), m.config.intermediateSizes);
    deepStrictEqual(r.cache.get("hook_neuron_mask_grad")!.shape, [m.config.layers, m.config.intermediate]);
    const eps = 1e-3;
    let checked = 0;
    for (let l = 0; l < m.config.layers; l++) {
      for (const j of [0, 3, m.config.intermediateSizes[l]! - 1]) {
        const at = (d: number) => {
          const nm = base.map((row) => [...row]);
          nm[l]![j]! += d;
          return m.run({ batch, labels, neuronMask: nm }).loss!;
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        const g = grads[l]![j]!;
        ok(Math.abs(fd - g) <= 2e-4 + 2e-2 * Math.abs(fd), `${name} mask[${l}][${j}]: backward ${g}, fd ${fd}`);
        checked += Math.abs(g) > 1e-6 ? 1 : 0;
      }
    }
    ok(checked > 0, "some gradient is non-zero");
  });
}

Deno.test("a neuron mask of ones is the unmasked model; a wrong shape names the row", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false });
  const batch = batchOf(CASES[0]![1]);
  const ones = model.config.intermediateSizes.map((I) => new Array(I).fill(1));
  const plain = model.run({ batch });
  const masked = model.run({ batch, neuronMask: ones });
  ok(maxAbsDiff("logits", plain.logits!, masked.logits!) === 0);
  const zeroed = model.run({ batch, neuronMask: ones.map((r) => r.map(() => 0)) });
  ok(maxAbsDiff("logits", plain.logits!, zeroed.logits!) > 1e-6, "masking every neuron changes the output");
  throws(() => model.run({ batch, neuronMask: [[1]] }), /neuron mask must have 3 rows/);
  const bad = ones.map((r) => [...r]);
  bad[1] = [1, 1];
  throws(() => model.run({ batch, neuronMask: bad }), /neuron mask\[1\] must have \d+ entries/);
});
