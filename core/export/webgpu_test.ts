// ort-webgpu correctness: the exported tiny GPT-2 on onnxruntime-web's WebGPU provider against the HF goldens.
// On a machine whose only adapter is a software one (llvmpipe), compiling the shaders takes minutes, so the
// test runs when BERTOLOGY_TEST_WEBGPU=1 and says loudly why it is skipped otherwise.
import { ok } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { batchFromArrays } from "../models/inputs.ts";
import { loadModel } from "../models/load.ts";
import { assertTensorsClose, fixtureModel, maxAbsDiff, readGolden, readInputs } from "../../tests/helpers/goldens.ts";
import { exportOnnx, outputHookName } from "./export.ts";
import { OrtModel } from "./ort_backend.ts";

const gpu =
  (globalThis.navigator as { gpu?: { requestAdapter(): Promise<{ info?: { description?: string } } | null> } })
    .gpu;
const adapter = gpu === undefined ? null : await gpu.requestAdapter().catch(() => null);
const asked = Deno.env.get("BERTOLOGY_TEST_WEBGPU") === "1";
const why = adapter === null
  ? "no WebGPU adapter (navigator.gpu found none)"
  : !asked
  ? `adapter "${
    adapter.info?.description ?? "?"
  }" found, but set BERTOLOGY_TEST_WEBGPU=1 to run (a software adapter compiles shaders for minutes)`
  : "";
if (why !== "") console.warn(`SKIPPED ort-webgpu goldens: ${why}`);

Deno.test({
  name: "exportOnnx() run on ort-webgpu matches the HF goldens gpt2-tiny-random.lm and .head_mask_grad",
  ignore: why !== "",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const ort = await import("npm:onnxruntime-web@1.30.0/webgpu");
    ort.env.logLevel = "error";
    const { model } = await loadModel(localFiles(fixtureModel("gpt2-tiny-random")), { tokenizer: false });
    const lm = "gpt2-tiny-random.lm", grad = "gpt2-tiny-random.head_mask_grad";
    const { bytes } = exportOnnx(model, { outputs: ["logits", "hidden_states", "attentions"], grad: "head_mask" });
    const onnx = await OrtModel.create(ort, bytes, model.config, { executionProviders: ["webgpu"] });
    try {
      const expected = readGolden(lm);
      const names = [...expected.keys()].filter((n) => /^(logits|hidden_states\.\d+|attentions\.\d+)$/.test(n));
      const r = await onnx.run({ batch: batchFromArrays(readInputs(lm) as { input_ids: unknown }, lm), labels: "lm" });
      assertTensorsClose(expected, (n) => r.cache.get(outputHookName(n, model.config)), names);
      const g = readGolden(grad);
      const rg = await onnx.run({
        batch: batchFromArrays(readInputs(grad) as { input_ids: unknown }, grad),
        labels: "lm",
      });
      ok(maxAbsDiff("loss", g.get("loss")!, { shape: [1], data: new Float32Array([rg.loss!]) }) <= 1e-4);
      const e = g.get("head_mask_grad")!, a = rg.headMaskGrad!;
      e.data.forEach((v, i) => ok(Math.abs(v - a.data[i]!) <= 1e-5 + 1e-3 * Math.abs(v), `head_mask_grad[${i}]`));
    } finally {
      await onnx.release();
    }
  },
});
