// The decoder families' ops (rmsNorm, silu, mul, rotary) as a family calls them: the WASM rule (forward, and the
// backward it pushes on the tape) against explicit formulas — HF's own for rotary — and each op's ONNX rule and
// ONNX backward rule run on onnxruntime-web against the WASM rule, through the trace rule as the exporter does.
import assert from "node:assert/strict";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import type { Kernels } from "../kernels/types.ts";
import { EmitContext, type Emitted } from "../export/_emit.ts";
import { DataType, OnnxGraph } from "../export/onnx_graph.ts";
import type { ArenaInputs } from "../models/inputs.ts";
import { ParamStore } from "../models/param_store.ts";
import { parseConfig } from "../models/registry.ts";
import { type Act, Run } from "../models/run.ts";
import { type TracedValue, TraceOps } from "../models/trace_ops.ts";
import { WasmOps } from "../models/wasm_ops.ts";
import type { Tensor } from "../tensor.ts";
import { seededRandom } from "../../tests/helpers/kernel_cases.ts";
import { opDef, type OpName, type TracedOp } from "./mod.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const f32 = Math.fround;

/** One call of an op, written once for every executor. */
type OpCall<T> = (ops: { [K in OpName]: (...args: never[]) => unknown } & Record<string, unknown>, xs: T[]) => T;

interface Case {
  /** The op under test. */
  op: OpName;
  /** Batch rows and positions. */
  B: number;
  T: number;
  /** Each input's feature width (inputs are [B, T, width]). */
  widths: number[];
  /** Checkpoint tensors the op reads. */
  weights?: Map<string, Tensor>;
  /** The call, on any executor's handles. */
  call: <T>(ops: CallTarget<T>, xs: T[]) => T;
}

/** What a case calls: the ops of an executor (WasmOps or TraceOps). */
type CallTarget<T> = {
  rmsNorm(x: T, p: { weight: string; eps: number; offset?: number }): T;
  silu(x: T): T;
  mul(a: T, b: T): T;
  rotary(x: T, a: { heads: number; headDim: number; rotaryDim: number; theta: number }): T;
};

interface Values {
  /** The inputs, [B, T, width] each. */
  xs: Float32Array[];
  /** dL/dy. */
  dy: Float32Array;
}

/** The op's output, its inputs' gradients and (with weights) the weights' gradients, on the WASM kernels. */
function onWasm(k: Kernels, c: Case, v: Values, paramGrads: boolean) {
  const params = new ParamStore(k, c.weights ?? new Map());
  if (paramGrads) params.enableGrads();
  const run = new Run(k, { backward: true, paramGrads });
  try {
    const positions = Int32Array.from({ length: c.B * c.T }, (_, i) => i % c.T);
    const inputs = {
      B: c.B,
      T: c.T,
      ids: 0,
      positions: run.ints(positions),
      tokenTypes: 0,
      keyMask: 0,
      headMask: [],
      headMaskGrad: [],
      headMaskGradPerRow: false,
    } satisfies ArenaInputs;
    const xs = v.xs.map((data, i) => {
      const a = run.act([c.B, c.T, c.widths[i]!]);
      k.mem.f32(a.ptr, a.size).set(data);
      run.requireGrad(a);
      return a;
    });
    const y: Act = c.call(new WasmOps(run, params, inputs) as unknown as CallTarget<Act>, xs);
    k.mem.f32(run.gradOf(y), y.size).set(v.dy);
    const out = run.read(y.ptr, y.size);
    run.backward();
    const dxs = xs.map((a) => run.read(run.gradOf(a), a.size));
    const dWeights = paramGrads ? [...params.gradTensors().values()].map((t) => t.data) : [];
    return { y: out, dxs, dWeights };
  } finally {
    run.dispose();
  }
}

/**
 * The op traced and written as ONNX by its ONNX rule, with its ONNX backward rule fed a `dy` input: runs it on
 * onnxruntime-web and returns y and the inputs' gradients.
 */
async function onOnnx(c: Case, v: Values): Promise<{ y: Float32Array; dxs: Float32Array[] }> {
  const weights = c.weights ?? new Map<string, Tensor>();
  const tracer = new TraceOps((n) => weights.get(n)?.shape);
  // the op's inputs: values with no producer (recorded as input-less nodes, which the test never emits)
  const traced: TracedValue[] = c.widths.map((w) => tracer.record("add", [], [["batch", "pos", w]], [], {})[0]!);
  c.call(tracer as unknown as CallTarget<TracedValue>, traced);
  const op = tracer.trace.ops.at(-1)! as TracedOp;
  assert.equal(op.op, c.op);
  const config = parseConfig(
    { model_type: "gpt2", vocab_size: 10, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 64 },
    "t",
  );
  const g = new OnnxGraph();
  g.input("input_ids", DataType.INT64, ["batch", "seq"]); // the positions come from its shape
  const inputs: Emitted[] = c.widths.map((w, i) => {
    g.input(`x${i}`, DataType.FLOAT, ["batch", "seq", w]);
    return { name: `x${i}`, dims: ["batch", "seq", w] };
  });
  g.input("dy", DataType.FLOAT, ["batch", "seq", c.widths[0]!]);
  const cx = new EmitContext(g, config, weights, "f32");
  const def = opDef(c.op);
  const outputs = def.onnx(cx, op, 0, inputs);
  const dxs = def.onnxBackward!({ cx, op, index: 0, inputs, outputs, dy: ["dy"], headMaskGrad: () => {} });
  g.output("y", outputs[0]!.name!, DataType.FLOAT, outputs[0]!.dims);
  dxs.forEach((d, i) => g.output(`dx${i}`, d!, DataType.FLOAT, inputs[i]!.dims));
  const session = await ort.InferenceSession.create(g.encode("op_test"), { executionProviders: ["wasm"] });
  try {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", new BigInt64Array(c.B * c.T), [c.B, c.T]),
      dy: new ort.Tensor("float32", v.dy, [c.B, c.T, c.widths[0]!]),
    };
    v.xs.forEach((x, i) => (feeds[`x${i}`] = new ort.Tensor("float32", x, [c.B, c.T, c.widths[i]!])));
    const res = await session.run(feeds);
    return {
      y: res.y!.data as Float32Array,
      dxs: c.widths.map((_, i) => res[`dx${i}`]!.data as Float32Array),
    };
  } finally {
    await session.release();
  }
}

function assertClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) assert.fail(`${label}[${i}]: got ${a}, expected ${e}`);
  }
}

function randomValues(c: Case, seed: number, scale = 2): Values {
  const rnd = seededRandom(seed);
  const fill = (n: number) => Float32Array.from({ length: n }, () => scale * rnd());
  const rows = c.B * c.T;
  return { xs: c.widths.map((w) => fill(rows * w)), dy: fill(rows * c.widths[0]!) };
}

const wasm = createWasmKernels();

// ---------------------------------------------------------------- rmsNorm

for (const [C, offset] of [[7, 0], [64, 0], [33, 1]] as const) {
  const rnd = seededRandom(C);
  const gamma = Float32Array.from({ length: C }, () => 1 + 0.5 * rnd());
  const c: Case = {
    op: "rmsNorm",
    B: 2,
    T: 5,
    widths: [C],
    weights: new Map([["norm.weight", { shape: [C], data: gamma }]]),
    call: (ops, [x]) => ops.rmsNorm(x!, { weight: "norm.weight", eps: 1e-6, ...(offset ? { offset } : {}) }),
  };
  Deno.test(`rmsNorm (C=${C}, offset ${offset}) is HF's LlamaRMSNorm, and its backward matches the formula`, () => {
    const v = randomValues(c, 11);
    const { y, dxs, dWeights } = onWasm(wasm, c, v, true);
    const rows = c.B * c.T, x = v.xs[0]!;
    const want = new Float32Array(rows * C), dx = new Float32Array(rows * C), dg = new Float64Array(C);
    for (let r = 0; r < rows; r++) {
      let ss = 0;
      for (let i = 0; i < C; i++) ss += x[r * C + i]! ** 2;
      const rs = 1 / Math.sqrt(ss / C + 1e-6);
      let m = 0;
      for (let i = 0; i < C; i++) m += (offset + gamma[i]!) * v.dy[r * C + i]! * x[r * C + i]! * rs;
      m /= C;
      for (let i = 0; i < C; i++) {
        const xh = x[r * C + i]! * rs, gh = (offset + gamma[i]!) * v.dy[r * C + i]!;
        want[r * C + i] = (offset + gamma[i]!) * xh;
        dx[r * C + i] = rs * (gh - xh * m);
        dg[i]! += v.dy[r * C + i]! * xh;
      }
    }
    assertClose("y", y, want);
    assertClose("dx", dxs[0]!, dx);
    assertClose("dweight", dWeights[0]!, dg);
    // without parameter gradients: the same dx, and no weight gradient computed
    assertClose("dx (no param grads)", onWasm(wasm, c, v, false).dxs[0]!, dx);
  });
  Deno.test(`rmsNorm (C=${C}, offset ${offset}) exported to ONNX gives the WASM rule's y and dx on ort-wasm`, async () => {
    const v = randomValues(c, 12);
    const ours = onWasm(wasm, c, v, false), theirs = await onOnnx(c, v);
    assertClose("y", theirs.y, ours.y);
    assertClose("dx", theirs.dxs[0]!, ours.dxs[0]!);
  });
}

// ---------------------------------------------------------------- silu and mul: the gated MLP's silu(gate) ⊙ up

{
  const I = 37;
  const silu: Case = { op: "silu", B: 2, T: 3, widths: [I], call: (ops, [x]) => ops.silu(x!) };
  const mul: Case = { op: "mul", B: 2, T: 3, widths: [I, I], call: (ops, [a, b]) => ops.mul(a!, b!) };
  const gated: Case = { op: "mul", B: 2, T: 3, widths: [I, I], call: (ops, [g, u]) => ops.mul(ops.silu(g!), u!) };

  Deno.test("silu(gate) ⊙ up is HF's gated product, with the gradients of both factors", () => {
    const v = randomValues(gated, 21, 6);
    const { y, dxs } = onWasm(wasm, gated, v, false);
    const [gate, up] = v.xs as [Float32Array, Float32Array];
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    assertClose("y", y, gate.map((x, i) => x * sig(x) * up[i]!));
    assertClose("dgate", dxs[0]!, gate.map((x, i) => v.dy[i]! * up[i]! * sig(x) * (1 + x * (1 - sig(x)))));
    assertClose("dup", dxs[1]!, gate.map((x, i) => v.dy[i]! * x * sig(x)));
  });

  Deno.test("mul(a, a) adds both factors' gradients into one: 2·a·dy", () => {
    const square: Case = { op: "mul", B: 1, T: 4, widths: [I], call: (ops, [a]) => ops.mul(a!, a!) };
    const v = randomValues(square, 22);
    const { y, dxs } = onWasm(wasm, square, v, false);
    assertClose("y", y, v.xs[0]!.map((a) => a * a));
    assertClose("da", dxs[0]!, v.xs[0]!.map((a, i) => 2 * a * v.dy[i]!));
  });

  Deno.test("mul() refuses factors of different shapes, naming them", () => {
    const bad: Case = { op: "mul", B: 1, T: 2, widths: [3, 4], call: (ops, [a, b]) => ops.mul(a!, b!) };
    assert.throws(() => onWasm(wasm, bad, randomValues(bad, 1), false), /mul: the factors must have one shape/);
  });

  for (const c of [silu, mul]) {
    Deno.test(`${c.op} exported to ONNX gives the WASM rule's y and gradients on ort-wasm`, async () => {
      const v = randomValues(c, 23, 6);
      const ours = onWasm(wasm, c, v, false), theirs = await onOnnx(c, v);
      assertClose("y", theirs.y, ours.y);
      ours.dxs.forEach((d, i) => assertClose(`dx${i}`, theirs.dxs[i]!, d));
    });
  }
}

// ---------------------------------------------------------------- rotary

/**
 * HF's rotary embedding written out in float32, step by step as `LlamaRotaryEmbedding` and
 * `apply_rotary_pos_emb` compute it (GPT-NeoX: the same on the first rotaryDim dims, the rest concatenated back):
 * inv_freq = 1 / base ** (arange(0, dim, 2).float() / dim); freqs = inv_freq ⊗ position_ids; emb = cat(freqs,
 * freqs); q·cos + rotate_half(q)·sin with rotate_half(x) = cat(−x2, x1). q is [B, T, H·D] (before the transpose to
 * heads, which does not change the per-element arithmetic).
 */
function hfRotary(q: Float32Array, B: number, T: number, H: number, D: number, R: number, theta: number): Float32Array {
  const half = R / 2;
  const invFreq = Array.from({ length: half }, (_, i) => f32(1 / f32(Math.pow(f32(theta), f32(f32(2 * i) / R)))));
  const out = new Float32Array(q.length);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const emb = [...invFreq, ...invFreq].map((w) => f32(w * t)); // position_ids = 0…T−1
      const cos = emb.map((e) => f32(Math.cos(e))), sin = emb.map((e) => f32(Math.sin(e)));
      for (let h = 0; h < H; h++) {
        const at = ((b * T + t) * H + h) * D;
        const rot = Array.from(q.subarray(at, at + R));
        const rotated = [...rot.slice(half).map((x) => -x), ...rot.slice(0, half)];
        for (let j = 0; j < R; j++) out[at + j] = f32(f32(rot[j]! * cos[j]!) + f32(rotated[j]! * sin[j]!));
        for (let j = R; j < D; j++) out[at + j] = q[at + j]!;
      }
    }
  }
  return out;
}

// [H, D, rotaryDim, T]: Llama-like full rotary, GPT-NeoX's rotary_pct 0.25, odd half widths, long positions
const ROTARY_SHAPES = [[2, 16, 16, 40], [3, 64, 16, 40], [2, 12, 6, 40], [1, 8, 2, 40], [1, 32, 32, 2048]] as const;

for (const theta of [10000, 1e6]) {
  for (const [H, D, R, T] of ROTARY_SHAPES) {
    const c: Case = {
      op: "rotary",
      B: 2,
      T,
      widths: [H * D],
      call: (ops, [x]) => ops.rotary(x!, { heads: H, headDim: D, rotaryDim: R, theta }),
    };
    Deno.test(`rotary (H=${H} D=${D} rotaryDim=${R} theta=${theta} T=${T}) equals HF's formula on positions 0…T−1`, () => {
      const v = randomValues(c, 31);
      const { y, dxs } = onWasm(wasm, c, v, false);
      assertClose("y", y, hfRotary(v.xs[0]!, c.B, c.T, H, D, R, theta), 2e-6);
      // the backward is the inverse rotation: rotating the gradient back by −θ; dL/dx·x = dL/dy·y for a rotation
      let lhs = 0, rhs = 0;
      for (let i = 0; i < y.length; i++) (lhs += dxs[0]![i]! * v.xs[0]![i]!), (rhs += v.dy[i]! * y[i]!);
      assert.ok(Math.abs(lhs - rhs) < 1e-4 * (1 + Math.abs(rhs)), `⟨dx, x⟩ ${lhs} vs ⟨dy, y⟩ ${rhs}`);
    });
    Deno.test(`rotary (H=${H} D=${D} rotaryDim=${R} theta=${theta} T=${T}) exported to ONNX matches HF's formula and the WASM backward`, async () => {
      const v = randomValues(c, 32);
      const ours = onWasm(wasm, c, v, false), theirs = await onOnnx(c, v);
      assertClose("y vs HF", theirs.y, hfRotary(v.xs[0]!, c.B, c.T, H, D, R, theta), 1e-5);
      assertClose("dx", theirs.dxs[0]!, ours.dxs[0]!, 1e-5);
    });
  }
}

Deno.test("rotary on a strided view of a fused projection equals rotary on its dense copy", () => {
  const B = 1, T = 6, H = 2, D = 8, HD = H * D;
  const k = wasm, params = new ParamStore(k, new Map());
  const run = new Run(k, { backward: true });
  try {
    const inputs = {
      B,
      T,
      ids: 0,
      positions: run.ints(Int32Array.from({ length: T }, (_, t) => t)),
      tokenTypes: 0,
      keyMask: 0,
      headMask: [],
      headMaskGrad: [],
      headMaskGradPerRow: false,
    } satisfies ArenaInputs;
    const ops = new WasmOps(run, params, inputs);
    const rnd = seededRandom(5);
    const fused = run.act([B, T, 3 * HD]);
    k.mem.f32(fused.ptr, fused.size).set(Float32Array.from({ length: fused.size }, () => rnd()));
    run.requireGrad(fused);
    const [, kView] = ops.splitQKV(fused, H);
    const attrs = { heads: H, headDim: D, rotaryDim: D, theta: 10000 };
    const fromView = ops.rotary(kView!, attrs);
    const dense = run.act([B, T, HD]);
    for (let t = 0; t < T; t++) k.copy(dense.ptr + 4 * t * HD, fused.ptr + 4 * (t * 3 * HD + HD), HD);
    assert.deepEqual(run.read(fromView.ptr, fromView.size), run.read(ops.rotary(dense, attrs).ptr, B * T * HD));
    // backward into the view's columns of the fused gradient only
    k.mem.f32(run.gradOf(fromView), fromView.size).fill(1);
    run.backward();
    const dFused = run.read(run.gradOf(fused), fused.size);
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < 3 * HD; j++) {
        const inK = j >= HD && j < 2 * HD;
        assert.equal(dFused[t * 3 * HD + j] !== 0, inK, `column ${j} of row ${t}`);
      }
    }
  } finally {
    run.dispose();
  }
});

Deno.test("rotary refuses attributes that do not fit its input, naming them", () => {
  const c = (attrs: { heads: number; headDim: number; rotaryDim: number; theta: number }): Case => ({
    op: "rotary",
    B: 1,
    T: 2,
    widths: [16],
    call: (ops, [x]) => ops.rotary(x!, attrs),
  });
  const cases: Array<[Parameters<typeof c>[0], RegExp]> = [
    [{ heads: 2, headDim: 4, rotaryDim: 4, theta: 1e4 }, /last axis has 16 values, not heads·headDim = 8/],
    [{ heads: 2, headDim: 8, rotaryDim: 3, theta: 1e4 }, /rotaryDim must be an even integer/],
    [{ heads: 2, headDim: 8, rotaryDim: 10, theta: 1e4 }, /rotaryDim must be an even integer from 2 to headDim/],
    [{ heads: 2, headDim: 8, rotaryDim: 8, theta: 0 }, /theta must be a positive number/],
  ];
  for (const [attrs, why] of cases) {
    assert.throws(() => onWasm(wasm, c(attrs), randomValues(c(attrs), 1), false), why);
    assert.throws(
      () =>
        c(attrs).call(new TraceOps(() => undefined) as unknown as CallTarget<TracedValue>, [{
          id: 0,
          shape: ["batch", "pos", 16],
        }]),
      why,
    );
  }
});
