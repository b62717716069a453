import { strictEqual as assertEquals } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { createReferenceKernels } from "../kernels/reference_kernels.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import type { Kernels } from "../kernels/types.ts";
import { assertTensorsClose, fixtureModel, readGolden, readInputs } from "../../tests/helpers/goldens.ts";
import { batchFromArrays, type HeadMask } from "./inputs.ts";
import { loadModel } from "./load.ts";

const FORWARD_GOLDENS = [
  "bert-tiny-random.pairs",
  "bert-tiny-random.single",
  "bert-tiny-random.head_mask",
  "gpt2-tiny-random.lm",
  "gpt2-tiny-random.head_mask",
  "openai-gpt-tiny-random.lm",
];

const BACKENDS: Array<[string, () => Kernels]> = [
  ["wasm", () => createWasmKernels()],
  ["reference", () => createReferenceKernels()],
];

for (const [backend, makeKernels] of BACKENDS) {
  for (const golden of FORWARD_GOLDENS) {
    Deno.test(`TransformerModel.run() matches HF golden ${golden} (${backend})`, async () => {
      const inputs = readInputs(golden);
      const expected = readGolden(golden);
      const { model } = await loadModel(localFiles(fixtureModel(inputs.model as string)), {
        kernels: makeKernels(),
        tokenizer: false,
      });
      const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
      const names = [...expected.keys()].filter((n) => /^(logits|hidden_states\.\d+|attentions\.\d+)$/.test(n));
      assertEquals(names.length, 2 * model.config.layers + 2);
      const { cache } = model.run({
        batch,
        names,
        headMask: inputs.head_mask as HeadMask | undefined,
      });
      assertTensorsClose(expected, (n) => cache.get(model.resolveName(n)), names);
    });
  }
}
