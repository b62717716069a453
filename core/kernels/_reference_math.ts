/**
 * The reference kernels' math: plain loops in f64, over one float array and one int array that share an index
 * space (index = byte pointer / 4; index 0 means "absent" where a pointer is optional). The reference backend
 * runs these on Float32Array views of the kernel memory; the finite-difference tests run them on Float64Arrays.
 *
 * @module
 */
import { MatmulFlags } from "./contract.ts";

/** A float array the reference math runs on. */
export type Floats = Float32Array | Float64Array;

/** erf(x) from its everywhere-positive series erf(x) = 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)); ±1 beyond |x| ≥ 6. */
export function erfReference(x: number): number {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  if (a >= 6) return Math.sign(x);
  let term = a;
  let sum = a;
  for (let n = 1; n < 500; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const r = (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
  return x < 0 ? -r : r;
}

export function fill(f: Floats, out: number, value: number, n: number): void {
  for (let i = 0; i < n; i++) f[out + i] = value;
}

export function copy(f: Floats, out: number, a: number, n: number): void {
  for (let i = 0; i < n; i++) f[out + i] = f[a + i]!;
}

export function add(f: Floats, out: number, a: number, b: number, n: number): void {
  for (let i = 0; i < n; i++) f[out + i] = f[a + i]! + f[b + i]!;
}

export function scale(f: Floats, out: number, a: number, s: number, n: number): void {
  for (let i = 0; i < n; i++) f[out + i] = f[a + i]! * s;
}

export function addBias(f: Floats, out: number, a: number, bias: number, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) f[out + r * cols + c] = f[a + r * cols + c]! + f[bias + c]!;
  }
}

export function biasBackward(f: Floats, dbias: number, dout: number, rows: number, cols: number): void {
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += f[dout + r * cols + c]!;
    f[dbias + c]! += s;
  }
}

export function matmul(
  f: Floats,
  out: number,
  a: number,
  b: number,
  bias: number,
  M: number,
  K: number,
  N: number,
  flags: number,
): void {
  const transA = (flags & MatmulFlags.TRANS_A) !== 0, transB = (flags & MatmulFlags.TRANS_B) !== 0;
  const accumulate = (flags & MatmulFlags.ACCUMULATE) !== 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bias ? f[bias + j]! : 0;
      for (let k = 0; k < K; k++) {
        const av = transA ? f[a + k * M + i]! : f[a + i * K + k]!;
        const bv = transB ? f[b + j * K + k]! : f[b + k * N + j]!;
        s += av * bv;
      }
      f[out + i * N + j] = accumulate ? f[out + i * N + j]! + s : s;
    }
  }
}

export function layerNormForward(
  f: Floats,
  out: number,
  mean: number,
  rstd: number,
  inp: number,
  weight: number,
  bias: number,
  rows: number,
  C: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const x = inp + r * C, y = out + r * C;
    let m = 0;
    for (let i = 0; i < C; i++) m += f[x + i]!;
    m /= C;
    let v = 0;
    for (let i = 0; i < C; i++) v += (f[x + i]! - m) ** 2;
    v /= C;
    const rs = 1 / Math.sqrt(v + eps);
    for (let i = 0; i < C; i++) f[y + i] = (f[x + i]! - m) * rs * f[weight + i]! + f[bias + i]!;
    f[mean + r] = m;
    f[rstd + r] = rs;
  }
}

export function layerNormBackward(
  f: Floats,
  dinp: number,
  dweight: number,
  dbias: number,
  dout: number,
  inp: number,
  weight: number,
  mean: number,
  rstd: number,
  rows: number,
  C: number,
): void {
  for (let r = 0; r < rows; r++) {
    const x = inp + r * C, dy = dout + r * C, dx = dinp + r * C;
    const m = f[mean + r]!, rs = f[rstd + r]!;
    let dnormMean = 0, dnormNormMean = 0;
    for (let i = 0; i < C; i++) {
      const norm = (f[x + i]! - m) * rs;
      const dnorm = f[weight + i]! * f[dy + i]!;
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= C;
    dnormNormMean /= C;
    for (let i = 0; i < C; i++) {
      const norm = (f[x + i]! - m) * rs;
      const dnorm = f[weight + i]! * f[dy + i]!;
      if (dbias >= 0) f[dbias + i]! += f[dy + i]!;
      if (dweight >= 0) f[dweight + i]! += norm * f[dy + i]!;
      f[dx + i]! += (dnorm - dnormMean - norm * dnormNormMean) * rs;
    }
  }
}

const TANH_C = Math.sqrt(2 / Math.PI);

export function geluForward(f: Floats, out: number, inp: number, n: number, kind: "erf" | "tanh"): void {
  for (let i = 0; i < n; i++) {
    const x = f[inp + i]!;
    f[out + i] = kind === "erf"
      ? 0.5 * x * (1 + erfReference(x / Math.SQRT2))
      : 0.5 * x * (1 + Math.tanh(TANH_C * (x + 0.044715 * x ** 3)));
  }
}

export function geluBackward(
  f: Floats,
  dinp: number,
  inp: number,
  dout: number,
  n: number,
  kind: "erf" | "tanh",
): void {
  for (let i = 0; i < n; i++) {
    const x = f[inp + i]!;
    let g: number;
    if (kind === "erf") {
      g = 0.5 * (1 + erfReference(x / Math.SQRT2)) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    } else {
      const t = Math.tanh(TANH_C * (x + 0.044715 * x ** 3));
      g = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * TANH_C * (1 + 3 * 0.044715 * x * x);
    }
    f[dinp + i]! += g * f[dout + i]!;
  }
}

export function tanhForward(f: Floats, out: number, inp: number, n: number): void {
  for (let i = 0; i < n; i++) f[out + i] = Math.tanh(f[inp + i]!);
}

export function tanhBackward(f: Floats, dinp: number, out: number, dout: number, n: number): void {
  for (let i = 0; i < n; i++) f[dinp + i]! += (1 - f[out + i]! ** 2) * f[dout + i]!;
}

export function reluForward(f: Floats, out: number, inp: number, n: number): void {
  for (let i = 0; i < n; i++) f[out + i] = Math.max(f[inp + i]!, 0);
}

export function reluBackward(f: Floats, dinp: number, inp: number, dout: number, n: number): void {
  for (let i = 0; i < n; i++) if (f[inp + i]! > 0) f[dinp + i]! += f[dout + i]!;
}

export function softmaxRows(f: Floats, x: number, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const p = x + r * cols;
    let m = -Infinity;
    for (let i = 0; i < cols; i++) m = Math.max(m, f[p + i]!);
    const e: number[] = [];
    let s = 0;
    for (let i = 0; i < cols; i++) {
      e.push(Math.exp(f[p + i]! - m));
      s += e[i]!;
    }
    for (let i = 0; i < cols; i++) f[p + i] = e[i]! / s;
  }
}

/** The kv head query head h reads: ints[kvHead + h], or ⌊h / (H / Hkv)⌋ when `kvHead` is 0. */
function kvHeadOf(ints: Int32Array, kvHead: number, h: number, H: number, Hkv: number): number {
  return kvHead ? ints[kvHead + h]! : Math.floor(h / (H / Hkv));
}

export function attentionForward(
  f: Floats,
  ints: Int32Array,
  ctx: number,
  probs: number,
  q: number,
  k: number,
  v: number,
  ldq: number,
  ldkv: number,
  keyMask: number,
  headMask: number,
  kvHead: number,
  B: number,
  T: number,
  past: number,
  H: number,
  Hkv: number,
  D: number,
  scale: number,
  causal: boolean,
  window: number,
): void {
  // the T queries are positions past … past + T − 1; each row has Tk = past + T keys
  const Tk = past + T;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const m = headMask ? f[headMask + h]! : 1;
      const g = kvHeadOf(ints, kvHead, h, H, Hkv);
      for (let i = 0; i < T; i++) {
        const allowed: boolean[] = [];
        const scores: number[] = [];
        for (let j = 0; j < Tk; j++) {
          allowed.push(
            (!keyMask || f[keyMask + b * Tk + j] !== 0) && (!causal || j <= past + i) &&
              (window <= 0 || j > past + i - window),
          );
          let s = 0;
          for (let d = 0; d < D; d++) {
            s += f[q + (b * T + i) * ldq + h * D + d]! * f[k + (b * Tk + j) * ldkv + g * D + d]!;
          }
          scores.push(scale * s);
        }
        const p = new Array<number>(Tk).fill(0);
        if (!allowed.includes(true)) {
          p.fill(1 / Tk);
        } else {
          let mx = -Infinity;
          for (let j = 0; j < Tk; j++) if (allowed[j]) mx = Math.max(mx, scores[j]!);
          let sum = 0;
          for (let j = 0; j < Tk; j++) if (allowed[j]) sum += p[j] = Math.exp(scores[j]! - mx);
          for (let j = 0; j < Tk; j++) p[j]! /= sum;
        }
        if (probs) { for (let j = 0; j < Tk; j++) f[probs + ((b * H + h) * T + i) * Tk + j] = p[j]!; }
        for (let d = 0; d < D; d++) {
          let s = 0;
          for (let j = 0; j < Tk; j++) s += m * p[j]! * f[v + (b * Tk + j) * ldkv + g * D + d]!;
          f[ctx + (b * T + i) * H * D + h * D + d] = s;
        }
      }
    }
  }
}

export function attentionBackward(
  f: Floats,
  ints: Int32Array,
  dq: number,
  dk: number,
  dv: number,
  dheadMask: number,
  dctx: number,
  probs: number,
  q: number,
  k: number,
  v: number,
  ldq: number,
  ldkv: number,
  headMask: number,
  kvHead: number,
  B: number,
  T: number,
  H: number,
  Hkv: number,
  D: number,
  scale: number,
): void {
  // q, dq rows at stride ldq (query head h); k, v, dk, dv rows at stride ldkv (kv head g)
  const atQ = (base: number, b: number, t: number, h: number, d: number) => base + (b * T + t) * ldq + h * D + d;
  const atKV = (base: number, b: number, t: number, g: number, d: number) => base + (b * T + t) * ldkv + g * D + d;
  for (let h = 0; h < H; h++) {
    const m = headMask ? f[headMask + h]! : 1;
    const g = kvHeadOf(ints, kvHead, h, H, Hkv);
    let dm = 0;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < T; i++) {
        const P = (j: number) => f[probs + ((b * H + h) * T + i) * T + j]!;
        // dP'[j] = dctx_i · v_j  (P' = m·P is what multiplies v).
        const dPp: number[] = [];
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += f[dctx + (b * T + i) * H * D + h * D + d]! * f[atKV(v, b, j, g, d)]!;
          dPp.push(s);
          dm += s * P(j);
          for (let d = 0; d < D; d++) f[atKV(dv, b, j, g, d)]! += m * P(j) * f[dctx + (b * T + i) * H * D + h * D + d]!;
        }
        // softmax backward: dS[j] = P[j]·(dP[j] − Σ_l P[l]·dP[l]) with dP = m·dP'.
        let dot = 0;
        for (let j = 0; j < T; j++) dot += P(j) * m * dPp[j]!;
        for (let j = 0; j < T; j++) {
          const dS = P(j) * (m * dPp[j]! - dot) * scale;
          for (let d = 0; d < D; d++) {
            f[atQ(dq, b, i, h, d)]! += dS * f[atKV(k, b, j, g, d)]!;
            f[atKV(dk, b, j, g, d)]! += dS * f[atQ(q, b, i, h, d)]!;
          }
        }
      }
    }
    if (dheadMask) f[dheadMask + h]! += dm;
  }
}

export function crossEntropyForward(
  f: Floats,
  ints: Int32Array,
  losses: number,
  probs: number,
  logits: number,
  targets: number,
  rows: number,
  V: number,
): void {
  for (let r = 0; r < rows; r++) {
    const x = logits + r * V;
    let m = -Infinity;
    for (let i = 0; i < V; i++) m = Math.max(m, f[x + i]!);
    let s = 0;
    for (let i = 0; i < V; i++) s += Math.exp(f[x + i]! - m);
    const t = ints[targets + r]!;
    const loss = t >= 0 ? Math.log(s) - (f[x + t]! - m) : 0;
    for (let i = 0; i < V; i++) f[probs + r * V + i] = Math.exp(f[x + i]! - m) / s;
    f[losses + r] = loss;
  }
}

export function crossEntropyBackward(
  f: Floats,
  ints: Int32Array,
  dlogits: number,
  probs: number,
  targets: number,
  rows: number,
  V: number,
  scale: number,
): void {
  for (let r = 0; r < rows; r++) {
    const t = ints[targets + r]!;
    if (t < 0) continue;
    for (let i = 0; i < V; i++) f[dlogits + r * V + i]! += scale * (f[probs + r * V + i]! - (i === t ? 1 : 0));
  }
}

export function embeddingForward(
  f: Floats,
  ints: Int32Array,
  out: number,
  table: number,
  ids: number,
  rows: number,
  C: number,
): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) f[out + r * C + c] = f[table + ints[ids + r]! * C + c]!;
  }
}

export function embeddingBackward(
  f: Floats,
  ints: Int32Array,
  dtable: number,
  dout: number,
  ids: number,
  rows: number,
  C: number,
): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) f[dtable + ints[ids + r]! * C + c]! += f[dout + r * C + c]!;
  }
}

export function adamw(
  f: Floats,
  param: number,
  grad: number,
  m: number,
  v: number,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
): void {
  const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
  for (let i = 0; i < n; i++) {
    const g = f[grad + i]!;
    let p = f[param + i]!;
    p -= lr * weightDecay * p;
    const mm = beta1 * f[m + i]! + (1 - beta1) * g;
    const vv = beta2 * f[v + i]! + (1 - beta2) * g * g;
    p -= lr * (mm / bc1) / (Math.sqrt(vv / bc2) + eps);
    f[m + i] = mm;
    f[v + i] = vv;
    f[param + i] = p;
  }
}

export function sumSquares(f: Floats, x: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += f[x + i]! * f[x + i]!;
  return s;
}

/** lowbias32: a 32-bit integer hash (the mixer of the dropout RNG). */
function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Dropout forward: see `Kernels.dropoutForward` for the RNG. */
export function dropoutForward(
  f: Floats,
  out: number,
  mask: number,
  inp: number,
  n: number,
  p: number,
  seed: number,
): void {
  const key = mix32(seed >>> 0);
  const scale = Math.fround(1 / (1 - p));
  const threshold = Math.ceil(p * 16777216);
  for (let i = 0; i < n; i++) {
    const h = mix32((mix32((i ^ key) >>> 0) + key) >>> 0);
    const m = h >>> 8 >= threshold ? scale : 0;
    f[mask + i] = m;
    f[out + i] = f[inp + i]! * m;
  }
}

/** Dropout backward: dinp += dout · mask. */
export function dropoutBackward(f: Floats, dinp: number, mask: number, dout: number, n: number): void {
  for (let i = 0; i < n; i++) f[dinp + i]! += Math.fround(f[dout + i]! * f[mask + i]!); // the f32 product, as SIMD
}

/** Attention entropy per head, accumulated into out[h] (f64 sums). `queryMask` -1 = all queries. */
export function attentionEntropy(
  f: Floats,
  out: number,
  probs: number,
  queryMask: number,
  B: number,
  H: number,
  T: number,
): void {
  for (let h = 0; h < H; h++) {
    let acc = 0;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < T; i++) {
        if (queryMask >= 0 && f[queryMask + b * T + i] === 0) continue;
        const row = probs + ((b * H + h) * T + i) * T;
        let e = 0;
        for (let j = 0; j < T; j++) {
          const p = f[row + j]!;
          if (p > 0) e -= p * Math.log(p);
        }
        acc += e;
      }
    }
    f[out + h] = f[out + h]! + acc;
  }
}

/** `iterations` steps of acc_k ← a·b + acc_k (a = 0.5, b = 0) on 12 × 4 lanes started at k/16; Σ lanes (16.5). */
export function fmaPeak(iterations: number): number {
  const acc = Array.from({ length: 12 }, (_, k) => Math.fround(k / 16));
  for (let i = 0; i < iterations; i++) {
    for (let k = 0; k < 12; k++) acc[k] = Math.fround(acc[k]! + Math.fround(0.5 * 0));
  }
  return 4 * acc.reduce((x, y) => x + y, 0);
}

/** 16-bit floats at `h[inp..inp+n)` (IEEE half, or bfloat16 when `bfloat`), widened into `f[out..out+n)`. */
export function halfToFloat(f: Floats, h: Uint16Array, out: number, inp: number, n: number, bfloat: boolean): void {
  const bits = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < n; i++) {
    const x = h[inp + i]!;
    if (bfloat) {
      bits.setUint32(0, x << 16);
      f[out + i] = bits.getFloat32(0);
      continue;
    }
    const sign = x & 0x8000 ? -1 : 1;
    const exp = (x >>> 10) & 0x1f, mant = x & 0x3ff;
    f[out + i] = exp === 0
      ? sign * mant * 2 ** -24
      : exp === 0x1f
      ? (mant === 0 ? sign * Infinity : NaN)
      : sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
}

/** RMSNorm rows: out = x·rstd·(offset + weight), rstd = 1/√(mean(x²) + eps); saves rstd. */
export function rmsNormForward(
  f: Floats,
  out: number,
  rstd: number,
  inp: number,
  weight: number,
  rows: number,
  C: number,
  eps: number,
  offset: number,
): void {
  for (let r = 0; r < rows; r++) {
    const x = inp + r * C, y = out + r * C;
    let ss = 0;
    for (let i = 0; i < C; i++) ss += f[x + i]! ** 2;
    const rs = 1 / Math.sqrt(ss / C + eps);
    for (let i = 0; i < C; i++) f[y + i] = f[x + i]! * rs * (offset + f[weight + i]!);
    f[rstd + r] = rs;
  }
}

/** Backward of {@linkcode rmsNormForward}; `dweight` −1: not wanted. */
export function rmsNormBackward(
  f: Floats,
  dinp: number,
  dweight: number,
  dout: number,
  inp: number,
  weight: number,
  rstd: number,
  rows: number,
  C: number,
  offset: number,
): void {
  for (let r = 0; r < rows; r++) {
    const x = inp + r * C, dy = dout + r * C, dx = dinp + r * C;
    const rs = f[rstd + r]!;
    let m = 0;
    for (let i = 0; i < C; i++) m += (offset + f[weight + i]!) * f[dy + i]! * f[x + i]! * rs;
    m /= C;
    for (let i = 0; i < C; i++) {
      const norm = f[x + i]! * rs, g = (offset + f[weight + i]!) * f[dy + i]!;
      if (dweight >= 0) f[dweight + i]! += norm * f[dy + i]!;
      f[dx + i]! += (g - norm * m) * rs;
    }
  }
}

export function siluForward(f: Floats, out: number, inp: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = f[inp + i]!;
    f[out + i] = x / (1 + Math.exp(-x));
  }
}

export function siluBackward(f: Floats, dinp: number, inp: number, dout: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = f[inp + i]!, s = 1 / (1 + Math.exp(-x));
    f[dinp + i]! += s * (1 + x * (1 - s)) * f[dout + i]!;
  }
}

export function mulForward(f: Floats, out: number, a: number, b: number, n: number): void {
  for (let i = 0; i < n; i++) f[out + i] = f[a + i]! * f[b + i]!;
}

/** da += dout ⊙ b, db += dout ⊙ a; −1: not wanted. */
export function mulBackward(f: Floats, da: number, db: number, dout: number, a: number, b: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = f[dout + i]!, av = f[a + i]!, bv = f[b + i]!;
    if (da >= 0) f[da + i]! += g * bv;
    if (db >= 0) f[db + i]! += g * av;
  }
}

/**
 * Rotary inverse frequencies as HF computes them in float32 (`LlamaRotaryEmbedding`, GPT-NeoX's):
 * invFreq_i = f32(1 / f32(theta^f32(f32(2i) / rotaryDim))) for i < rotaryDim/2.
 *
 * @example Usage
 * ```ts
 * import { rotaryInverseFrequencies } from "./_reference_math.ts";
 * rotaryInverseFrequencies(4, 10000); // Float32Array [1, 0.01]
 * ```
 */
export function rotaryInverseFrequencies(rotaryDim: number, theta: number): Float32Array {
  const f32 = Math.fround, half = rotaryDim >> 1;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = f32(1 / f32(Math.pow(f32(theta), f32((2 * i) / rotaryDim))));
  return out;
}

/** The f32 cos and sin of the rotary angles f32(invFreq_i · pos) at one position. */
function rotaryAngles(invFreq: Float32Array, pos: number): { cos: number[]; sin: number[] } {
  const cos: number[] = [], sin: number[] = [];
  for (const w of invFreq) {
    const angle = Math.fround(w * Math.fround(pos));
    cos.push(Math.fround(Math.cos(angle)));
    sin.push(Math.fround(Math.sin(angle)));
  }
  return { cos, sin };
}

/** Rotary embedding of rows with input stride `ld` into dense rows of H·D (see `Kernels.rotaryForward`). */
export function rotaryForward(
  f: Floats,
  ints: Int32Array,
  out: number,
  inp: number,
  positions: number,
  rows: number,
  ld: number,
  H: number,
  D: number,
  rotaryDim: number,
  theta: number,
): void {
  const half = rotaryDim >> 1, invFreq = rotaryInverseFrequencies(rotaryDim, theta);
  for (let r = 0; r < rows; r++) {
    const { cos, sin } = rotaryAngles(invFreq, ints[positions + r]!);
    for (let h = 0; h < H; h++) {
      const x = inp + r * ld + h * D, y = out + r * H * D + h * D;
      const head = Array.from({ length: D }, (_, j) => f[x + j]!);
      for (let i = 0; i < half; i++) {
        const a = head[i]!, b = head[i + half]!;
        f[y + i] = a * cos[i]! - b * sin[i]!;
        f[y + i + half] = b * cos[i]! + a * sin[i]!;
      }
      for (let j = rotaryDim; j < D; j++) f[y + j] = head[j]!;
    }
  }
}

/** dinp (stride `ld`) += the inverse rotation of dout (dense rows of H·D). */
export function rotaryBackward(
  f: Floats,
  ints: Int32Array,
  dinp: number,
  dout: number,
  positions: number,
  rows: number,
  ld: number,
  H: number,
  D: number,
  rotaryDim: number,
  theta: number,
): void {
  const half = rotaryDim >> 1, invFreq = rotaryInverseFrequencies(rotaryDim, theta);
  for (let r = 0; r < rows; r++) {
    const { cos, sin } = rotaryAngles(invFreq, ints[positions + r]!);
    for (let h = 0; h < H; h++) {
      const dx = dinp + r * ld + h * D, dy = dout + r * H * D + h * D;
      for (let i = 0; i < half; i++) {
        const a = f[dy + i]!, b = f[dy + i + half]!;
        f[dx + i]! += a * cos[i]! + b * sin[i]!;
        f[dx + i + half]! += b * cos[i]! - a * sin[i]!;
      }
      for (let j = rotaryDim; j < D; j++) f[dx + j]! += f[dy + j]!;
    }
  }
}
