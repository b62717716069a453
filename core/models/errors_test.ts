import { rejects, throws } from "node:assert/strict";
import { memoryFiles } from "../checkpoint/files.ts";
import { localFiles } from "../checkpoint/local_files.ts";
import { writeSafetensors } from "../checkpoint/safetensors.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { batchFromArrays } from "./inputs.ts";
import { loadModel } from "./load.ts";

const BERT = fixtureModel("bert-tiny-random");
const config = () => JSON.parse(Deno.readTextFileSync(`${BERT}/config.json`));
const weights = async () => (await import("../checkpoint/weights.ts")).loadWeights(localFiles(BERT));

async function filesWith(
  cfg: Record<string, unknown>,
  edit?: (w: Map<string, { shape: number[]; data: Float32Array }>) => void,
) {
  const w = new Map([...(await weights())].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  edit?.(w);
  return memoryFiles({
    "config.json": new TextEncoder().encode(JSON.stringify(cfg)),
    "model.safetensors": writeSafetensors(w),
  }, "bad-model");
}

Deno.test("loadModel() names model_type when it is unknown", async () => {
  await rejects(
    loadModel(await filesWith({ ...config(), model_type: "mamba" }), { tokenizer: false }),
    /bad-model\/config\.json: unknown model_type "mamba"/,
  );
});

Deno.test("loadModel() names the tensor whose shape disagrees with config.json", async () => {
  await rejects(
    loadModel(await filesWith({ ...config(), intermediate_size: 48 }), { tokenizer: false }),
    /tensor "bert\.encoder\.layer\.0\.intermediate\.dense\.weight" has shape \[64, 32\] but config\.json implies \[48, 32\]/,
  );
});

Deno.test("loadModel() names a missing tensor", async () => {
  const files = await filesWith(config(), (w) => w.delete("bert.encoder.layer.2.output.LayerNorm.bias"));
  await rejects(
    loadModel(files, { tokenizer: false }),
    /tensor "bert\.encoder\.layer\.2\.output\.LayerNorm\.bias" is missing/,
  );
});

Deno.test("loadModel() names config.json when it is missing or not JSON", async () => {
  await rejects(loadModel(memoryFiles({}, "empty"), { tokenizer: false }), /empty: config\.json is missing/);
  await rejects(
    loadModel(memoryFiles({ "config.json": new TextEncoder().encode("{oops") }, "broken"), { tokenizer: false }),
    /broken\/config\.json: not valid JSON/,
  );
});

Deno.test("TransformerModel.run() rejects a sequence longer than max_position_embeddings", async () => {
  const { model } = await loadModel(localFiles(BERT), { tokenizer: false });
  const ids = [Array.from({ length: 65 }, () => 1000)];
  throws(
    () => model.run({ batch: batchFromArrays({ input_ids: ids }, "long") }),
    /Sequence length 65 is longer than the model's max_position_embeddings \(64\)/,
  );
});

Deno.test("TransformerModel.run() rejects a head mask of the wrong shape", async () => {
  const { model } = await loadModel(localFiles(BERT), { tokenizer: false });
  const batch = batchFromArrays({ input_ids: [[101, 102]] }, "b");
  throws(
    () => model.run({ batch, headMask: [[1, 1, 1, 1], [1, 1, 1, 1]] }),
    /head mask must have shape \[3, 4\] \(layers, heads\), got \[2, 4\]/,
  );
  throws(() => model.run({ batch, headMask: [[1, 1, 1], [1, 1, 1], [1, 1, 1]] }), /head mask must have shape \[3, 4\]/);
});

Deno.test("TransformerModel.run() names ids outside the vocabulary, bad labels and unknown activation names", async () => {
  const { model } = await loadModel(localFiles(BERT), { tokenizer: false });
  throws(
    () => model.run({ batch: batchFromArrays({ input_ids: [[101, 40000]] }, "b") }),
    /"input_ids"\[0\]\[1\] = 40000 is outside the vocabulary/,
  );
  const batch = batchFromArrays({ input_ids: [[101, 102]] }, "b");
  throws(() => model.run({ batch, labels: [2] }), /labels\[0\] = 2 is outside the model's 2 classes/);
  throws(
    () => model.run({ batch, names: ["blocks.9.attn.hook_pattern"] }),
    /Unknown activation name "blocks\.9\.attn\.hook_pattern"/,
  );
  throws(() => model.run({ batch, names: ["blocks.0.attn.hook_z_grad"] }), /Gradients need labels/);
});

Deno.test("batchFromArrays() names ragged or non-integer fields", () => {
  throws(
    () => batchFromArrays({ input_ids: [[1, 2], [3]] }, "in.json"),
    /in\.json: rows of "input_ids" have different lengths/,
  );
  throws(
    () => batchFromArrays({ input_ids: [[1, 2]], attention_mask: [[1]] }, "in.json"),
    /"attention_mask" must have shape \[1, 2\]/,
  );
  throws(() => batchFromArrays({ input_ids: [[1.5]] }, "in.json"), /"input_ids" must hold integers only/);
});
