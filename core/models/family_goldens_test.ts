/**
 * The encoder families against Hugging Face (transformers 5.18, eager attention; see
 * `tests/fixtures/families/MANIFEST.json`): logits, every hidden state and attention of a padded batch within
 * 1e-4, and the classification loss and the head-mask gradient within 1e-5 + 1e-3·|g| — the mask multiplying
 * each head's context vector at the input of the output projection, as HF 2.1.1's `head_mask` did.
 */

import { localFiles } from "../checkpoint/local_files.ts";
import { createReferenceKernels } from "../kernels/reference_kernels.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import type { Kernels } from "../kernels/types.ts";
import {
  assertLossAndHeadMaskGrad,
  assertTensorsClose,
  familyModel,
  forwardGoldenNames,
  readFamilyGolden,
  readFamilyInputs,
} from "../../tests/helpers/goldens.ts";
import { batchFromArrays } from "./inputs.ts";
import { loadModel } from "./load.ts";

/** The encoder fixtures: four families, two of them also with a real sentencepiece vocabulary. */
export const ENCODER_FIXTURES = [
  "roberta-tiny-random",
  "xlm-roberta-spm-tiny-random",
  "distilbert-tiny-random",
  "albert-tiny-random",
  "albert-spm-tiny-random",
  "electra-tiny-random",
];

const BACKENDS: Array<[string, () => Kernels]> = [
  ["wasm", () => createWasmKernels()],
  ["reference", () => createReferenceKernels()],
];

for (const [backend, makeKernels] of BACKENDS) {
  for (const fixture of ENCODER_FIXTURES) {
    Deno.test(`${fixture}: logits, hidden states and attentions equal HF's (${backend})`, async () => {
      const golden = `${fixture}.single`;
      const inputs = readFamilyInputs(golden);
      const expected = readFamilyGolden(golden);
      const { model } = await loadModel(localFiles(familyModel(fixture)), { kernels: makeKernels(), tokenizer: false });
      const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
      const names = forwardGoldenNames(expected, model.config.layers, golden);
      const { cache } = model.run({ batch, names });
      assertTensorsClose(expected, (n) => cache.get(model.resolveName(n)), names);
    });

    Deno.test(`${fixture}: loss and head_mask_grad equal HF's (${backend})`, async () => {
      const golden = `${fixture}.head_mask_grad`;
      const inputs = readFamilyInputs(golden);
      const expected = readFamilyGolden(golden);
      const { model } = await loadModel(localFiles(familyModel(fixture)), { kernels: makeKernels(), tokenizer: false });
      const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
      const result = model.run({
        batch,
        labels: Int32Array.from(inputs.labels as number[]),
        names: ["head_mask_grad"],
      });
      assertLossAndHeadMaskGrad(expected, result.loss!, result.headMaskGrad!);
    });
  }
}

for (const fixture of ["roberta-tiny-random", "distilbert-tiny-random", "albert-tiny-random", "electra-tiny-random"]) {
  Deno.test(`${fixture}: a pytorch_model.bin written by torch.save loads to the safetensors checkpoint's logits`, async () => {
    const bin = `${new URL("../../tests/fixtures/families_bin/", import.meta.url).pathname}${fixture}`;
    const { model: fromBin } = await loadModel(localFiles(bin), { tokenizer: false });
    const golden = `${fixture}.single`;
    const inputs = readFamilyInputs(golden);
    const expected = readFamilyGolden(golden);
    const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
    assertTensorsClose(expected, (n) => (n === "logits" ? fromBin.run({ batch }).logits : undefined), ["logits"]);
  });
}
