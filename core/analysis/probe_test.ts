import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { normalGenerator } from "../rng.ts";
import { layerProbing, probeGradients, type ProbeSet, tenneyScores, trainProbe } from "./probe.ts";

/** 3 layers of 4-d features for `n` rows; only layer 2 carries the class (3 classes), the others are noise. */
function synthetic(n: number, seed: number): ProbeSet {
  const g = normalGenerator(seed), D = 4;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const layers = [0, 1, 2].map((l) => {
    const f = new Float32Array(n * D);
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < D; d++) f[i * D + d] = g() + (l === 2 && d === labels[i]! ? 4 : 0);
    }
    return f;
  });
  return { layers, dim: D, parts: [Int32Array.from({ length: n }, (_, i) => i)], labels };
}

Deno.test("trainProbe() finds the layer that carries the label and only that one", () => {
  const train = synthetic(600, 1), test = synthetic(300, 2);
  const opts = { classes: 3, epochs: 10, batchSize: 32, lr: 0.05 };
  const acc = [0, 1, 2].map((l) => trainProbe(train, test, [l], opts).accuracy);
  ok(acc[2]! > 0.95, `informative layer: ${acc[2]}`);
  ok(acc[0]! < 0.5 && acc[1]! < 0.5, `noise layers near chance (1/3): ${acc}`);
});

Deno.test("layerProbing(): the scalar mix puts its weight on the informative layer; Δ and E_Δ follow", () => {
  const train = synthetic(600, 3), test = synthetic(300, 4);
  const r = layerProbing(train, test, { classes: 3, epochs: 12, batchSize: 32, lr: 0.05, seed: 5 });
  strictEqual(r.layerAccuracy.length, 3);
  strictEqual(r.mixWeights.length, 3);
  ok(
    r.mixWeights[2]! > 0.5 && r.mixWeights[2]! > r.mixWeights[0]! && r.mixWeights[2]! > r.mixWeights[1]!,
    `${r.mixWeights}`,
  );
  ok(Math.abs(r.mixWeights.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  ok(r.mixAccuracy > 0.95, `mix accuracy ${r.mixAccuracy}`);
  ok(r.delta[2]! > 0.4, `Δ(2) = ${r.delta[2]}`);
  ok(r.expectedLayer !== null && r.expectedLayer > 1.7, `E_Δ = ${r.expectedLayer}`);
  ok(r.centerOfGravity > 1.2, `E_s = ${r.centerOfGravity}`);
  ok(r.gamma > 0);
  // seeded: the same call gives the same numbers
  const again = layerProbing(train, test, { classes: 3, epochs: 12, batchSize: 32, lr: 0.05, seed: 5 });
  deepStrictEqual(again, r);
});

Deno.test("trainProbe() on two parts (dependent ⊕ parent) learns a label that needs both", () => {
  const g = normalGenerator(7), n = 400, D = 2;
  const f = new Float32Array(n * D);
  for (let i = 0; i < n * D; i++) f[i] = g();
  const dep = Int32Array.from({ length: n }, (_, i) => i),
    parent = Int32Array.from({ length: n }, (_, i) => (i * 7 + 3) % n);
  const labels = Int32Array.from(
    { length: n },
    (_, i) => (f[dep[i]! * D]! > 0 ? 1 : 0) + (f[parent[i]! * D + 1]! > 0 ? 2 : 0),
  );
  const set = { layers: [f], dim: D, parts: [dep, parent], labels };
  ok(trainProbe(set, set, [0], { classes: 4, epochs: 30, batchSize: 16, lr: 0.05 }).accuracy > 0.9);
  const one = { ...set, parts: [dep] };
  ok(
    trainProbe(one, one, [0], { classes: 4, epochs: 30, batchSize: 16, lr: 0.05 }).accuracy < 0.65,
    "the dependent alone cannot",
  );
});

Deno.test("tenneyScores() computes Δ, E_Δ and E_s from their definitions", () => {
  const r = tenneyScores([0.5, 0.7, 0.8, 0.8], [0.1, 0.2, 0.3, 0.4]);
  ok(
    Math.abs(r.delta[1]! - 0.2) < 1e-12 && Math.abs(r.delta[2]! - 0.1) < 1e-12 && r.delta[0] === 0 &&
      Math.abs(r.delta[3]!) < 1e-12,
  );
  ok(Math.abs(r.expectedLayer! - (1 * 0.2 + 2 * 0.1) / 0.3) < 1e-9);
  ok(Math.abs(r.centerOfGravity - (0.2 + 0.6 + 1.2)) < 1e-12);
  strictEqual(tenneyScores([0.5, 0.5], [0.5, 0.5]).expectedLayer, null);
});

Deno.test("trainProbe() refuses bad inputs, naming what is wrong", () => {
  const s = synthetic(10, 1);
  throws(() => trainProbe(s, s, [5], { classes: 3 }), /layer 5 has no features/);
  throws(() => trainProbe(s, s, [0], { classes: 2 }), /label 2 is not below classes = 2/);
  throws(
    () => trainProbe({ ...s, parts: [Int32Array.of(99)], labels: Int32Array.of(0) }, s, [0], { classes: 3 }),
    /feature row 99 outside/,
  );
});

Deno.test("probeGradients(): the scalar-mix logits, γ and classifier gradients match finite differences", () => {
  // two parts (dependent ⊕ parent) over a mix of 3 layers, parameters away from their zero/one start
  const set = synthetic(40, 9);
  const two: ProbeSet = { ...set, parts: [set.parts[0]!, Int32Array.from({ length: 40 }, (_, i) => (i * 7) % 40)] };
  const g = normalGenerator(21), C = 3, D = set.dim;
  const params = {
    weights: [0, 1].map(() => Float32Array.from({ length: C * D }, () => 0.3 * g())),
    bias: Float32Array.from({ length: C }, () => 0.1 * g()),
    mixLogits: [0.4, -0.7, 0.2],
    gamma: 1.3,
  };
  const { loss, grads } = probeGradients(two, [0, 1, 2], params);
  ok(Number.isFinite(loss) && loss > 0);
  const lossAt = (edit: (p: typeof params) => void) => {
    const p = structuredClone(params);
    edit(p);
    return probeGradients(two, [0, 1, 2], p).loss;
  };
  // central differences, Richardson-extrapolated over ε and ε/2 (the loss is summed in f32)
  const numeric = (edit: (p: typeof params, h: number) => void) => {
    const central = (h: number) => (lossAt((p) => edit(p, h)) - lossAt((p) => edit(p, -h))) / (2 * h);
    const eps = 1e-2;
    return (4 * central(eps / 2) - central(eps)) / 3;
  };
  const check = (what: string, analytic: number, fd: number) => {
    ok(Math.abs(analytic - fd) <= 1e-3 * Math.abs(fd) + 1e-4, `${what}: analytic ${analytic}, numeric ${fd}`);
    ok(Math.abs(analytic) > 1e-4, `${what}: the check needs a non-zero gradient, got ${analytic}`);
  };
  params.mixLogits.forEach((_, l) => {
    check(`d/da[${l}]`, grads.mixLogits[l]!, numeric((p, h) => (p.mixLogits[l] = p.mixLogits[l]! + h)));
  });
  check("d/dγ", grads.gamma, numeric((p, h) => (p.gamma += h)));
  // the softmax over a is shift-invariant: its gradient sums to 0
  ok(Math.abs(grads.mixLogits.reduce((a, b) => a + b, 0)) < 1e-5, `Σ d/da = ${grads.mixLogits}`);
  for (const [p, i] of [[0, 0], [0, 7], [1, 5]] as const) {
    check(`d/dW${p}[${i}]`, grads.weights[p]![i]!, numeric((q, h) => (q.weights[p]![i]! += h)));
  }
  check("d/db[1]", grads.bias[1]!, numeric((q, h) => (q.bias[1]! += h)));
});

Deno.test("probeGradients() refuses parameters of the wrong sizes", () => {
  const s = synthetic(10, 1);
  const params = { weights: [new Float32Array(12)], bias: new Float32Array(3), mixLogits: [0, 0], gamma: 1 };
  throws(() => probeGradients(s, [0, 1, 2], params), /mixLogits has 2 values for 3 layers/);
  throws(() => probeGradients(s, [0], { ...params, weights: [new Float32Array(5)] }), /weights must be 1 part/);
});
