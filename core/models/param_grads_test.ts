// Finite-difference checks of every weight gradient of TransformerModel.run({ paramGrads: true }) on tiny random
// BERT, GPT-2 and OpenAI GPT models, on the reference kernels. For each tensor, the analytic directional derivative
// Σ g·u along a seeded random direction u is compared with the central difference (L(θ+εu) − L(θ−εu)) / 2ε,
// Richardson-extrapolated over ε and ε/2 (activations are f32, so ε cannot be tiny).
import assert from "node:assert/strict";
import { uniformSigned as rng } from "../rng.ts";
import { createReferenceKernels } from "../kernels/reference_kernels.ts";
import { initWeights, newConfig } from "../training/init.ts";
import type { Family } from "./config.ts";
import { parseConfig } from "./registry.ts";
import type { DropoutOptions } from "./run.ts";
import type { Batch } from "./inputs.ts";
import { type Labels, TransformerModel } from "./model.ts";

function tinyModel(family: Family, prunedHeads?: Record<string, number[]>, maskedLM = false): TransformerModel {
  const { raw } = newConfig({
    family,
    layers: 2,
    heads: 2,
    hidden: 8,
    intermediate: 12,
    vocabSize: 23,
    maxPositions: 8,
    labels: maskedLM ? undefined : ["a", "b", "c"],
    maskedLM,
  });
  if (prunedHeads) raw.pruned_heads = prunedHeads;
  const cfg = parseConfig(raw, "tiny");
  const weights = initWeights(cfg, 7);
  // larger than HF's 0.02 so that every path carries a gradient well above f32 round-off
  const r = rng(3);
  for (const [name, t] of weights) {
    for (let i = 0; i < t.data.length; i++) {
      t.data[i] = name.endsWith(".weight") && t.shape.length === 2 ? 0.4 * r() : t.data[i]! + 0.2 * r();
    }
  }
  return new TransformerModel(cfg, weights, createReferenceKernels());
}

const bertBatch: Batch = {
  batchSize: 2,
  seqLen: 5,
  inputIds: Int32Array.from([1, 5, 9, 17, 2, 1, 22, 3, 0, 0]),
  attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
  tokenTypeIds: Int32Array.from([0, 0, 0, 1, 1, 0, 0, 0, 0, 0]),
};
const { tokenTypeIds: _types, ...gptBatch }: Batch = bertBatch;

function checkGrads(model: TransformerModel, labels: Labels, dropout?: DropoutOptions): void {
  const batch = model.config.family === "bert" ? bertBatch : gptBatch;
  const loss = () => model.run({ batch, labels, dropout }).loss!;
  model.params.enableGrads();
  model.params.zeroGrads();
  model.run({ batch, labels, paramGrads: true, dropout });
  const grads = model.params.gradTensors();
  const eps = 2e-2;
  const failures: string[] = [];
  let seed = 11;
  for (const p of model.params.all()) {
    const g = grads.get(p.name)!.data;
    const u = Float64Array.from({ length: p.size }, rng(seed++));
    let analytic = 0;
    for (let i = 0; i < p.size; i++) analytic += g[i]! * u[i]!;
    const w = () => model.kernels.mem.f32(p.ptr, p.size);
    const saved = w().slice();
    const central = (h: number) => {
      w().set(saved.map((x, i) => x + h * u[i]!));
      const plus = loss();
      w().set(saved.map((x, i) => x - h * u[i]!));
      const minus = loss();
      w().set(saved);
      return (plus - minus) / (2 * h);
    };
    // Richardson extrapolation cancels the O(ε²) term of the central difference
    const numeric = (4 * central(eps / 2) - central(eps)) / 3;
    const err = Math.abs(analytic - numeric);
    if (!(err <= 1e-3 * Math.abs(numeric) + 2e-5)) {
      failures.push(`${p.name}: analytic ${analytic}, numeric ${numeric} (|diff| ${err.toExponential(2)})`);
    }
    // a key bias cannot change the softmax: its gradient is 0 in theory, so it is only compared
    if (!p.name.includes("key.bias")) assert.ok(Math.abs(analytic) > 1e-6, `${p.name}: no gradient`);
  }
  assert.deepEqual(failures, []);
}

Deno.test("TransformerModel.run() BERT weight gradients match finite differences for every parameter", () => {
  checkGrads(tinyModel("bert"), Int32Array.from([2, 0]));
});

Deno.test("TransformerModel.run() BERT weight gradients match finite differences with dropout", () => {
  checkGrads(tinyModel("bert"), Int32Array.from([1, 2]), { p: 0.2, seed: 5 });
});

Deno.test("TransformerModel.run() pruned BERT weight gradients match finite differences", () => {
  checkGrads(tinyModel("bert", { "0": [1] }), Int32Array.from([0, 1]));
});

Deno.test("TransformerModel.run() BertForMaskedLM weight gradients (tied decoder) match finite differences", () => {
  // -100 = not predicted; the padded positions 8, 9 are never targets
  checkGrads(tinyModel("bert", undefined, true), Int32Array.from([-100, 5, -100, 17, -100, -100, 22, 4, -100, -100]));
});

Deno.test("TransformerModel.run() GPT-2 weight gradients match finite differences for every parameter", () => {
  checkGrads(tinyModel("gpt2"), "lm");
});

Deno.test("TransformerModel.run() GPT-2 weight gradients match finite differences with dropout", () => {
  checkGrads(tinyModel("gpt2"), "lm", { p: 0.25, seed: 9 });
});

Deno.test("TransformerModel.run() OpenAI GPT weight gradients match finite differences", () => {
  checkGrads(tinyModel("openai-gpt"), "lm", { p: 0.1, seed: 1 });
});
