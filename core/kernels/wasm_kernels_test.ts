import assert from "node:assert/strict";
import { erfReference } from "./_reference_math.ts";
import { bindWasmKernels, instantiateKernels, type KernelExports, kernelsWasmBytes } from "./_wasm_module.ts";
import { createReferenceKernels } from "./reference_kernels.ts";
import { createWasmKernels } from "./wasm_kernels.ts";
import { type Kernels, MatmulFlags } from "./types.ts";
import { fusedAttention } from "../../tests/helpers/kernel_cases.ts";

for (const kind of ["relaxed", "fixed"] as const) {
  Deno.test(`kernelsWasmBytes() ${kind} build imports nothing and exports a memory`, () => {
    const module = new WebAssembly.Module(kernelsWasmBytes(kind));
    assert.deepEqual(WebAssembly.Module.imports(module), []);
    assert.ok(WebAssembly.Module.exports(module).some((e) => e.name === "memory" && e.kind === "memory"));
  });

  Deno.test(`erf() in the ${kind} build is within 1e-7 of the reference on [-8, 8]`, () => {
    const w = instantiateKernels(kind);
    let worst = 0;
    for (let i = 0; i <= 160_000; i++) {
      const x = -8 + i * 1e-4;
      worst = Math.max(worst, Math.abs(w.erf(x) - erfReference(x)));
    }
    assert.ok(worst < 1e-7, `max |erf error| ${worst}`);
    assert.equal(w.erf(Infinity), 1);
    assert.equal(w.erf(-Infinity), -1);
    assert.ok(Number.isNaN(w.erf(NaN)));
  });
}

Deno.test("bindWasmKernels() uses an export itself wherever the table needs no wrapper", () => {
  const w = instantiateKernels("relaxed");
  const k = bindWasmKernels(w, { matmulScratch: 64 });
  assert.equal(k.fill, w.fill_forward);
  assert.equal(k.attentionForward, w.attention_forward); // `causal` reaches WASM as i32 by JS ToInt32
  assert.equal(k.sumSquares, w.sum_squares);
  assert.notEqual(k.matmul, w.matmul_forward); // appends the scratch
  assert.notEqual(k.geluForward, w.gelu_erf_forward); // picks the export by kind
});

Deno.test("bindWasmKernels() refuses a missing export or one of another arity, naming both", () => {
  const w = instantiateKernels("fixed");
  const without = (name: string) => Object.fromEntries(Object.entries(w).filter(([e]) => e !== name)) as KernelExports;
  assert.throws(() => bindWasmKernels(without("tanh_backward"), { matmulScratch: 64 }), {
    message: 'WASM export "tanh_backward" (kernel "tanhBackward") is missing',
  });
  const wrong = { ...w, gelu_tanh_forward: (_out: number, _inp: number) => {} } as KernelExports;
  assert.throws(() => bindWasmKernels(wrong, { matmulScratch: 64 }), {
    message: 'WASM export "gelu_tanh_forward" takes 2 arguments, kernel "geluForward" passes 3',
  });
});

Deno.test("createWasmKernels() picks relaxed SIMD where the engine validates it", () => {
  const k = createWasmKernels();
  const relaxed = WebAssembly.validate(kernelsWasmBytes("relaxed"));
  assert.equal(k.name, relaxed ? "wasm-relaxed-simd" : "wasm-simd");
  assert.equal(createWasmKernels({ simd: "fixed" }).name, "wasm-simd");
});

Deno.test("createWasmKernels() instances are independent", () => {
  const a = createWasmKernels(), b = createWasmKernels();
  assert.notEqual(a.mem.memory, b.mem.memory);
  const pa = a.mem.alloc(16), pb = b.mem.alloc(16);
  a.fill(pa, 1, 4);
  b.fill(pb, 2, 4);
  assert.deepEqual([...a.mem.f32(pa, 4)], [1, 1, 1, 1]);
  assert.deepEqual([...b.mem.f32(pb, 4)], [2, 2, 2, 2]);
});

Deno.test("matmul() scratch survives the caller's release() and memory growth", () => {
  const k = createWasmKernels();
  const M = 3, K = 2, N = 2;
  const mark = k.mem.mark();
  const a = k.mem.alloc(4 * M * K), b = k.mem.alloc(4 * K * N), out = k.mem.alloc(4 * M * N);
  k.mem.f32(a, 6).set([1, 2, 3, 4, 5, 6]);
  k.mem.f32(b, 4).set([1, 0, 0, 1]);
  k.matmul(out, a, b, 0, M, K, N, MatmulFlags.TRANS_B);
  assert.deepEqual([...k.mem.f32(out, 6)], [1, 2, 3, 4, 5, 6]);
  k.mem.release(mark);
  const big = k.mem.alloc(64 << 20); // forces growth
  k.mem.f32(big, 4).fill(3);
  const a2 = k.mem.alloc(4 * M * K), out2 = k.mem.alloc(4 * M * N);
  k.mem.f32(a2, 6).set([1, 1, 1, 1, 1, 1]);
  k.matmul(out2, a2, big, 0, M, K, N, 0);
  assert.deepEqual([...k.mem.f32(out2, 6)], [6, 6, 6, 6, 6, 6]);
});

for (const simd of ["relaxed", "fixed"] as const) {
  Deno.test(`geluForward()/geluBackward() erf form in the ${simd} build are within 1e-6 of f64 on [-10, 10]`, () => {
    const k = createWasmKernels({ simd });
    const n = 400_001;
    const inp = k.mem.alloc(4 * n), out = k.mem.alloc(4 * n), dout = k.mem.alloc(4 * n), dinp = k.mem.alloc(4 * n);
    const x = k.mem.f32(inp, n);
    for (let i = 0; i < n; i++) x[i] = -10 + i * 5e-5;
    k.mem.f32(dout, n).fill(1);
    k.geluForward(out, inp, n, "erf");
    k.geluBackward(dinp, inp, dout, n, "erf");
    const y = k.mem.f32(out, n), g = k.mem.f32(dinp, n);
    let worst = 0, worstG = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      const cdf = 0.5 * (1 + erfReference(xi / Math.SQRT2));
      worst = Math.max(worst, Math.abs(y[i]! - xi * cdf));
      worstG = Math.max(worstG, Math.abs(g[i]! - (cdf + xi * Math.exp(-0.5 * xi * xi) / Math.sqrt(2 * Math.PI))));
    }
    assert.ok(worst < 1e-6, `max |gelu error| ${worst}`);
    assert.ok(worstG < 2e-6, `max |gelu' error| ${worstG}`);
  });

  Deno.test(`geluForward() tanh form and softmaxRows() in the ${simd} build match f64 closely`, () => {
    const k = createWasmKernels({ simd });
    const n = 20_001;
    const inp = k.mem.alloc(4 * n), out = k.mem.alloc(4 * n);
    const x = k.mem.f32(inp, n);
    for (let i = 0; i < n; i++) x[i] = -10 + i * 1e-3;
    k.geluForward(out, inp, n, "tanh");
    const y = k.mem.f32(out, n);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      const e = 0.5 * xi * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (xi + 0.044715 * xi ** 3)));
      worst = Math.max(worst, Math.abs(y[i]! - e) / Math.max(1, Math.abs(e)));
    }
    assert.ok(worst < 1e-6, `max gelu-tanh error ${worst}`);
    // softmax over a wide range of logits: relative error of each probability
    const cols = 203;
    const p = k.mem.alloc(4 * cols);
    const v = k.mem.f32(p, cols);
    for (let j = 0; j < cols; j++) v[j] = -95 + j * 0.5;
    const ref = [...v].map((s) => Math.exp(s - v[cols - 1]!));
    const sum = ref.reduce((a, b) => a + b, 0);
    k.softmaxRows(p, 1, cols);
    const got = k.mem.f32(p, cols);
    for (let j = 0; j < cols; j++) {
      const e = ref[j]! / sum;
      if (e > 1e-30) assert.ok(Math.abs(got[j]! - e) <= 1e-6 * e, `softmax[${j}]: ${got[j]} vs ${e}`);
      else assert.ok(got[j]! <= 1e-30);
    }
  });

  Deno.test(`attentionForward()/attentionBackward() in the ${simd} build match the reference at T=150 and T=48, D=64`, () => {
    for (const T of [150, 48]) {
      const w = createWasmKernels({ simd }), r = createReferenceKernels();
      const B = 2, H = 2, D = 64, n = B * T * 3 * H * D, scale = 1 / 8;
      let seed = 7;
      const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 2;
      const qkv = Float32Array.from({ length: n }, rnd);
      const dctx = Float32Array.from({ length: B * T * H * D }, rnd);
      const mask = Float32Array.from({ length: B * T }, (_, i) => (i % T < T - 17 * (i >= T ? 1 : 0) ? 1 : 0));
      const hm = Float32Array.from([0.5, 1.25]);
      // no mask, causal, and causal with a sliding window of 37 keys (local attention)
      for (const [causal, window] of [[false, 0], [true, 0], [true, 37]] as const) {
        const outs = [w, r].map((k) => {
          const o = fusedAttention(k, { qkv, dctx, keyMask: mask, headMask: hm, B, T, H, D, scale, causal, window });
          return [o.ctx, o.probs, o.dqkv, o.dheadMask!];
        });
        ["ctx", "probs", "dqkv", "dheadMask"].forEach((name, t) => {
          const a = outs[0]![t]!, e = outs[1]![t]!;
          let rms = 0;
          for (const x of e) rms += x * x;
          rms = Math.sqrt(rms / e.length);
          for (let i = 0; i < e.length; i++) {
            assert.ok(
              Math.abs(a[i]! - e[i]!) <= 1e-5 * (Math.abs(e[i]!) + rms) + 1e-7,
              `${name}[${i}] (causal ${causal}, window ${window}): ${a[i]!} vs ${e[i]!}`,
            );
          }
        });
      }
    }
  });
}

Deno.test("attentionBackward() skips heads whose mask is 0, yet gives their mask gradient as the reference does", () => {
  const B = 2, T = 33, H = 3, D = 16, ld = 3 * H * D, n = B * T * ld, scale = 0.25;
  let seed = 11;
  const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 2;
  const qkv = Float32Array.from({ length: n }, rnd);
  const dctx = Float32Array.from({ length: B * T * H * D }, rnd);
  const hm = Float32Array.from([1, 0, 0.75]);
  const run = (k: Kernels, wantMaskGrad: boolean) => {
    const o = fusedAttention(k, { qkv, dctx, headMask: hm, B, T, H, D, scale, causal: false, maskGrad: wantMaskGrad });
    return { dq: o.dqkv, dhm: o.dheadMask };
  };
  const w = run(createWasmKernels(), true), wNoGrad = run(createWasmKernels(), false);
  const r = run(createReferenceKernels(), true);
  assert.deepEqual(wNoGrad.dq, w.dq); // not asking for the mask gradient changes nothing else
  for (let row = 0; row < B * T; row++) {
    for (let part = 0; part < 3; part++) {
      for (let d = 0; d < D; d++) assert.equal(w.dq[row * ld + part * H * D + 1 * D + d], 0, "masked head's dq/dk/dv");
    }
  }
  for (let i = 0; i < n; i++) assert.ok(Math.abs(w.dq[i]! - r.dq[i]!) <= 1e-5 * (1 + Math.abs(r.dq[i]!)), `dqkv[${i}]`);
  for (let h = 0; h < H; h++) {
    assert.ok(Math.abs(w.dhm![h]! - r.dhm![h]!) <= 1e-4 * (1 + Math.abs(r.dhm![h]!)), `dheadMask[${h}]`);
  }
  assert.ok(Math.abs(w.dhm![1]!) > 1e-3, "the masked head's mask gradient is computed, not skipped");
});
