import { localFiles } from "../checkpoint/local_files.ts";
import { createReferenceKernels } from "../kernels/reference_kernels.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import type { Kernels } from "../kernels/types.ts";
import { fixtureModel, maxAbsDiff, readGolden, readInputs } from "../../tests/helpers/goldens.ts";
import { batchFromArrays } from "./inputs.ts";
import { loadModel } from "./load.ts";
import type { Labels } from "./model.ts";

const BACKENDS: Array<[string, () => Kernels]> = [
  ["wasm", () => createWasmKernels()],
  ["reference", () => createReferenceKernels()],
];

for (const [backend, makeKernels] of BACKENDS) {
  for (const golden of ["bert-tiny-random.head_mask_grad", "gpt2-tiny-random.head_mask_grad"]) {
    Deno.test(`TransformerModel.run() matches HF loss and head_mask_grad of ${golden} (${backend})`, async () => {
      const inputs = readInputs(golden);
      const expected = readGolden(golden);
      const { model } = await loadModel(localFiles(fixtureModel(inputs.model as string)), {
        kernels: makeKernels(),
        tokenizer: false,
      });
      const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
      const labels: Labels = inputs.labels === "lm" ? "lm" : Int32Array.from(inputs.labels as number[]);
      const result = model.run({ batch, labels, names: ["head_mask_grad"] });
      const loss = { shape: [1], data: new Float32Array([result.loss!]) };
      const dLoss = maxAbsDiff("loss", expected.get("loss")!, loss);
      if (dLoss > 1e-4) throw new Error(`loss ${result.loss} vs HF ${expected.get("loss")!.data[0]}`);
      // gradients: |diff| <= 1e-5 + 1e-3·|expected|
      const e = expected.get("head_mask_grad")!, a = result.headMaskGrad!;
      maxAbsDiff("head_mask_grad", e, a);
      e.data.forEach((v, i) => {
        if (!(Math.abs(v - a.data[i]!) <= 1e-5 + 1e-3 * Math.abs(v))) {
          throw new Error(`head_mask_grad[${i}] = ${a.data[i]} vs HF ${v}\nours ${[...a.data]}\nHF   ${[...e.data]}`);
        }
      });
    });
  }
}
