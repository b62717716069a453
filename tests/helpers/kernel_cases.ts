/**
 * The shared kernel case table (tfjs's "one op test suite for every backend"): each case allocates seeded random
 * inputs in a backend's memory, runs one kernel and returns copies of its outputs. `kernels_test.ts` runs every
 * case on the reference and on both WASM builds and compares.
 *
 * @module
 */
import { uniformSigned } from "@bertology/core/rng";
import { type Kernels, MatmulFlags, type Ptr } from "@bertology/core/kernels";

/** What a case returns: named output tensors (copied out of the kernel memory) or scalars. */
export type CaseOutputs = Record<string, Float32Array | number>;

/** One row of the table. */
export interface KernelCase {
  /** Test name, "kernel() does what with which sizes". */
  name: string;
  /** Runs the case on `k` with inputs drawn from `rnd`; identical seeds give identical inputs. */
  run(k: Kernels, rnd: () => number): CaseOutputs;
}

/**
 * Inputs of {@linkcode fusedAttention}: q, k, v as the three parts of each row of one fused projection
 * [B, T, (H + 2·Hkv)·D] (q first, H·D wide; then k and v, Hkv·D wide each; Hkv = H without grouped-query
 * attention: GPT-2's c_attn).
 */
export interface FusedAttentionInputs {
  /** The fused projection [B, T, (H + 2·Hkv)·D]. */
  qkv: Float32Array;
  /** The context gradient [B, T, H·D]. */
  dctx: Float32Array;
  /** Key mask [B, T] (1 real, 0 padding); none when absent. */
  keyMask?: Float32Array;
  /** Head mask [H]; none when absent. */
  headMask?: Float32Array;
  B: number;
  T: number;
  H: number;
  D: number;
  scale: number;
  causal: boolean;
  /** Sliding window (keys j ≤ i − window masked); default 0, none. */
  window?: number;
  /** Ask for the head-mask gradient (default true). */
  maskGrad?: boolean;
  /** Key/value heads (grouped-query attention; default H). */
  kvHeads?: number;
  /** Each query head's kv head (i32 [H]); absent: contiguous groups of H / Hkv. */
  kvHead?: readonly number[] | undefined;
}

/** What {@linkcode fusedAttention} returns (copies out of the kernel memory). */
export interface FusedAttentionOutputs {
  ctx: Float32Array;
  probs: Float32Array;
  /** dq | dk | dv, fused as the input. */
  dqkv: Float32Array;
  /** Absent when not asked for. */
  dheadMask: Float32Array | undefined;
  /** The context of a second forward that saves no probabilities (probs 0, a T·T scratch that held NaN). */
  ctxUnsaved: Float32Array;
}

/**
 * Runs attentionForward and attentionBackward on `k` over a fused q|k|v buffer (the layout of GPT-2's c_attn and
 * of one projection's views), then the forward again without saving the probabilities; releases what it
 * allocated.
 */
export function fusedAttention(k: Kernels, s: FusedAttentionInputs): FusedAttentionOutputs {
  const { B, T, H, D, scale, causal } = s, Hkv = s.kvHeads ?? H, HD = H * D, KD = Hkv * D, window = s.window ?? 0;
  const ld = HD + 2 * KD, n = B * T * ld;
  const mark = k.mem.mark();
  const put = (a: Float32Array) => copyIn(k, a);
  const q = put(s.qkv), kk = q + 4 * HD, v = kk + 4 * KD, dq = k.mem.alloc(4 * n), dk = dq + 4 * HD, dv = dk + 4 * KD;
  const km = s.keyMask ? put(s.keyMask) : 0, hm = s.headMask ? put(s.headMask) : 0, dct = put(s.dctx);
  const map = s.kvHead ? ints(k, [...s.kvHead]) : 0;
  const ctx = k.mem.alloc(4 * B * T * HD), probs = k.mem.alloc(4 * B * H * T * T);
  const dhm = s.maskGrad === false ? 0 : k.mem.alloc(4 * H), scratch = k.mem.alloc(4 * T * T);
  k.attentionForward(ctx, probs, q, kk, v, ld, ld, km, hm, map, B, T, 0, H, Hkv, D, scale, causal, window, 0);
  k.attentionBackward(dq, dk, dv, dhm, dct, probs, q, kk, v, ld, ld, hm, map, scratch, B, T, H, Hkv, D, scale);
  const ctx2 = k.mem.alloc(4 * B * T * HD), scratch2 = k.mem.allocUninitialized(4 * T * T);
  k.mem.f32(scratch2, T * T).fill(NaN); // whatever the scratch held must not matter
  k.attentionForward(ctx2, 0, q, kk, v, ld, ld, km, hm, map, B, T, 0, H, Hkv, D, scale, causal, window, scratch2);
  const out = {
    ctx: read(k, ctx, B * T * HD),
    probs: read(k, probs, B * H * T * T),
    dqkv: read(k, dq, n),
    dheadMask: dhm ? read(k, dhm, H) : undefined,
    ctxUnsaved: read(k, ctx2, B * T * HD),
  };
  k.mem.release(mark);
  return out;
}

/** A seeded uniform [-1, 1) generator (mulberry32). */
export const seededRandom: (seed: number) => () => number = uniformSigned;

/** Copies `a` into new memory of `k`; returns its pointer. */
export function copyIn(k: Kernels, a: Float32Array): Ptr {
  const p = k.mem.alloc(4 * a.length);
  k.mem.f32(p, a.length).set(a);
  return p;
}

/** Allocates n floats in k's memory filled by `init` (default: uniform [-1, 1)). */
export function floats(k: Kernels, n: number, rnd: () => number, init?: (i: number) => number): Ptr {
  const p = k.mem.alloc(4 * n);
  const v = k.mem.f32(p, n);
  for (let i = 0; i < n; i++) v[i] = init ? init(i) : rnd();
  return p;
}

/** Allocates ints in k's memory. */
export function ints(k: Kernels, values: number[]): Ptr {
  const p = k.mem.alloc(4 * values.length);
  k.mem.i32(p, values.length).set(values);
  return p;
}

/** A copy of n floats at p. */
export function read(k: Kernels, p: Ptr, n: number): Float32Array {
  return k.mem.f32(p, n).slice();
}

const SIZES = [1, 3, 5, 7, 13, 33, 100];

function flagName(flags: number): string {
  const names = Object.entries(MatmulFlags).filter(([, v]) => flags & v).map(([n]) => n);
  return names.length ? names.join("|") : "no flags";
}

function elementwiseCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const n of SIZES) {
    cases.push({
      name: `fill() and copy() handle n=${n}, copy in place`,
      run(k, rnd) {
        const a = floats(k, n, rnd), o = floats(k, n + 1, rnd);
        k.fill(o, 0.75, n);
        const filled = read(k, o, n + 1);
        k.copy(o, a, n);
        k.copy(a, a, n);
        return { filled, copied: read(k, o, n + 1), self: read(k, a, n) };
      },
    });
    cases.push({
      name: `add() and scale() handle n=${n} with out aliasing a or b`,
      run(k, rnd) {
        const a = floats(k, n, rnd), b = floats(k, n, rnd), o = floats(k, n, rnd);
        k.add(o, a, b, n);
        const sum = read(k, o, n);
        k.add(a, a, b, n);
        k.add(b, a, b, n);
        k.scale(o, a, -1.5, n);
        const scaled = read(k, o, n);
        k.scale(b, b, 0.25, n);
        return { sum, a: read(k, a, n), b: read(k, b, n), scaled };
      },
    });
    cases.push({
      name: `addBias() and biasBackward() handle rows=3 cols=${n}, in place`,
      run(k, rnd) {
        const a = floats(k, 3 * n, rnd), bias = floats(k, n, rnd), o = floats(k, 3 * n, rnd), db = floats(k, n, rnd);
        k.addBias(o, a, bias, 3, n);
        const out = read(k, o, 3 * n);
        k.addBias(a, a, bias, 3, n);
        k.biasBackward(db, o, 3, n);
        return { out, inPlace: read(k, a, 3 * n), dbias: read(k, db, n) };
      },
    });
    cases.push({
      name: `sumSquares() handles n=${n}`,
      run(k, rnd) {
        const a = floats(k, n, rnd);
        return { sumSquares: k.sumSquares(a, n) };
      },
    });
  }
  return cases;
}

function matmulCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [5, 7, 9],
    [3, 13, 33],
    [13, 5, 7],
    [4, 8, 8],
    [33, 300, 17],
    [7, 513, 13],
    [130, 260, 20],
    // M > MC (132): B packed once per K slice in blocks of NC (1536) columns, a partial last block and panel
    [140, 40, 1550],
    [134, 770, 20],
    [3, 0, 5],
    // M % 8 == 0 and N % 6 == 0: the TRANS_B fast path (weights read unpacked), incl. K > KC and M > its block.
    [8, 3, 6],
    [16, 20, 12],
    [136, 1600, 18],
  ];
  for (const [M, K, N] of shapes) {
    for (let flags = 0; flags < 8; flags++) {
      for (const withBias of [false, true]) {
        cases.push({
          name: `matmul() handles ${flagName(flags)} with M=${M} K=${K} N=${N}${withBias ? " and bias" : ""}`,
          run(k, rnd) {
            const a = floats(k, M * K, rnd), b = floats(k, K * N, rnd), out = floats(k, M * N, rnd);
            const bias = withBias ? floats(k, N, rnd) : 0;
            k.matmul(out, a, b, bias, M, K, N, flags);
            return { out: read(k, out, M * N) };
          },
        });
      }
    }
  }
  return cases;
}

function layerNormCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const C of [1, 3, 7, 33, 768]) {
    for (const rows of [1, 5]) {
      cases.push({
        name: `layerNormForward() and layerNormBackward() handle rows=${rows} C=${C}, out aliasing inp`,
        run(k, rnd) {
          const n = rows * C;
          const inp = floats(k, n, rnd, () => 3 * rnd() + 0.5), w = floats(k, C, rnd), b = floats(k, C, rnd);
          const out = floats(k, n, rnd), mean = floats(k, rows, rnd), rstd = floats(k, rows, rnd);
          k.layerNormForward(out, mean, rstd, inp, w, b, rows, C, 1e-5);
          const dout = floats(k, n, rnd), dinp = floats(k, n, rnd), dw = floats(k, C, rnd), db = floats(k, C, rnd);
          k.layerNormBackward(dinp, dw, db, dout, inp, w, mean, rstd, rows, C);
          const res = {
            out: read(k, out, n),
            mean: read(k, mean, rows),
            rstd: read(k, rstd, rows),
            dinp: read(k, dinp, n),
            dweight: read(k, dw, C),
            dbias: read(k, db, C),
          };
          // without weight gradients (0 pointers): the same dinp
          const dinp2 = floats(k, n, rnd);
          const before = read(k, dinp2, n);
          k.layerNormBackward(dinp2, 0, 0, dout, inp, w, mean, rstd, rows, C);
          const after = read(k, dinp2, n);
          const dinpOnly = after.map((v, i) => v - before[i]!);
          k.layerNormForward(inp, mean, rstd, inp, w, b, rows, C, 1e-5);
          return { ...res, dinpOnly, inPlace: read(k, inp, n) };
        },
      });
    }
  }
  return cases;
}

const SPECIAL = [0, -0, 1e-8, -1e-8, 0.5, -0.5, 1, -1, 2.5, -2.5, 3.99, -3.99, 4, -4, 6, -6, 10, -10, 30, -30];

function activationCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const n of [1, 7, 33, 1000]) {
    for (const kind of ["erf", "tanh"] as const) {
      cases.push({
        name: `geluForward() and geluBackward() handle the ${kind} form with n=${n}, in place`,
        run(k, rnd) {
          const inp = floats(k, n, rnd, (i) => (i < SPECIAL.length ? SPECIAL[i]! : 6 * rnd()));
          const out = floats(k, n, rnd), dout = floats(k, n, rnd), dinp = floats(k, n, rnd);
          k.geluForward(out, inp, n, kind);
          k.geluBackward(dinp, inp, dout, n, kind);
          const res = { out: read(k, out, n), dinp: read(k, dinp, n) };
          k.geluForward(inp, inp, n, kind);
          return { ...res, inPlace: read(k, inp, n) };
        },
      });
    }
    cases.push({
      name: `tanhForward() and tanhBackward() handle n=${n}`,
      run(k, rnd) {
        const inp = floats(k, n, rnd, (i) => (i < SPECIAL.length ? SPECIAL[i]! : 4 * rnd()));
        const out = floats(k, n, rnd), dout = floats(k, n, rnd), dinp = floats(k, n, rnd);
        k.tanhForward(out, inp, n);
        k.tanhBackward(dinp, out, dout, n);
        return { out: read(k, out, n), dinp: read(k, dinp, n) };
      },
    });
  }
  for (const n of [1, 7, 33, 1000]) {
    cases.push({
      name: `reluForward() and reluBackward() handle n=${n}, zeros and signs included`,
      run(k, rnd) {
        const inp = floats(k, n, rnd, (i) => (i < SPECIAL.length ? SPECIAL[i]! : 4 * rnd()));
        const out = floats(k, n, rnd), dout = floats(k, n, rnd), dinp = floats(k, n, rnd);
        k.reluForward(out, inp, n);
        k.reluBackward(dinp, inp, dout, n);
        return { out: read(k, out, n), dinp: read(k, dinp, n) };
      },
    });
  }
  for (const cols of [1, 5, 33, 100]) {
    cases.push({
      name: `softmaxRows() handles rows=3 cols=${cols} with large logits`,
      run(k, rnd) {
        const x = floats(k, 3 * cols, rnd, () => 40 * rnd());
        k.softmaxRows(x, 3, cols);
        return { probs: read(k, x, 3 * cols) };
      },
    });
  }
  return cases;
}

interface AttentionSetup {
  B: number;
  T: number;
  H: number;
  D: number;
  fused: boolean;
  causal: boolean;
  padding: boolean;
  headMask: boolean;
  fullyMasked: boolean;
  /** Key/value heads (grouped-query attention when below H). */
  kvHeads: number;
  /** Sliding window (causal local attention); absent: none. */
  window?: number;
  /** Each query head's kv head (a pruned layer's kept heads in their original groups); absent: contiguous. */
  kvHead?: readonly number[] | undefined;
}

function attentionCases(): KernelCase[] {
  const setups: AttentionSetup[] = [];
  const base = { fused: false, causal: false, padding: false, headMask: false, fullyMasked: false };
  const shapes = [
    [1, 1, 1, 1, 1],
    [2, 5, 3, 7, 3],
    [2, 13, 4, 8, 4],
    [1, 33, 2, 16, 2],
    [3, 7, 2, 5, 2],
    // grouped-query attention: groups of 2, 3 and 4 query heads, and one kv head for all (multi-query)
    [2, 5, 4, 3, 2],
    [2, 13, 6, 8, 2],
    [1, 33, 4, 16, 1],
    [3, 7, 8, 5, 2],
  ] as const;
  for (const [B, T, H, D, kvHeads] of shapes) {
    setups.push({ ...base, B, T, H, D, kvHeads });
    setups.push({ ...base, B, T, H, D, kvHeads, fused: true, causal: true });
    setups.push({ ...base, B, T, H, D, kvHeads, padding: true, headMask: true });
    setups.push({ ...base, B, T, H, D, kvHeads, fused: true, causal: true, padding: true, headMask: true });
    setups.push({ ...base, B, T, H, D, kvHeads, padding: true, fullyMasked: true, headMask: true });
  }
  // a pruned GQA layer: 8 query heads in 4 groups of 2, heads 3 and 4 removed — the kept six keep their kv
  // heads (one group left with a single query head), and all four kv heads stay
  const kvHead = [0, 0, 1, 2, 3, 3];
  setups.push({ ...base, B: 2, T: 9, H: 6, D: 4, kvHeads: 4, kvHead, padding: true, headMask: true });
  setups.push({ ...base, B: 2, T: 9, H: 6, D: 4, kvHeads: 4, kvHead, fused: true, causal: true, headMask: true });
  // sliding windows (GPT-Neo's local layers, Mistral's sliding_window): one key, a few, and one wider than the row
  const windowed: Array<[B: number, T: number, H: number, D: number, kvHeads: number, window: number]> = [
    [2, 13, 4, 8, 4, 3],
    [1, 33, 4, 16, 2, 5],
    [3, 7, 2, 5, 2, 1],
  ];
  for (const [B, T, H, D, kvHeads, window] of windowed) {
    setups.push({ ...base, B, T, H, D, kvHeads, window, causal: true, fused: true });
    setups.push({ ...base, B, T, H, D, kvHeads, window, causal: true, padding: true, headMask: true });
  }
  setups.push({ ...base, B: 2, T: 9, H: 6, D: 4, kvHeads: 4, kvHead, window: 20, causal: true, padding: true });
  return setups.map((s) => {
    const { B, T, H, D, kvHeads: Hkv } = s;
    const opts = [
      s.fused ? "fused qkv" : "separate q/k/v",
      Hkv < H && `${Hkv} kv heads`,
      s.kvHead && `kv heads [${s.kvHead.join(", ")}]`,
      s.causal && "causal",
      s.window && `window ${s.window}`,
      s.padding && "padding",
      s.headMask && "head mask",
      s.fullyMasked && "a fully masked row",
    ].filter(Boolean).join(", ");
    return {
      name: `attentionForward() and attentionBackward() handle B=${B} T=${T} H=${H} D=${D}, ${opts}`,
      run(k, rnd) {
        const HD = H * D, KD = Hkv * D;
        const [ldq, ldkv] = s.fused ? [HD + 2 * KD, HD + 2 * KD] : [HD, KD];
        let q: Ptr, kk: Ptr, v: Ptr, dq: Ptr, dk: Ptr, dv: Ptr;
        const nq = B * T * ldq, nkv = B * T * ldkv;
        if (s.fused) {
          q = floats(k, nq, rnd, () => 2 * rnd());
          kk = q + 4 * HD;
          v = kk + 4 * KD;
          dq = floats(k, nq, rnd);
          dk = dq + 4 * HD;
          dv = dk + 4 * KD;
        } else {
          q = floats(k, nq, rnd, () => 2 * rnd());
          kk = floats(k, nkv, rnd, () => 2 * rnd());
          v = floats(k, nkv, rnd);
          dq = floats(k, nq, rnd);
          dk = floats(k, nkv, rnd);
          dv = floats(k, nkv, rnd);
        }
        // Padding: batch b keeps its first T − b keys; with fullyMasked, batch 0 has no real key at all.
        const keyMask = s.padding
          ? floats(k, B * T, rnd, (i) => {
            const b = Math.floor(i / T), t = i % T;
            if (s.fullyMasked && b === 0) return 0;
            return t < Math.max(1, T - b) ? 1 : 0;
          })
          : 0;
        const hm = [1, 0, 0.5, -1.5];
        const headMask = s.headMask ? floats(k, H, rnd, (h) => hm[h % 4]!) : 0;
        const map = s.kvHead ? ints(k, [...s.kvHead]) : 0;
        const ctx = floats(k, B * T * HD, rnd), probs = floats(k, B * H * T * T, rnd);
        const scale = 1 / Math.sqrt(D);
        k.attentionForward(
          ctx,
          probs,
          q,
          kk,
          v,
          ldq,
          ldkv,
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
          s.causal,
          s.window ?? 0,
          0,
        );
        const dctx = floats(k, B * T * HD, rnd), dhm = floats(k, H, rnd), scratch = floats(k, T * T, rnd);
        k.attentionBackward(
          dq,
          dk,
          dv,
          dhm,
          dctx,
          probs,
          q,
          kk,
          v,
          ldq,
          ldkv,
          headMask,
          map,
          scratch,
          B,
          T,
          H,
          Hkv,
          D,
          scale,
        );
        const out: CaseOutputs = {
          ctx: read(k, ctx, B * T * HD),
          probs: read(k, probs, B * H * T * T),
          dheadMask: read(k, dhm, H),
        };
        if (s.fused) {
          out.dqkv = read(k, dq, nq);
        } else {
          out.dq = read(k, dq, nq);
          out.dk = read(k, dk, nkv);
          out.dv = read(k, dv, nkv);
        }
        return out;
      },
    };
  });
}

function lossAndEmbeddingCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const V of [1, 7, 33, 100]) {
    cases.push({
      name: `crossEntropyForward() and crossEntropyBackward() handle rows=5 V=${V} with ignored targets`,
      run(k, rnd) {
        const rows = 5;
        const targets = ints(k, [0, -1, V - 1, -100, Math.floor(V / 2)]);
        const logits = floats(k, rows * V, rnd, () => 10 * rnd());
        const losses = floats(k, rows, rnd), probs = floats(k, rows * V, rnd), dl = floats(k, rows * V, rnd);
        k.crossEntropyForward(losses, probs, logits, targets, rows, V);
        k.crossEntropyBackward(dl, probs, targets, rows, V, 1 / 3);
        return { losses: read(k, losses, rows), probs: read(k, probs, rows * V), dlogits: read(k, dl, rows * V) };
      },
    });
  }
  for (const C of [1, 5, 33]) {
    cases.push({
      name: `embeddingForward() and embeddingBackward() handle C=${C} with repeated ids`,
      run(k, rnd) {
        const ids = [3, 0, 3, 6, 1, 3];
        const table = floats(k, 7 * C, rnd), out = floats(k, ids.length * C, rnd), idp = ints(k, ids);
        k.embeddingForward(out, table, idp, ids.length, C);
        const dtable = floats(k, 7 * C, rnd), dout = floats(k, ids.length * C, rnd);
        k.embeddingBackward(dtable, dout, idp, ids.length, C);
        return { out: read(k, out, ids.length * C), dtable: read(k, dtable, 7 * C) };
      },
    });
  }
  for (const n of [1, 13, 100]) {
    cases.push({
      name: `adamw() handles n=${n} over 3 steps with weight decay`,
      run(k, rnd) {
        const p = floats(k, n, rnd), m = floats(k, n, rnd, () => 0), v = floats(k, n, rnd, () => 0);
        for (let step = 1; step <= 3; step++) {
          const g = floats(k, n, rnd);
          k.adamw(p, g, m, v, n, 1e-2, 0.9, 0.999, 1e-8, 0.01, step);
        }
        return { param: read(k, p, n), m: read(k, m, n), v: read(k, v, n) };
      },
    });
  }
  return cases;
}

function peakCases(): KernelCase[] {
  return [0, 1, 3, 1000].map((iterations) => ({
    name: `fmaPeak() runs ${iterations} iterations to the same lanes`,
    run: (k) => ({ fmaPeak: k.fmaPeak(iterations) }),
  }));
}

function decoderCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const C of [1, 3, 7, 33, 768]) {
    for (const offset of [0, 1]) {
      cases.push({
        name: `rmsNormForward() and rmsNormBackward() handle rows=5 C=${C} offset=${offset}, out aliasing inp`,
        run(k, rnd) {
          const rows = 5, n = rows * C;
          const inp = floats(k, n, rnd, () => 3 * rnd() + 0.5), w = floats(k, C, rnd);
          const out = floats(k, n, rnd), rstd = floats(k, rows, rnd);
          k.rmsNormForward(out, rstd, inp, w, rows, C, 1e-6, offset);
          const dout = floats(k, n, rnd), dinp = floats(k, n, rnd), dw = floats(k, C, rnd);
          k.rmsNormBackward(dinp, dw, dout, inp, w, rstd, rows, C, offset);
          const res = {
            out: read(k, out, n),
            rstd: read(k, rstd, rows),
            dinp: read(k, dinp, n),
            dweight: read(k, dw, C),
          };
          // without the weight gradient (a 0 pointer): the same dinp
          const dinp2 = floats(k, n, rnd);
          const before = read(k, dinp2, n);
          k.rmsNormBackward(dinp2, 0, dout, inp, w, rstd, rows, C, offset);
          const dinpOnly = read(k, dinp2, n).map((v, i) => v - before[i]!);
          k.rmsNormForward(inp, rstd, inp, w, rows, C, 1e-6, offset);
          return { ...res, dinpOnly, inPlace: read(k, inp, n) };
        },
      });
    }
  }
  for (const n of [1, 3, 7, 33, 1000]) {
    cases.push({
      name: `siluForward() and siluBackward() handle n=${n}, large magnitudes included, in place`,
      run(k, rnd) {
        const special = [...SPECIAL, 87, -87, 88.5, -88.5, 100, -100];
        const inp = floats(k, n, rnd, (i) => (i < special.length ? special[i]! : 8 * rnd()));
        const out = floats(k, n, rnd), dout = floats(k, n, rnd), dinp = floats(k, n, rnd);
        k.siluForward(out, inp, n);
        k.siluBackward(dinp, inp, dout, n);
        const res = { out: read(k, out, n), dinp: read(k, dinp, n) };
        k.siluForward(inp, inp, n);
        return { ...res, inPlace: read(k, inp, n) };
      },
    });
    cases.push({
      name: `mulForward() and mulBackward() handle n=${n}, one gradient absent, a ⊙ a, out aliasing a`,
      run(k, rnd) {
        const a = floats(k, n, rnd), b = floats(k, n, rnd), out = floats(k, n, rnd), dout = floats(k, n, rnd);
        const da = floats(k, n, rnd), db = floats(k, n, rnd), da2 = floats(k, n, rnd), sq = floats(k, n, rnd);
        k.mulForward(out, a, b, n);
        k.mulBackward(da, db, dout, a, b, n);
        k.mulBackward(da2, 0, dout, a, b, n);
        k.mulBackward(sq, sq, dout, a, a, n);
        const res = { out: read(k, out, n), da: read(k, da, n), db: read(k, db, n), da2: read(k, da2, n) };
        k.mulForward(a, a, b, n);
        return { ...res, square: read(k, sq, n), inPlace: read(k, a, n) };
      },
    });
  }
  // [rows, H, D, rotaryDim, input row stride]: halves of 1, 4 (one SIMD step), tails; GPT-NeoX's partial
  // rotary; a view of a fused projection (stride past H·D)
  const shapes: [number, number, number, number, number][] = [
    [1, 1, 2, 2, 2],
    [3, 2, 8, 8, 16],
    [7, 3, 10, 10, 30],
    [5, 2, 16, 4, 32],
    [4, 2, 64, 16, 3 * 128],
    [6, 4, 18, 14, 72],
    [2, 1, 128, 128, 128],
  ];
  for (const [rows, H, D, rotaryDim, ld] of shapes) {
    for (const theta of [10000, 1e6]) {
      cases.push({
        name: `rotaryForward() and rotaryBackward() handle rows=${rows} H=${H} D=${D} rotaryDim=${rotaryDim} ` +
          `ld=${ld} theta=${theta}`,
        run(k, rnd) {
          const HD = H * D, n = rows * ld;
          const positions = ints(k, Array.from({ length: rows }, (_, r) => (r * 37) % 2049));
          const inp = floats(k, n, rnd), out = floats(k, rows * HD, rnd), table = floats(k, 3 * rotaryDim, rnd);
          k.rotaryForward(out, inp, positions, table, rows, ld, H, D, rotaryDim, theta);
          const dout = floats(k, rows * HD, rnd), dinp = floats(k, n, rnd);
          k.rotaryBackward(dinp, dout, positions, table, rows, ld, H, D, rotaryDim, theta);
          const res = { out: read(k, out, rows * HD), dinp: read(k, dinp, n) };
          if (ld !== HD) return res;
          k.rotaryForward(inp, inp, positions, table, rows, ld, H, D, rotaryDim, theta);
          return { ...res, inPlace: read(k, inp, n) };
        },
      });
    }
  }
  return cases;
}

/** Every case in the table. */
export const KERNEL_CASES: KernelCase[] = [
  ...peakCases(),
  ...elementwiseCases(),
  ...matmulCases(),
  ...layerNormCases(),
  ...activationCases(),
  ...attentionCases(),
  ...lossAndEmbeddingCases(),
  ...decoderCases(),
];
