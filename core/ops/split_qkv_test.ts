// splitQKV in both layouts: the WASM rule (forward, and the backward it pushes on the tape) against the layouts
// written out index by index — `heads` as HF's GPT-NeoX computes it (the projection viewed as [.., H, 3·D], each
// head's last axis chunked into q, k, v) — and the ONNX rule and ONNX backward rule on onnxruntime-web against
// the WASM rule, through the trace rule as the exporter does.
import assert from "node:assert/strict";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { EmitContext, type Emitted } from "../export/_emit.ts";
import { DataType, OnnxGraph } from "../export/onnx_graph.ts";
import type { ArenaInputs } from "../models/inputs.ts";
import { ParamStore } from "../models/param_store.ts";
import { parseConfig } from "../models/registry.ts";
import { Run } from "../models/run.ts";
import { type TracedValue, TraceOps } from "../models/trace_ops.ts";
import { WasmOps } from "../models/wasm_ops.ts";
import { seededRandom } from "../../tests/helpers/kernel_cases.ts";
import { opDef, type TracedOp } from "./mod.ts";
import type { QKVLayout } from "./split_qkv.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const B = 2, T = 3;

/** Column of part j (0 q, 1 k, 2 v), head h, dim d in a fused row of H heads of D. */
function column(layout: QKVLayout, H: number, D: number, j: number, h: number, d: number): number {
  return layout === "heads" ? h * 3 * D + j * D + d : j * H * D + h * D + d;
}

/** q, k, v picked from x [B·T, 3·H·D] by the layout's column formula. */
function expectedParts(x: Float32Array, layout: QKVLayout, H: number, D: number): Float32Array[] {
  const W = 3 * H * D, HD = H * D, rows = x.length / W;
  return [0, 1, 2].map((j) => {
    const out = new Float32Array(rows * HD);
    for (let r = 0; r < rows; r++) {
      for (let h = 0; h < H; h++) {
        for (let d = 0; d < D; d++) out[r * HD + h * D + d] = x[r * W + column(layout, H, D, j, h, d)]!;
      }
    }
    return out;
  });
}

/** The three parts and dL/dx on the WASM kernels for dL/d(part j) = dys[j] (undefined: no gradient reaches it). */
function onWasm(x: Float32Array, dys: Array<Float32Array | undefined>, layout: QKVLayout, H: number) {
  const k = createWasmKernels();
  const run = new Run(k, { backward: true });
  try {
    const inputs = {
      B,
      T,
      ids: 0,
      positions: 0,
      tokenTypes: 0,
      keyMask: 0,
      headMask: [],
      headMaskGrad: [],
      headMaskGradPerRow: false,
    } satisfies ArenaInputs;
    const ops = new WasmOps(run, new ParamStore(k, new Map()), inputs);
    const fused = run.act([B, T, x.length / (B * T)]);
    k.mem.f32(fused.ptr, fused.size).set(x);
    run.requireGrad(fused);
    const parts = ops.splitQKV(fused, H, layout);
    // a part may be a strided view of the fused projection (blocks): its gradient rows lie rowStride apart
    parts.forEach((p, j) => {
      const dy = dys[j], C = p.shape[p.shape.length - 1]!;
      if (dy === undefined) return;
      const g = k.mem.f32(run.gradOf(p), (p.size / C - 1) * p.rowStride + C);
      for (let r = 0; r < p.size / C; r++) g.set(dy.subarray(r * C, (r + 1) * C), r * p.rowStride);
    });
    const values = parts.map((p) => run.readAct(p));
    run.backward();
    return { parts: values, dx: run.read(run.gradOf(fused), fused.size) };
  } finally {
    run.dispose();
  }
}

/** The op traced and written by its ONNX rules (backward fed the `dy{j}` inputs given), run on ort-wasm. */
async function onOnnx(x: Float32Array, dys: Array<Float32Array | undefined>, layout: QKVLayout, H: number) {
  const W = x.length / (B * T), HD = W / 3;
  const tracer = new TraceOps(() => undefined);
  const input: TracedValue = tracer.record("add", [], [["batch", "pos", W]], [], {})[0]!;
  tracer.splitQKV(input, H, layout);
  const op = tracer.trace.ops.at(-1)! as TracedOp;
  assert.equal(op.op, "splitQKV");
  const config = parseConfig(
    { model_type: "gpt2", vocab_size: 10, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 64 },
    "t",
  );
  const g = new OnnxGraph();
  g.input("x", DataType.FLOAT, ["batch", "seq", W]);
  const emitted: Emitted[] = [{ name: "x", dims: ["batch", "seq", W] }];
  const dyNames = dys.map((d, j) => {
    if (d === undefined) return undefined;
    g.input(`dy${j}`, DataType.FLOAT, ["batch", "seq", HD]);
    return `dy${j}`;
  });
  const cx = new EmitContext(g, config, new Map(), "f32");
  const def = opDef("splitQKV");
  const outputs = def.onnx(cx, op, 0, emitted);
  const [dx] = def.onnxBackward!({ cx, op, index: 0, inputs: emitted, outputs, dy: dyNames, headMaskGrad: () => {} });
  outputs.forEach((o, j) => g.output(`part${j}`, o.name!, DataType.FLOAT, o.dims));
  g.output("dx", dx!, DataType.FLOAT, emitted[0]!.dims);
  const session = await ort.InferenceSession.create(g.encode("split_test"), { executionProviders: ["wasm"] });
  try {
    const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor("float32", x, [B, T, W]) };
    dys.forEach((d, j) => d && (feeds[`dy${j}`] = new ort.Tensor("float32", d, [B, T, HD])));
    const res = await session.run(feeds);
    return { parts: [0, 1, 2].map((j) => res[`part${j}`]!.data as Float32Array), dx: res.dx!.data as Float32Array };
  } finally {
    await session.release();
  }
}

function random(n: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: n }, () => rnd());
}

for (const layout of ["blocks", "heads"] as const) {
  for (const [H, D] of [[4, 8], [3, 5], [1, 4]] as const) {
    const W = 3 * H * D, HD = H * D;
    const x = random(B * T * W, 7 * H + D);
    const dys = [0, 1, 2].map((j) => random(B * T * HD, 100 + j));

    Deno.test(`splitQKV (${layout}, H=${H} D=${D}) takes q, k, v from their columns and scatters their gradients back`, () => {
      const ours = onWasm(x, dys, layout, H);
      const want = expectedParts(x, layout, H, D);
      ours.parts.forEach((p, j) => assert.deepEqual(p, want[j], `part ${j}`));
      // dL/dx at a part's column is that part's gradient: every column belongs to exactly one part
      const dx = new Float32Array(x.length);
      for (let r = 0; r < B * T; r++) {
        for (let j = 0; j < 3; j++) {
          for (let h = 0; h < H; h++) {
            for (let d = 0; d < D; d++) dx[r * W + column(layout, H, D, j, h, d)] = dys[j]![r * HD + h * D + d]!;
          }
        }
      }
      assert.deepEqual(ours.dx, dx);
      // a part no gradient reaches leaves its columns at 0
      const partial = onWasm(x, [dys[0], undefined, dys[2]], layout, H).dx;
      for (let r = 0; r < B * T; r++) {
        for (let h = 0; h < H; h++) {
          for (let d = 0; d < D; d++) assert.equal(partial[r * W + column(layout, H, D, 1, h, d)], 0);
        }
      }
    });

    Deno.test(`splitQKV (${layout}, H=${H} D=${D}) exported to ONNX gives the WASM rule's parts and dx on ort-wasm`, async () => {
      for (const given of [dys, [undefined, dys[1], undefined]]) {
        const ours = onWasm(x, given, layout, H), theirs = await onOnnx(x, given, layout, H);
        theirs.parts.forEach((p, j) => assert.deepEqual(p, ours.parts[j], `part ${j}`));
        // a part no gradient reaches is a zero gradient in the graph (part · 0, which may be −0)
        assert.deepEqual(theirs.dx.map((v) => v === 0 ? 0 : v), ours.dx);
      }
    });
  }
}

Deno.test("splitQKV refuses a width that is not 3 × heads × d_head and an unknown layout, naming them", () => {
  const x = random(B * T * 12, 1);
  assert.throws(() => onWasm(x, [], "heads", 5), /width 12 does not split into 3 × 5 heads/);
  assert.throws(() => onWasm(x, [], "heads", 0), /width 12 does not split into 3 × 0 heads/);
  assert.throws(() => onWasm(x, [], "rows" as QKVLayout, 2), /layout must be "blocks" or "heads", got "rows"/);
  const tracer = new TraceOps(() => undefined);
  const input = tracer.record("add", [], [["batch", "pos", 12]], [], {})[0]!;
  assert.throws(() => tracer.splitQKV(input, 5, "heads"), /does not split into 3 × 5 heads/);
});
