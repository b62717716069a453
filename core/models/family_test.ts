import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { hookName } from "../hooks.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { loadModel } from "./load.ts";
import { familyOf, modelTypes, parseConfig } from "./registry.ts";
import { forwardFlops, traceModel } from "./trace_ops.ts";

const FIXTURES = ["bert-tiny-random", "gpt2-tiny-random", "openai-gpt-tiny-random"];

Deno.test("registry: every family is registered under its model_type; unknown types list the supported ones", () => {
  deepStrictEqual(modelTypes().sort(), [
    "albert",
    "bert",
    "camembert",
    "distilbert",
    "electra",
    "gpt2",
    "gpt_neo",
    "gpt_neox",
    "llama",
    "mistral",
    "openai-gpt",
    "qwen2",
    "roberta",
    "xlm-roberta",
  ]);
  for (const t of modelTypes()) strictEqual(familyOf(t).modelType, t);
  throws(
    () => parseConfig({ model_type: "t5" }, "x/config.json"),
    /x\/config\.json: unknown model_type "t5" \(supported: bert, gpt2, openai-gpt, roberta, xlm-roberta, camembert, distilbert, albert, electra, gpt_neo, gpt_neox, llama, mistral, qwen2\)/,
  );
  throws(() => parseConfig({ n_layer: 2 }, "c.json"), /c\.json: field "model_type" is missing/);
});

Deno.test("config sizes are bounded before anything is allocated per layer or per label", () => {
  const base = {
    model_type: "bert",
    vocab_size: 10,
    hidden_size: 8,
    num_attention_heads: 2,
    intermediate_size: 8,
    max_position_embeddings: 8,
  };
  const t0 = performance.now();
  throws(
    () => parseConfig({ ...base, num_hidden_layers: 1e9 }, "c.json"),
    /c\.json: field "num_hidden_layers" = 1000000000 is larger than 1024/,
  );
  throws(
    () => parseConfig({ ...base, num_hidden_layers: 1, num_labels: 1e9 }, "c.json"),
    /"num_labels" = 1000000000 is larger than 65536/,
  );
  throws(() => parseConfig({ ...base, num_hidden_layers: 1, vocab_size: 2 ** 40 }, "c.json"), /"vocab_size"/);
  ok(performance.now() - t0 < 1000);
});

for (const name of FIXTURES) {
  Deno.test(`${name}: hookNames() (recorded from the family's description) are exactly what run() hands back`, async () => {
    const { model } = await loadModel(localFiles(fixtureModel(name)), { tokenizer: false });
    const names = model.hookNames();
    const batch = {
      batchSize: 2,
      seqLen: 3,
      inputIds: Int32Array.from([5, 6, 7, 8, 9, 0]),
      attentionMask: Int32Array.from([1, 1, 1, 1, 1, 0]),
    };
    const { cache } = model.run({ batch, names });
    deepStrictEqual([...cache.keys()].sort(), [...names].sort());
    const { heads: H, headDim: D, hidden: C } = model.config;
    deepStrictEqual(cache.get(hookName("q", 0))!.shape, [2, 3, H, D]);
    deepStrictEqual(cache.get(hookName("pattern", 1))!.shape, [2, H, 3, 3]);
    deepStrictEqual(cache.get(hookName("resid_post", 1))!.shape, [2, 3, C]);
    // each of HF's hidden_states maps onto a name the model produces
    for (let i = 0; i <= model.config.layers; i++) ok(names.includes(model.resolveName(`hidden_states.${i}`)));
  });
}

Deno.test("a name the family cannot produce is an error, not an empty result", async () => {
  const bert = (await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false })).model;
  const gpt2 = (await loadModel(localFiles(fixtureModel("gpt2-tiny-random")), { tokenizer: false })).model;
  const gpt = (await loadModel(localFiles(fixtureModel("openai-gpt-tiny-random")), { tokenizer: false })).model;
  const batch = { batchSize: 1, seqLen: 2, inputIds: Int32Array.from([5, 6]) };
  throws(() => bert.run({ batch, names: ["ln_final.hook_out"] }), /BERT has no such activation/);
  throws(() => gpt2.run({ batch, names: ["pooler.hook_out"] }), /GPT-2 has no such activation/);
  throws(() => gpt.run({ batch, names: ["ln_final.hook_out"] }), /OpenAI GPT has no such activation/);
  throws(() => bert.run({ batch, names: ["blocks.9.attn.hook_z"] }), /layer 9 does not exist/);
  throws(() => bert.run({ batch, names: ["blocks.0.attn.hook_nothing"] }), /not an activation name/);
  throws(() => bert.run({ batch, names: ["hidden_states.99"] }), /not an HF output/);
  ok(gpt2.hookNames().includes("ln_final.hook_out") && bert.hookNames().includes("pooler.hook_out"));
});

Deno.test("GPT q/k/v are views of the fused c_attn output: their gradients sum to c_attn's bias gradient", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("gpt2-tiny-random")), { tokenizer: false });
  const batch = { batchSize: 1, seqLen: 4, inputIds: Int32Array.from([270, 705, 82, 257]) };
  model.params.enableGrads();
  model.params.zeroGrads();
  const names = ["q", "k", "v"].map((k) => hookName(k as "q", 0, true));
  const { cache } = model.run({ batch, labels: "lm", names, paramGrads: true });
  const bias = model.params.gradTensors().get("transformer.h.0.attn.c_attn.bias")!.data;
  const HD = model.headsPerLayer[0]! * model.config.headDim;
  names.forEach((n, part) => {
    const g = cache.get(n)!.data; // [1, 4, H, D]
    let nonzero = false;
    for (let j = 0; j < HD; j++) {
      let sum = 0;
      for (let t = 0; t < 4; t++) sum += g[t * HD + j]!;
      nonzero ||= sum !== 0;
      ok(
        Math.abs(sum - bias[part * HD + j]!) <= 1e-6 + 1e-4 * Math.abs(sum),
        `${n}[${j}]: ${sum} vs ${bias[part * HD + j]}`,
      );
    }
    ok(nonzero, `${n} is not all zeros`);
  });
});

Deno.test("trace: the recorded graph counts BERT's matmul FLOPs as the closed formula does", () => {
  const config = parseConfig({
    model_type: "bert",
    vocab_size: 30522,
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    max_position_embeddings: 512,
    num_labels: 2,
  }, "bert-base");
  const trace = traceModel(familyOf(config), config);
  const B = 2, T = 128, C = 768, I = 3072, L = 12;
  const perLayer = 2 * B * T * (4 * C * C + 2 * C * I) + 2 * 2 * B * T * T * C;
  const head = 2 * B * C * C + 2 * B * C * 2;
  strictEqual(forwardFlops(trace, B, T), L * perLayer + head);
  strictEqual(trace.blocks.length, 12);
  strictEqual(trace.ops.filter((o) => o.op === "attention").length, 12);
  ok(trace.logits !== undefined);
});

Deno.test("trace: a pruned layer records its remaining heads; a bare encoder records no logits", () => {
  const raw = {
    model_type: "bert",
    vocab_size: 20,
    hidden_size: 8,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 16,
    max_position_embeddings: 8,
    pruned_heads: { "1": [0, 2, 3] },
  };
  const config = parseConfig(raw, "pruned");
  const family = familyOf(config);
  const attn = traceModel(family, config).ops.filter((o) => o.op === "attention").map((o) => o.attrs.heads);
  deepStrictEqual(attn, [4, 1]);
  const spec = family.weights(config);
  const bare = traceModel(family, config, (n) => spec.required.get(n));
  strictEqual(bare.logits, undefined);
  ok(!bare.hooks.has("pooler.hook_out"));
});

Deno.test("patching: the clean residual stream restores the clean output; a patch that keeps the values is the identity; gradients stop at a patch", async () => {
  for (const name of ["bert-tiny-random", "gpt2-tiny-random"]) {
    const { model } = await loadModel(localFiles(fixtureModel(name)), { tokenizer: false });
    const clean = { batchSize: 1, seqLen: 4, inputIds: Int32Array.from([5, 6, 7, 8]) };
    const corrupt = { batchSize: 1, seqLen: 4, inputIds: Int32Array.from([5, 9, 7, 8]) };
    const z = hookName("z", 1);
    const names = [z, "hidden_states.2", "logits"];
    const a = model.run({ batch: clean, names });
    const b = model.run({ batch: corrupt, names });
    // patch the whole residual stream entering layer 1 with the clean run's: everything after it is the clean run's
    const resid = hookName("resid_pre", 1);
    const residClean = model.run({ batch: clean, names: [resid] }).cache.get(resid)!.data;
    const whole = model.run({
      batch: corrupt,
      names,
      patch: new Map([[resid, (v: Float32Array) => v.set(residClean)]]),
    });
    const same = (x: Float32Array, y: Float32Array) => x.every((v, i) => Math.abs(v - y[i]!) < 1e-5);
    ok(
      same(whole.cache.get(hookName("logits"))!.data, a.cache.get(hookName("logits"))!.data),
      `${name}: full patch restores the clean logits`,
    );
    ok(
      !same(b.cache.get(hookName("logits"))!.data, a.cache.get(hookName("logits"))!.data),
      `${name}: the corruption matters`,
    );
    // a patch that keeps the values is the identity
    const noop = model.run({ batch: corrupt, names, patch: new Map([[z, () => {}]]) });
    ok(same(noop.cache.get(hookName("logits"))!.data, b.cache.get(hookName("logits"))!.data));
    // gradients stop at a patched activation (its producer sees none) but reach it
    if (model.task === "lm") {
      const g = model.run({
        batch: corrupt,
        labels: "lm",
        names: [`${z}_grad`, hookName("q", 1, true)],
        patch: new Map([[z, () => {}]]),
      });
      ok(g.cache.get(`${z}_grad`)!.data.some((v) => v !== 0));
      ok(g.cache.get(hookName("q", 1, true))!.data.every((v) => v === 0));
    }
    throws(() => model.run({ batch: clean, patch: new Map([["attentions.0", () => {}]]) }), /cannot be patched/);
  }
});

Deno.test("patching q of a fused projection: attention reads dense copies, gradients still reach k and v", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("gpt2-tiny-random")), { tokenizer: false });
  const batch = { batchSize: 1, seqLen: 4, inputIds: Int32Array.from([270, 705, 82, 257]) };
  const q = hookName("q", 0);
  const base = model.run({ batch, labels: "lm", names: ["logits", hookName("k", 0, true)] });
  const same = model.run({
    batch,
    labels: "lm",
    names: ["logits", hookName("k", 0, true)],
    patch: new Map([[q, () => {}]]),
  });
  const close = (x: Float32Array, y: Float32Array) => x.every((v, i) => Math.abs(v - y[i]!) < 1e-5);
  ok(close(base.logits!.data, same.logits!.data));
  ok(close(base.cache.get(hookName("k", 0, true))!.data, same.cache.get(hookName("k", 0, true))!.data));
});

Deno.test("logit lens: unembedding the last residual stream gives the model's own logits (GPT-2, OpenAI GPT)", async () => {
  for (const name of ["gpt2-tiny-random", "openai-gpt-tiny-random"]) {
    const { model } = await loadModel(localFiles(fixtureModel(name)), { tokenizer: false });
    const L = model.config.layers;
    const batch = { batchSize: 1, seqLen: 4, inputIds: Int32Array.from([27, 70, 82, 25]) };
    const last = hookName("resid_post", L - 1);
    const { cache, logits } = model.run({ batch, names: [last, "logits"] });
    const lens = model.unembed(cache.get(last)!);
    deepStrictEqual(lens.shape, logits!.shape);
    ok(lens.data.every((v, i) => Math.abs(v - logits!.data[i]!) < 1e-4), name);
  }
  const { model: bert } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false });
  throws(
    () => bert.unembed({ shape: [1, bert.config.hidden], data: new Float32Array(bert.config.hidden) }),
    /no unembedding/,
  );
});
