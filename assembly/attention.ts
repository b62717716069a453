// Multi-head scaled dot-product attention, forward and backward, per (batch, head) through the packed matmul
// (`gemm` with row strides): scores = scale·Q·Kᵀ straight into the probs block, a SIMD masked row softmax, then
// ctx = m·P·V. q rows are strided by ldq floats, k/v rows by ldkv (grouped-query attention: H query heads read
// Hkv ≤ H kv heads in place); probs [B, H, T, T] are saved without the head-mask multiplier, or not at all
// (probs = 0: one T·T scratch per thread, reused by every (batch, head)). The gemm packing scratch is allocated
// once per instance (set_gemm_scratch), so no call allocates and
// any T works (gemm tiles); the *_part exports (threads on a shared memory) take each thread's as an argument.

import { gemm } from "./matmul";
import { expShift, scaleInPlace } from "./softmax";
import { hmax } from "./simd";
import { ACCUMULATE, TRANS_A, TRANS_B } from "./_contract"; // generated from core/kernels/contract.ts

// The single-threaded exports' gemm scratch (matmul_scratch_bytes()), set once per instance by set_gemm_scratch:
// a global, so each instance on a shared memory has its own, and no static block (which an instantiation on an
// imported memory would re-zero under a running thread). The *_part exports take theirs as an argument.
let GEMM_SCRATCH: usize = 0;

/** Sets the gemm scratch (matmul_scratch_bytes() bytes) attention_forward / attention_backward use. */
export function set_gemm_scratch(scratch: usize): void {
  GEMM_SCRATCH = scratch;
}

/**
 * In place softmax of one score row over keys [jStart, jEnd): keys with keyMask 0 get probability 0, keys < jStart
 * (before a sliding window) and keys ≥ jEnd get 0; a row with every key masked is uniform over all T keys.
 */
function softmaxRow(prow: usize, mb: usize, jStart: i32, jEnd: i32, T: i32): void {
  const ninf = f32x4.splat(-Infinity);
  const zero = f32x4.splat(0);
  // the visible keys [jStart, jEnd) as a row of their own: scores, key mask, count
  const before = <usize>jStart << 2;
  const row = prow + before, keys = mb ? mb + before : 0, n = jEnd - jStart;
  let vmax = ninf;
  let mx: f32 = -Infinity;
  let j = 0;
  if (keys) {
    for (; j + 4 <= n; j += 4) {
      const o = <usize>j << 2;
      const s = v128.bitselect(ninf, v128.load(row + o), f32x4.eq(v128.load(keys + o), zero));
      v128.store(row + o, s);
      vmax = f32x4.pmax(vmax, s);
    }
    for (; j < n; j++) {
      const o = <usize>j << 2;
      if (load<f32>(keys + o) == 0) store<f32>(row + o, -Infinity);
      else mx = max(mx, load<f32>(row + o));
    }
  } else {
    for (; j + 4 <= n; j += 4) vmax = f32x4.pmax(vmax, v128.load(row + (<usize>j << 2)));
    for (; j < n; j++) mx = max(mx, load<f32>(row + (<usize>j << 2)));
  }
  mx = max(mx, hmax(vmax));
  if (mx == -Infinity) {
    // Every key masked: uniform over all T keys.
    const u: f32 = 1 / <f32>T;
    for (let jj = 0; jj < T; jj++) store<f32>(prow + (<usize>jj << 2), u);
    return;
  }
  const sum = expShift(row, row, mx, n);
  scaleInPlace(row, <f32>(1.0 / sum), n);
  if (jStart > 0) memory.fill(prow, 0, before);
  if (jEnd < T) memory.fill(prow + (<usize>jEnd << 2), 0, <usize>(T - jEnd) << 2);
}

/**
 * The kv head query head h reads: kvHead[h] (an i32 array, when the layer's kept query heads keep the groups of
 * the unpruned layer), or h / (H / Hkv) (grouped-query attention's contiguous groups; H = Hkv: h itself).
 */
// @ts-ignore: decorator
@inline
function kvHeadOf(kvHead: usize, h: i32, H: i32, Hkv: i32): i32 {
  return kvHead ? load<i32>(kvHead + (<usize>h << 2)) : h / (H / Hkv);
}

/**
 * past > 0: the T queries follow `past` cached positions — k, v and keyMask hold Tk = past + T rows per batch row
 * (probs [B, H, T, Tk], scratch T·Tk floats) and the causal mask is offset by `past` (incremental decoding).
 * probs = 0: the probabilities are not saved — each (batch, head)'s live in `scratch` (T·T floats) while its
 * context is computed (an inference pass that no hook, entropy or backward reads them from).
 * Grouped-query attention: q has H heads (row stride ldq), k and v Hkv heads (row stride ldkv); query head h
 * reads kv head kvHeadOf(h) in place (no copy of k, v).
 */
export function attention_forward(
  ctx: usize, probs: usize, q: usize, k: usize, v: usize, ldq: i32, ldkv: i32, keyMask: usize, headMask: usize,
  kvHead: usize, B: i32, T: i32, past: i32, H: i32, Hkv: i32, D: i32, scale: f32, causal: i32, window: i32,
  scratch: usize,
): void {
  forwardItems(
    ctx, probs, q, k, v, ldq, ldkv, keyMask, headMask, kvHead, B, T, past, H, Hkv, D, scale, causal, window, scratch,
    GEMM_SCRATCH, 0, B * H,
  );
}

/**
 * Part `part` of `parts` of attention_forward, for threads sharing one memory: (batch, query head) items split
 * into contiguous ranges, `scratch` (T·T floats, used when probs = 0) and `gemmScratch` (matmul_scratch_bytes())
 * this thread's own. Each item is computed exactly as with one part (k, v are only read, so query heads of one
 * group may run on different threads).
 */
export function attention_forward_part(
  ctx: usize, probs: usize, q: usize, k: usize, v: usize, ldq: i32, ldkv: i32, keyMask: usize, headMask: usize,
  kvHead: usize, B: i32, T: i32, past: i32, H: i32, Hkv: i32, D: i32, scale: f32, causal: i32, window: i32,
  scratch: usize,
  gemmScratch: usize, part: i32, parts: i32,
): void {
  const items = B * H;
  const i0 = <i32>(<i64>items * part / parts), i1 = <i32>(<i64>items * (part + 1) / parts);
  forwardItems(
    ctx, probs, q, k, v, ldq, ldkv, keyMask, headMask, kvHead, B, T, past, H, Hkv, D, scale, causal, window, scratch,
    gemmScratch, i0, i1,
  );
}

/**
 * attention_forward for the (batch, query head) items [item0, item1), item = b·H + h. The T queries of a row are
 * its positions past … past + T − 1 (a KV cache holds the first `past`): each row has Tk = past + T keys (k, v rows
 * and key-mask entries), query i sees keys j ≤ past + i when causal, and its probabilities are rows of Tk.
 */
function forwardItems(
  ctx: usize, probs: usize, q: usize, k: usize, v: usize, ldq: i32, ldkv: i32, keyMask: usize, headMask: usize,
  kvHead: usize, B: i32, T: i32, past: i32, H: i32, Hkv: i32, D: i32, scale: f32, causal: i32, window: i32,
  scratch: usize,
  GEMM_SCRATCH: usize, item0: i32, item1: i32,
): void {
  const ldc = H * D;
  const Tk = past + T;
  const rowBytes = <usize>Tk << 2;
  for (let item = item0; item < item1; item++) {
    const b = item / H, h = item % H;
    const mb = keyMask ? keyMask + (<usize>(b * Tk) << 2) : 0;
    {
      const m: f32 = headMask ? load<f32>(headMask + (<usize>h << 2)) : 1;
      const qbase = (<usize>(b * T) * <usize>ldq + <usize>(h * D)) << 2;
      const kvbase = (<usize>(b * Tk) * <usize>ldkv + <usize>(kvHeadOf(kvHead, h, H, Hkv) * D)) << 2;
      const pb = probs ? probs + <usize>((b * H + h) * T) * rowBytes : scratch;
      // scores[i, j] = scale · q_i · k_j
      gemm(pb, Tk, q + qbase, ldq, k + kvbase, ldkv, 0, T, D, Tk, TRANS_B, scale, GEMM_SCRATCH);
      // a sliding window (window > 0) hides keys j ≤ past + i − window: GPT-Neo's local layers, Mistral's sliding_window
      for (let i = 0; i < T; i++) {
        const jStart = window > 0 ? max(0, past + i - window + 1) : 0;
        softmaxRow(pb + <usize>i * rowBytes, mb, jStart, causal ? past + i + 1 : Tk, Tk);
      }
      const cb = ctx + ((<usize>(b * T) * <usize>ldc + <usize>(h * D)) << 2);
      if (m == 0) {
        for (let i = 0; i < T; i++) memory.fill(cb + ((<usize>i * <usize>ldc) << 2), 0, <usize>D << 2);
      } else {
        // ctx = m · P · V
        gemm(cb, ldc, pb, Tk, v + kvbase, ldkv, 0, T, Tk, D, 0, m, GEMM_SCRATCH);
      }
    }
  }
}

/**
 * Backward of attention_forward: dq (stride ldq) and dk, dv (stride ldkv) accumulated; a kv head's dk, dv sum
 * the contributions of every query head it serves, in ascending query-head order.
 */
export function attention_backward(
  dq: usize, dk: usize, dv: usize, dheadMask: usize, dctx: usize, probs: usize, q: usize, k: usize, v: usize,
  ldq: i32, ldkv: i32, headMask: usize, kvHead: usize, scratch: usize, B: i32, T: i32, H: i32, Hkv: i32, D: i32,
  scale: f32,
): void {
  backwardGroups(
    dq, dk, dv, dheadMask, dctx, probs, q, k, v, ldq, ldkv, headMask, kvHead, scratch, B, T, H, Hkv, D, scale,
    GEMM_SCRATCH, 0, Hkv,
  );
}

/**
 * Part `part` of `parts` of attention_backward, for threads sharing one memory: kv heads split into contiguous
 * ranges, each thread running every query head its kv heads serve — so no two threads accumulate into the same
 * dk, dv rows, and each kv head sums its query heads in the same order as with one part (as each head's mask
 * gradient sums the batch); `scratch` (T·T floats) and `gemmScratch` (matmul_scratch_bytes()) are this thread's own.
 */
export function attention_backward_part(
  dq: usize, dk: usize, dv: usize, dheadMask: usize, dctx: usize, probs: usize, q: usize, k: usize, v: usize,
  ldq: i32, ldkv: i32, headMask: usize, kvHead: usize, scratch: usize, B: i32, T: i32, H: i32, Hkv: i32, D: i32,
  scale: f32, gemmScratch: usize, part: i32, parts: i32,
): void {
  const g0 = <i32>(<i64>Hkv * part / parts), g1 = <i32>(<i64>Hkv * (part + 1) / parts);
  backwardGroups(
    dq, dk, dv, dheadMask, dctx, probs, q, k, v, ldq, ldkv, headMask, kvHead, scratch, B, T, H, Hkv, D, scale,
    gemmScratch, g0, g1,
  );
}

/** attention_backward for the query heads served by kv heads [g0, g1), kv head by kv head. */
function backwardGroups(
  dq: usize, dk: usize, dv: usize, dheadMask: usize, dctx: usize, probs: usize, q: usize, k: usize, v: usize,
  ldq: i32, ldkv: i32, headMask: usize, kvHead: usize, scratch: usize, B: i32, T: i32, H: i32, Hkv: i32, D: i32,
  scale: f32, GEMM_SCRATCH: usize, g0: i32, g1: i32,
): void {
  for (let g = g0; g < g1; g++) {
    for (let h = 0; h < H; h++) {
      if (kvHeadOf(kvHead, h, H, Hkv) != g) continue;
      backwardHead(
        dq, dk, dv, dheadMask, dctx, probs, q, k, v, ldq, ldkv, headMask, scratch, B, T, H, D, scale, GEMM_SCRATCH,
        h, g,
      );
    }
  }
}

/** attention_backward for query head h, which reads kv head g. */
function backwardHead(
  dq: usize, dk: usize, dv: usize, dheadMask: usize, dctx: usize, probs: usize, q: usize, k: usize, v: usize,
  ldq: i32, ldkv: i32, headMask: usize, scratch: usize, B: i32, T: i32, H: i32, D: i32, scale: f32,
  GEMM_SCRATCH: usize, h: i32, g: i32,
): void {
  const ldc = H * D;
  const rowBytes = <usize>T << 2;
  const vscale = f32x4.splat(scale);
  {
    const m: f32 = headMask ? load<f32>(headMask + (<usize>h << 2)) : 1;
    const vmh = f32x4.splat(m);
    // A masked head (m = 0) passes no gradient to q, k, v (dS and m·Pᵀ·dctx are 0): it is skipped, or, when the
    // head-mask gradient is asked for, only dP' and the row dots that make dm are computed.
    if (m == 0 && !dheadMask) return;
    let dm: f64 = 0;
    for (let b = 0; b < B; b++) {
      const qbase = (<usize>(b * T) * <usize>ldq + <usize>(h * D)) << 2;
      const kvbase = (<usize>(b * T) * <usize>ldkv + <usize>(g * D)) << 2;
      const pb = probs + <usize>((b * H + h) * T) * rowBytes;
      const dcb = dctx + ((<usize>(b * T) * <usize>ldc + <usize>(h * D)) << 2);
      // dP'[i, j] = dctx_i · v_j  (into scratch)
      gemm(scratch, T, dcb, ldc, v + kvbase, ldkv, 0, T, D, T, TRANS_B, 1, GEMM_SCRATCH);
      // dv += m · Pᵀ · dctx
      if (m != 0) gemm(dv + kvbase, ldkv, pb, T, dcb, ldc, 0, T, T, D, TRANS_A | ACCUMULATE, m, GEMM_SCRATCH);
      // rowDot_i = Σ_j P·dP';  dm += rowDot_i;  dS = scale · P · (m·dP' − m·rowDot_i)  (in place in scratch)
      for (let i = 0; i < T; i++) {
        const prow = pb + <usize>i * rowBytes;
        const srow = scratch + <usize>i * rowBytes;
        let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
        let j = 0;
        for (; j + 4 <= T; j += 4) {
          const o = <usize>j << 2;
          const pd = f32x4.mul(v128.load(prow + o), v128.load(srow + o));
          a0 = f64x2.add(a0, f64x2.promote_low_f32x4(pd));
          a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i32x4.shuffle(pd, pd, 2, 3, 2, 3)));
        }
        let rowDot: f64 = (f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1)) +
          (f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1));
        for (; j < T; j++) {
          const o = <usize>j << 2;
          rowDot += <f64>(load<f32>(prow + o) * load<f32>(srow + o));
        }
        dm += rowDot;
        if (m == 0) continue;
        const mdot = <f32>(<f64>m * rowDot);
        const vmdot = f32x4.splat(mdot);
        j = 0;
        for (; j + 4 <= T; j += 4) {
          const o = <usize>j << 2;
          const sp = f32x4.mul(vscale, v128.load(prow + o));
          v128.store(srow + o, f32x4.mul(sp, f32x4.sub(f32x4.mul(vmh, v128.load(srow + o)), vmdot)));
        }
        for (; j < T; j++) {
          const o = <usize>j << 2;
          store<f32>(srow + o, scale * load<f32>(prow + o) * (m * load<f32>(srow + o) - mdot));
        }
      }
      if (m == 0) continue;
      // dq += dS · K;  dk += dSᵀ · Q
      gemm(dq + qbase, ldq, scratch, T, k + kvbase, ldkv, 0, T, T, D, ACCUMULATE, 1, GEMM_SCRATCH);
      gemm(dk + kvbase, ldkv, scratch, T, q + qbase, ldq, 0, T, T, D, TRANS_A | ACCUMULATE, 1, GEMM_SCRATCH);
    }
    if (dheadMask) {
      const o = dheadMask + (<usize>h << 2);
      store<f32>(o, load<f32>(o) + <f32>dm);
    }
  }
}
