import { ok, strictEqual, throws } from "node:assert/strict";
import { HeadDistanceMeter, jensenShannon } from "./head_distance.ts";

const close = (a: number, b: number, tol = 1e-12) => ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("jensenShannon() is 0 for equal, ln 2 for disjoint distributions, and symmetric", () => {
  close(jensenShannon([0.2, 0.8], [0.2, 0.8]), 0);
  close(jensenShannon([1, 0, 0], [0, 0.5, 0.5]), Math.log(2));
  const p = [0.1, 0.6, 0.3], q = [0.5, 0.25, 0.25];
  close(jensenShannon(p, q), jensenShannon(q, p));
  // by the definition: ½ KL(p‖m) + ½ KL(q‖m)
  const m = p.map((v, i) => (v + q[i]!) / 2);
  const kl = (a: number[]) => a.reduce((s, v, i) => s + v * Math.log(v / m[i]!), 0);
  close(jensenShannon(p, q), 0.5 * kl(p) + 0.5 * kl(q));
});

Deno.test("HeadDistanceMeter averages the pairwise divergence over every (example, query) pair", () => {
  const H = 3;
  const rows = (n: number, seed: number) => {
    let s = seed;
    const m = new Float64Array(H * n * n);
    for (let r = 0; r < H * n; r++) {
      let z = 0;
      for (let j = 0; j < n; j++) z += m[r * n + j] = ((s = (s * 69069 + 1) % 4294967296) / 4294967296) ** 3;
      for (let j = 0; j < n; j++) m[r * n + j]! /= z;
    }
    m.fill(0, 0, n); // one one-hot row with zeros (0 ln 0 = 0)
    m[1] = 1;
    return m;
  };
  const exs = [{ n: 4, maps: rows(4, 3) }, { n: 2, maps: rows(2, 9) }];
  const meter = new HeadDistanceMeter(H);
  for (const e of exs) meter.add(e);
  const d = meter.result();
  for (let h = 0; h < H; h++) {
    close(d[h * H + h]!, 0);
    for (let g = 0; g < H; g++) {
      let ref = 0, q = 0;
      for (const { n, maps } of exs) {
        for (let i = 0; i < n; i++, q++) {
          ref += jensenShannon(
            maps.subarray((h * n + i) * n, (h * n + i + 1) * n),
            maps.subarray((g * n + i) * n, (g * n + i + 1) * n),
          );
        }
      }
      close(d[h * H + g]!, ref / q, 1e-12);
    }
  }
  strictEqual(d.length, H * H);
  throws(() => new HeadDistanceMeter(2).result(), /No queries/);
});
