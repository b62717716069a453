// The Llama family's config: what it reads (grouped-query heads, head_dim, rope_theta at the top level as
// transformers 4 writes it or under rope_parameters as 5 does, biases, tied heads), what it refuses with a sentence
// naming the field (kv heads that do not divide the heads, rotary scalings, another MLP activation), and Mistral's
// sliding window: the same model up to the window, a window on the attention beyond it (Qwen2: on its sliding layers).
import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { memoryFiles } from "../checkpoint/files.ts";
import { familyModel, maxAbsDiff, readFamilyInputs } from "../../tests/helpers/goldens.ts";
import { batchFromArrays } from "./inputs.ts";
import { loadModel } from "./load.ts";
import { parseConfig } from "./registry.ts";

const LLAMA = familyModel("llama-tiny-random");
const llamaConfig = (): Record<string, unknown> => JSON.parse(Deno.readTextFileSync(`${LLAMA}/config.json`));

/** The llama fixture's weights under an edited config.json. */
function withConfig(cfg: Record<string, unknown>) {
  return loadModel(
    memoryFiles({
      "config.json": new TextEncoder().encode(JSON.stringify(cfg)),
      "model.safetensors": Deno.readFileSync(`${LLAMA}/model.safetensors`),
    }, "edited"),
    { tokenizer: false },
  );
}

const golden = () => {
  const inputs = readFamilyInputs("llama-tiny-random.lm") as { input_ids: number[][]; attention_mask: number[][] };
  return {
    input_ids: inputs.input_ids.map((r) => r.slice(0, 8)),
    attention_mask: inputs.attention_mask.map((r) => r.slice(0, 8)),
  };
};

Deno.test("parseConfig() reads the Llama family's grouped-query heads, head_dim, rope_theta and biases", () => {
  const c = parseConfig(llamaConfig(), "llama/config.json");
  deepStrictEqual([c.heads, c.kvHeads, c.headDim, c.maxPositions, c.layerNormEps], [4, 2, 8, 64, 1e-5]);
  deepStrictEqual(c.section, {
    ropeTheta: 10000,
    qkvBias: false,
    outputBias: false,
    mlpBias: false,
    tied: false,
    slidingWindow: 0,
    slidingLayers: [],
  });
  const qwen = parseConfig(JSON.parse(Deno.readTextFileSync(`${familyModel("qwen2-tiny-random")}/config.json`)), "q");
  deepStrictEqual([qwen.section.qkvBias, qwen.section.outputBias, qwen.section.tied, qwen.section.slidingWindow], [
    true,
    false,
    true,
    0,
  ]);
  const v4 = { ...llamaConfig(), rope_parameters: undefined, rope_theta: 500000, head_dim: undefined };
  const c4 = parseConfig(v4, "v4");
  deepStrictEqual([c4.section.ropeTheta, c4.headDim, c4.kvHeads], [500000, 8, 2]);
  // the family's default: one kv head per query head
  strictEqual(parseConfig({ ...llamaConfig(), num_key_value_heads: undefined }, "mha").kvHeads, 4);
});

Deno.test("parseConfig() refuses what the Llama family cannot compute, naming the field", () => {
  throws(
    () => parseConfig({ ...llamaConfig(), num_key_value_heads: 3 }, "x/config.json"),
    /x\/config\.json: field "num_key_value_heads" = 3 must divide "num_attention_heads" = 4/,
  );
  throws(
    () => parseConfig({ ...llamaConfig(), rope_parameters: { rope_type: "llama3", rope_theta: 5e5, factor: 8 } }, "c"),
    /c: field "rope_parameters" asks for the rotary scaling "llama3"/,
  );
  throws(
    () => parseConfig({ ...llamaConfig(), rope_scaling: { type: "linear", factor: 2 } }, "c"),
    /field "rope_scaling" asks for the rotary scaling "linear"/,
  );
  throws(() => parseConfig({ ...llamaConfig(), hidden_act: "gelu" }, "c"), /"hidden_act" = "gelu" is not supported/);
});

Deno.test("rope_theta at the top level (transformers 4) equals rope_parameters.rope_theta (5), and matters", async () => {
  const batch = batchFromArrays(golden(), "rope");
  const run = async (cfg: Record<string, unknown>) =>
    (await withConfig(cfg)).model.run({ batch, names: ["logits"] }).logits!;
  const v5 = await run({ ...llamaConfig(), rope_parameters: { rope_type: "default", rope_theta: 500000 } });
  const v4 = await run({ ...llamaConfig(), rope_parameters: undefined, rope_theta: 500000 });
  strictEqual(maxAbsDiff("logits", v5, v4), 0);
  ok(maxAbsDiff("logits", v5, await run(llamaConfig())) > 1e-3, "theta 500000 and 10000 give other logits");
});

Deno.test("Mistral's sliding window: the same model within the window; beyond it, each query sees its last 8 keys", async () => {
  const { attention_bias: _a, mlp_bias: _m, ...rest } = llamaConfig();
  const mistral = { ...rest, model_type: "mistral", sliding_window: 8 };
  const { model } = await withConfig(mistral);
  strictEqual(model.config.section.slidingWindow, 8);
  strictEqual(model.config.maxPositions, 64, "the window does not cap the sequence");
  const { model: llama } = await withConfig(llamaConfig());
  const batch = batchFromArrays(golden(), "window");
  const a = model.run({ batch, names: ["logits"] }).logits!, b = llama.run({ batch, names: ["logits"] }).logits!;
  strictEqual(maxAbsDiff("logits", b, a), 0);
  // 12 tokens: query i attends to keys i − 8 < j ≤ i in every layer, and the last logits differ from Llama's
  const T = 12;
  const long = batchFromArrays({ input_ids: [Array.from({ length: T }, (_, i) => 3 + 5 * i)] }, "long");
  const names = Array.from({ length: model.config.layers }, (_, l) => `blocks.${l}.attn.hook_pattern`);
  const r = model.run({ batch: long, names: [...names, "logits"] });
  for (const name of names) {
    const p = r.cache.get(name)!, H = p.shape[1]!;
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        let sum = 0;
        for (let j = 0; j < T; j++) {
          const v = p.data[(h * T + i) * T + j]!;
          if (j <= i - 8 || j > i) strictEqual(v, 0, `${name} head ${h}: query ${i} sees key ${j}`);
          sum += v;
        }
        ok(Math.abs(sum - 1) < 1e-5, `${name} head ${h} row ${i} sums to ${sum}`);
      }
    }
  }
  const full = llama.run({ batch: long, names: ["logits"] }).logits!;
  ok(maxAbsDiff("logits", full, r.logits!) > 1e-4, "the window changes the logits past it");
  // no window: none applied
  strictEqual((await withConfig({ ...mistral, sliding_window: null })).model.config.section.slidingWindow, 0);
});

Deno.test("Qwen2's sliding window applies only to the layers layer_types (or max_window_layers) names", () => {
  const base = { ...llamaConfig(), model_type: "qwen2", use_sliding_window: true, sliding_window: 4 };
  const types = ["full_attention", "sliding_attention", "full_attention"];
  const typed = parseConfig({ ...base, layer_types: types }, "q");
  deepStrictEqual([typed.section.slidingWindow, typed.section.slidingLayers], [4, [false, true, false]]);
  deepStrictEqual(parseConfig({ ...base, max_window_layers: 1 }, "q").section.slidingLayers, [false, true, true]);
  deepStrictEqual(parseConfig({ ...base, use_sliding_window: false }, "q").section.slidingLayers, [
    false,
    false,
    false,
  ]);
  throws(
    () => parseConfig({ ...base, layer_types: ["full_attention"] }, "q/config.json"),
    /q\/config\.json: field "layer_types"/,
  );
});

Deno.test("an untied Llama (tie_word_embeddings false) without lm_head.weight is refused, naming the tensor", async () => {
  await rejects(
    loadModel(
      memoryFiles({
        "config.json": new TextEncoder().encode(JSON.stringify(llamaConfig())),
        "model.safetensors": (await import("../checkpoint/safetensors.ts")).writeSafetensors(
          new Map(
            [...(await withConfig(llamaConfig())).model.params.toTensors()]
              .filter(([k]) => k !== "lm_head.weight")
              .map(([k, t]) => [k, { shape: [...t.shape], data: t.data }]),
          ),
        ),
      }, "untied"),
      { tokenizer: false },
    ),
    /lm_head\.weight/,
  );
});
