import { ok, strictEqual, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { loadModel } from "../models/load.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { directLogitAttribution } from "./dla.ts";
import { assertClose, circuitsReference, REFERENCE_NAMES, referenceModel, registered } from "./_test_reference.ts";

for (const name of REFERENCE_NAMES) {
  Deno.test({
    name: `directLogitAttribution() equals the Hugging Face reference per head, MLP, bias and embeddings (${name})`,
    ignore: !registered(name),
    fn: async () => {
      const ref = circuitsReference(name);
      const model = await referenceModel(ref);
      const dla = directLogitAttribution(model, { inputIds: ref.clean }, {
        target: ref.target,
        distractor: ref.distractor,
      });
      assertClose("metric", [dla.metric], [ref.dla.metric], 1e-4);
      assertClose("heads", dla.heads.data, ref.dla.heads.flat(), 1e-4);
      assertClose("mlps", dla.mlps, ref.dla.mlps, 1e-4);
      assertClose("attn_bias", dla.attnBias, ref.dla.attn_bias, 1e-4);
      assertClose("embed", [dla.embed], [ref.dla.embed], 1e-4);
      assertClose("constant", [dla.constant], [ref.dla.constant], 1e-4);
      strictEqual(dla.norm, name === "llama" ? "rmsNorm" : "layerNorm");
    },
  });
}

Deno.test("directLogitAttribution() parts sum to m for any target and distractor", async () => {
  const model = await referenceModel(circuitsReference("gpt2"));
  const input = { inputIds: [464, 3290, 318, 257, 922, 286] };
  for (const [target, distractor] of [[5, 9], [100, 7], [50256, 0]] as const) {
    const dla = directLogitAttribution(model, input, { target, distractor });
    ok(Math.abs(dla.sum - dla.metric) < 1e-4 * Math.max(1, Math.abs(dla.metric)), `${dla.sum} vs ${dla.metric}`);
    ok(dla.residualGap < 1e-4, `the components add up to the final residual stream (${dla.residualGap})`);
    ok(Math.abs(dla.embed) > 0 && dla.scale > 0);
  }
});

Deno.test("directLogitAttribution() defaults to the prediction against the next-best token", async () => {
  const model = await referenceModel(circuitsReference("gpt2"));
  const dla = directLogitAttribution(model, { inputIds: [464, 3290, 318] });
  ok(dla.metric >= 0, "the prediction's logit is the largest");
  ok(dla.target !== dla.distractor);
});

Deno.test("directLogitAttribution() refuses post-norm models and classifiers in one sentence", async () => {
  const gpt = (await loadModel(localFiles(fixtureModel("openai-gpt-tiny-random")), { tokenizer: false })).model;
  throws(() => directLogitAttribution(gpt, { inputIds: [1, 2, 3] }), /not defined for post-norm models/);
  const bert = (await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false })).model;
  throws(() => directLogitAttribution(bert, { inputIds: [2, 45, 3] }), /language model's last position/);
});

Deno.test("directLogitAttribution() names a target outside the vocabulary", async () => {
  const model = await referenceModel(circuitsReference("gpt2"));
  throws(() => directLogitAttribution(model, { inputIds: [1, 2] }, { target: 50257 }), /target 50257 is outside/);
  throws(() => directLogitAttribution(model, { inputIds: [1, 2] }, { target: 3, distractor: 3 }), /must differ/);
});
