// Attention with a query offset (a KV cache's `past` positions) against its definition: the last Tq query rows
// of attention over all past + Tq positions. On the reference twin and the WASM kernels (one and three threads),
// with grouped-query heads, a key mask with padding among the cached positions, and a head mask.
import assert from "node:assert/strict";
import { createReferenceKernels } from "./reference_kernels.ts";
import { createWasmKernels } from "./wasm_kernels.ts";
import type { Kernels } from "./types.ts";
import { copyIn, read, seededRandom } from "../../tests/helpers/kernel_cases.ts";

/** ctx and probs of attention of `Tq` query rows after `past` positions (q [B, Tq, H·D], k, v [B, past+Tq, Hkv·D]). */
function attend(
  k: Kernels,
  s: { B: number; Tq: number; past: number; H: number; Hkv: number; D: number; causal: boolean; window: number },
  q: Float32Array,
  kv: { k: Float32Array; v: Float32Array; keyMask: Float32Array },
  headMask: Float32Array,
  saveProbs: boolean,
): { ctx: Float32Array; probs?: Float32Array } {
  const { B, Tq, past, H, Hkv, D, causal, window } = s, Tk = past + Tq;
  const mark = k.mem.mark();
  const qp = copyIn(k, q), kp = copyIn(k, kv.k), vp = copyIn(k, kv.v), km = copyIn(k, kv.keyMask);
  const hm = copyIn(k, headMask);
  const ctx = k.mem.alloc(4 * B * Tq * H * D);
  const probs = saveProbs ? k.mem.alloc(4 * B * H * Tq * Tk) : 0, scratch = k.mem.alloc(4 * Tq * Tk);
  k.attentionForward(
    ctx,
    probs,
    qp,
    kp,
    vp,
    H * D,
    Hkv * D,
    km,
    hm,
    0,
    B,
    Tq,
    past,
    H,
    Hkv,
    D,
    0.3,
    causal,
    window,
    scratch,
  );
  const out = { ctx: read(k, ctx, B * Tq * H * D), ...(saveProbs ? { probs: read(k, probs, B * H * Tq * Tk) } : {}) };
  k.mem.release(mark);
  return out;
}

const CASES = [
  { B: 1, T: 9, Tq: 1, H: 4, Hkv: 4, D: 8 },
  { B: 2, T: 23, Tq: 5, H: 6, Hkv: 2, D: 16 },
  { B: 3, T: 40, Tq: 40, H: 2, Hkv: 1, D: 8 }, // past 0: the plain kernel
  { B: 2, T: 70, Tq: 3, H: 8, Hkv: 4, D: 32 },
];

for (
  const [label, make] of [
    ["reference", () => createReferenceKernels()],
    ["WASM, 1 thread", () => createWasmKernels({ threads: 1 })],
    ["WASM, 3 threads", () => createWasmKernels({ threads: 3 })],
  ] as const
) {
  Deno.test(`attentionForward() with past > 0 (${label}) equals the last query rows of attention over every position`, () => {
    const k = make();
    try {
      for (const { B, T, Tq, H, Hkv, D } of CASES) {
        const past = T - Tq, rnd = seededRandom(T * 31 + H);
        const q = Float32Array.from({ length: B * T * H * D }, rnd);
        const kv = {
          k: Float32Array.from({ length: B * T * Hkv * D }, rnd),
          v: Float32Array.from({ length: B * T * Hkv * D }, rnd),
          // row 1 has padding at its second position (a cached one when past > 1)
          keyMask: Float32Array.from({ length: B * T }, (_, i) => (i === T + 1 ? 0 : 1)),
        };
        const headMask = Float32Array.from({ length: H }, (_, h) => (h === 1 ? 0.5 : 1));
        for (const [causal, window] of [[true, 0], [false, 0], [true, 3]] as const) {
          const full = attend(k, { B, Tq: T, past: 0, H, Hkv, D, causal, window }, q, kv, headMask, true);
          const lastRows = new Float32Array(B * Tq * H * D);
          for (let b = 0; b < B; b++) {
            lastRows.set(q.subarray((b * T + past) * H * D, (b + 1) * T * H * D), b * Tq * H * D);
          }
          for (const save of [true, false]) {
            const got = attend(k, { B, Tq, past, H, Hkv, D, causal, window }, lastRows, kv, headMask, save);
            const where = `B ${B} T ${T} Tq ${Tq} causal ${causal} window ${window} probs ${save}`;
            for (let b = 0; b < B; b++) {
              for (let i = 0; i < Tq * H * D; i++) {
                const e = full.ctx[(b * T + past) * H * D + i]!, a = got.ctx[b * Tq * H * D + i]!;
                assert.ok(Math.abs(a - e) <= 1e-5, `${where}: ctx[${b}][${i}] ${a} vs ${e}`);
              }
              for (let h = 0; save && h < H; h++) {
                for (let i = 0; i < Tq * T; i++) {
                  const e = full.probs![((b * H + h) * T + past) * T + i]!;
                  const a = got.probs![(b * H + h) * Tq * T + i]!;
                  assert.ok(Math.abs(a - e) <= 1e-6, `${where}: probs[${b}][${h}][${i}] ${a} vs ${e}`);
                }
              }
            }
          }
        }
      }
    } finally {
      k.close();
    }
  });
}
