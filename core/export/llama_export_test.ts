/**
 * The Llama family exported to ONNX (rotary q and k built from the position ids in the graph, grouped-query
 * key/value heads repeated by a Gather, RMSNorm, the SiLU-gated MLP) and run by stock onnxruntime (wasm): HF's
 * forward goldens within 1e-4 and our engine's outputs within 1e-4, and the backward graph's next-token loss and
 * head-mask gradient within 1e-5 + 1e-3·|g| of HF's — on the GQA fixtures, a pruned one (uneven query heads and
 * kv heads per layer) and the pretrained stories260K.
 */

import { ok } from "node:assert/strict";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { localFiles } from "../checkpoint/local_files.ts";
import { pruneModel } from "../bertology/prune.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { batchFromArrays } from "../models/inputs.ts";
import { loadModel } from "../models/load.ts";
import type { TransformerModel } from "../models/model.ts";
import type { Batch } from "../models/inputs.ts";
import {
  assertTensorsClose,
  familyModel,
  maxAbsDiff,
  readFamilyGolden,
  readFamilyInputs,
} from "../../tests/helpers/goldens.ts";
import { exportOnnx, outputHookName } from "./export.ts";
import { OrtModel } from "./ort_backend.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const OUTPUTS = ["logits", "hidden_states", "attentions"];

/** Exports `model` with its backward graph and checks the ONNX outputs on `batch` against our engine's. */
async function checkAgainstEngine(model: TransformerModel, batch: Batch): Promise<void> {
  const { bytes } = exportOnnx(model, { outputs: OUTPUTS, grad: "head_mask" });
  const onnx = await OrtModel.create(ort, bytes, model.config, { executionProviders: ["wasm"] });
  try {
    const L = model.config.layers;
    const names = ["logits", ...Array.from({ length: L + 1 }, (_, i) => `hidden_states.${i}`)]
      .concat(Array.from({ length: L }, (_, l) => `attentions.${l}`));
    const ours = model.run({ batch, labels: "lm", names: [...names, "head_mask_grad"] });
    const expected = new Map(names.map((n) => [n, ours.cache.get(model.resolveName(n))!]));
    const r = await onnx.run({ batch, labels: "lm" });
    assertTensorsClose(expected, (n) => r.cache.get(outputHookName(n, model.config)), names);
    ok(Math.abs(r.loss! - ours.loss!) <= 1e-5 + 1e-3 * Math.abs(ours.loss!), `loss ${r.loss} vs ours ${ours.loss}`);
    const e = ours.headMaskGrad!, a = r.headMaskGrad!;
    maxAbsDiff("head_mask_grad", e, a);
    e.data.forEach((v, i) => ok(Math.abs(v - a.data[i]!) <= 1e-5 + 1e-3 * Math.abs(v), `head_mask_grad[${i}]`));
  } finally {
    await onnx.release();
  }
}

for (const fixture of ["llama-tiny-random", "qwen2-tiny-random"]) {
  Deno.test(`${fixture}: the exported ONNX graph on ort-wasm gives HF's outputs, loss and head_mask_grad`, async () => {
    const { model } = await loadModel(localFiles(familyModel(fixture)), { tokenizer: false });
    const { bytes } = exportOnnx(model, { outputs: OUTPUTS, grad: "head_mask" });
    const onnx = await OrtModel.create(ort, bytes, model.config, { executionProviders: ["wasm"] });
    try {
      const forward = readFamilyInputs(`${fixture}.lm`);
      const expected = readFamilyGolden(`${fixture}.lm`);
      const names = [...expected.keys()].filter((n) => /^(logits|hidden_states\.\d+|attentions\.\d+)$/.test(n));
      ok(names.length === 2 * model.config.layers + 2);
      const batch = batchFromArrays(forward as { input_ids: unknown }, fixture);
      const { cache } = await onnx.run({ batch, labels: "lm" });
      assertTensorsClose(expected, (n) => cache.get(outputHookName(n, model.config)), names);

      const grad = readFamilyGolden(`${fixture}.head_mask_grad`);
      const r = await onnx.run({ batch, labels: "lm" });
      const loss = grad.get("loss")!.data[0]!;
      ok(Math.abs(r.loss! - loss) <= 1e-5 + 1e-3 * Math.abs(loss), `loss ${r.loss} vs HF ${loss}`);
      const e = grad.get("head_mask_grad")!, a = r.headMaskGrad!;
      maxAbsDiff("head_mask_grad", e, a);
      e.data.forEach((v, i) => ok(Math.abs(v - a.data[i]!) <= 1e-5 + 1e-3 * Math.abs(v), `head_mask_grad[${i}]`));
    } finally {
      await onnx.release();
    }
    await checkAgainstEngine(
      model,
      batchFromArrays(readFamilyInputs(`${fixture}.lm`) as { input_ids: unknown }, fixture),
    );
  });

  Deno.test(`${fixture}: a GQA-pruned model (uneven query and kv heads per layer) exports and equals our engine`, async () => {
    const { model } = await loadModel(localFiles(familyModel(fixture)), { tokenizer: false });
    const pruned = pruneModel(model, { 0: [1], 1: [0, 1, 3], 2: [0, 1, 2, 3] }, createWasmKernels());
    await checkAgainstEngine(
      pruned,
      batchFromArrays(readFamilyInputs(`${fixture}.lm`) as { input_ids: unknown }, fixture),
    );
  });
}

Deno.test("models/stories260k: the exported ONNX graph equals our engine", async () => {
  const dir = new URL("../../models/stories260k/", import.meta.url).pathname;
  const { model } = await loadModel(localFiles(dir), { tokenizer: false });
  const inputs = JSON.parse(Deno.readTextFileSync(`${dir}goldens/stories260K.lm.inputs.json`));
  await checkAgainstEngine(model, batchFromArrays(inputs, "stories260K.lm"));
});
