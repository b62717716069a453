// Grouped-query attention against its definition: k and v repeated for every query head of their group, then
// plain multi-head attention; the gradients of k and v summed back over each group. On the reference twin and
// on the WASM kernels (one and three threads).
import assert from "node:assert/strict";
import { createReferenceKernels } from "./reference_kernels.ts";
import { createWasmKernels } from "./wasm_kernels.ts";
import type { Kernels } from "./types.ts";
import { copyIn, ints, read, seededRandom } from "../../tests/helpers/kernel_cases.ts";

interface Layout {
  H: number;
  Hkv: number;
  /** The kernel's map; absent: contiguous groups. */
  kvHead?: number[];
}

const LAYOUTS: Layout[] = [
  { H: 6, Hkv: 3 },
  { H: 6, Hkv: 2 },
  { H: 4, Hkv: 1 },
  // a pruned layer: 8 query heads in groups of 2, heads 3 and 4 removed, all 4 kv heads kept
  { H: 6, Hkv: 4, kvHead: [0, 0, 1, 2, 3, 3] },
];

/** Every output of one forward + backward, copied out. */
interface Outputs {
  ctx: Float32Array;
  probs: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
  dheadMask: Float32Array;
}

/** Separate q [B, T, H·D], k and v [B, T, Hkv·D] (Llama's projections); `map` 0 = contiguous groups. */
function run(
  k: Kernels,
  s: { B: number; T: number; H: number; Hkv: number; D: number; causal: boolean },
  data: { q: Float32Array; k: Float32Array; v: Float32Array; dctx: Float32Array; keyMask: Float32Array },
  headMask: Float32Array,
  map: readonly number[] | undefined,
): Outputs {
  const { B, T, H, Hkv, D, causal } = s, HD = H * D, KD = Hkv * D, scale = 1 / Math.sqrt(D);
  const mark = k.mem.mark();
  const q = copyIn(k, data.q), kk = copyIn(k, data.k), v = copyIn(k, data.v), dctx = copyIn(k, data.dctx);
  const km = copyIn(k, data.keyMask), hm = copyIn(k, headMask), kvHead = map ? ints(k, [...map]) : 0;
  const ctx = k.mem.alloc(4 * B * T * HD), probs = k.mem.alloc(4 * B * H * T * T), scratch = k.mem.alloc(4 * T * T);
  const dq = k.mem.alloc(4 * B * T * HD), dk = k.mem.alloc(4 * B * T * KD), dv = k.mem.alloc(4 * B * T * KD);
  const dhm = k.mem.alloc(4 * H);
  k.attentionForward(ctx, probs, q, kk, v, HD, KD, km, hm, kvHead, B, T, 0, H, Hkv, D, scale, causal, 0, 0);
  k.attentionBackward(dq, dk, dv, dhm, dctx, probs, q, kk, v, HD, KD, hm, kvHead, scratch, B, T, H, Hkv, D, scale);
  const out = {
    ctx: read(k, ctx, B * T * HD),
    probs: read(k, probs, B * H * T * T),
    dq: read(k, dq, B * T * HD),
    dk: read(k, dk, B * T * KD),
    dv: read(k, dv, B * T * KD),
    dheadMask: read(k, dhm, H),
  };
  k.mem.release(mark);
  return out;
}

/** Rows [B·T, heads·D] → [B·T, H·D] with query head h's columns copied from kv head of[h]. */
function repeatHeads(x: Float32Array, rows: number, Hkv: number, of: readonly number[], D: number): Float32Array {
  const H = of.length, out = new Float32Array(rows * H * D);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < H; h++) {
      out.set(x.subarray((r * Hkv + of[h]!) * D, (r * Hkv + of[h]! + 1) * D), (r * H + h) * D);
    }
  }
  return out;
}

/** Rows [B·T, H·D] → [B·T, Hkv·D]: each kv head the sum (in f64) of its query heads' columns. */
function sumHeads(x: Float32Array, rows: number, Hkv: number, of: readonly number[], D: number): Float64Array {
  const H = of.length, out = new Float64Array(rows * Hkv * D);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < H; h++) {
      for (let d = 0; d < D; d++) out[(r * Hkv + of[h]!) * D + d]! += x[(r * H + h) * D + d]!;
    }
  }
  return out;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let rms = 0;
  for (let i = 0; i < want.length; i++) rms += want[i]! * want[i]!;
  rms = Math.sqrt(rms / Math.max(1, want.length));
  for (let i = 0; i < want.length; i++) {
    const tol = 2e-6 * (Math.abs(want[i]!) + rms) + 1e-7;
    assert.ok(Math.abs(got[i]! - want[i]!) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

const backends: Array<[string, () => Kernels]> = [
  ["reference", () => createReferenceKernels()],
  ["wasm", () => createWasmKernels()],
  ["wasm on 3 threads", () => createWasmKernels({ threads: 3 })],
];

for (const [name, make] of backends) {
  Deno.test(`grouped-query attention (${name}) equals attention over k, v repeated per group, gradients summed back`, () => {
    const k = make();
    try {
      for (const { H, Hkv, kvHead } of LAYOUTS) {
        for (const causal of [false, true]) {
          const B = 2, T = 11, D = 8, rows = B * T;
          const of = kvHead ?? Array.from({ length: H }, (_, h) => Math.floor(h / (H / Hkv)));
          const rnd = seededRandom(H * 10 + Hkv);
          const draw = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rnd());
          const data = {
            q: draw(rows * H * D, 2),
            k: draw(rows * Hkv * D, 2),
            v: draw(rows * Hkv * D),
            dctx: draw(rows * H * D),
            keyMask: Float32Array.from({ length: rows }, (_, i) => (i >= T && i % T >= T - 4 ? 0 : 1)),
          };
          const headMask = Float32Array.from({ length: H }, (_, h) => [1, 0.5, 0, -1.25][h % 4]!);
          const what = `H=${H} Hkv=${Hkv}${kvHead ? " mapped" : ""}${causal ? " causal" : ""}`;
          const grouped = run(k, { B, T, H, Hkv, D, causal }, data, headMask, kvHead);
          const repeated = run(
            k,
            { B, T, H, Hkv: H, D, causal },
            { ...data, k: repeatHeads(data.k, rows, Hkv, of, D), v: repeatHeads(data.v, rows, Hkv, of, D) },
            headMask,
            undefined,
          );
          assertClose(grouped.ctx, repeated.ctx, `ctx ${what}`);
          assertClose(grouped.probs, repeated.probs, `probs ${what}`);
          assertClose(grouped.dq, repeated.dq, `dq ${what}`);
          assertClose(grouped.dheadMask, repeated.dheadMask, `dheadMask ${what}`);
          assertClose(grouped.dk, sumHeads(repeated.dk, rows, Hkv, of, D), `dk ${what}`);
          assertClose(grouped.dv, sumHeads(repeated.dv, rows, Hkv, of, D), `dv ${what}`);
        }
      }
    } finally {
      k.close();
    }
  });
}
