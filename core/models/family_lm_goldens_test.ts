/**
 * The decoder families against Hugging Face (transformers 5.18, eager attention; see
 * `tests/fixtures/families/MANIFEST.json`): logits, every hidden state (the last one after the final norm) and
 * attention of a right-padded batch within 1e-4 (`*.lm`), and the next-token loss and the head-mask gradient
 * within 1e-5 + 1e-3·|g| (`*.head_mask_grad`: HF's own causal-LM loss, pads labelled -100; the mask multiplying
 * each query head's context vector at the input of the output projection).
 */

import { deepStrictEqual } from "node:assert/strict";
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

/** The decoder fixtures with `*.lm` and `*.head_mask_grad` goldens. */
export const DECODER_FIXTURES = ["llama-tiny-random", "qwen2-tiny-random"];

const BACKENDS: Array<[string, () => Kernels]> = [
  ["wasm", () => createWasmKernels()],
  ["reference", () => createReferenceKernels()],
];

for (const [backend, makeKernels] of BACKENDS) {
  for (const fixture of DECODER_FIXTURES) {
    Deno.test(`${fixture}: logits, hidden states and attentions equal HF's (${backend})`, async () => {
      const golden = `${fixture}.lm`;
      const inputs = readFamilyInputs(golden);
      const expected = readFamilyGolden(golden);
      const { model } = await loadModel(localFiles(familyModel(fixture)), { kernels: makeKernels(), tokenizer: false });
      const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
      const names = forwardGoldenNames(expected, model.config.layers, golden);
      const { cache } = model.run({ batch, names });
      assertTensorsClose(expected, (n) => cache.get(model.resolveName(n)), names);
    });

    Deno.test(`${fixture}: next-token loss and head_mask_grad equal HF's (${backend})`, async () => {
      const golden = `${fixture}.head_mask_grad`;
      const inputs = readFamilyInputs(golden);
      const expected = readFamilyGolden(golden);
      const { model } = await loadModel(localFiles(familyModel(fixture)), { kernels: makeKernels(), tokenizer: false });
      const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
      // HF's labels are the ids with -100 on pads: exactly what labels "lm" count (the attention mask's tokens)
      const ids = (inputs.input_ids as number[][]).flat(), mask = (inputs.attention_mask as number[][]).flat();
      deepStrictEqual((inputs.labels as number[][]).flat(), ids.map((id, i) => (mask[i] === 1 ? id : -100)));
      const result = model.run({ batch, labels: "lm", names: ["head_mask_grad"] });
      assertLossAndHeadMaskGrad(expected, result.loss!, result.headMaskGrad!);
    });
  }
}
