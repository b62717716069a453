import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { loadModel } from "../models/load.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { finalReadout, headOutputRows, outputProjection, readWeight } from "./readout.ts";
import { circuitsReference, referenceModel, registered } from "./_test_reference.ts";

Deno.test("finalReadout() finds GPT-2's final LayerNorm and tied unembedding in the traced unembed", async () => {
  const model = await referenceModel(circuitsReference("gpt2"));
  deepStrictEqual(finalReadout(model), {
    norm: { kind: "layerNorm", weight: "transformer.ln_f.weight", bias: "transformer.ln_f.bias", eps: 1e-5, offset: 0 },
    unembed: { weight: "transformer.wte.weight", layout: "linear" },
  });
});

Deno.test({
  name: "finalReadout() finds Llama's final RMSNorm and untied lm_head",
  ignore: !registered("llama"),
  fn: async () => {
    const model = await referenceModel(circuitsReference("llama"));
    const r = finalReadout(model);
    strictEqual(r.norm?.kind, "rmsNorm");
    strictEqual(r.norm?.bias, undefined);
    strictEqual(r.unembed.weight, "lm_head.weight");
  },
});

Deno.test("finalReadout() has no norm for a post-norm decoder and refuses a classifier", async () => {
  const gpt = (await loadModel(localFiles(fixtureModel("openai-gpt-tiny-random")), { tokenizer: false })).model;
  strictEqual(finalReadout(gpt).norm, undefined);
  const bert = (await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false })).model;
  throws(() => finalReadout(bert), /has no unembedding/);
});

Deno.test("outputProjection() and headOutputRows() give head h's rows of GPT-2's c_proj", async () => {
  const model = await referenceModel(circuitsReference("gpt2"));
  const proj = outputProjection(model, 1);
  deepStrictEqual(proj, {
    weight: "transformer.h.1.attn.c_proj.weight",
    heads: "rows",
    bias: "transformer.h.1.attn.c_proj.bias",
  });
  const { hidden: C, headDim: D } = model.config;
  const w = readWeight(model, proj.weight); // [H·D, C]
  const rows = headOutputRows(w, proj, 2, D, C);
  deepStrictEqual(Array.from(rows), Array.from(w.subarray(2 * D * C, 3 * D * C)));
  // the same head stored as columns of an nn.Linear [C, H·D]
  const H = w.length / (D * C), columns = new Float32Array(w.length);
  for (let r = 0; r < H * D; r++) for (let c = 0; c < C; c++) columns[c * H * D + r] = w[r * C + c]!;
  deepStrictEqual(Array.from(headOutputRows(columns, { ...proj, heads: "columns" }, 2, D, C)), Array.from(rows));
});
