// Matmul: out[M, N] = op(A)[M, K] · op(B)[K, N] + bias[N] (or += with ACCUMULATE).
//
// GotoBLAS-style: for each KC-deep slice of K and MC-tall block of rows, A is packed into MR-row panels
// ([kk][MR] interleaved) and B into NR-wide panels ([kk][NR]), so a single MR×NR register-blocked micro-kernel
// serves all four TRANS_A/TRANS_B combinations. Panels are zero-padded at the M/N edges; edge tiles go through a
// small tile buffer. All scratch is passed in by the caller (MATMUL_SCRATCH_BYTES).
//
// Tuning (x86-64 V8, 16 xmm registers): the 6×8 micro-kernel keeps 12 accumulators + 2 B vectors + 1 A splat in
// registers (8 loads per 12 FMAs, enough independent chains to cover FMA latency); KC = 768 makes BERT's K = 768
// a single slice, so C is written once (K = 3072: 4 passes). Panels with ≤ 2 valid rows (M = 128 = 21·6 + 2) use a
// 2-row kernel instead of padding to 6. `gemm` is the strided form (lda/ldb/ldc, alpha) used by attention.
//
// nn.Linear fast path (TRANS_B, plain A, M ≥ 8, N ≥ 6; the M % 8 rows and N % 6 columns at the edges go through the
// packed path, so pruned projections — N or K = kept heads · d_head — and any B·T stay on it): the roles swap so the big weight needs no packing — outᵀ tiles of 6 weight rows × 8 tokens broadcast the weight
// straight from its rows, only x (M×K, small) is packed, and each 6×8 tile is stored transposed. Packing the
// weight cost ≈ 5–10% of these matmuls. (The same trick for plain B — backward's dy·W — was slower: its 6 values
// per k sit in rows 3–12 KB apart, which thrash L1 sets.)

import { madd, transpose4Store } from "./simd";
import { ACCUMULATE, TRANS_A, TRANS_B } from "./_contract"; // generated from core/kernels/contract.ts

const MR: i32 = 6;
const NR: i32 = 8;
const KC: i32 = 768;
const MC: i32 = 132;
const NC: i32 = 1536;

const AP_BYTES: usize = <usize>(MC * KC) << 2;
const BP_BYTES: usize = <usize>(KC * NC) << 2;

/** Bytes of scratch `matmul_forward` / `gemm` need (independent of the sizes): packed A block, B block, tile. */
export const MATMUL_SCRATCH_BYTES: i32 = (MC * KC + KC * NC + MR * NR) << 2;

/** Bytes of scratch `matmul_forward` needs (independent of the sizes). */
export function matmul_scratch_bytes(): i32 {
  return MATMUL_SCRATCH_BYTES;
}

/**
 * Packs rows [m0, m0+mc) × k [k0, k0+kc) of op(A) (row stride lda floats as stored) into MR-row panels:
 * panel t at dst + t·kc·MR·4, [kk][MR]. Values are multiplied by alpha when alpha ≠ 1.
 */
function packA(dst: usize, a: usize, m0: i32, mc: i32, k0: i32, kc: i32, lda: i32, transA: bool, alpha: f32): void {
  const pstride: usize = <usize>MR << 2;
  for (let t = 0; t < mc; t += MR) {
    const rows = min(MR, mc - t);
    const panel = dst + (<usize>t * <usize>kc << 2);
    const i0 = m0 + t;
    if (transA) {
      // A stored [K, M]: the MR rows at one k are contiguous.
      let src = a + ((<usize>k0 * <usize>lda + <usize>i0) << 2);
      const step = <usize>lda << 2;
      if (rows == MR) {
        for (let kk = 0; kk < kc; kk++) {
          const p = panel + <usize>kk * pstride;
          v128.store(p, v128.load(src));
          store<u64>(p, load<u64>(src, 16), 16);
          src += step;
        }
      } else {
        for (let kk = 0; kk < kc; kk++) {
          const p = panel + <usize>kk * pstride;
          for (let r = 0; r < MR; r++) {
            store<f32>(p + (<usize>r << 2), r < rows ? load<f32>(src + (<usize>r << 2)) : 0);
          }
          src += step;
        }
      }
    } else {
      // A stored [M, K]: transpose 4×4 blocks for rows 0–3, interleave rows 4–5.
      const row0 = a + ((<usize>i0 * <usize>lda + <usize>k0) << 2);
      const ld = <usize>lda << 2;
      let kk = 0;
      if (rows == MR) {
        for (; kk + 4 <= kc; kk += 4) {
          const o = <usize>kk << 2;
          const p = panel + <usize>kk * pstride;
          transpose4Store(p, pstride,
            v128.load(row0 + o), v128.load(row0 + ld + o), v128.load(row0 + 2 * ld + o), v128.load(row0 + 3 * ld + o));
          const r4 = v128.load(row0 + 4 * ld + o), r5 = v128.load(row0 + 5 * ld + o);
          const lo = i32x4.shuffle(r4, r5, 0, 4, 1, 5);
          const hi = i32x4.shuffle(r4, r5, 2, 6, 3, 7);
          store<i64>(p, i64x2.extract_lane(lo, 0), 16);
          store<i64>(p + pstride, i64x2.extract_lane(lo, 1), 16);
          store<i64>(p + 2 * pstride, i64x2.extract_lane(hi, 0), 16);
          store<i64>(p + 3 * pstride, i64x2.extract_lane(hi, 1), 16);
        }
      }
      for (; kk < kc; kk++) {
        const p = panel + <usize>kk * pstride;
        for (let r = 0; r < MR; r++) {
          store<f32>(p + (<usize>r << 2), r < rows ? load<f32>(row0 + <usize>r * ld + (<usize>kk << 2)) : 0);
        }
      }
    }
  }
  if (alpha != 1) {
    const end = dst + ((<usize>((mc + MR - 1) / MR * MR) * <usize>kc) << 2);
    const va = f32x4.splat(alpha);
    for (let p = dst; p < end; p += 16) v128.store(p, f32x4.mul(v128.load(p), va));
  }
}

/** Packs columns [n0, n0+nr) × k [k0, k0+kc) of op(B) into one NR-wide panel [kk][NR], zero-padded. */
function packB(dst: usize, b: usize, n0: i32, nr: i32, k0: i32, kc: i32, ldb: i32, transB: bool): void {
  if (transB) {
    // B stored [N, K]: column j of op(B) is row j of B; transpose 4×4 blocks.
    const ld = <usize>ldb << 2;
    const base = b + ((<usize>n0 * <usize>ldb + <usize>k0) << 2);
    let kk = 0;
    if (nr == NR) {
      for (; kk + 4 <= kc; kk += 4) {
        const o = <usize>kk << 2;
        const p = dst + (<usize>kk << 5);
        transpose4Store(p, 32,
          v128.load(base + o), v128.load(base + ld + o), v128.load(base + 2 * ld + o), v128.load(base + 3 * ld + o));
        const b4 = base + 4 * ld;
        transpose4Store(p + 16, 32,
          v128.load(b4 + o), v128.load(b4 + ld + o), v128.load(b4 + 2 * ld + o), v128.load(b4 + 3 * ld + o));
      }
    }
    for (; kk < kc; kk++) {
      const p = dst + (<usize>kk << 5);
      for (let c = 0; c < NR; c++) {
        store<f32>(p + (<usize>c << 2), c < nr ? load<f32>(base + <usize>c * ld + (<usize>kk << 2)) : 0);
      }
    }
  } else {
    // B stored [K, N]: each k row of the panel is contiguous.
    let src = b + ((<usize>k0 * <usize>ldb + <usize>n0) << 2);
    const step = <usize>ldb << 2;
    if (nr == NR) {
      for (let kk = 0; kk < kc; kk++) {
        const p = dst + (<usize>kk << 5);
        v128.store(p, v128.load(src));
        v128.store(p, v128.load(src, 16), 16);
        src += step;
      }
    } else {
      for (let kk = 0; kk < kc; kk++) {
        const p = dst + (<usize>kk << 5);
        for (let c = 0; c < NR; c++) {
          store<f32>(p + (<usize>c << 2), c < nr ? load<f32>(src + (<usize>c << 2)) : 0);
        }
        src += step;
      }
    }
  }
}

// @ts-ignore: decorator
@inline function storeRow(c: usize, v0: v128, v1: v128, addC: bool, bias: usize): void {
  let r0 = v0, r1 = v1;
  if (addC) {
    r0 = f32x4.add(r0, v128.load(c));
    r1 = f32x4.add(r1, v128.load(c, 16));
  }
  if (bias) {
    r0 = f32x4.add(r0, v128.load(bias));
    r1 = f32x4.add(r1, v128.load(bias, 16));
  }
  v128.store(c, r0);
  v128.store(c, r1, 16);
}

/** Writes (or adds into) the mr×nr valid part of a row-major MR×NR tile (rows of NR floats) to C at c. */
function storeTile(tile: usize, c: usize, ldc: usize, mr: i32, nr: i32, addC: bool, bias: usize): void {
  for (let r = 0; r < mr; r++) {
    const crow = c + <usize>r * ldc;
    const trow = tile + (<usize>r << 5);
    for (let j = 0; j < nr; j++) {
      const o = <usize>j << 2;
      let v = load<f32>(trow + o);
      if (addC) v += load<f32>(crow + o);
      if (bias) v += load<f32>(bias + o);
      store<f32>(crow + o, v);
    }
  }
}

/**
 * Edge micro-kernel for panels with mr ≤ 2 valid rows (M mod 6 = 1 or 2, e.g. 128 tokens): only rows 0–1 of the
 * packed panel are read, k unrolled by 2 into separate accumulators, so the edge costs ≈ 1/3 of a full tile.
 */
function micro2(pa: usize, pb: usize, kc: i32, c: usize, ldc: usize, mr: i32, nr: i32, addC: bool, bias: usize, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let d00 = f32x4.splat(0), d01 = f32x4.splat(0), d10 = f32x4.splat(0), d11 = f32x4.splat(0);
  let k = 0;
  for (; k + 2 <= kc; k += 2) {
    let b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    b0 = v128.load(pb, 32); b1 = v128.load(pb, 48);
    a = v128.load32_splat(pa, 24);
    d00 = madd(a, b0, d00); d01 = madd(a, b1, d01);
    a = v128.load32_splat(pa, 28);
    d10 = madd(a, b0, d10); d11 = madd(a, b1, d11);
    pa += 48;
    pb += 64;
  }
  if (k < kc) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
  }
  v128.store(tile, f32x4.add(c00, d00)); v128.store(tile, f32x4.add(c01, d01), 16);
  v128.store(tile, f32x4.add(c10, d10), 32); v128.store(tile, f32x4.add(c11, d11), 48);
  storeTile(tile, c, ldc, mr, nr, addC, bias);
}

/** MR×NR (6×8) micro-kernel over kc steps of packed panels; writes (or adds into) the mr×nr valid part of C at c. */
function micro(pa: usize, pb: usize, kc: i32, c: usize, ldc: usize, mr: i32, nr: i32, addC: bool, bias: usize, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    a = v128.load32_splat(pa, 16);
    c40 = madd(a, b0, c40); c41 = madd(a, b1, c41);
    a = v128.load32_splat(pa, 20);
    c50 = madd(a, b0, c50); c51 = madd(a, b1, c51);
    pa += 24;
    pb += 32;
  }
  if (mr == MR && nr == NR) {
    storeRow(c, c00, c01, addC, bias);
    storeRow(c + ldc, c10, c11, addC, bias);
    storeRow(c + 2 * ldc, c20, c21, addC, bias);
    storeRow(c + 3 * ldc, c30, c31, addC, bias);
    storeRow(c + 4 * ldc, c40, c41, addC, bias);
    storeRow(c + 5 * ldc, c50, c51, addC, bias);
    return;
  }
  v128.store(tile, c00); v128.store(tile, c01, 16);
  v128.store(tile, c10, 32); v128.store(tile, c11, 48);
  v128.store(tile, c20, 64); v128.store(tile, c21, 80);
  v128.store(tile, c30, 96); v128.store(tile, c31, 112);
  v128.store(tile, c40, 128); v128.store(tile, c41, 144);
  v128.store(tile, c50, 160); v128.store(tile, c51, 176);
  storeTile(tile, c, ldc, mr, nr, addC, bias);
}

/**
 * TRANS_B fast path (nn.Linear: out = x·Wᵀ, W stored [N, K]), for M % 8 == 0 and N % 6 == 0: computes the
 * transposed tile outᵀ[6 n, 8 m] with W as the broadcast operand read straight from its rows (no packing of the
 * large weight), x packed as 8-row panels of op(B) form [kk][8] (small), then stores the tile transposed.
 */
function microTB(w: usize, ldw: usize, px: usize, kc: i32, c: usize, ldc: usize, addC: bool, bias: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  const w1 = w + ldw, w2 = w + 2 * ldw, w3 = w + 3 * ldw, w4 = w + 4 * ldw, w5 = w + 5 * ldw;
  const end = (<usize>kc) << 2;
  for (let o: usize = 0; o < end; o += 4) {
    const b0 = v128.load(px);
    const b1 = v128.load(px, 16);
    let a = v128.load32_splat(w + o);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(w1 + o);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(w2 + o);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(w3 + o);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    a = v128.load32_splat(w4 + o);
    c40 = madd(a, b0, c40); c41 = madd(a, b1, c41);
    a = v128.load32_splat(w5 + o);
    c50 = madd(a, b0, c50); c51 = madd(a, b1, c51);
    px += 32;
  }
  // c{r}{h}[l] = out[m = 4h + l, n = r]: transpose the 4×4 blocks of n 0–3, scatter n 4–5.
  storeCols(c, ldc, c00, c10, c20, c30, c40, c50, addC, bias);
  storeCols(c + 4 * ldc, ldc, c01, c11, c21, c31, c41, c51, addC, bias);
}

/** out[m, 0..6) for m = 0..3 from column vectors v_r[m] = out[m, r] (r < 6), plus C (addC) and bias[0..6). */
// @ts-ignore: decorator
@inline function storeCols(c: usize, ldc: usize, v0: v128, v1: v128, v2: v128, v3: v128, v4: v128, v5: v128, addC: bool, bias: usize): void {
  const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
  const t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
  let r0 = i32x4.shuffle(t0, t1, 0, 1, 4, 5);
  let r1 = i32x4.shuffle(t0, t1, 2, 3, 6, 7);
  let r2 = i32x4.shuffle(t2, t3, 0, 1, 4, 5);
  let r3 = i32x4.shuffle(t2, t3, 2, 3, 6, 7);
  const lo = i32x4.shuffle(v4, v5, 0, 4, 1, 5); // (m0: n4, n5), (m1: n4, n5)
  const hi = i32x4.shuffle(v4, v5, 2, 6, 3, 7); // (m2: n4, n5), (m3: n4, n5)
  let e0 = i64x2.extract_lane(lo, 0), e1 = i64x2.extract_lane(lo, 1);
  let e2 = i64x2.extract_lane(hi, 0), e3 = i64x2.extract_lane(hi, 1);
  if (addC) {
    r0 = f32x4.add(r0, v128.load(c));
    r1 = f32x4.add(r1, v128.load(c + ldc));
    r2 = f32x4.add(r2, v128.load(c + 2 * ldc));
    r3 = f32x4.add(r3, v128.load(c + 3 * ldc));
  }
  if (bias) {
    const b = v128.load(bias);
    r0 = f32x4.add(r0, b); r1 = f32x4.add(r1, b); r2 = f32x4.add(r2, b); r3 = f32x4.add(r3, b);
  }
  v128.store(c, r0);
  v128.store(c + ldc, r1);
  v128.store(c + 2 * ldc, r2);
  v128.store(c + 3 * ldc, r3);
  if (addC || bias) {
    const pairs = i64x2.replace_lane(i64x2.splat(e0), 1, e1);
    const pairs2 = i64x2.replace_lane(i64x2.splat(e2), 1, e3);
    let x01 = pairs, x23 = pairs2; // lanes: (m0 n4, m0 n5, m1 n4, m1 n5), (m2 ..., m3 ...)
    if (addC) {
      x01 = f32x4.add(x01, i64x2.replace_lane(i64x2.splat(load<i64>(c, 16)), 1, load<i64>(c + ldc, 16)));
      x23 = f32x4.add(x23, i64x2.replace_lane(i64x2.splat(load<i64>(c + 2 * ldc, 16)), 1, load<i64>(c + 3 * ldc, 16)));
    }
    if (bias) {
      const b45 = i64x2.splat(load<i64>(bias, 16));
      x01 = f32x4.add(x01, b45);
      x23 = f32x4.add(x23, b45);
    }
    e0 = i64x2.extract_lane(x01, 0); e1 = i64x2.extract_lane(x01, 1);
    e2 = i64x2.extract_lane(x23, 0); e3 = i64x2.extract_lane(x23, 1);
  }
  store<i64>(c, e0, 16);
  store<i64>(c + ldc, e1, 16);
  store<i64>(c + 2 * ldc, e2, 16);
  store<i64>(c + 3 * ldc, e3, 16);
}

const MC_TB: i32 = 128;

function gemmTB(out: usize, ldcF: i32, a: usize, lda: i32, w: usize, ldw: i32, bias: usize, M: i32, K: i32, N: i32,
  accumulate: bool, alpha: f32, scratch: usize): void {
  const ldc = <usize>ldcF << 2;
  const ldwB = <usize>ldw << 2;
  const xp = scratch;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const addC = k0 > 0 || accumulate;
    const useBias = k0 == 0 && bias != 0;
    const panelBytes = <usize>(kc * 8) << 2;
    for (let m0 = 0; m0 < M; m0 += MC_TB) {
      const mc = min(MC_TB, M - m0);
      // x rows [m0, m0+mc) as [kk][8] panels (op(B) form with "B" = x stored [M, K]).
      for (let j = 0; j < mc; j += 8) packB(xp + <usize>(j >> 3) * panelBytes, a, m0 + j, 8, k0, kc, lda, true);
      if (alpha != 1) {
        const end = xp + <usize>(mc >> 3) * panelBytes;
        const va = f32x4.splat(alpha);
        for (let p = xp; p < end; p += 16) v128.store(p, f32x4.mul(v128.load(p), va));
      }
      for (let n0 = 0; n0 < N; n0 += 6) {
        const wr = w + <usize>n0 * ldwB + (<usize>k0 << 2);
        const biasN: usize = useBias ? bias + (<usize>n0 << 2) : 0;
        for (let j = 0; j < mc; j += 8) {
          microTB(wr, ldwB, xp + <usize>(j >> 3) * panelBytes, kc, out + <usize>(m0 + j) * ldc + (<usize>n0 << 2), ldc, addC, biasN);
        }
      }
    }
  }
}

export function matmul_forward(out: usize, a: usize, b: usize, bias: usize, M: i32, K: i32, N: i32, flags: i32, scratch: usize): void {
  const transA = (flags & TRANS_A) != 0;
  const transB = (flags & TRANS_B) != 0;
  gemm(out, N, a, transA ? M : K, b, transB ? K : N, bias, M, K, N, flags, 1, scratch);
}

/**
 * Strided matmul: out[M, N] (row stride ldc floats) = alpha · op(A) · op(B) + bias (or += with ACCUMULATE).
 * lda / ldb are the row strides of A and B as stored (so [K, M] rows for TRANS_A, [N, K] rows for TRANS_B).
 * `scratch` holds matmul_scratch_bytes() bytes.
 */
export function gemm(
  out: usize, ldcF: i32, a: usize, lda: i32, b: usize, ldb: i32, bias: usize, M: i32, K: i32, N: i32, flags: i32,
  alpha: f32, scratch: usize,
): void {
  if (M <= 0 || N <= 0) return;
  const accumulate = (flags & ACCUMULATE) != 0;
  const ldc = <usize>ldcF << 2;
  if (K <= 0) {
    for (let i = 0; i < M; i++) {
      const crow = out + <usize>i * ldc;
      for (let j = 0; j < N; j++) {
        const o = <usize>j << 2;
        const v: f32 = bias ? load<f32>(bias + o) : 0;
        store<f32>(crow + o, accumulate ? load<f32>(crow + o) + v : v);
      }
    }
    return;
  }
  if (isLinearFastPath(M, N, flags)) {
    gemmLinear(out, ldcF, a, lda, b, ldb, bias, M, K, N, flags, alpha, scratch, 0, N / 6, true);
    return;
  }
  gemmPacked(out, ldcF, a, lda, b, ldb, bias, M, K, N, flags, alpha, scratch);
}

/**
 * Whether gemm takes the weight-stationary nn.Linear path: plain A, TRANS_B, M ≥ 8, and N a multiple of 6 or at
 * least 96 (the N % 6 edge strip runs packed and padded to 8 columns, which narrow outputs cannot amortise).
 */
// @ts-ignore: decorator
@inline function isLinearFastPath(M: i32, N: i32, flags: i32): bool {
  return (flags & TRANS_B) != 0 && (flags & TRANS_A) == 0 && M >= 8 && N >= 6 && (N % 6 == 0 || N >= 96);
}

/**
 * The nn.Linear path: the [M − M % 8, N − N % 6] block by gemmTB, its 6-column blocks [jb0, jb1) only; with
 * `edges`, also the right strip (N % 6 columns) and the bottom strip (M % 8 rows) by the packed path. So a
 * pruned model's projections (N or K = kept heads · d_head, any M = B·T) keep the weight unpacked.
 */
function gemmLinear(
  out: usize, ldcF: i32, a: usize, lda: i32, w: usize, ldw: i32, bias: usize, M: i32, K: i32, N: i32, flags: i32,
  alpha: f32, scratch: usize, jb0: i32, jb1: i32, edges: bool,
): void {
  const M8 = M & ~7, N6 = N - N % 6;
  const accumulate = (flags & ACCUMULATE) != 0;
  const ldc = <usize>ldcF << 2, ldwB = <usize>ldw << 2;
  if (jb1 > jb0) {
    const j0 = jb0 * 6;
    gemmTB(out + (<usize>j0 << 2), ldcF, a, lda, w + <usize>j0 * ldwB, ldw, bias ? bias + (<usize>j0 << 2) : 0,
      M8, K, (jb1 - jb0) * 6, accumulate, alpha, scratch);
  }
  if (!edges) return;
  if (N6 < N) {
    gemmPacked(out + (<usize>N6 << 2), ldcF, a, lda, w + <usize>N6 * ldwB, ldw, bias ? bias + (<usize>N6 << 2) : 0,
      M8, K, N - N6, flags, alpha, scratch);
  }
  if (M8 < M) {
    gemmPacked(out + <usize>M8 * ldc, ldcF, a + ((<usize>M8 * <usize>lda) << 2), lda, w, ldw, bias, M - M8, K, N,
      flags, alpha, scratch);
  }
}

/**
 * Part `part` of `parts` of matmul_forward, for threads sharing one memory, each with its own `scratch`. The
 * nn.Linear fast path splits the output columns into blocks of 6 (each thread reads only its weight rows), the
 * packed path splits the rows into blocks of MR. Every output tile is computed by the same micro-kernel over the
 * same K slices as with one part, so the union of the parts is bit-identical to matmul_forward.
 */
export function matmul_part(out: usize, a: usize, b: usize, bias: usize, M: i32, K: i32, N: i32, flags: i32,
  scratch: usize, part: i32, parts: i32): void {
  if (parts <= 1 || M <= 0 || N <= 0 || K <= 0) {
    if (part == 0) matmul_forward(out, a, b, bias, M, K, N, flags, scratch);
    return;
  }
  const transA = (flags & TRANS_A) != 0;
  const transB = (flags & TRANS_B) != 0;
  const lda = transA ? M : K;
  const ldb = transB ? K : N;
  if (isLinearFastPath(M, N, flags)) {
    // 6-column blocks split across the parts; the last part also takes the edge strips
    const blocks = N / 6;
    const jb0 = <i32>(<i64>blocks * part / parts), jb1 = <i32>(<i64>blocks * (part + 1) / parts);
    gemmLinear(out, N, a, lda, b, ldb, bias, M, K, N, flags, 1, scratch, jb0, jb1, part == parts - 1);
    return;
  }
  const panels = (M + MR - 1) / MR;
  const r0 = <i32>(<i64>panels * part / parts) * MR;
  const r1 = min(M, <i32>(<i64>panels * (part + 1) / parts) * MR);
  if (r1 <= r0) return;
  const aPart = transA ? a + (<usize>r0 << 2) : a + ((<usize>r0 * <usize>lda) << 2);
  gemmPacked(out + ((<usize>r0 * <usize>N) << 2), N, aPart, lda, b, ldb, bias, r1 - r0, K, N, flags, 1, scratch);
}

/** The packed GotoBLAS path of gemm (any flags, any shape). */
function gemmPacked(
  out: usize, ldcF: i32, a: usize, lda: i32, b: usize, ldb: i32, bias: usize, M: i32, K: i32, N: i32, flags: i32,
  alpha: f32, scratch: usize,
): void {
  const transA = (flags & TRANS_A) != 0;
  const transB = (flags & TRANS_B) != 0;
  const accumulate = (flags & ACCUMULATE) != 0;
  const ldc = <usize>ldcF << 2;
  const ap = scratch;
  const bp = scratch + AP_BYTES;
  const tile = bp + BP_BYTES;
  // Several row blocks (M > MC) use every B panel: the panels of NC columns are then packed once per K slice
  // (not once per row block, which cost ≈ 7 % of a BERT-base backward dx = dy·W), and A once per column block.
  // One row block packs each B panel just before its micro-kernels, while it is in L1.
  const prepacked = M > MC;
  const nc = prepacked ? NC : N;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const addC = k0 > 0 || accumulate;
    const useBias = k0 == 0 && bias != 0;
    const panelBytes = <usize>(kc * NR) << 2;
    for (let j0 = 0; j0 < N; j0 += nc) {
      const j1 = min(N, j0 + nc);
      if (prepacked) {
        for (let n0 = j0; n0 < j1; n0 += NR) {
          packB(bp + <usize>((n0 - j0) / NR) * panelBytes, b, n0, min(NR, N - n0), k0, kc, ldb, transB);
        }
      }
      for (let m0 = 0; m0 < M; m0 += MC) {
        const mc = min(MC, M - m0);
        packA(ap, a, m0, mc, k0, kc, lda, transA, alpha);
        for (let n0 = j0; n0 < j1; n0 += NR) {
          const nr = min(NR, N - n0);
          const pb = prepacked ? bp + <usize>((n0 - j0) / NR) * panelBytes : bp;
          if (!prepacked) packB(bp, b, n0, nr, k0, kc, ldb, transB);
          const biasN: usize = useBias ? bias + (<usize>n0 << 2) : 0;
          for (let i = 0; i < mc; i += MR) {
            const mr = min(MR, mc - i);
            const c = out + <usize>(m0 + i) * ldc + (<usize>n0 << 2);
            const pa = ap + (<usize>i * <usize>kc << 2);
            if (mr <= 2) micro2(pa, pb, kc, c, ldc, mr, nr, addC, biasN, tile);
            else micro(pa, pb, kc, c, ldc, mr, nr, addC, biasN, tile);
          }
        }
      }
    }
  }
}
