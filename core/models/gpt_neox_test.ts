/**
 * GPT-NeoX (Pythia's family) against Hugging Face (transformers 5.18, eager attention; see
 * `tests/fixtures/families/MANIFEST.json`): logits, every hidden state and attention of a padded batch within
 * 1e-4, the next-token loss and head-mask gradient within 1e-5 + 1e-3·|g|; its config in transformers 4 and 5
 * spellings; the sequential residual form and tied embeddings; its heads and neurons pruned in HF's layout.
 */

import { deepStrictEqual, notDeepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { saveCheckpoint } from "../checkpoint/save_checkpoint.ts";
import { applyMasks, type PrunedFormat } from "../bertology/kwon/apply.ts";
import { pruneWeights } from "../bertology/prune.ts";
import { hookName } from "../hooks.ts";
import { createReferenceKernels } from "../kernels/reference_kernels.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Tensor } from "../tensor.ts";
import {
  assertLossAndHeadMaskGrad,
  assertTensorsClose,
  familyModel,
  forwardGoldenNames,
  maxAbsDiff,
  readFamilyGolden,
  readFamilyInputs,
} from "../../tests/helpers/goldens.ts";
import { countMismatches, readGolden } from "../../tests/helpers/tokenizer_goldens.ts";
import { batchFromArrays } from "./inputs.ts";
import { loadModel } from "./load.ts";
import { checkWeights, TransformerModel } from "./model.ts";
import { parseConfig } from "./registry.ts";

const FIXTURE = "gpt-neox-tiny-random";

async function fixture(kernels?: Kernels) {
  const { model } = await loadModel(localFiles(familyModel(FIXTURE)), {
    tokenizer: false,
    ...(kernels ? { kernels } : {}),
  });
  const golden = `${FIXTURE}.lm`;
  return { model, batch: batchFromArrays(readFamilyInputs(golden) as { input_ids: unknown }, golden) };
}

function fixtureConfig(): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(`${familyModel(FIXTURE)}/config.json`));
}

const BACKENDS: Array<[string, () => Kernels]> = [
  ["wasm", () => createWasmKernels()],
  ["reference", () => createReferenceKernels()],
];

for (const [backend, makeKernels] of BACKENDS) {
  Deno.test(`${FIXTURE}: logits, hidden states and attentions equal HF's (${backend})`, async () => {
    const { model, batch } = await fixture(makeKernels());
    const expected = readFamilyGolden(`${FIXTURE}.lm`);
    const names = forwardGoldenNames(expected, model.config.layers, `${FIXTURE}.lm`);
    const { cache } = model.run({ batch, names });
    assertTensorsClose(expected, (n) => cache.get(model.resolveName(n)), names);
  });

  Deno.test(`${FIXTURE}: next-token loss and head_mask_grad equal HF's (${backend})`, async () => {
    const { model } = await fixture(makeKernels());
    const golden = `${FIXTURE}.head_mask_grad`;
    const inputs = readFamilyInputs(golden);
    const expected = readFamilyGolden(golden);
    const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
    // HF's labels are input_ids with -100 on padding, shifted inside the model: our "lm" labels
    const result = model.run({ batch, labels: "lm", names: ["head_mask_grad"] });
    assertLossAndHeadMaskGrad(expected, result.loss!, result.headMaskGrad!);
  });
}

Deno.test(`${FIXTURE}: the loaded model tokenizes with its tokenizer.json, as HF does on every line`, async () => {
  const { tokenizer } = await loadModel(localFiles(familyModel(FIXTURE)));
  strictEqual(countMismatches(tokenizer!, await readGolden(`families/tokenize.${FIXTURE}.jsonl`), FIXTURE), 0);
});

Deno.test("gpt_neox config: transformers 4's rotary_pct / rotary_emb_base read as transformers 5's rope_parameters", () => {
  const v5 = parseConfig(fixtureConfig(), "config.json");
  deepStrictEqual(v5.section, { rotaryDim: 2, theta: 10000, parallelResidual: true, attentionBias: true });
  deepStrictEqual(v5.activation, "erf"); // HF's "gelu" is the erf form
  const { rope_parameters: _, ...rest } = fixtureConfig();
  const v4 = parseConfig({ ...rest, rotary_pct: 0.25, rotary_emb_base: 10000, rope_scaling: null }, "config.json");
  deepStrictEqual(v4.section, v5.section);
  // defaults: Pythia's rotary_pct 0.25 and base 10000, parallel residual, attention biases
  deepStrictEqual(parseConfig(rest, "config.json").section, v5.section);
  const flat = parseConfig({ ...rest, partial_rotary_factor: 0.5, rope_theta: 1e6 }, "config.json");
  deepStrictEqual([flat.section.rotaryDim, flat.section.theta], [4, 1e6]);
});

Deno.test("gpt_neox config: scaled rotary, an odd rotary width and bad fields are refused, naming the field", () => {
  const base = fixtureConfig();
  const bad = (patch: Record<string, unknown>) => () => parseConfig({ ...base, ...patch }, "m/config.json");
  throws(bad({ rope_parameters: { rope_type: "linear", factor: 2, rope_theta: 1e4 } }), /"linear"; only "default"/);
  throws(bad({ rope_parameters: { rope_theta: 1e4, partial_rotary_factor: 0.375 } }), /rotary width .* = 3 is odd/);
  throws(bad({ rope_parameters: { rope_theta: -1 } }), /m\/config.json \("rope_parameters"\): field "rope_theta"/);
  throws(bad({ rope_parameters: [] }), /field "rope_parameters" must be an object/);
  throws(bad({ hidden_act: "swish" }), /field "hidden_act" = "swish" is not supported/);
});

Deno.test(`${FIXTURE}: a different rope_theta changes the logits (the base is used), rotary_pct 0 drops rotary`, async () => {
  const { model, batch } = await fixture();
  const weights = model.params.toTensors();
  const logits = (patch: Record<string, unknown>) => {
    const config = parseConfig({ ...fixtureConfig(), ...patch }, "config.json");
    return new TransformerModel(config, weights, createWasmKernels()).run({ batch, names: ["logits"] }).logits!;
  };
  // with rotary_pct 0.25 (2 dims) the one frequency is theta⁰ = 1 whatever the base: rotate every dim
  const wide = (theta: number) => logits({ rope_parameters: { rope_theta: theta, partial_rotary_factor: 1 } });
  ok(maxAbsDiff("logits", wide(10000), wide(100)) > 1e-3);
  strictEqual(maxAbsDiff("logits", model.run({ batch, names: ["logits"] }).logits!, logits({})), 0);
  const none = parseConfig({ ...fixtureConfig(), rope_parameters: { partial_rotary_factor: 0 } }, "config.json");
  const trace = new TransformerModel(none, weights, createWasmKernels()).hookNames();
  ok(!trace.includes(hookName("rot_q", 0)), "no rotated q without rotary dims");
});

/** LayerNorm then nn.Linear of row r of x [rows, C], in float64 (HF's formulas). */
function layerNormLinear(x: Float32Array, r: number, w: Map<string, Tensor>, norm: string, lin: string): number[] {
  const gamma = w.get(`${norm}.weight`)!.data, beta = w.get(`${norm}.bias`)!.data;
  const W = w.get(`${lin}.weight`)!, b = w.get(`${lin}.bias`)!.data;
  const C = gamma.length, row = x.subarray(r * C, (r + 1) * C);
  const mean = row.reduce((s, v) => s + v, 0) / C;
  const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / C;
  const n = Array.from(row, (v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * gamma[i]! + beta[i]!);
  return Array.from({ length: W.shape[0]! }, (_, o) => n.reduce((s, v, i) => s + v * W.data[o * C + i]!, b[o]!));
}

Deno.test(`${FIXTURE}: the parallel MLP reads ln2(resid_pre), the sequential one ln2(resid_mid); resid_post = resid_mid + mlp_out`, async () => {
  const { model, batch } = await fixture();
  const weights = model.params.toTensors();
  const sequential = new TransformerModel(
    parseConfig({ ...fixtureConfig(), use_parallel_residual: false }, "config.json"),
    weights,
    createWasmKernels(),
  );
  const l = 1, p = `gpt_neox.layers.${l}`;
  const names = ["resid_pre", "attn_out", "resid_mid", "mlp_pre", "mlp_out", "resid_post"].map((k) =>
    hookName(k as "resid_pre", l)
  );
  const outputs: Map<string, Float32Array>[] = [];
  for (const [m, reads] of [[model, "resid_pre"], [sequential, "resid_mid"]] as const) {
    const { cache } = m.run({ batch, names });
    const get = (k: string) => cache.get(hookName(k as "resid_pre", l))!.data;
    const C = model.config.hidden, I = model.config.intermediate;
    for (const r of [0, 17, 40]) {
      const want = layerNormLinear(get(reads), r, weights, `${p}.post_attention_layernorm`, `${p}.mlp.dense_h_to_4h`);
      want.forEach((v, i) => ok(Math.abs(get("mlp_pre")[r * I + i]! - v) < 1e-4, `${reads}: mlp_pre[${r}, ${i}]`));
    }
    const [pre, attn, mid, mlp, post] = ["resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post"].map(get);
    for (let i = 0; i < pre!.length; i += 7) {
      ok(Math.abs(mid![i]! - (pre![i]! + attn![i]!)) < 1e-5, `resid_mid[${i}]`);
      ok(Math.abs(post![i]! - (mid![i]! + mlp![i]!)) < 1e-5, `resid_post[${i}]`);
    }
    ok(C > 0);
    outputs.push(new Map([["post", post!]]));
  }
  notDeepStrictEqual(outputs[0]!.get("post"), outputs[1]!.get("post"));
});

Deno.test(`${FIXTURE}: tie_word_embeddings reads the logits through embed_in when embed_out is absent`, async () => {
  const { model, batch } = await fixture();
  const weights = model.params.toTensors();
  const untied = new Map(weights);
  untied.set("embed_out.weight", weights.get("gpt_neox.embed_in.weight")!);
  const tiedWeights = new Map(weights);
  tiedWeights.delete("embed_out.weight");
  const config = parseConfig({ ...fixtureConfig(), tie_word_embeddings: true }, "config.json");
  const tied = new TransformerModel(config, tiedWeights, createWasmKernels());
  const copy = new TransformerModel(model.config, untied, createWasmKernels());
  strictEqual(
    maxAbsDiff(
      "logits",
      copy.run({ batch, names: ["logits"] }).logits!,
      tied.run({ batch, names: ["logits"] }).logits!,
    ),
    0,
  );
  // untied (the default), embed_out is required
  throws(() => checkWeights(model.config, tiedWeights, "m"), /m: tensor "embed_out.weight" is missing/);
  strictEqual(checkWeights(config, tiedWeights, "m").has("embed_out.weight"), false);
});

Deno.test(`${FIXTURE}: pruning head h removes rows [h·3D, (h+1)·3D) of query_key_value (HF's layout kept)`, async () => {
  const { model } = await fixture();
  const weights = model.params.toTensors();
  const D = model.config.headDim, C = model.config.hidden;
  const { config, weights: pruned } = pruneWeights(model.config, weights, { 0: [1, 3] });
  deepStrictEqual(config.prunedHeads[0], [1, 3]);
  const key = "gpt_neox.layers.0.attention.query_key_value";
  const rows = (t: Tensor, from: number, to: number) => t.data.slice(from * C, to * C);
  const before = weights.get(`${key}.weight`)!, after = pruned.get(`${key}.weight`)!;
  deepStrictEqual(after.shape, [2 * 3 * D, C]);
  deepStrictEqual(rows(after, 0, 3 * D), rows(before, 0, 3 * D)); // head 0
  deepStrictEqual(rows(after, 3 * D, 6 * D), rows(before, 6 * D, 9 * D)); // head 2
  const bias = weights.get(`${key}.bias`)!.data;
  deepStrictEqual(
    pruned.get(`${key}.bias`)!.data,
    Float32Array.from([...bias.slice(0, 3 * D), ...bias.slice(6 * D, 9 * D)]),
  );
  // the output projection loses head 1's and head 3's columns
  deepStrictEqual(pruned.get("gpt_neox.layers.0.attention.dense.weight")!.shape, [C, 2 * D]);
});

const FORMATS: PrunedFormat[] = ["bertology", "hf-v4", "dense"];
for (const format of FORMATS) {
  Deno.test(`${FIXTURE}: pruned heads and neurons (${format}), saved and reloaded, equal the masked model`, async () => {
    const { model, batch } = await fixture();
    const headMask = [[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 0]];
    const neuronMask = model.config.intermediateSizes.map((I, l) =>
      Array.from({ length: I }, (_, j) => (j % (l + 2) === 0 ? 0 : 1))
    );
    const masked = model.run({ batch, headMask, neuronMask, names: ["logits"] });
    const pruned = applyMasks(model.config, model.params.toTensors(), { heads: headMask, neurons: neuronMask }, format);
    strictEqual(pruned.note, "");
    const dir = await Deno.makeTempDir();
    try {
      await saveCheckpoint(`${dir}/pruned`, { config: pruned.config.raw, weights: pruned.weights });
      const { model: reloaded } = await loadModel(localFiles(`${dir}/pruned`), { tokenizer: false });
      deepStrictEqual(reloaded.headsPerLayer, format === "dense" ? [4, 4, 4] : [2, 0, 3]);
      if (format !== "dense") ok(reloaded.params.count() < model.params.count());
      const d = maxAbsDiff("logits", masked.logits!, reloaded.run({ batch, names: ["logits"] }).logits!);
      ok(d <= 1e-5, `logits differ by ${d}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
