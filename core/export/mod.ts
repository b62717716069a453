/**
 * The GPU path: export a model — pruned ones too — to a standard ONNX file whose graph is generated from the
 * family's own op description (every hook an output, the head mask an input, and optionally the loss and
 * dL/dhead_mask from a backward graph generated from the same ops), and run it through ONNX Runtime
 * (onnxruntime-web wasm or WebGPU, onnxruntime-node) with the results `TransformerModel.run` gives. Runs in
 * Deno and in a browser; writing the file is the caller's (the CLI's `bertology export`).
 *
 * @example Usage
 * ```ts
 * import * as ort from "npm:onnxruntime-web@1.30.0";
 * import { exportOnnx, OrtModel } from "./mod.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * const { bytes } = exportOnnx(model, { outputs: ["logits", "attentions"], grad: "head_mask" });
 * ort.env.wasm.numThreads = 1;
 * const onnx = await OrtModel.create(ort, bytes, model.config, { executionProviders: ["wasm"] });
 * const batch = { batchSize: 1, seqLen: 3, inputIds: Int32Array.from([2, 45, 3]) };
 * const { headMaskGrad } = await onnx.run({ batch, labels: [1] });
 * headMaskGrad!.shape; // [layers, heads]
 * await onnx.release();
 * ```
 *
 * @module
 */

export * from "./export.ts";
export * from "./onnx_graph.ts";
export * from "./ort_backend.ts";
export * from "./ort_importance.ts";
