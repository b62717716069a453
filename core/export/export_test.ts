import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { localFiles } from "../checkpoint/local_files.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { pruneModel, pruneNeuronWeights } from "../bertology/prune.ts";
import { batchFromArrays, type HeadMask } from "../models/inputs.ts";
import { loadModel } from "../models/load.ts";
import { type Labels, TransformerModel } from "../models/model.ts";
import { initWeights, newConfig } from "../training/init.ts";
import type { Tensor } from "../tensor.ts";
import { assertTensorsClose, fixtureModel, maxAbsDiff, readGolden, readInputs } from "../../tests/helpers/goldens.ts";
import { expandOutputNames, exportOnnx, outputHookName } from "./export.ts";
import { decodeModelProto } from "./onnx_graph.ts";
import { OrtModel } from "./ort_backend.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const FORWARD_GOLDENS = [
  "bert-tiny-random.pairs",
  "bert-tiny-random.single",
  "bert-tiny-random.head_mask",
  "gpt2-tiny-random.lm",
  "gpt2-tiny-random.head_mask",
  "openai-gpt-tiny-random.lm",
];

async function fixture(name: string): Promise<TransformerModel> {
  return (await loadModel(localFiles(fixtureModel(name)), { tokenizer: false })).model;
}

async function onWasm(model: TransformerModel, outputs: string[], grad = false): Promise<OrtModel> {
  const { bytes } = exportOnnx(model, { outputs, ...(grad ? { grad: "head_mask" as const } : {}) });
  return await OrtModel.create(ort, bytes, model.config, { executionProviders: ["wasm"] });
}

/** |a − e| ≤ 1e-5 + 1e-3·|e| for every element (the project's gradient tolerance); returns max |a − e|. */
function assertGradClose(label: string, expected: Tensor, actual: Tensor): number {
  const max = maxAbsDiff(label, expected, actual);
  expected.data.forEach((v, i) => {
    if (!(Math.abs(v - actual.data[i]!) <= 1e-5 + 1e-3 * Math.abs(v))) {
      throw new Error(
        `${label}[${i}] = ${actual.data[i]} vs ${v}\nours ${[...actual.data]}\nexpected ${[...expected.data]}`,
      );
    }
  });
  return max;
}

for (const golden of FORWARD_GOLDENS) {
  Deno.test(`exportOnnx() run on ort-wasm matches HF golden ${golden}`, async () => {
    const inputs = readInputs(golden);
    const expected = readGolden(golden);
    const model = await fixture(inputs.model as string);
    const names = [...expected.keys()].filter((n) => /^(logits|hidden_states\.\d+|attentions\.\d+)$/.test(n));
    strictEqual(names.length, 2 * model.config.layers + 2);
    const onnx = await onWasm(model, ["logits", "hidden_states", "attentions"]);
    try {
      const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
      const headMask = inputs.head_mask as HeadMask | undefined;
      const { cache } = await onnx.run({ batch, ...(headMask ? { headMask } : {}) });
      assertTensorsClose(expected, (n) => cache.get(outputHookName(n, model.config)), names);
    } finally {
      await onnx.release();
    }
  });
}

for (const golden of ["bert-tiny-random.pruned", "gpt2-tiny-random.pruned"]) {
  Deno.test(`exportOnnx() of a pruned model (uneven heads per layer) matches HF golden ${golden} on ort-wasm`, async () => {
    const inputs = readInputs(golden);
    const sidecar = JSON.parse(
      Deno.readTextFileSync(new URL(`../../tests/fixtures/goldens/${golden}.json`, import.meta.url)),
    );
    const pruned = pruneModel(await fixture(inputs.model as string), sidecar.heads_to_prune, createWasmKernels());
    const { bytes } = exportOnnx(pruned, { outputs: ["logits", "hidden_states", "attentions"] });
    // the file records the original head count in head_mask and the pruned widths in its initializers
    const proto = decodeModelProto(bytes) as { graph: { input: Array<{ name: string; type: unknown }> } };
    const headMask = proto.graph.input.find((i) => i.name === "head_mask")!;
    deepStrictEqual(JSON.stringify(headMask.type).match(/dim_value":(\d+)/g), [
      `dim_value":${pruned.config.layers}`,
      `dim_value":${pruned.config.heads}`,
    ]);
    const onnx = await OrtModel.create(ort, bytes, pruned.config, { executionProviders: ["wasm"] });
    try {
      const expected = readGolden(golden);
      const names = [...expected.keys()].filter((n) => /^(logits|hidden_states\.\d+|attentions\.\d+)$/.test(n));
      const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
      const { cache } = await onnx.run({ batch });
      assertTensorsClose(expected, (n) => cache.get(outputHookName(n, pruned.config)), names);
    } finally {
      await onnx.release();
    }
  });
}

for (const golden of ["bert-tiny-random.head_mask_grad", "gpt2-tiny-random.head_mask_grad"]) {
  Deno.test(`exportOnnx() backward graph on ort-wasm matches HF loss and head_mask_grad of ${golden}`, async () => {
    const inputs = readInputs(golden);
    const expected = readGolden(golden);
    const model = await fixture(inputs.model as string);
    const onnx = await onWasm(model, ["logits"], true);
    try {
      const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
      const labels: Labels = inputs.labels === "lm" ? "lm" : Int32Array.from(inputs.labels as number[]);
      const result = await onnx.run({ batch, labels });
      const loss = { shape: [1], data: new Float32Array([result.loss!]) };
      ok(
        maxAbsDiff("loss", expected.get("loss")!, loss) <= 1e-4,
        `loss ${result.loss} vs HF ${expected.get("loss")!.data[0]}`,
      );
      assertGradClose("head_mask_grad", expected.get("head_mask_grad")!, result.headMaskGrad!);
      strictEqual(result.lossCount, model.run({ batch, labels }).lossCount);
    } finally {
      await onnx.release();
    }
  });
}

Deno.test("exportOnnx() of a model with a layer pruned to no heads gives the WASM engine's outputs and gradient", async () => {
  const golden = "bert-tiny-random.pairs";
  const inputs = readInputs(golden);
  const model = pruneModel(
    await fixture("bert-tiny-random"),
    { 0: [1, 3], 1: [0, 1, 2, 3], 2: [3] },
    createWasmKernels(),
  );
  deepStrictEqual(model.headsPerLayer, [2, 0, 3]);
  const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
  const labels = Int32Array.from({ length: batch.batchSize }, (_, i) => i % 2);
  const headMask = [[1, 0.5, 0.25, 1], [1, 1, 1, 1], [0.5, 1, 1, 0]];
  const outputs = ["logits", "hidden_states", "attentions", "blocks.2.attn.hook_z", "blocks.1.attn.hook_z"];
  const ours = model.run({
    batch,
    labels,
    headMask,
    names: [...expandOutputNames(outputs, model.config), "head_mask_grad"],
  });
  const onnx = await onWasm(model, outputs, true);
  try {
    const theirs = await onnx.run({ batch, labels, headMask });
    for (const [name, t] of ours.cache) {
      if (name === "hook_head_mask_grad") continue;
      ok(maxAbsDiff(name, t, theirs.cache.get(name)!) <= 1e-4, name);
    }
    ok(Math.abs(ours.loss! - theirs.loss!) <= 1e-5);
    assertGradClose("head_mask_grad", ours.headMaskGrad!, theirs.headMaskGrad!);
    deepStrictEqual(theirs.cache.get("blocks.1.attn.hook_z")!.shape, [batch.batchSize, batch.seqLen, 0, 0]);
  } finally {
    await onnx.release();
  }
});

for (const [fixtureName, labels] of [["gpt2-tiny-random", "lm"], ["openai-gpt-tiny-random", "lm"]] as const) {
  Deno.test(`exportOnnx() head_mask_grad of ${fixtureName} (masked, padded) equals the WASM engine's`, async () => {
    const model = await fixture(fixtureName);
    const batch = {
      batchSize: 2,
      seqLen: 5,
      inputIds: Int32Array.from([5, 9, 13, 2, 7, 11, 4, 8, 0, 0]),
      attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
    };
    const headMask = [[1, 0, 0.5, 1], [1, 1, 0.25, 1], [0, 1, 1, 1]];
    const ours = model.run({ batch, labels, headMask, names: ["head_mask_grad", "blocks.1.attn.hook_q"] });
    const onnx = await onWasm(model, ["blocks.1.attn.hook_q"], true);
    try {
      const theirs = await onnx.run({ batch, labels, headMask });
      ok(Math.abs(ours.loss! - theirs.loss!) <= 1e-5, `${ours.loss} vs ${theirs.loss}`);
      assertGradClose("head_mask_grad", ours.headMaskGrad!, theirs.headMaskGrad!);
      const q = "blocks.1.attn.hook_q";
      ok(maxAbsDiff(q, ours.cache.get(q)!, theirs.cache.get(q)!) <= 1e-5);
    } finally {
      await onnx.release();
    }
  });
}

Deno.test("exportOnnx() refuses outputs the family lacks, naming them", async () => {
  const gpt2 = await fixture("gpt2-tiny-random");
  throws(
    () => exportOnnx(gpt2, { outputs: ["pooler.hook_out"] }),
    /Unknown output "pooler.hook_out".*GPT-2 has no such/,
  );
  throws(() => exportOnnx(gpt2, { outputs: ["blocks.7.hook_resid_post"] }), /layer 7 does not exist/);
  throws(() => exportOnnx(gpt2, { outputs: ["attentions.3"] }), /not an HF output of a 3-layer GPT-2/);
  throws(() => exportOnnx(gpt2, { outputs: ["hook_lol"] }), /not an activation name/);
  throws(() => exportOnnx(gpt2, { outputs: ["blocks.0.attn.hook_z_grad"] }), /only head_mask_grad/);
  const bert = await fixture("openai-gpt-tiny-random");
  throws(() => exportOnnx(bert, { outputs: ["ln_final.hook_out"] }), /OpenAI GPT has no such activation/);
});

Deno.test("exportOnnx() writes the I/O contract: inputs, dynamic axes, outputs, opset ≥ 17", async () => {
  const model = await fixture("gpt2-tiny-random");
  const e = exportOnnx(model, { outputs: ["logits", "blocks.0.attn.hook_z"], grad: "head_mask" });
  deepStrictEqual(e.inputs, ["input_ids", "attention_mask", "head_mask"]);
  deepStrictEqual(e.outputs, ["logits", "blocks.0.attn.hook_z", "loss", "head_mask_grad"]);
  const proto = decodeModelProto(e.bytes) as {
    opset_import: Array<{ version: number }>;
    graph: {
      input: Array<{ name: string; type: unknown }>;
      output: Array<{ name: string }>;
      initializer: Array<{ name: string }>;
    };
  };
  ok(proto.opset_import[0]!.version >= 17);
  deepStrictEqual(proto.graph.input.map((i) => i.name), e.inputs);
  deepStrictEqual(proto.graph.output.map((o) => o.name), e.outputs);
  ok(JSON.stringify(proto.graph.input[0]!.type).includes(`"dim_param":"batch"`));
  ok(JSON.stringify(proto.graph.input[0]!.type).includes(`"dim_param":"seq"`));
  // weights are initializers under their checkpoint keys
  const inits = new Set(proto.graph.initializer.map((i) => i.name));
  for (const p of model.params.all()) ok(inits.has(p.name), p.name);
  // a classifier takes int64 labels, a regression head float32
  const bert = exportOnnx(await fixture("bert-tiny-random"), { grad: "head_mask" });
  deepStrictEqual(bert.inputs, ["input_ids", "attention_mask", "token_type_ids", "head_mask", "labels"]);
});

Deno.test("exportOnnx() with dtype f16 halves the weights and stays close to f32", async () => {
  const model = await fixture("bert-tiny-random");
  const f32 = exportOnnx(model, { outputs: ["logits"] });
  const f16 = exportOnnx(model, { outputs: ["logits"], dtype: "f16" });
  ok(f16.bytes.length < 0.6 * f32.bytes.length, `${f16.bytes.length} vs ${f32.bytes.length}`);
  const a = await OrtModel.create(ort, f32.bytes, model.config, { executionProviders: ["wasm"] });
  const b = await OrtModel.create(ort, f16.bytes, model.config, { executionProviders: ["wasm"] });
  try {
    const batch = { batchSize: 1, seqLen: 4, inputIds: Int32Array.from([2, 45, 99, 3]) };
    const x = await a.run({ batch }), y = await b.run({ batch });
    ok(maxAbsDiff("logits", x.logits!, y.logits!) <= 1e-2);
  } finally {
    await a.release();
    await b.release();
  }
});

Deno.test("OrtModel.run() refuses missing labels, unexported outputs and wrong label kinds", async () => {
  const model = await fixture("bert-tiny-random");
  const onnx = await onWasm(model, ["logits"], true);
  try {
    const batch = { batchSize: 1, seqLen: 3, inputIds: Int32Array.from([2, 45, 3]) };
    await rejects(onnx.run({ batch }), /needs labels/);
    await rejects(onnx.run({ batch, labels: "lm" }), /labels "lm" are for language models/);
    await rejects(onnx.run({ batch, labels: [7] }), /outside the model's 2 classes/);
    await rejects(onnx.run({ batch, labels: [1], names: ["attentions.0"] }), /no output "attentions.0"/);
    const r = await onnx.run({ batch, labels: [1], names: ["logits"] });
    deepStrictEqual([...r.cache.keys()], ["hook_logits"]);
  } finally {
    await onnx.release();
  }
});

Deno.test("exportOnnx() of a regression BERT takes float labels and gives the WASM engine's MSE and head_mask_grad", async () => {
  const { config } = newConfig({
    family: "bert",
    layers: 2,
    heads: 2,
    hidden: 16,
    intermediate: 32,
    vocabSize: 50,
    maxPositions: 16,
    problemType: "regression",
  });
  const model = new TransformerModel(config, initWeights(config, 3), createWasmKernels());
  strictEqual(model.task, "regress");
  const batch = { batchSize: 3, seqLen: 4, inputIds: Int32Array.from([1, 5, 7, 2, 1, 9, 2, 0, 1, 3, 4, 2]) };
  const labels = new Float32Array([0.5, -1, 2]);
  const headMask = [[1, 0.5], [0, 1]];
  const ours = model.run({ batch, labels, headMask, names: ["head_mask_grad"] });
  const e = exportOnnx(model, { grad: "head_mask" });
  const proto = decodeModelProto(e.bytes) as { graph: { input: Array<{ name: string; type: unknown }> } };
  ok(JSON.stringify(proto.graph.input.find((i) => i.name === "labels")!.type).includes(`"elem_type":1`)); // FLOAT
  const onnx = await OrtModel.create(ort, e.bytes, config, { executionProviders: ["wasm"] });
  try {
    const theirs = await onnx.run({ batch, labels, headMask });
    ok(
      Math.abs(ours.loss! - theirs.loss!) <= 1e-5 * Math.max(1, Math.abs(ours.loss!)),
      `${ours.loss} vs ${theirs.loss}`,
    );
    assertGradClose("head_mask_grad", ours.headMaskGrad!, theirs.headMaskGrad!);
  } finally {
    await onnx.release();
  }
});

Deno.test("exportOnnx() of a bare encoder (no pooler or classifier) exports hidden states, and refuses a gradient", async () => {
  const model = await fixture("bert-tiny-random");
  const weights = new Map([...model.params.toTensors()].filter(([n]) => !/^(bert\.pooler|classifier)\./.test(n)));
  const source = { config: model.config, weights };
  const e = exportOnnx(source);
  deepStrictEqual(e.outputs, expandOutputNames(["hidden_states"], model.config));
  throws(() => exportOnnx(source, { outputs: ["logits"] }), /no head/);
  throws(() => exportOnnx(source, { grad: "head_mask" }), /no head \(no logits\)/);
});

Deno.test("exportOnnx() refuses weights past protobuf's 2 GB without externalData, and checks the threshold", async () => {
  const model = await fixture("gpt2-tiny-random");
  const weights = new Map(model.params.toTensors());
  // an extra tensor that only claims its size: the check counts bytes before any is written
  weights.set("unused.huge", { shape: [2 ** 29], data: { length: 2 ** 29 } as unknown as Float32Array });
  throws(
    () => exportOnnx({ config: model.config, weights }),
    /the weights take 2\.0\d GiB, past protobuf's 2 GB limit: write them as external data/,
  );
  throws(() => exportOnnx(model, { externalData: { location: "m.onnx.data", threshold: -1 } }), /threshold/);
  const small = exportOnnx(model, { externalData: { location: "m.onnx.data" } });
  strictEqual(small.externalData, undefined, "under the threshold the weights stay inline");
  const out = exportOnnx(model, { externalData: { location: "m.onnx.data", threshold: 0 } });
  const sizes = out.externalData!.chunks.reduce((n, c) => n + c.length, 0);
  strictEqual(sizes, out.externalData!.bytes);
  ok(out.bytes.length < small.bytes.length / 4, "the graph without its weights is small");
});

for (const name of ["bert-tiny-random", "gpt2-tiny-random"]) {
  Deno.test(`exportOnnx() of ${name} with neurons pruned (one MLP emptied) matches this engine on ort-wasm`, async () => {
    const model = await fixture(name);
    const I = model.config.intermediate;
    const p = pruneNeuronWeights(model.config, model.params.toTensors(), {
      0: [1, 2, 3],
      1: Array.from({ length: I }, (_, j) => j),
    });
    const pruned = new TransformerModel(p.config, p.weights, createWasmKernels());
    const batch = batchFromArrays({
      input_ids: [[2, 45, 17, 3], [2, 9, 3, 0]],
      attention_mask: [[1, 1, 1, 1], [1, 1, 1, 0]],
    }, name);
    const labels: Labels = pruned.task === "lm" ? "lm" : Int32Array.from([1, 0]);
    const ours = pruned.run({ batch, labels, names: ["head_mask_grad", "logits"] });
    const { bytes } = exportOnnx(pruned, { outputs: ["logits"], grad: "head_mask" });
    const onnx = await OrtModel.create(ort, bytes, pruned.config, { executionProviders: ["wasm"] });
    try {
      const theirs = await onnx.run({ batch, labels });
      ok(maxAbsDiff("logits", ours.logits!, theirs.logits!) < 1e-4);
      ok(maxAbsDiff("head_mask_grad", ours.headMaskGrad!, theirs.headMaskGrad!) < 1e-4);
    } finally {
      await onnx.release();
    }
  });
}
