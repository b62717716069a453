import assert from "node:assert/strict";
import { createReferenceKernels } from "../kernels/reference_kernels.ts";
import { ParamStore } from "../models/param_store.ts";
import { AdamW, clipGradNorm, decays, linearSchedule } from "./optimizer.ts";

Deno.test("decays() excludes biases and LayerNorm weights, as HF's recipe", () => {
  assert.equal(decays("bert.encoder.layer.0.attention.self.query.weight"), true);
  assert.equal(decays("bert.embeddings.word_embeddings.weight"), true);
  assert.equal(decays("classifier.weight"), true);
  assert.equal(decays("classifier.bias"), false);
  assert.equal(decays("bert.encoder.layer.3.output.LayerNorm.weight"), false);
  assert.equal(decays("bert.embeddings.LayerNorm.bias"), false);
  assert.equal(decays("transformer.h.0.ln_1.weight"), false);
  assert.equal(decays("transformer.ln_f.weight"), false);
  assert.equal(decays("transformer.h.0.mlp.c_fc.weight"), true);
});

Deno.test("linearSchedule() warms up linearly then decays to zero", () => {
  assert.equal(linearSchedule(0, 100, 10), 0);
  assert.equal(linearSchedule(5, 100, 10), 0.5);
  assert.equal(linearSchedule(10, 100, 10), 1);
  assert.equal(linearSchedule(55, 100, 10), 0.5);
  assert.equal(linearSchedule(100, 100, 10), 0);
  assert.equal(linearSchedule(0, 4, 0), 1);
});

function store(values: number[][]): ParamStore {
  const k = createReferenceKernels();
  const s = new ParamStore(
    k,
    values.map((v, i) => [i === 0 ? "a.weight" : "a.bias", { shape: [v.length], data: Float32Array.from(v) }]),
  );
  s.enableGrads();
  return s;
}

Deno.test("clipGradNorm() scales gradients to the bound and returns the norm before", () => {
  const s = store([[0, 0], [0]]);
  const [a, b] = [s.all()[0]!, s.all()[1]!];
  s.kernels.mem.f32(a.grad, 2).set([3, 0]);
  s.kernels.mem.f32(b.grad, 1).set([4]);
  assert.equal(clipGradNorm(s, 1), 5);
  const ga = s.kernels.mem.f32(a.grad, 2), gb = s.kernels.mem.f32(b.grad, 1);
  assert.ok(Math.abs(ga[0]! - 0.6) < 1e-6 && Math.abs(gb[0]! - 0.8) < 1e-6);
  assert.ok(Math.abs(clipGradNorm(s, 10) - 1) < 1e-6);
  assert.ok(Math.abs(s.kernels.mem.f32(a.grad, 1)[0]! - 0.6) < 1e-6, "a norm under the bound leaves gradients alone");
});

Deno.test("AdamW.step() follows torch.optim.AdamW and skips decay on biases", () => {
  const s = store([[1, -2], [3]]);
  const opt = new AdamW(s, { weightDecay: 0.1 });
  const [a, b] = [s.all()[0]!, s.all()[1]!];
  s.kernels.mem.f32(a.grad, 2).set([0.5, -0.25]);
  s.kernels.mem.f32(b.grad, 1).set([1]);
  opt.step(0.01);
  // step 1: m̂ = g, v̂ = g², update = lr · g / (|g| + eps) = ±lr; weights also decay by lr·wd
  const pa = s.kernels.mem.f32(a.ptr, 2), pb = s.kernels.mem.f32(b.ptr, 1);
  assert.ok(Math.abs(pa[0]! - (1 * (1 - 0.001) - 0.01)) < 1e-6, `${pa[0]!}`);
  assert.ok(Math.abs(pa[1]! - (-2 * (1 - 0.001) + 0.01)) < 1e-6, `${pa[1]!}`);
  assert.ok(Math.abs(pb[0]! - (3 - 0.01)) < 1e-6, `bias without decay: ${pb[0]!}`);
  assert.equal(opt.steps, 1);
});
