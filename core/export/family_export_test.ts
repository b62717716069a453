/**
 * The encoder families exported to ONNX and run by stock onnxruntime (wasm): forward goldens of HF within
 * 1e-4 (RoBERTa's position ids computed from `input_ids` inside the graph, ALBERT's shared block once per
 * layer, DistilBERT's ReLU head) and the loss and head-mask gradient of the backward graph within
 * 1e-5 + 1e-3·|g|.
 */

import { ok, rejects, strictEqual } from "node:assert/strict";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { localFiles } from "../checkpoint/local_files.ts";
import { batchFromArrays } from "../models/inputs.ts";
import { loadModel } from "../models/load.ts";
import {
  assertTensorsClose,
  familyModel,
  fixtureModel,
  maxAbsDiff,
  readFamilyGolden,
  readFamilyInputs,
  readGolden,
  readInputs,
} from "../../tests/helpers/goldens.ts";
import { exportOnnx, outputHookName } from "./export.ts";
import { OrtModel } from "./ort_backend.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const FIXTURES = [
  "roberta-tiny-random",
  "xlm-roberta-spm-tiny-random",
  "distilbert-tiny-random",
  "albert-tiny-random",
  "electra-tiny-random",
];

for (const fixture of FIXTURES) {
  Deno.test(`${fixture}: the exported ONNX graph on ort-wasm gives HF's outputs, loss and head_mask_grad`, async () => {
    const { model } = await loadModel(localFiles(familyModel(fixture)), { tokenizer: false });
    const { bytes } = exportOnnx(model, { outputs: ["logits", "hidden_states", "attentions"], grad: "head_mask" });
    const onnx = await OrtModel.create(ort, bytes, model.config, { executionProviders: ["wasm"] });
    try {
      const forward = readFamilyInputs(`${fixture}.single`);
      const expected = readFamilyGolden(`${fixture}.single`);
      const names = [...expected.keys()].filter((n) => /^(logits|hidden_states\.\d+|attentions\.\d+)$/.test(n));
      strictEqual(names.length, 2 * model.config.layers + 2);
      const labels = Int32Array.from(readFamilyInputs(`${fixture}.head_mask_grad`).labels as number[]);
      const { cache } = await onnx.run({ batch: batchFromArrays(forward as { input_ids: unknown }, fixture), labels });
      assertTensorsClose(expected, (n) => cache.get(outputHookName(n, model.config)), names);

      const grad = readFamilyGolden(`${fixture}.head_mask_grad`);
      const inputs = readFamilyInputs(`${fixture}.head_mask_grad`);
      const r = await onnx.run({ batch: batchFromArrays(inputs as { input_ids: unknown }, fixture), labels });
      const loss = grad.get("loss")!.data[0]!;
      if (!(Math.abs(r.loss! - loss) <= 1e-5 + 1e-3 * Math.abs(loss))) throw new Error(`loss ${r.loss} vs HF ${loss}`);
      const e = grad.get("head_mask_grad")!, a = r.headMaskGrad!;
      maxAbsDiff("head_mask_grad", e, a);
      e.data.forEach((v, i) => {
        if (!(Math.abs(v - a.data[i]!) <= 1e-5 + 1e-3 * Math.abs(v))) {
          throw new Error(`head_mask_grad[${i}] = ${a.data[i]} vs HF ${v}`);
        }
      });
    } finally {
      await onnx.release();
    }
  });
}

Deno.test("a masked LM exports with per-position labels: ONNX loss equals HF's, head_mask_grad equals the engine's", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("bert-mlm-tiny-random")), { tokenizer: false });
  strictEqual(model.task, "mlm");
  const golden = "bert-mlm-tiny-random.mlm";
  const inputs = readInputs(golden);
  const expected = readGolden(golden);
  const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
  const labels = Int32Array.from(inputs.labels as number[]);
  const { bytes, inputs: names } = exportOnnx(model, { outputs: ["logits"], grad: "head_mask" });
  ok(names.includes("labels"));
  const onnx = await OrtModel.create(ort, bytes, model.config, { executionProviders: ["wasm"] });
  try {
    const r = await onnx.run({ batch, labels });
    const loss = expected.get("loss")!.data[0]!;
    ok(Math.abs(r.loss! - loss) <= 1e-5 + 1e-3 * Math.abs(loss), `loss ${r.loss} vs HF ${loss}`);
    const ours = model.run({ batch, labels, names: ["head_mask_grad"] });
    strictEqual(r.lossCount, ours.lossCount);
    const e = ours.headMaskGrad!, a = r.headMaskGrad!;
    maxAbsDiff("head_mask_grad", e, a);
    e.data.forEach((v, i) => ok(Math.abs(v - a.data[i]!) <= 1e-5 + 1e-3 * Math.abs(v), `head_mask_grad[${i}]`));
    await rejects(() => onnx.run({ batch, labels: "lm" }), /masked LM takes one label per position/);
    await rejects(() => onnx.run({ batch, labels: labels.subarray(1) }), /a masked LM needs one per position/);
  } finally {
    await onnx.release();
  }
});
