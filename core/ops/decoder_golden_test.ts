// The decoder ops against Hugging Face's own numbers: layer 0 of the Llama and GPT-NeoX family fixtures written
// with the ops by hand (no family object: the families are added elsewhere), from the golden's hidden_states.0 to
// its attentions.0 and hidden_states.1 (HF transformers 5.18, float32, eager attention). Llama's grouped
// key/value heads are expanded here to one per query head (query head h reads kv head h // 2, HF's
// repeat_kv), and GPT-NeoX's per-head fused q|k|v rows are split by splitQKV's `heads` layout.
import assert from "node:assert/strict";
import { loadSafetensors } from "../checkpoint/safetensors.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import type { ArenaInputs } from "../models/inputs.ts";
import { ParamStore } from "../models/param_store.ts";
import { type Act, Run } from "../models/run.ts";
import { WasmOps } from "../models/wasm_ops.ts";
import type { Tensor } from "../tensor.ts";
import { familyModel, readFamilyGolden } from "../../tests/helpers/goldens.ts";

const PATTERN = "blocks.0.attn.hook_pattern";

function checkpoint(name: string): Map<string, Tensor> {
  const path = `${familyModel(name)}/model.safetensors`;
  return loadSafetensors(Deno.readFileSync(path), path);
}

/** Rows of a [rows, cols] (or [rows]) tensor picked in the order given. */
function pickRows(t: Tensor, rows: number[]): Tensor {
  const cols = t.shape.length === 2 ? t.shape[1]! : 1;
  const data = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => data.set(t.data.subarray(r * cols, (r + 1) * cols), i * cols));
  return { shape: t.shape.length === 2 ? [rows.length, cols] : [rows.length], data };
}

/** Runs `layer` on the golden's hidden_states.0; returns hidden_states.1 and attentions.0 as computed. */
function runLayer(
  weights: Map<string, Tensor>,
  golden: Map<string, Tensor>,
  layer: (ops: WasmOps, x: Act) => Act,
): { hidden: Float32Array; pattern: Float32Array } {
  const k = createWasmKernels();
  const params = new ParamStore(k, weights);
  const run = new Run(k, { keep: new Set([PATTERN]) });
  const [B, T, C] = golden.get("hidden_states.0")!.shape as [number, number, number];
  const inputs = {
    B,
    T,
    ids: 0,
    positions: run.ints(Int32Array.from({ length: B * T }, (_, i) => i % T)), // HF's cache_position: 0…T−1
    tokenTypes: 0,
    keyMask: run.floats(golden.get("attention_mask")!.data),
    headMask: [0],
    headMaskGrad: [0],
    headMaskGradPerRow: false,
  } satisfies ArenaInputs;
  const x = run.act([B, T, C]);
  k.mem.f32(x.ptr, x.size).set(golden.get("hidden_states.0")!.data);
  const y = layer(new WasmOps(run, params, inputs), x);
  const out = { hidden: run.read(y.ptr, y.size), pattern: run.cache.get(PATTERN)!.data };
  run.dispose();
  return out;
}

/** max |a − e| ≤ 1e-4, the project's forward tolerance (measured: ≤ 1e-5 on both fixtures). */
function assertGolden(label: string, actual: Float32Array, expected: Tensor): void {
  assert.equal(actual.length, expected.data.length, `${label}: size`);
  let worst = 0, at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected.data[i]!);
    if (!(d <= worst)) (worst = d), (at = i);
  }
  assert.ok(worst <= 1e-4, `${label}: max |diff| ${worst} at ${at} (${actual[at]} vs ${expected.data[at]})`);
}

Deno.test("Llama layer 0 written with rmsNorm, rotary, silu and mul gives HF's attentions.0 and hidden_states.1", () => {
  const golden = readFamilyGolden("llama-tiny-random.lm");
  const w = checkpoint("llama-tiny-random");
  const H = 4, KV = 2, D = 8, p = "model.layers.0.";
  // one key/value head per query head: rows of kv head ⌊h / (H/KV)⌋
  const expand = Array.from(
    { length: H },
    (_, h) => Array.from({ length: D }, (_, d) => Math.floor(h / (H / KV)) * D + d),
  );
  for (const n of ["k_proj", "v_proj"]) {
    w.set(`${p}self_attn.${n}.weight`, pickRows(w.get(`${p}self_attn.${n}.weight`)!, expand.flat()));
  }
  const rope = { heads: H, headDim: D, rotaryDim: D, theta: 10000 };
  const lin = (ops: WasmOps, x: Act, name: string) => ops.linear(x, { weight: `${p}${name}.weight`, layout: "linear" });
  const { hidden, pattern } = runLayer(w, golden, (ops, x) => {
    const h = ops.rmsNorm(x, { weight: `${p}input_layernorm.weight`, eps: 1e-5 });
    const q = ops.rotary(lin(ops, h, "self_attn.q_proj"), rope);
    const kk = ops.rotary(lin(ops, h, "self_attn.k_proj"), rope);
    const v = lin(ops, h, "self_attn.v_proj");
    const spec = { layer: 0, heads: H, headDim: D, scale: 1 / Math.sqrt(D), causal: true, patternHook: PATTERN };
    const r = ops.add(x, lin(ops, ops.attention(q, kk, v, spec), "self_attn.o_proj"));
    const m = ops.rmsNorm(r, { weight: `${p}post_attention_layernorm.weight`, eps: 1e-5 });
    const gated = ops.mul(ops.silu(lin(ops, m, "mlp.gate_proj")), lin(ops, m, "mlp.up_proj"));
    return ops.add(r, lin(ops, gated, "mlp.down_proj"));
  });
  assertGolden("attentions.0", pattern, golden.get("attentions.0")!);
  assertGolden("hidden_states.1", hidden, golden.get("hidden_states.1")!);
});

Deno.test("GPT-NeoX layer 0 with partial rotary (rotary_pct 0.25) gives HF's attentions.0 and hidden_states.1", () => {
  const golden = readFamilyGolden("gpt-neox-tiny-random.lm");
  const w = checkpoint("gpt-neox-tiny-random");
  const H = 4, D = 8, p = "gpt_neox.layers.0.";
  const rope = { heads: H, headDim: D, rotaryDim: D / 4, theta: 10000 };
  const lin = (ops: WasmOps, x: Act, name: string) =>
    ops.linear(x, { weight: `${p}${name}.weight`, bias: `${p}${name}.bias`, layout: "linear" });
  const norm = (ops: WasmOps, x: Act, name: string) =>
    ops.layerNorm(x, { weight: `${p}${name}.weight`, bias: `${p}${name}.bias`, eps: 1e-5 });
  const { hidden, pattern } = runLayer(w, golden, (ops, x) => {
    // HF views the fused projection as [heads, 3, D]: the `heads` layout
    const fused = lin(ops, norm(ops, x, "input_layernorm"), "attention.query_key_value");
    const [q, kk, v] = ops.splitQKV(fused, H, "heads");
    const spec = { layer: 0, heads: H, headDim: D, scale: 1 / Math.sqrt(D), causal: true, patternHook: PATTERN };
    const attn = lin(ops, ops.attention(ops.rotary(q, rope), ops.rotary(kk, rope), v, spec), "attention.dense");
    const mlp = lin(
      ops,
      ops.gelu(lin(ops, norm(ops, x, "post_attention_layernorm"), "mlp.dense_h_to_4h"), "erf"),
      "mlp.dense_4h_to_h",
    );
    return ops.add(ops.add(x, attn), mlp); // the parallel residual
  });
  assertGolden("attentions.0", pattern, golden.get("attentions.0")!);
  assertGolden("hidden_states.1", hidden, golden.get("hidden_states.1")!);
});
