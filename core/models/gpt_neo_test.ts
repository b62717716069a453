/**
 * GPT-Neo against Hugging Face (transformers 5.18, eager attention; `tests/fixtures/families/MANIFEST.json`): a
 * right-padded batch through alternating global and local (window 4) layers without the 1/√d scale — logits, every
 * hidden state and attention within 1e-4 at real positions (HF's padded query rows in local layers are softmaxes
 * of its doubled finfo.min masks, see the manifest), the next-token loss and the head-mask gradient within
 * 1e-5 + 1e-3·|g|; the config's `attention_types` read and refused as HF's config does.
 */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { saveCheckpoint } from "../checkpoint/save_checkpoint.ts";
import { applyMasks } from "../bertology/kwon/apply.ts";
import { exportOnnx, outputHookName } from "../export/export.ts";
import { OrtModel } from "../export/ort_backend.ts";
import { localFiles } from "../checkpoint/local_files.ts";
import { createReferenceKernels } from "../kernels/reference_kernels.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import type { Kernels } from "../kernels/types.ts";
import {
  assertLossAndHeadMaskGrad,
  assertTensorsClose,
  atRealPositions,
  familyModel,
  forwardGoldenNames,
  maxAbsDiff,
  readFamilyGolden,
  readFamilyInputs,
} from "../../tests/helpers/goldens.ts";
import type { Tensor } from "../tensor.ts";
import { ConfigFields } from "./config.ts";
import { gptNeoAttentionLayers } from "./gpt_neo.ts";
import { batchFromArrays } from "./inputs.ts";
import { loadModel } from "./load.ts";
import { TransformerModel } from "./model.ts";
import { memoryFiles } from "../checkpoint/files.ts";
import { loadTokenizer } from "../tokenizers/load_tokenizer.ts";
import { countMismatches, readGolden } from "../../tests/helpers/tokenizer_goldens.ts";
import { familyOf } from "./registry.ts";
import { parseConfig } from "./registry.ts";

const FIXTURE = "gpt-neo-tiny-random";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

/** The fixture model and its golden batch (3 rows, right-padded). */
async function fixture() {
  const { model } = await loadModel(localFiles(familyModel(FIXTURE)), { tokenizer: false });
  const inputs = readFamilyInputs(`${FIXTURE}.lm`);
  return { model, inputs, batch: batchFromArrays(inputs as { input_ids: unknown }, FIXTURE) };
}

const BACKENDS: Array<[string, () => Kernels]> = [
  ["wasm", () => createWasmKernels()],
  ["reference", () => createReferenceKernels()],
];

for (const [backend, makeKernels] of BACKENDS) {
  Deno.test(`${FIXTURE}: logits, hidden states and attentions equal HF's at real positions (${backend})`, async () => {
    const golden = `${FIXTURE}.lm`;
    const inputs = readFamilyInputs(golden);
    const expected = readFamilyGolden(golden);
    const { model } = await loadModel(localFiles(familyModel(FIXTURE)), { kernels: makeKernels(), tokenizer: false });
    strictEqual(model.config.raw.window_size, 4);
    const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
    const names = forwardGoldenNames(expected, model.config.layers, golden);
    const mask = inputs.attention_mask as number[][];
    ok(mask.some((row) => row.includes(0)), "the batch is padded");
    const { cache } = model.run({ batch, names });
    const real = (get: (n: string) => Tensor | undefined) => (n: string) => {
      const t = get(n);
      return t === undefined ? undefined : atRealPositions(n, t, mask);
    };
    const wanted = new Map(names.map((n) => [n, real((m) => expected.get(m))(n)!]));
    assertTensorsClose(wanted, real((n) => cache.get(model.resolveName(n))), names);
    // the local layer (1) sees 4 keys: in the unpadded row 1, query i's probabilities on keys ≤ i − 4 are exactly 0
    const p = cache.get(model.resolveName("attentions.1"))!, [, H, T] = p.shape as [number, number, number];
    for (let h = 0; h < H; h++) {
      for (let i = 4; i < T; i++) {
        for (let j = 0; j <= i - 4; j++) strictEqual(p.data[((H + h) * T + i) * T + j], 0, `head ${h}: ${i} → ${j}`);
      }
    }
  });

  Deno.test(`${FIXTURE}: next-token loss and head_mask_grad equal HF's (${backend})`, async () => {
    const golden = `${FIXTURE}.head_mask_grad`;
    const inputs = readFamilyInputs(golden);
    const expected = readFamilyGolden(golden);
    const { model } = await loadModel(localFiles(familyModel(FIXTURE)), { kernels: makeKernels(), tokenizer: false });
    const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
    // HF's labels are input_ids with -100 on pads, shifted inside the model: our "lm" targets
    const labels = inputs.labels as number[][], ids = inputs.input_ids as number[][];
    const mask = inputs.attention_mask as number[][];
    ok(labels.every((row, b) => row.every((v, t) => v === (mask[b]![t] === 1 ? ids[b]![t] : -100))));
    const result = model.run({ batch, labels: "lm", names: ["head_mask_grad"] });
    assertLossAndHeadMaskGrad(expected, result.loss!, result.headMaskGrad!);
  });
}

Deno.test("gptNeoAttentionLayers() expands attention_types as HF's config does, and refuses what HF refuses", () => {
  const layers = (raw: Record<string, unknown>, n: number) => gptNeoAttentionLayers(new ConfigFields(raw, "c.json"), n);
  strictEqual(layers({}, 24).join(), Array(12).fill("global,local").join());
  strictEqual(layers({ attention_types: [[["local"], 2], [["global"], 1]] }, 3).join(), "local,local,global");
  throws(
    () => layers({ attention_types: [[["global", "local"], 2]] }, 3),
    /gives 4 attention layers but "num_layers" is 3/,
  );
  throws(
    () => layers({ attention_types: [[["global", "sparse"], 1]] }, 2),
    /c.json: field "attention_types" entry 0 names/,
  );
  throws(() => layers({ attention_types: "global" }, 2), /"attention_types" is not a list/);
  throws(
    () => layers({ attention_types: [[["global"], 2]], attention_layers: ["global", "local"] }, 2),
    /field "attention_layers" \["global","local"\] disagrees with "attention_types"/,
  );
  const base = {
    ...{ model_type: "gpt_neo", vocab_size: 10, hidden_size: 8, num_layers: 2, num_heads: 2 },
    attention_types: [[["global", "local"], 1]],
  };
  throws(
    () => parseConfig({ ...base, window_size: 0 }, "neo/config.json"),
    /neo\/config.json: field "window_size" must/,
  );
  strictEqual(parseConfig(base, "neo/config.json").intermediate, 32);
});

Deno.test(`${FIXTURE}: pruned heads and neurons, saved and reloaded, equal the masked model (bertology and dense)`, async () => {
  const { model, batch } = await fixture();
  // layer 1 is the local one: its heads and neurons go too; layer 2 loses every head
  const headMask = [[1, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]];
  const neuronMask = model.config.intermediateSizes.map((I, l) =>
    Array.from({ length: I }, (_, j) => (j % (l + 2) === 0 ? 0 : 1))
  );
  const logits = (r: { cache: Map<string, Tensor> }) => r.cache.get("hook_logits")!;
  const masked = logits(model.run({ batch, headMask, neuronMask, names: ["logits"] }));
  const pruned = applyMasks(
    model.config,
    model.params.toTensors(),
    { heads: headMask, neurons: neuronMask },
    "bertology",
  );
  strictEqual(pruned.note, "");
  const dir = await Deno.makeTempDir();
  try {
    await saveCheckpoint(`${dir}/pruned`, { config: pruned.config.raw, weights: pruned.weights });
    const { model: reloaded } = await loadModel(localFiles(`${dir}/pruned`), { tokenizer: false });
    deepStrictEqual(reloaded.headsPerLayer, [2, 2, 0]);
    deepStrictEqual(reloaded.config.raw.attention_types, model.config.raw.attention_types);
    ok(reloaded.params.count() < model.params.count());
    const d = maxAbsDiff("logits", masked, logits(reloaded.run({ batch, names: ["logits"] })));
    ok(d <= 1e-5, `logits differ by ${d}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const dense = applyMasks(model.config, model.params.toTensors(), { heads: headMask, neurons: neuronMask }, "dense");
  const zeroed = new TransformerModel(dense.config, dense.weights, createWasmKernels());
  ok(maxAbsDiff("logits", masked, logits(zeroed.run({ batch, names: ["logits"] }))) <= 1e-5);
});

Deno.test(`${FIXTURE}: neuron_mask_grad equals finite differences of the next-token loss`, async () => {
  const { model: loaded, batch } = await fixture();
  const m = new TransformerModel(loaded.config, loaded.params.toTensors(), createReferenceKernels());
  const base = m.config.intermediateSizes.map((I, l) => Array.from({ length: I }, (_, j) => 0.5 + 0.1 * ((l + j) % 7)));
  const grads = m.run({ batch, labels: "lm", neuronMask: base, names: ["neuron_mask_grad"] }).neuronMaskGrad!;
  const eps = 1e-3;
  for (let l = 0; l < m.config.layers; l++) {
    for (const j of [0, 17, 63]) {
      const at = (d: number) => {
        const nm = base.map((row) => [...row]);
        nm[l]![j]! += d;
        return m.run({ batch, labels: "lm", neuronMask: nm }).loss!;
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps), g = grads[l]![j]!;
      ok(Math.abs(fd - g) <= 2e-4 + 2e-2 * Math.abs(fd), `mask[${l}][${j}]: backward ${g}, fd ${fd}`);
    }
  }
});

Deno.test(`${FIXTURE}: the exported ONNX graph on ort-wasm equals our engine within 1e-4, and HF's at real positions`, async () => {
  const { model, inputs, batch } = await fixture();
  const { bytes } = exportOnnx(model, { outputs: ["logits", "hidden_states", "attentions"], grad: "head_mask" });
  const onnx = await OrtModel.create(ort, bytes, model.config, { executionProviders: ["wasm"] });
  try {
    const expected = readFamilyGolden(`${FIXTURE}.lm`);
    const names = forwardGoldenNames(expected, model.config.layers, `${FIXTURE}.lm`);
    const r = await onnx.run({ batch, labels: "lm" });
    const ours = model.run({ batch, labels: "lm", names: [...names, "head_mask_grad"] });
    // every position, padded ones included: both give a query with no visible key uniform probabilities
    const engine = new Map(names.map((n) => [n, ours.cache.get(model.resolveName(n))!]));
    assertTensorsClose(engine, (n) => r.cache.get(outputHookName(n, model.config)), names);
    const mask = inputs.attention_mask as number[][];
    const hf = new Map(names.map((n) => [n, atRealPositions(n, expected.get(n)!, mask)]));
    assertTensorsClose(hf, (n) => atRealPositions(n, r.cache.get(outputHookName(n, model.config))!, mask), names);
    // the backward graph: HF's loss and head-mask gradient
    const grad = readFamilyGolden(`${FIXTURE}.head_mask_grad`);
    assertLossAndHeadMaskGrad(grad, r.loss!, r.headMaskGrad!);
  } finally {
    await onnx.release();
  }
});

Deno.test(`${FIXTURE}: the tokenizer loadModel gives (the CLI's), and GPT-2's BPE from vocab.json + merges.txt alone, equal HF's`, async () => {
  const golden = await readGolden(`families/tokenize.${FIXTURE}.jsonl`);
  const { model, tokenizer } = await loadModel(localFiles(familyModel(FIXTURE)));
  strictEqual(countMismatches(tokenizer!, golden, `${FIXTURE} (tokenizer.json)`), 0);
  // without tokenizer.json the family's own kind reads GPT-2's files
  const kind = familyOf(model.config).tokenizer;
  strictEqual(kind, "gpt2-bpe");
  const dir = familyModel(FIXTURE);
  const files = memoryFiles(
    Object.fromEntries(
      ["vocab.json", "merges.txt", "tokenizer_config.json"].map((f) => [f, Deno.readFileSync(`${dir}/${f}`)]),
    ),
    `${FIXTURE} without tokenizer.json`,
  );
  strictEqual(countMismatches(await loadTokenizer(files, kind), golden, `${FIXTURE} (${kind})`), 0);
});
