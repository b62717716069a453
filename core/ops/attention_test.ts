// The attention op with grouped-query attention, through its rules: the WASM rule (on a hand-made run) against
// the same op over k, v repeated per group, with the gradients summed back; the head-mask gradient against
// finite differences; the ONNX rule and ONNX backward rule (a graph of the one op, run by onnxruntime-web)
// against the kernels; the trace rule's record and its checks.
import assert from "node:assert/strict";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { createReferenceKernels } from "../kernels/reference_kernels.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import type { Kernels } from "../kernels/types.ts";
import type { ModelConfig } from "../models/config.ts";
import type { ArenaInputs } from "../models/inputs.ts";
import type { ParamStore } from "../models/param_store.ts";
import { type Act, Run } from "../models/run.ts";
import { type TracedValue, TraceOps } from "../models/trace_ops.ts";
import { WasmOps } from "../models/wasm_ops.ts";
import { EmitContext, emitOp } from "../export/_emit.ts";
import { backwardRule } from "../export/_backward.ts";
import { DataType, OnnxGraph } from "../export/onnx_graph.ts";
import type { TracedOp } from "./op.ts";
import { type AttentionSpec, kvGroups, windowOf } from "./attention.ts";
import { seededRandom } from "../../tests/helpers/kernel_cases.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const B = 2, T = 7, D = 4;

/** A layout of query and kv heads: contiguous groups, or a pruned layer's map. */
interface Case {
  H: number;
  Hkv: number;
  kvHeadOf?: number[];
  causal: boolean;
  /** A sliding window (local attention). */
  window?: number;
}

const CASES: Case[] = [
  { H: 6, Hkv: 2, causal: true },
  { H: 4, Hkv: 1, causal: false },
  // 8 query heads in groups of 2, heads 3 and 4 pruned: the kept six keep their kv heads
  { H: 6, Hkv: 4, kvHeadOf: [0, 0, 1, 2, 3, 3], causal: true },
  // local attention (GPT-Neo's local layers; with grouped kv heads, Mistral's sliding window)
  { H: 4, Hkv: 4, causal: true, window: 3 },
  { H: 6, Hkv: 2, causal: true, window: 4 },
];

function specOf(c: Case): AttentionSpec {
  const spec: AttentionSpec = {
    layer: 0,
    heads: c.H,
    kvHeads: c.Hkv,
    headDim: D,
    scale: 1 / Math.sqrt(D),
    causal: c.causal,
    patternHook: "blocks.0.attn.hook_pattern",
  };
  if (c.kvHeadOf) spec.kvHeadOf = c.kvHeadOf;
  if (c.window) spec.window = c.window;
  return spec;
}

/** Seeded inputs of one case: q [B, T, H·D], k, v [B, T, Hkv·D], a key mask (row 1 pads its last 2 keys). */
function dataOf(c: Case) {
  const rnd = seededRandom(c.H * 7 + c.Hkv + 100 * (c.window ?? 0));
  const draw = (n: number) => Float32Array.from({ length: n }, () => rnd());
  return {
    q: draw(B * T * c.H * D),
    k: draw(B * T * c.Hkv * D),
    v: draw(B * T * c.Hkv * D),
    w: draw(B * T * c.H * D), // the loss is Σ ctx · w
    keyMask: Float32Array.from({ length: B * T }, (_, i) => (i >= T && i % T >= T - 2 ? 0 : 1)),
    headMask: Float32Array.from({ length: c.H }, (_, h) => [1, 0.5, -0.75, 1.25][h % 4]!),
  };
}

/** Rows [B·T, Hkv·D] → [B·T, H·D], query head h's columns copied from kv head of[h]. */
function repeatHeads(x: Float32Array, Hkv: number, of: readonly number[]): Float32Array<ArrayBuffer> {
  const H = of.length, rows = x.length / (Hkv * D), out = new Float32Array(rows * H * D);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < H; h++) {
      out.set(x.subarray((r * Hkv + of[h]!) * D, (r * Hkv + of[h]! + 1) * D), (r * H + h) * D);
    }
  }
  return out;
}

/** Rows [B·T, H·D] → [B·T, Hkv·D], each kv head the sum of its query heads' columns. */
function sumHeads(x: Float32Array, Hkv: number, of: readonly number[]): Float64Array {
  const H = of.length, rows = x.length / (H * D), out = new Float64Array(rows * Hkv * D);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) out[(r * Hkv + of[h]!) * D + d]! += x[(r * H + h) * D + d]!;
  }
  return out;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rel = 1e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let rms = 0;
  for (let i = 0; i < want.length; i++) rms += want[i]! * want[i]!;
  rms = Math.sqrt(rms / Math.max(1, want.length));
  for (let i = 0; i < want.length; i++) {
    assert.ok(
      Math.abs(got[i]! - want[i]!) <= rel * (Math.abs(want[i]!) + rms) + 1e-7,
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
}

/** What one pass of the op through the WASM rule gives. */
interface OpOutputs {
  ctx: Float32Array;
  pattern: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
  /** [B, H] when per row, else [H]. */
  dheadMask: Float32Array;
}

/**
 * Runs the op's WASM rule on a hand-made run: q, k, v separate (`fused` false) or views of one fused q|k|v
 * projection; loss Σ ctx · w; gradients of q, k, v and of the head mask (per batch row when `perRow`).
 */
function runOp(
  k: Kernels,
  spec: AttentionSpec,
  x: ReturnType<typeof dataOf>,
  opts: { fused: boolean; perRow: boolean; headMask?: Float32Array },
): OpOutputs {
  // the widths come from the data (a test gives the op a k, v that do not fit its spec)
  const H = spec.heads, HD = x.q.length / (B * T), KD = x.k.length / (B * T);
  const run = new Run(k, { backward: true, keep: new Set([spec.patternHook]) });
  try {
    const put = (a: Float32Array, shape: number[]) => {
      const act = run.act(shape);
      k.mem.f32(act.ptr, act.size).set(a);
      return act;
    };
    let q: Act, kk: Act, v: Act;
    if (opts.fused) {
      const ld = HD + 2 * KD, fused = new Float32Array(B * T * ld);
      for (let r = 0; r < B * T; r++) {
        fused.set(x.q.subarray(r * HD, (r + 1) * HD), r * ld);
        fused.set(x.k.subarray(r * KD, (r + 1) * KD), r * ld + HD);
        fused.set(x.v.subarray(r * KD, (r + 1) * KD), r * ld + HD + KD);
      }
      const qkv = put(fused, [B, T, ld]);
      run.requireGrad(qkv);
      [q, kk, v] = [run.view(qkv, 0, HD), run.view(qkv, HD, KD), run.view(qkv, HD + KD, KD)];
    } else {
      [q, kk, v] = [put(x.q, [B, T, HD]), put(x.k, [B, T, KD]), put(x.v, [B, T, KD])];
      for (const a of [q, kk, v]) run.requireGrad(a);
    }
    const headMask = run.floats(opts.headMask ?? x.headMask);
    const headMaskGrad = run.act([opts.perRow ? B * H : H]).ptr;
    const inputs: ArenaInputs = {
      B,
      T,
      ids: 0,
      positions: 0,
      tokenTypes: 0,
      keyMask: run.floats(x.keyMask),
      headMask: [headMask],
      headMaskGrad: [headMaskGrad],
      headMaskGradPerRow: opts.perRow,
    };
    const ops = new WasmOps(run, {} as ParamStore, inputs);
    const ctx = ops.attention(q, kk, v, spec);
    k.mem.f32(run.gradOf(ctx), ctx.size).set(x.w);
    run.backward();
    const read = (p: number, n: number) => k.mem.f32(p, n).slice();
    const grad = (a: Act, width: number) => {
      const g = run.gradOf(a), stride = a.rowStride, out = new Float32Array(B * T * width);
      for (let r = 0; r < B * T; r++) out.set(k.mem.f32(g + 4 * r * stride, width), r * width);
      return out;
    };
    return {
      ctx: read(ctx.ptr, ctx.size),
      pattern: run.cache.get(spec.patternHook)!.data,
      dq: grad(q, HD),
      dk: grad(kk, KD),
      dv: grad(v, KD),
      dheadMask: read(headMaskGrad, opts.perRow ? B * H : H),
    };
  } finally {
    run.dispose();
  }
}

for (const c of CASES) {
  const what = `${c.H} query heads on ${c.Hkv} kv heads${c.kvHeadOf ? ` [${c.kvHeadOf.join(", ")}]` : ""}` +
    (c.window ? `, a window of ${c.window}` : "");

  Deno.test(`attention's WASM rule with ${what} equals the op over k, v repeated per group`, () => {
    const spec = specOf(c), x = dataOf(c), of = kvGroups(spec).kvHeadOf;
    const k = createWasmKernels();
    const plainSpec: AttentionSpec = {
      ...specOf({ H: c.H, Hkv: c.H, causal: c.causal, ...(c.window ? { window: c.window } : {}) }),
    };
    const plain = runOp(k, plainSpec, { ...x, k: repeatHeads(x.k, c.Hkv, of), v: repeatHeads(x.v, c.Hkv, of) }, {
      fused: false,
      perRow: false,
    });
    for (const fused of [false, true]) {
      const got = runOp(k, spec, x, { fused, perRow: false });
      const how = `${what}, ${fused ? "fused" : "separate"} q/k/v`;
      assertClose(got.ctx, plain.ctx, `ctx ${how}`);
      assertClose(got.pattern, plain.pattern, `pattern ${how}`);
      assertClose(got.dq, plain.dq, `dq ${how}`);
      assertClose(got.dk, sumHeads(plain.dk, c.Hkv, of), `dk ${how}`);
      assertClose(got.dv, sumHeads(plain.dv, c.Hkv, of), `dv ${how}`);
      assertClose(got.dheadMask, plain.dheadMask, `dheadMask ${how}`);
    }
  });

  Deno.test(`attention's head-mask gradient with ${what} matches finite differences, summed or per row`, () => {
    const spec = specOf(c), x = dataOf(c);
    const k = createWasmKernels();
    const total = runOp(k, spec, x, { fused: false, perRow: false });
    const perRow = runOp(k, spec, x, { fused: true, perRow: true });
    const loss = (headMask: Float32Array) => {
      const ctx = runOp(k, spec, x, { fused: false, perRow: false, headMask }).ctx;
      let s = 0;
      for (let i = 0; i < ctx.length; i++) s += ctx[i]! * x.w[i]!;
      return s;
    };
    // ctx is linear in each head's mask: a wide step leaves only float rounding in the difference
    const step = 0.25;
    for (let h = 0; h < c.H; h++) {
      const up = x.headMask.slice(), down = x.headMask.slice();
      up[h]! += step;
      down[h]! -= step;
      const fd = (loss(up) - loss(down)) / (2 * step);
      assert.ok(
        Math.abs(total.dheadMask[h]! - fd) <= 1e-4 * (1 + Math.abs(fd)),
        `head ${h}: ${total.dheadMask[h]} vs ${fd}`,
      );
      const rows = perRow.dheadMask[h]! + perRow.dheadMask[c.H + h]!;
      assert.ok(Math.abs(rows - fd) <= 1e-4 * (1 + Math.abs(fd)), `head ${h}, rows summed: ${rows} vs ${fd}`);
    }
  });

  Deno.test(`attention's ONNX rules with ${what} run in onnxruntime and equal the kernels`, async () => {
    const spec = specOf(c), x = dataOf(c);
    const { H, Hkv } = c, HD = H * D, KD = Hkv * D;
    // the graph of the one op: inputs q, k, v, the loss weights (its dctx) and the masks the op reads
    const g = new OnnxGraph();
    g.input("input_ids", DataType.INT64, ["batch", "seq"]);
    g.input("attention_mask", DataType.INT64, ["batch", "seq"]);
    g.input("head_mask", DataType.FLOAT, [1, H]);
    for (const [name, width] of [["q", HD], ["k", KD], ["v", KD], ["w", HD]] as const) {
      g.input(name, DataType.FLOAT, ["batch", "seq", width]);
    }
    const config = { heads: H, layers: 1, prunedHeads: [[]] } as unknown as ModelConfig;
    const cx = new EmitContext(g, config, new Map(), "f32");
    const op = { op: "attention", inputs: [0, 1, 2], outputs: [3, 4], weights: [], attrs: spec } as TracedOp;
    const ins = [["q", HD], ["k", KD], ["v", KD]].map(([n, w]) => ({ name: n as string, dims: ["batch", "seq", w!] }));
    const outs = emitOp(cx, op, 0, ins);
    let dHeadMask: string | undefined;
    const [dq, dk, dv] = backwardRule(op)!({
      cx,
      op,
      index: 0,
      inputs: ins,
      outputs: outs,
      dy: ["w", undefined],
      headMaskGrad: (_, grad) => (dHeadMask = grad),
    });
    g.output("ctx", outs[0]!.name!, DataType.FLOAT, ["batch", "seq", HD]);
    g.output("pattern", outs[1]!.name!, DataType.FLOAT, ["batch", H, "seq", "seq"]);
    g.output("dq", dq!, DataType.FLOAT, ["batch", "seq", HD]);
    g.output("dk", dk!, DataType.FLOAT, ["batch", "seq", KD]);
    g.output("dv", dv!, DataType.FLOAT, ["batch", "seq", KD]);
    g.output("dhead_mask", dHeadMask!, DataType.FLOAT, [H]);
    const session = await ort.InferenceSession.create(g.encode("gqa_attention"));
    const ints = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a, (v) => BigInt(v)));
    const got = await session.run({
      input_ids: new ort.Tensor("int64", ints(new Array(B * T).fill(0)), [B, T]),
      attention_mask: new ort.Tensor("int64", ints(x.keyMask), [B, T]),
      head_mask: new ort.Tensor("float32", x.headMask, [1, H]),
      q: new ort.Tensor("float32", x.q, [B, T, HD]),
      k: new ort.Tensor("float32", x.k, [B, T, KD]),
      v: new ort.Tensor("float32", x.v, [B, T, KD]),
      w: new ort.Tensor("float32", x.w, [B, T, HD]),
    });
    await session.release();
    const want = kernelOutputs(createReferenceKernels(), spec, x);
    for (const name of ["ctx", "pattern", "dq", "dk", "dv", "dhead_mask"] as const) {
      assertClose(got[name]!.data as Float32Array, want[name], `${name} ${what}`, 1e-4);
    }
  });
}

/** The kernels' outputs for the ONNX test: the pattern is the probabilities times the head mask. */
function kernelOutputs(k: Kernels, spec: AttentionSpec, x: ReturnType<typeof dataOf>) {
  const { heads: H, scale, causal } = spec, { kvHeads: Hkv, kvHeadOf } = kvGroups(spec), HD = H * D, KD = Hkv * D;
  const put = (a: ArrayLike<number>) => {
    const p = k.mem.alloc(4 * a.length);
    k.mem.f32(p, a.length).set(a);
    return p;
  };
  const q = put(x.q), kk = put(x.k), v = put(x.v), w = put(x.w), km = put(x.keyMask), hm = put(x.headMask);
  const map = k.mem.alloc(4 * H);
  k.mem.i32(map, H).set(kvHeadOf);
  const ctx = k.mem.alloc(4 * B * T * HD), probs = k.mem.alloc(4 * B * H * T * T), scratch = k.mem.alloc(4 * T * T);
  const dq = k.mem.alloc(4 * B * T * HD), dk = k.mem.alloc(4 * B * T * KD), dv = k.mem.alloc(4 * B * T * KD);
  const dhm = k.mem.alloc(4 * H);
  k.attentionForward(ctx, probs, q, kk, v, HD, KD, km, hm, map, B, T, 0, H, Hkv, D, scale, causal, windowOf(spec), 0);
  k.attentionBackward(dq, dk, dv, dhm, w, probs, q, kk, v, HD, KD, hm, map, scratch, B, T, H, Hkv, D, scale);
  const pattern = k.mem.f32(probs, B * H * T * T).slice();
  for (let i = 0; i < pattern.length; i++) pattern[i]! *= x.headMask[Math.floor(i / (T * T)) % H]!;
  const read = (p: number, n: number) => k.mem.f32(p, n).slice();
  return {
    ctx: read(ctx, B * T * HD),
    pattern,
    dq: read(dq, B * T * HD),
    dk: read(dk, B * T * KD),
    dv: read(dv, B * T * KD),
    dhead_mask: read(dhm, H),
  };
}

Deno.test("attention with a window equals HF GPT-Neo's local attention written out (bias tril(1) ^ tril(1, −w))", () => {
  // HF: bias = tril(ones) XOR tril(ones, −window_size) — key j visible from query i iff i − w < j ≤ i — then the
  // padding mask; GPT-Neo does not scale the scores. Written out here in float64, from q, k, v alone.
  for (const window of [1, 3, 9]) {
    const c: Case = { H: 4, Hkv: 4, causal: true, window }, x = dataOf(c);
    const spec = { ...specOf(c), scale: 1 };
    const got = runOp(createWasmKernels(), spec, x, {
      fused: false,
      perRow: false,
      headMask: new Float32Array(4).fill(1),
    });
    const HD = c.H * D, pattern = new Float64Array(B * c.H * T * T), ctx = new Float64Array(B * T * HD);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < c.H; h++) {
        for (let i = 0; i < T; i++) {
          const visible = (j: number) => j <= i && !(j <= i - window) && x.keyMask[b * T + j] !== 0;
          const score = (j: number) => {
            let s = 0;
            for (let d = 0; d < D; d++) s += x.q[(b * T + i) * HD + h * D + d]! * x.k[(b * T + j) * HD + h * D + d]!;
            return s;
          };
          const keys = [...Array(T).keys()].filter(visible);
          if (keys.length === 0) continue; // padded queries beyond the window: HF's values there differ (MANIFEST)
          const top = Math.max(...keys.map(score));
          const sum = keys.reduce((s, j) => s + Math.exp(score(j) - top), 0);
          for (const j of keys) {
            const p = Math.exp(score(j) - top) / sum;
            pattern[((b * c.H + h) * T + i) * T + j] = p;
            for (let d = 0; d < D; d++) ctx[(b * T + i) * HD + h * D + d]! += p * x.v[(b * T + j) * HD + h * D + d]!;
          }
        }
      }
    }
    // the rows compared: every query that keeps a real key in its window
    const real = (b: number, i: number) =>
      [...Array(window).keys()].some((o) => i - o >= 0 && x.keyMask[b * T + i - o] !== 0);
    const pick = <A extends ArrayLike<number>>(a: A, per: number, rowOf: (r: number) => [number, number]) =>
      Array.from(a).filter((_, n) => real(...rowOf(Math.floor(n / per))));
    const patternRow = (r: number): [number, number] => [Math.floor(r / (c.H * T)), r % T];
    assertClose(pick(got.pattern, T, patternRow), pick(pattern, T, patternRow), `pattern, window ${window}`);
    const ctxRow = (r: number): [number, number] => [Math.floor(r / T), r % T];
    assertClose(pick(got.ctx, HD, ctxRow), pick(ctx, HD, ctxRow), `ctx, window ${window}`);
  }
});

Deno.test("attention refuses a window that is not a positive integer, or one without causal attention", () => {
  const ops = new TraceOps(() => undefined);
  const q: TracedValue = { id: 0, shape: ["batch", "pos", 16] };
  const spec = specOf({ H: 4, Hkv: 4, causal: true, window: 3 });
  ops.attention(q, q, q, spec);
  const node = ops.trace.ops[0]!;
  if (node.op === "attention") assert.equal(node.attrs.window, 3);
  else assert.fail(`traced ${node.op}`);
  assert.throws(
    () => ops.attention(q, q, q, { ...spec, window: 0 }),
    /layer 0: window must be a positive integer, got 0/,
  );
  assert.throws(() => ops.attention(q, q, q, { ...spec, window: 2.5 }), /window must be a positive integer, got 2.5/);
  assert.throws(() => ops.attention(q, q, q, { ...spec, causal: false }), /a sliding window needs causal attention/);
});

Deno.test("attention's trace rule records kvHeads and kvHeadOf, and refuses groups that do not fit the heads", () => {
  const ops = new TraceOps(() => undefined);
  const q: TracedValue = { id: 0, shape: ["batch", "pos", 24] },
    kv: TracedValue = { id: 1, shape: ["batch", "pos", 8] };
  const spec = specOf({ H: 6, Hkv: 2, causal: true });
  ops.attention(q, kv, kv, spec);
  const node = ops.trace.ops[0]!;
  assert.equal(node.op, "attention");
  if (node.op === "attention") assert.deepEqual([node.attrs.heads, node.attrs.kvHeads], [6, 2]);
  const bad = (extra: Partial<AttentionSpec>) => () => ops.attention(q, kv, kv, { ...spec, ...extra });
  assert.throws(bad({ kvHeads: 4 }), /attention of layer 0: heads \(6\) is not a multiple of kvHeads \(4\)/);
  assert.throws(bad({ kvHeads: 7 }), /kvHeads must be an integer from 1 to heads \(6\), got 7/);
  assert.throws(bad({ kvHeads: 0 }), /kvHeads must be an integer from 1 to heads \(6\), got 0/);
  assert.throws(bad({ kvHeadOf: [0, 0, 1, 1, 2] }), /kvHeadOf must give each of the 6 query heads a kv head/);
  assert.throws(bad({ kvHeadOf: [0, 0, 1, 1, 2, 1] }), /a kv head from 0 to 1, got \[0, 0, 1, 1, 2, 1\]/);
  // absent kvHeads: one kv head per query head, as before
  const mha = specOf({ H: 6, Hkv: 6, causal: false });
  delete mha.kvHeads;
  assert.deepEqual(kvGroups(mha), { kvHeads: 6, kvHeadOf: [0, 1, 2, 3, 4, 5], grouped: false });
});

Deno.test("attention's WASM rule refuses k or v whose width is not kvHeads · headDim", () => {
  const c: Case = { H: 6, Hkv: 2, causal: false }, x = dataOf(c);
  const spec = { ...specOf(c), kvHeads: 3 }; // k, v are 2 heads wide
  assert.throws(
    () => runOp(createWasmKernels(), spec, x, { fused: false, perRow: false }),
    /attention of layer 0: k has rows of 8 values, expected 12/,
  );
});
