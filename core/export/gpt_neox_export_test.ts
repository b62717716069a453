/**
 * GPT-NeoX exported to ONNX and run by stock onnxruntime (wasm): HF's forward goldens within 1e-4 and its loss and
 * head-mask gradient within 1e-5 + 1e-3·|g| (partial rotary's cos/sin built in the graph from the positions, the
 * per-head fused q|k|v split, the parallel residual); equal to our engine within 1e-4 with uneven pruned heads
 * (a layer with none), a fractional head mask, and the sequential residual form.
 */

import { deepStrictEqual, ok } from "node:assert/strict";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { pruneModel } from "../bertology/prune.ts";
import { localFiles } from "../checkpoint/local_files.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { batchFromArrays } from "../models/inputs.ts";
import { loadModel } from "../models/load.ts";
import { TransformerModel } from "../models/model.ts";
import { parseConfig } from "../models/registry.ts";
import {
  assertTensorsClose,
  familyModel,
  maxAbsDiff,
  readFamilyGolden,
  readFamilyInputs,
} from "../../tests/helpers/goldens.ts";
import { expandOutputNames, exportOnnx, outputHookName } from "./export.ts";
import { OrtModel } from "./ort_backend.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const FIXTURE = "gpt-neox-tiny-random";

function assertGradClose(expected: Float32Array, actual: Float32Array): void {
  expected.forEach((v, i) => {
    ok(Math.abs(v - actual[i]!) <= 1e-5 + 1e-3 * Math.abs(v), `head_mask_grad[${i}] = ${actual[i]} vs ${v}`);
  });
}

Deno.test(`${FIXTURE}: the exported ONNX graph on ort-wasm gives HF's outputs, loss and head_mask_grad`, async () => {
  const { model } = await loadModel(localFiles(familyModel(FIXTURE)), { tokenizer: false });
  const { bytes } = exportOnnx(model, { outputs: ["logits", "hidden_states", "attentions"], grad: "head_mask" });
  const onnx = await OrtModel.create(ort, bytes, model.config, { executionProviders: ["wasm"] });
  try {
    const expected = readFamilyGolden(`${FIXTURE}.lm`);
    const names = [...expected.keys()].filter((n) => /^(logits|hidden_states\.\d+|attentions\.\d+)$/.test(n));
    const golden = `${FIXTURE}.head_mask_grad`;
    // one batch serves both goldens: the same rows
    deepStrictEqual(readFamilyInputs(golden).input_ids, readFamilyInputs(`${FIXTURE}.lm`).input_ids);
    const batch = batchFromArrays(readFamilyInputs(golden) as { input_ids: unknown }, golden);
    const r = await onnx.run({ batch, labels: "lm" });
    assertTensorsClose(expected, (n) => r.cache.get(outputHookName(n, model.config)), names);
    const grad = readFamilyGolden(golden);
    const loss = grad.get("loss")!.data[0]!;
    ok(Math.abs(r.loss! - loss) <= 1e-5 + 1e-3 * Math.abs(loss), `loss ${r.loss} vs HF ${loss}`);
    maxAbsDiff("head_mask_grad", grad.get("head_mask_grad")!, r.headMaskGrad!);
    assertGradClose(grad.get("head_mask_grad")!.data, r.headMaskGrad!.data);
  } finally {
    await onnx.release();
  }
});

for (const form of ["parallel", "sequential"] as const) {
  Deno.test(`${FIXTURE} (${form} residual, heads pruned to 2, 0, 3): ONNX on ort-wasm equals the engine`, async () => {
    const { model: loaded } = await loadModel(localFiles(familyModel(FIXTURE)), { tokenizer: false });
    const raw = { ...loaded.config.raw, use_parallel_residual: form === "parallel" };
    const base = new TransformerModel(parseConfig(raw, "config.json"), loaded.params.toTensors(), createWasmKernels());
    const model = pruneModel(base, { 0: [1, 3], 1: [0, 1, 2, 3], 2: [3] }, createWasmKernels());
    deepStrictEqual(model.headsPerLayer, [2, 0, 3]);
    const golden = `${FIXTURE}.lm`;
    const batch = batchFromArrays(readFamilyInputs(golden) as { input_ids: unknown }, golden);
    const headMask = [[1, 0.5, 0.25, 1], [1, 1, 1, 1], [0.5, 1, 1, 0]];
    const outputs = ["logits", "hidden_states", "attentions", "blocks.0.attn.hook_rot_q", "blocks.2.attn.hook_v"];
    const ours = model.run({
      batch,
      labels: "lm",
      headMask,
      names: [...expandOutputNames(outputs, model.config), "head_mask_grad"],
    });
    const { bytes } = exportOnnx(model, { outputs, grad: "head_mask" });
    const onnx = await OrtModel.create(ort, bytes, model.config, { executionProviders: ["wasm"] });
    try {
      const theirs = await onnx.run({ batch, labels: "lm", headMask });
      for (const [name, t] of ours.cache) {
        if (name === "hook_head_mask_grad") continue;
        const d = maxAbsDiff(name, t, theirs.cache.get(name)!);
        ok(d <= 1e-4, `${name}: max |diff| ${d}`);
      }
      ok(Math.abs(ours.loss! - theirs.loss!) <= 1e-5, `loss ${ours.loss} vs ${theirs.loss}`);
      assertGradClose(ours.headMaskGrad!.data, theirs.headMaskGrad!.data);
    } finally {
      await onnx.release();
    }
  });
}
