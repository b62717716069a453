import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { normalGenerator } from "../rng.ts";
import { layerProbing, type ProbeSet, tenneyScores, trainProbe } from "./probe.ts";

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
