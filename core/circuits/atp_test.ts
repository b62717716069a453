import { ok, throws } from "node:assert/strict";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { checkWeights, TransformerModel } from "../models/model.ts";
import { parseConfig } from "../models/registry.ts";
import type { Tensor } from "../tensor.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { localFiles } from "../checkpoint/local_files.ts";
import { loadModel } from "../models/load.ts";
import { attributionPatching } from "./atp.ts";
import { assertClose, circuitsReference, REFERENCE_NAMES, referenceModel, registered } from "./_test_reference.ts";

for (const name of REFERENCE_NAMES) {
  Deno.test({
    name: `attributionPatching() equals the Hugging Face reference per head and MLP, exact patching too (${name})`,
    ignore: !registered(name),
    fn: async () => {
      const ref = circuitsReference(name);
      const model = await referenceModel(ref);
      const atp = attributionPatching(model, { inputIds: ref.clean }, { inputIds: ref.corrupted }, {
        target: ref.target,
        distractor: ref.distractor,
        positions: true,
      });
      assertClose("metric clean", [atp.metricClean], [ref.atp.metric_clean], 1e-4);
      assertClose("metric corrupted", [atp.metricCorrupted], [ref.atp.metric_corrupted], 1e-4);
      // gradients: 1e-5 absolute plus 1e-3 relative
      assertClose("heads", atp.heads.data, ref.atp.heads.flat(), 1e-5, 1e-3);
      assertClose("mlps", atp.mlps, ref.atp.mlps, 1e-5, 1e-3);
      assertClose("exact heads", atp.exact!.heads.data, ref.atp.exact.heads.flat(), 1e-4);
      assertClose("exact mlps", atp.exact!.mlps, ref.atp.exact.mlps, 1e-4);
      // per position sums to the total
      const { layers: L, heads: H } = model.config, T = ref.clean.length;
      const byPos = atp.headsByPosition!.data;
      const summed = Array.from({ length: L * H }, (_, i) => byPos.slice(i * T, (i + 1) * T).reduce((a, b) => a + b));
      assertClose("Σ positions", summed, atp.heads.data, 1e-6, 1e-5);
      ok(atp.pearson! > -1 && atp.pearson! <= 1);
    },
  });
}

/**
 * The GPT-2 fixture made linear in every head's z and MLP output: LayerNorm ε = 10¹² (so √(var + ε) is √ε in
 * float32 and each norm is affine; γ scaled by 10⁶ to keep the values), zero query and key projections (uniform
 * attention: the pattern no longer depends on the input), zero MLP input weights (each MLP outputs a constant).
 */
async function linearisedGpt2(): Promise<TransformerModel> {
  const dir = fixtureModel("gpt2-tiny-random");
  const raw = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  const source = await referenceModel(circuitsReference("gpt2"));
  const config = parseConfig({ ...raw, layer_norm_epsilon: 1e12 }, "linearised GPT-2");
  const C = config.hidden;
  const weights = new Map<string, Tensor>();
  for (const [name, t] of source.params.toTensors()) {
    const data = t.data.slice();
    if (/ln_(1|2|f)\.weight$/.test(name)) data.forEach((v, i) => (data[i] = v * 1e6));
    if (/c_attn\.weight$/.test(name)) { // [C, 3C]: q and k columns to zero
      for (let r = 0; r < C; r++) data.fill(0, r * 3 * C, r * 3 * C + 2 * C);
    }
    if (/c_attn\.bias$/.test(name)) data.fill(0, 0, 2 * C);
    if (/mlp\.c_fc\.weight$/.test(name)) data.fill(0);
    weights.set(name, { shape: t.shape, data });
  }
  return new TransformerModel(config, checkWeights(config, weights, "linearised GPT-2"), createWasmKernels());
}

Deno.test("attributionPatching() equals exact patching for a model linear in every patched activation", async () => {
  const model = await linearisedGpt2();
  const ref = circuitsReference("gpt2");
  const atp = attributionPatching(model, { inputIds: ref.clean }, { inputIds: ref.corrupted }, {
    target: ref.target,
    distractor: ref.distractor,
  });
  const scale = Math.max(...atp.exact!.heads.data.map(Math.abs), ...atp.exact!.mlps.map(Math.abs));
  ok(scale > 1e-3, `the corruption moves m through the heads (${scale})`);
  assertClose("heads", atp.heads.data, atp.exact!.heads.data, 1e-5 * scale, 1e-4);
  assertClose("mlps", atp.mlps, atp.exact!.mlps, 1e-5 * scale, 1e-4);
  ok(atp.pearson! > 0.99999, `pearson ${atp.pearson}`);
});

Deno.test("attributionPatching() is only an estimate where the model is not linear (the identity can fail)", async () => {
  const ref = circuitsReference("gpt2");
  const model = await referenceModel(ref);
  const atp = attributionPatching(model, { inputIds: ref.clean }, { inputIds: ref.corrupted }, {
    target: ref.target,
    distractor: ref.distractor,
  });
  const gap = Math.max(...atp.heads.data.map((v, i) => Math.abs(v - atp.exact!.heads.data[i]!)));
  ok(gap > 1e-3, `AtP differs from exact patching on the unmodified fixture (${gap})`);
});

Deno.test("attributionPatching() refuses inputs of different lengths and models without a logit difference", async () => {
  const model = await referenceModel(circuitsReference("gpt2"));
  throws(
    () => attributionPatching(model, { inputIds: [1, 2, 3] }, { inputIds: [1, 2] }),
    /same number of tokens \(3 vs 2\)/,
  );
  const { model: mlm } = await loadModel(localFiles(fixtureModel("bert-mlm-tiny-random")), { tokenizer: false });
  throws(() => attributionPatching(mlm, { inputIds: [2, 45, 3] }, { inputIds: [2, 46, 3] }), /Masked language models/);
});

Deno.test("attributionPatching() works on a classifier: m is logit[target] − logit[the other class]", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false });
  const clean = { inputIds: [2, 45, 67, 88, 3] }, corrupted = { inputIds: [2, 45, 99, 88, 3] };
  const atp = attributionPatching(model, clean, corrupted);
  ok(atp.target + atp.distractor === 1);
  ok(atp.heads.data.every(Number.isFinite) && atp.mlps.every(Number.isFinite));
  const span = atp.metricClean - atp.metricCorrupted;
  const allHeads = atp.exact!.heads.data.reduce((a, b) => a + b, 0);
  ok(Number.isFinite(allHeads) && Math.abs(span) > 0, "the corruption moves m");
  ok(atp.pearson! > 0, `AtP ranks like exact patching on the fixture BERT (pearson ${atp.pearson})`);
});
