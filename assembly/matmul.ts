// Matmul: out[M, N] = op(A)[M, K] · op(B)[K, N] + bias[N] (or += with ACCUMULATE).
//
// GotoBLAS-style: for each KC-deep slice of K and MC-tall block of rows, A is packed into MR-row panels
// ([kk][MR] interleaved) and B into NR-wide panels ([kk][NR]), so a single MR×NR register-blocked micro-kernel
// serves all four TRANS_A/TRANS_B combinations. Panels are zero-padded at the M/N edges; edge tiles go through a
// small tile buffer. All scratch is passed in by the caller (MATMUL_SCRATCH_BYTES).

import { madd, transpose4Store } from "./simd";

const TRANS_A: i32 = 1;
const TRANS_B: i32 = 2;
const ACCUMULATE: i32 = 4;

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 128;

const AP_BYTES: usize = <usize>(MC * KC) << 2;
const BP_BYTES: usize = <usize>(KC * NR) << 2;
const TILE_BYTES: usize = <usize>(MR * NR) << 2;

/** Bytes of scratch `matmul_forward` needs (independent of the sizes). */
export function matmul_scratch_bytes(): i32 {
  return <i32>(AP_BYTES + BP_BYTES + TILE_BYTES);
}

/** Packs rows [m0, m0+mc) × k [k0, k0+kc) of op(A) into MR-row panels: panel t at dst + t·kc·MR·4, [kk][MR]. */
function packA(dst: usize, a: usize, m0: i32, mc: i32, k0: i32, kc: i32, M: i32, K: i32, transA: bool): void {
  for (let t = 0; t < mc; t += MR) {
    const rows = min(MR, mc - t);
    const panel = dst + (<usize>t * <usize>kc << 2);
    const i0 = m0 + t;
    if (transA) {
      // A stored [K, M]: the MR rows at one k are contiguous.
      let src = a + ((<usize>k0 * <usize>M + <usize>i0) << 2);
      const step = <usize>M << 2;
      if (rows == MR) {
        for (let kk = 0; kk < kc; kk++) {
          v128.store(panel + (<usize>kk << 4), v128.load(src));
          src += step;
        }
      } else {
        for (let kk = 0; kk < kc; kk++) {
          const p = panel + (<usize>kk << 4);
          for (let r = 0; r < MR; r++) {
            store<f32>(p + (<usize>r << 2), r < rows ? load<f32>(src + (<usize>r << 2)) : 0);
          }
          src += step;
        }
      }
    } else {
      // A stored [M, K]: transpose 4×4 blocks.
      const row0 = a + ((<usize>i0 * <usize>K + <usize>k0) << 2);
      const ld = <usize>K << 2;
      let kk = 0;
      if (rows == MR) {
        for (; kk + 4 <= kc; kk += 4) {
          const o = <usize>kk << 2;
          transpose4Store(panel + (<usize>kk << 4), 16,
            v128.load(row0 + o), v128.load(row0 + ld + o), v128.load(row0 + 2 * ld + o), v128.load(row0 + 3 * ld + o));
        }
      }
      for (; kk < kc; kk++) {
        const p = panel + (<usize>kk << 4);
        for (let r = 0; r < MR; r++) {
          store<f32>(p + (<usize>r << 2), r < rows ? load<f32>(row0 + <usize>r * ld + (<usize>kk << 2)) : 0);
        }
      }
    }
  }
}

/** Packs columns [n0, n0+nr) × k [k0, k0+kc) of op(B) into one NR-wide panel [kk][NR], zero-padded. */
function packB(dst: usize, b: usize, n0: i32, nr: i32, k0: i32, kc: i32, K: i32, N: i32, transB: bool): void {
  if (transB) {
    // B stored [N, K]: column j of op(B) is row j of B; transpose 4×4 blocks.
    const ld = <usize>K << 2;
    const base = b + ((<usize>n0 * <usize>K + <usize>k0) << 2);
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
    let src = b + ((<usize>k0 * <usize>N + <usize>n0) << 2);
    const step = <usize>N << 2;
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

/** MR×NR micro-kernel over kc steps of packed panels; writes (or adds into) the mr×nr valid part of C at c. */
function micro(pa: usize, pb: usize, kc: i32, c: usize, ldc: usize, mr: i32, nr: i32, addC: bool, bias: usize, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let k = 0;
  for (; k + 2 <= kc; k += 2) {
    let b0 = v128.load(pb);
    let b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    b0 = v128.load(pb, 32);
    b1 = v128.load(pb, 48);
    a = v128.load32_splat(pa, 16);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 20);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa, 24);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa, 28);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    pa += 32;
    pb += 64;
  }
  if (k < kc) {
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
  }
  if (mr == MR && nr == NR) {
    storeRow(c, c00, c01, addC, bias);
    storeRow(c + ldc, c10, c11, addC, bias);
    storeRow(c + 2 * ldc, c20, c21, addC, bias);
    storeRow(c + 3 * ldc, c30, c31, addC, bias);
    return;
  }
  v128.store(tile, c00); v128.store(tile, c01, 16);
  v128.store(tile, c10, 32); v128.store(tile, c11, 48);
  v128.store(tile, c20, 64); v128.store(tile, c21, 80);
  v128.store(tile, c30, 96); v128.store(tile, c31, 112);
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

export function matmul_forward(out: usize, a: usize, b: usize, bias: usize, M: i32, K: i32, N: i32, flags: i32, scratch: usize): void {
  if (M <= 0 || N <= 0) return;
  const transA = (flags & TRANS_A) != 0;
  const transB = (flags & TRANS_B) != 0;
  const accumulate = (flags & ACCUMULATE) != 0;
  const ldc = <usize>N << 2;
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
  const ap = scratch;
  const bp = scratch + AP_BYTES;
  const tile = bp + BP_BYTES;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const addC = k0 > 0 || accumulate;
    const useBias = k0 == 0 && bias != 0;
    for (let m0 = 0; m0 < M; m0 += MC) {
      const mc = min(MC, M - m0);
      packA(ap, a, m0, mc, k0, kc, M, K, transA);
      for (let n0 = 0; n0 < N; n0 += NR) {
        const nr = min(NR, N - n0);
        packB(bp, b, n0, nr, k0, kc, K, N, transB);
        const biasN: usize = useBias ? bias + (<usize>n0 << 2) : 0;
        for (let i = 0; i < mc; i += MR) {
          const mr = min(MR, mc - i);
          const c = out + <usize>(m0 + i) * ldc + (<usize>n0 << 2);
          micro(ap + (<usize>i * <usize>kc << 2), bp, kc, c, ldc, mr, nr, addC, biasN, tile);
        }
      }
    }
  }
}
