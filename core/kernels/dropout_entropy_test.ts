// Dropout and attention-entropy kernels: both WASM builds against the reference backend, plus properties.
import assert from "node:assert/strict";
import { floats, read, seededRandom } from "../../tests/helpers/kernel_cases.ts";
import { createReferenceKernels } from "./reference_kernels.ts";
import type { Kernels } from "./types.ts";
import { createWasmKernels } from "./wasm_kernels.ts";

function dropoutOnce(k: Kernels, n: number, p: number, seed: number) {
  const mark = k.mem.mark();
  try {
    const rnd = seededRandom(7);
    const inp = floats(k, n, rnd), out = floats(k, n, rnd), mask = floats(k, n, rnd);
    const dout = floats(k, n, rnd), dinp = floats(k, n, rnd);
    const dinp0 = read(k, dinp, n);
    k.dropoutForward(out, mask, inp, n, p, seed);
    k.dropoutBackward(dinp, mask, dout, n);
    const inPlace = read(k, inp, n);
    k.dropoutForward(inp, mask, inp, n, p, seed);
    return {
      inp: inPlace,
      out: read(k, out, n),
      mask: read(k, mask, n),
      dout: read(k, dout, n),
      dinp0,
      dinp: read(k, dinp, n),
      inPlace: read(k, inp, n),
    };
  } finally {
    k.mem.release(mark);
  }
}

const reference = createReferenceKernels();
/** (n, p, seed) of each bit-exact dropout comparison. */
const DROPOUT_CASES = [[1, 0.5, 0], [7, 0.1, 42], [33, 0.3, 0xffffffff], [1000, 0.9, 12345], [13, 0, 3]] as const;
for (const simd of ["relaxed", "fixed"] as const) {
  const wasm = createWasmKernels({ simd });
  for (const [n, p, seed] of DROPOUT_CASES) {
    Deno.test(`[${wasm.name}] dropoutForward() and dropoutBackward() match the reference bit for bit (n=${n} p=${p})`, () => {
      const want = dropoutOnce(reference, n, p, seed);
      const got = dropoutOnce(wasm, n, p, seed);
      for (const key of Object.keys(want) as (keyof typeof want)[]) {
        assert.deepEqual([...got[key]], [...want[key]], key);
      }
      const scale = Math.fround(1 / (1 - p));
      for (let i = 0; i < n; i++) {
        assert.ok(got.mask[i] === 0 || got.mask[i] === scale, `mask[${i}] = ${got.mask[i]}`);
        assert.equal(got.out[i], Math.fround(got.inp[i]! * got.mask[i]!));
        assert.equal(got.inPlace[i], got.out[i]);
        assert.equal(got.dinp[i], Math.fround(got.dinp0[i]! + Math.fround(got.dout[i]! * got.mask[i]!)));
      }
      if (p === 0) assert.ok(got.mask.every((m) => m === 1));
    });
  }

  Deno.test(`[${wasm.name}] dropoutForward() keeps about 1 − p of the values and depends on the seed`, () => {
    const n = 100_000;
    for (const p of [0.1, 0.5]) {
      const a = dropoutOnce(wasm, n, p, 1).mask;
      const b = dropoutOnce(wasm, n, p, 2).mask;
      const kept = a.filter((m) => m !== 0).length / n;
      assert.ok(Math.abs(kept - (1 - p)) < 0.01, `kept ${kept} for p=${p}`);
      let same = 0;
      for (let i = 0; i < n; i++) if ((a[i] === 0) === (b[i] === 0)) same++;
      // independent masks agree on p² + (1−p)² of the elements
      const expect = p * p + (1 - p) * (1 - p);
      assert.ok(Math.abs(same / n - expect) < 0.01, `seeds 1 and 2 agree on ${same / n}, expected ${expect}`);
    }
  });

  Deno.test(`[${wasm.name}] attentionEntropy() matches the reference and accumulates`, () => {
    for (const [B, H, T, masked] of [[1, 1, 1, false], [2, 3, 5, true], [3, 4, 17, true], [2, 2, 8, false]] as const) {
      const run = (k: Kernels) => {
        const mark = k.mem.mark();
        try {
          const rnd = seededRandom(99);
          const probs = floats(k, B * H * T * T, rnd, () => Math.abs(rnd()));
          k.softmaxRows(probs, B * H * T, T);
          // some exact zeros (masked keys), as attention gives
          const v = k.mem.f32(probs, B * H * T * T);
          for (let i = 0; i < v.length; i += 5) v[i] = 0;
          const qm = masked ? floats(k, B * T, rnd, (i) => (i % 3 === 2 ? 0 : 1)) : 0;
          const out = floats(k, H, rnd, () => 0.5);
          k.attentionEntropy(out, probs, qm, B, H, T);
          return read(k, out, H);
        } finally {
          k.mem.release(mark);
        }
      };
      const want = run(reference), got = run(wasm);
      for (let h = 0; h < H; h++) {
        assert.ok(
          Math.abs(got[h]! - want[h]!) <= 1e-5 * Math.abs(want[h]!) + 1e-6,
          `head ${h}: ${got[h]} vs ${want[h]}`,
        );
      }
    }
  });
}

Deno.test("attentionEntropy() gives ln T per counted query for uniform attention and 0 for one-hot", () => {
  const k = createWasmKernels();
  const B = 2, H = 2, T = 4;
  const probs = k.mem.alloc(4 * B * H * T * T);
  const v = k.mem.f32(probs, B * H * T * T);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        v[((b * H + 0) * T + i) * T + j] = 1 / T;
        v[((b * H + 1) * T + i) * T + j] = i === j ? 1 : 0;
      }
    }
  }
  const qm = k.mem.alloc(4 * B * T);
  k.mem.f32(qm, B * T).set([1, 1, 1, 0, 1, 0, 0, 0]); // 4 counted queries
  const out = k.mem.alloc(4 * H);
  k.attentionEntropy(out, probs, qm, B, H, T);
  const [e0 = NaN, e1 = NaN] = k.mem.f32(out, H);
  assert.ok(Math.abs(e0 - 4 * Math.log(T)) < 1e-5, `uniform: ${e0}`);
  assert.equal(e1, 0);
});
