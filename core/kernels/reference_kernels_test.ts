// The reference backend checked on its own: backward kernels by central finite differences of the f64 math
// (`_reference_math.ts` on Float64Arrays), forward kernels on hand-computed values.
import assert from "node:assert/strict";
import * as ref from "./_reference_math.ts";
import { MatmulFlags } from "./contract.ts";
import { seededRandom } from "../../tests/helpers/kernel_cases.ts";
import { createReferenceKernels } from "./reference_kernels.ts";

/** A Float64 arena with the reference math's index space (index 0 = absent). */
function arena(size = 1 << 14) {
  const f = new Float64Array(size), ints = new Int32Array(size);
  let top = 1;
  const rnd = seededRandom(7);
  return {
    f,
    ints,
    alloc(n: number, init: (i: number) => number = () => rnd()): number {
      const p = top;
      top += n;
      if (top > size) throw new Error("arena too small");
      for (let i = 0; i < n; i++) f[p + i] = init(i);
      return p;
    },
    rnd,
  };
}

type Arena = ReturnType<typeof arena>;

/**
 * Checks d(loss)/d(param) from `backward` against central differences of `loss` for every param element.
 * `backward` must accumulate the gradient of the loss into `grad` (which starts at zero).
 */
function checkGrad(A: Arena, label: string, param: number, n: number, grad: number, loss: () => number): void {
  const h = 1e-6;
  for (let i = 0; i < n; i++) {
    const x = A.f[param + i]!;
    A.f[param + i] = x + h;
    const lp = loss();
    A.f[param + i] = x - h;
    const lm = loss();
    A.f[param + i] = x;
    const fd = (lp - lm) / (2 * h);
    const g = A.f[grad + i]!;
    assert.ok(Math.abs(fd - g) <= 1e-6 + 1e-6 * Math.abs(fd), `${label}[${i}]: analytic ${g}, finite difference ${fd}`);
  }
}

/** Σ w·out over n values. */
function dotW(A: Arena, out: number, w: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += A.f[out + i]! * A.f[w + i]!;
  return s;
}

Deno.test("matmul() backward formulas of y = x·Wᵀ + b match finite differences", () => {
  const A = arena();
  const rows = 5, K = 7, N = 9;
  const x = A.alloc(rows * K), W = A.alloc(N * K), b = A.alloc(N), y = A.alloc(rows * N), dy = A.alloc(rows * N);
  const dx = A.alloc(rows * K, () => 0), dW = A.alloc(N * K, () => 0), db = A.alloc(N, () => 0);
  const loss = () => {
    ref.matmul(A.f, y, x, W, b, rows, K, N, MatmulFlags.TRANS_B);
    return dotW(A, y, dy, rows * N);
  };
  ref.matmul(A.f, dx, dy, W, 0, rows, N, K, MatmulFlags.ACCUMULATE); // dx += dy·W
  ref.matmul(A.f, dW, dy, x, 0, N, rows, K, MatmulFlags.TRANS_A | MatmulFlags.ACCUMULATE); // dW += dyᵀ·x
  ref.biasBackward(A.f, db, dy, rows, N);
  checkGrad(A, "dx", x, rows * K, dx, loss);
  checkGrad(A, "dW", W, N * K, dW, loss);
  checkGrad(A, "db", b, N, db, loss);
});

Deno.test("layerNormBackward() matches finite differences of layerNormForward()", () => {
  const A = arena();
  const rows = 3, C = 7;
  const inp = A.alloc(rows * C, () => 2 * A.rnd() + 0.3), w = A.alloc(C), b = A.alloc(C);
  const out = A.alloc(rows * C), mean = A.alloc(rows), rstd = A.alloc(rows), dout = A.alloc(rows * C);
  const dinp = A.alloc(rows * C, () => 0), dw = A.alloc(C, () => 0), db = A.alloc(C, () => 0);
  const loss = () => {
    ref.layerNormForward(A.f, out, mean, rstd, inp, w, b, rows, C, 1e-5);
    return dotW(A, out, dout, rows * C);
  };
  loss();
  ref.layerNormBackward(A.f, dinp, dw, db, dout, inp, w, mean, rstd, rows, C);
  checkGrad(A, "dinp", inp, rows * C, dinp, loss);
  checkGrad(A, "dweight", w, C, dw, loss);
  checkGrad(A, "dbias", b, C, db, loss);
});

for (const kind of ["erf", "tanh"] as const) {
  Deno.test(`geluBackward() matches finite differences of geluForward() in the ${kind} form`, () => {
    const A = arena();
    const n = 40;
    const inp = A.alloc(n, (i) => -5 + (10 * i) / (n - 1) + 0.01), out = A.alloc(n), dout = A.alloc(n);
    const dinp = A.alloc(n, () => 0);
    ref.geluBackward(A.f, dinp, inp, dout, n, kind);
    checkGrad(A, "dinp", inp, n, dinp, () => {
      ref.geluForward(A.f, out, inp, n, kind);
      return dotW(A, out, dout, n);
    });
  });
}

Deno.test("tanhBackward() matches finite differences of tanhForward()", () => {
  const A = arena();
  const n = 13;
  const inp = A.alloc(n, () => 3 * A.rnd()), out = A.alloc(n), dout = A.alloc(n), dinp = A.alloc(n, () => 0);
  const loss = () => {
    ref.tanhForward(A.f, out, inp, n);
    return dotW(A, out, dout, n);
  };
  loss();
  ref.tanhBackward(A.f, dinp, out, dout, n);
  checkGrad(A, "dinp", inp, n, dinp, loss);
});

// kv heads: H = 4 (multi-head), 2 (groups of 2), 1 (multi-query), 3 with a map (a pruned layer's kept heads,
// one kv head serving two query heads that are not neighbours); sliding windows of 3 and 4 keys (local attention:
// wide enough that each query of the padded row keeps a real key: a row with none is uniform over all keys, constant
// in the scores, while the backward, as for every fully masked row, takes it for a softmax — only padded query rows,
// which no loss reads, have one)
const kvLayouts: Array<[causal: boolean, Hkv: number, kvHead: number[] | undefined, window: number]> = [
  [false, 4, undefined, 0],
  [true, 4, undefined, 0],
  [false, 2, undefined, 0],
  [true, 1, undefined, 0],
  [true, 3, [0, 2, 1, 2], 0],
  [true, 4, undefined, 3],
  [true, 2, undefined, 4],
];
for (const [causal, Hkv, kvHead, window] of kvLayouts) {
  const what = `${Hkv} kv heads${kvHead ? ` [${kvHead.join(", ")}]` : ""}${causal ? ", causal" : ""}` +
    (window ? `, window ${window}` : "");
  Deno.test(`attentionBackward() matches finite differences with fused qkv, padding, head mask, ${what}`, () => {
    const A = arena();
    const B = 2, T = 5, H = 4, D = 3, HD = H * D, KD = Hkv * D, ld = HD + 2 * KD, n = B * T * ld;
    const qkv = A.alloc(n, () => 1.5 * A.rnd()), dqkv = A.alloc(n, () => 0);
    const keyMask = A.alloc(B * T, (i) => (i >= T && i % T >= 3 ? 0 : 1)); // batch 1 pads its last 2 keys
    const hmValues = [1, 0, 0.5, -1.5];
    const headMask = A.alloc(H, (h) => hmValues[h]!), dhm = A.alloc(H, () => 0);
    const ctx = A.alloc(B * T * HD), probs = A.alloc(B * H * T * T), dctx = A.alloc(B * T * HD);
    // the i32 map: its index in the arena's i32 view
    const map = kvHead ? A.alloc(H, () => 0) : 0;
    const ints = A.ints;
    if (kvHead) ints.set(kvHead, map);
    const scale = 1 / Math.sqrt(D);
    const loss = () => {
      ref.attentionForward(
        A.f,
        ints,
        ctx,
        probs,
        qkv,
        qkv + HD,
        qkv + HD + KD,
        ld,
        ld,
        keyMask,
        headMask,
        map,
        B,
        T,
        0,
        H,
        Hkv,
        D,
        scale,
        causal,
        window,
      );
      return dotW(A, ctx, dctx, B * T * HD);
    };
    loss();
    ref.attentionBackward(
      A.f,
      ints,
      dqkv,
      dqkv + HD,
      dqkv + HD + KD,
      dhm,
      dctx,
      probs,
      qkv,
      qkv + HD,
      qkv + HD + KD,
      ld,
      ld,
      headMask,
      map,
      B,
      T,
      H,
      Hkv,
      D,
      scale,
    );
    checkGrad(A, "dqkv", qkv, n, dqkv, loss);
    checkGrad(A, "dheadMask", headMask, H, dhm, loss);
  });
}

Deno.test("crossEntropyBackward() matches finite differences of the scaled loss, skipping ignored rows", () => {
  const A = arena();
  const rows = 4, V = 6, scale = 0.5;
  const logits = A.alloc(rows * V, () => 3 * A.rnd()), probs = A.alloc(rows * V), losses = A.alloc(rows);
  const targets = A.alloc(rows);
  [2, -1, 0, 5].forEach((t, i) => (A.ints[targets + i] = t));
  const dl = A.alloc(rows * V, () => 0);
  const loss = () => {
    ref.crossEntropyForward(A.f, A.ints, losses, probs, logits, targets, rows, V);
    let s = 0;
    for (let r = 0; r < rows; r++) s += scale * A.f[losses + r]!;
    return s;
  };
  loss();
  assert.equal(A.f[losses + 1], 0);
  ref.crossEntropyBackward(A.f, A.ints, dl, probs, targets, rows, V, scale);
  checkGrad(A, "dlogits", logits, rows * V, dl, loss);
  for (let i = 0; i < V; i++) assert.equal(A.f[dl + V + i], 0);
});

Deno.test("embeddingBackward() and biasBackward() match finite differences of their forwards", () => {
  const A = arena();
  const rows = 5, C = 3, ids = [2, 0, 2, 1, 2];
  const table = A.alloc(4 * C), idp = A.alloc(rows), out = A.alloc(rows * C), dout = A.alloc(rows * C);
  ids.forEach((id, i) => (A.ints[idp + i] = id));
  const bias = A.alloc(C), dtable = A.alloc(4 * C, () => 0), dbias = A.alloc(C, () => 0);
  const loss = () => {
    ref.embeddingForward(A.f, A.ints, out, table, idp, rows, C);
    ref.addBias(A.f, out, out, bias, rows, C);
    return dotW(A, out, dout, rows * C);
  };
  ref.embeddingBackward(A.f, A.ints, dtable, dout, idp, rows, C);
  ref.biasBackward(A.f, dbias, dout, rows, C);
  checkGrad(A, "dtable", table, 4 * C, dtable, loss);
  checkGrad(A, "dbias", bias, C, dbias, loss);
});

Deno.test("erfReference() matches known values", () => {
  const known: [number, number][] = [
    [0, 0],
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
    [3, 0.9999779095030014],
    [-1.5, -0.9661051464753108],
  ];
  for (const [x, e] of known) assert.ok(Math.abs(ref.erfReference(x) - e) < 1e-15, `erf(${x})`);
});

Deno.test("attentionForward() gives masked keys probability 0 and a fully masked row uniform probabilities", () => {
  const k = createReferenceKernels();
  const T = 3, D = 2;
  const q = k.mem.alloc(4 * T * D), kk = k.mem.alloc(4 * T * D), v = k.mem.alloc(4 * T * D);
  k.mem.f32(q, T * D).set([1, 0, 0, 1, 1, 1]);
  k.mem.f32(kk, T * D).set([1, 0, 0, 1, 1, 1]);
  k.mem.f32(v, T * D).set([1, 2, 3, 4, 5, 6]);
  const mask = k.mem.alloc(4 * T), ctx = k.mem.alloc(4 * T * D), probs = k.mem.alloc(4 * T * T);
  k.mem.f32(mask, T).set([1, 0, 1]);
  k.attentionForward(ctx, probs, q, kk, v, D, D, mask, 0, 0, 1, T, 0, 1, 1, D, 1, false, 0, 0);
  const p = k.mem.f32(probs, T * T);
  assert.equal(p[1], 0);
  assert.ok(Math.abs(p[0]! - Math.exp(1) / (Math.exp(1) + Math.exp(1))) < 1e-7);
  k.mem.f32(mask, T).set([0, 0, 0]);
  k.attentionForward(ctx, probs, q, kk, v, D, D, mask, 0, 0, 1, T, 0, 1, 1, D, 1, false, 0, 0);
  assert.deepEqual([...k.mem.f32(probs, 3)], [1 / 3, 1 / 3, 1 / 3].map(Math.fround));
  assert.ok(Math.abs(k.mem.f32(ctx, 2)[0]! - 3) < 1e-6);
});

for (const offset of [0, 1]) {
  Deno.test(`rmsNormBackward() matches finite differences of rmsNormForward() with offset ${offset}`, () => {
    const A = arena();
    const rows = 3, C = 7;
    const inp = A.alloc(rows * C, () => 2 * A.rnd() + 0.3), w = A.alloc(C);
    const out = A.alloc(rows * C), rstd = A.alloc(rows), dout = A.alloc(rows * C);
    const dinp = A.alloc(rows * C, () => 0), dw = A.alloc(C, () => 0);
    const loss = () => {
      ref.rmsNormForward(A.f, out, rstd, inp, w, rows, C, 1e-6, offset);
      return dotW(A, out, dout, rows * C);
    };
    loss();
    ref.rmsNormBackward(A.f, dinp, dw, dout, inp, w, rstd, rows, C, offset);
    checkGrad(A, "dinp", inp, rows * C, dinp, loss);
    checkGrad(A, "dweight", w, C, dw, loss);
  });
}

Deno.test("siluBackward() and mulBackward() match finite differences of silu(a) ⊙ b", () => {
  const A = arena();
  const n = 40;
  const a = A.alloc(n, (i) => -8 + (16 * i) / (n - 1) + 0.01), b = A.alloc(n), s = A.alloc(n), out = A.alloc(n);
  const dout = A.alloc(n), ds = A.alloc(n, () => 0), da = A.alloc(n, () => 0), db = A.alloc(n, () => 0);
  const loss = () => {
    ref.siluForward(A.f, s, a, n);
    ref.mulForward(A.f, out, s, b, n);
    return dotW(A, out, dout, n);
  };
  loss();
  ref.mulBackward(A.f, ds, db, dout, s, b, n);
  ref.siluBackward(A.f, da, a, ds, n);
  checkGrad(A, "da", a, n, da, loss);
  checkGrad(A, "db", b, n, db, loss);
});

Deno.test("rotaryBackward() matches finite differences of rotaryForward() on a strided, partially rotated input", () => {
  const A = arena();
  const rows = 4, H = 2, D = 6, rotaryDim = 4, ld = 15, HD = H * D;
  const positions = A.alloc(rows);
  [0, 1, 7, 300].forEach((p, i) => (A.ints[positions + i] = p));
  const inp = A.alloc(rows * ld), out = A.alloc(rows * HD), dout = A.alloc(rows * HD);
  const dinp = A.alloc(rows * ld, () => 0);
  const loss = () => {
    ref.rotaryForward(A.f, A.ints, out, inp, positions, rows, ld, H, D, rotaryDim, 10000);
    return dotW(A, out, dout, rows * HD);
  };
  loss();
  ref.rotaryBackward(A.f, A.ints, dinp, dout, positions, rows, ld, H, D, rotaryDim, 10000);
  checkGrad(A, "dinp", inp, rows * ld, dinp, loss);
  // the columns between H·D and the stride belong to no head: no gradient
  for (let r = 0; r < rows; r++) for (let j = HD; j < ld; j++) assert.equal(A.f[dinp + r * ld + j], 0);
});

Deno.test("rotaryForward() at position 0 is the identity and keeps each pair's norm elsewhere", () => {
  const A = arena();
  const rows = 2, H = 1, D = 8, rotaryDim = 8;
  const positions = A.alloc(rows);
  [0, 5].forEach((p, i) => (A.ints[positions + i] = p));
  const inp = A.alloc(rows * D), out = A.alloc(rows * D);
  ref.rotaryForward(A.f, A.ints, out, inp, positions, rows, D, H, D, rotaryDim, 10000);
  for (let j = 0; j < D; j++) assert.equal(A.f[out + j], A.f[inp + j]);
  for (let i = 0; i < D / 2; i++) {
    const x = inp + D, y = out + D;
    const before = Math.hypot(A.f[x + i]!, A.f[x + i + D / 2]!), after = Math.hypot(A.f[y + i]!, A.f[y + i + D / 2]!);
    assert.ok(Math.abs(before - after) < 1e-6, `pair ${i}: |x| ${before}, |y| ${after}`);
  }
  // inv_freq: 1/10000^(2i/8), as float32
  assert.deepEqual([...ref.rotaryInverseFrequencies(8, 10000)], [1, 0.1, 0.01, 0.001].map(Math.fround));
});
