/**
 * A BERT-base-shaped encoder as an ONNX graph (12 post-LN layers: Q/K/V, scaled dot-product attention with
 * Softmax, output projection, LayerNormalization, erf-GELU MLP), built in code with the same random weights as
 * our model, so onnxruntime-web's forward time is measured in the same run as ours.
 *
 * @module
 */

import { Writer } from "./_onnx.ts";
import type { Tensor } from "@bertology/core";

const FLOAT = 1, INT64 = 7;
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7;

function valueInfo(name: string, shape: number[]): Writer {
  const dims = new Writer();
  for (const d of shape) dims.message(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, FLOAT).message(2, dims);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

function floatTensor(name: string, shape: readonly number[], data: Float32Array): Writer {
  const w = new Writer();
  for (const d of shape) w.int(1, d);
  w.int(2, FLOAT).string(8, name);
  return w.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function int64Tensor(name: string, values: number[]): Writer {
  const w = new Writer().int(1, values.length).int(2, INT64).string(8, name);
  const raw = new BigInt64Array(values.map(BigInt));
  return w.bytes(9, new Uint8Array(raw.buffer));
}

type Attr = { name: string; f?: number; i?: number; ints?: number[] };

function attribute(a: Attr): Writer {
  const w = new Writer().string(1, a.name);
  if (a.f !== undefined) w.float(2, a.f).int(20, ATTR_FLOAT);
  else if (a.i !== undefined) w.int(3, a.i).int(20, ATTR_INT);
  else {
    for (const v of a.ints!) w.int(8, v);
    w.int(20, ATTR_INTS);
  }
  return w;
}

/**
 * Serialises the encoder of a BERT-base model from its weights (HF names; nn.Linear [out, in] weights are
 * transposed to ONNX MatMul's [in, out]). Input `x` [T, C] (embedding output), output `y` [T, C].
 */
export function bertEncoderOnnx(weights: Map<string, Tensor>, layers: number, heads: number, T: number): Uint8Array {
  const C = weights.get("bert.embeddings.LayerNorm.weight")!.shape[0]!;
  const D = C / heads;
  const graph = new Writer();
  const inits: Writer[] = [];
  const node = (op: string, inputs: string[], output: string, attrs: Attr[] = []) => {
    const n = new Writer();
    for (const i of inputs) n.string(1, i);
    n.string(2, output).string(3, output).string(4, op);
    for (const a of attrs) n.message(5, attribute(a));
    graph.message(1, n);
    return output;
  };
  const init = (name: string, t: Tensor, transpose: boolean) => {
    let data = t.data, shape = t.shape;
    if (transpose) {
      const [R, K] = t.shape as [number, number];
      data = new Float32Array(R * K);
      for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) data[k * R + r] = t.data[r * K + k]!;
      shape = [K, R];
    }
    inits.push(floatTensor(name, shape, data));
    return name;
  };
  inits.push(int64Tensor("shape_heads", [T, heads, D]), int64Tensor("shape_flat", [T, C]));
  inits.push(floatTensor("scale", [], new Float32Array([1 / Math.sqrt(D)])));
  inits.push(floatTensor("half", [], new Float32Array([0.5])), floatTensor("one", [], new Float32Array([1])));
  inits.push(floatTensor("sqrt2", [], new Float32Array([Math.SQRT2])));
  const linear = (x: string, prefix: string, out: string) => {
    const w = init(`${prefix}.weight`, weights.get(`${prefix}.weight`)!, true);
    const b = init(`${prefix}.bias`, weights.get(`${prefix}.bias`)!, false);
    return node("Add", [node("MatMul", [x, w], `${out}_mm`), b], out);
  };
  const layerNorm = (x: string, prefix: string, out: string) =>
    node(
      "LayerNormalization",
      [
        x,
        init(`${prefix}.weight`, weights.get(`${prefix}.weight`)!, false),
        init(`${prefix}.bias`, weights.get(`${prefix}.bias`)!, false),
      ],
      out,
      [{ name: "axis", i: -1 }, { name: "epsilon", f: 1e-12 }],
    );
  let h = "x";
  for (let l = 0; l < layers; l++) {
    const p = `bert.encoder.layer.${l}`, n = `l${l}`;
    const split = (name: string, perm: number[]) =>
      node(
        "Transpose",
        [node("Reshape", [linear(h, `${p}.attention.self.${name}`, `${n}_${name}`), "shape_heads"], `${n}_${name}_r`)],
        `${n}_${name}_t`,
        [{ name: "perm", ints: perm }],
      );
    const q = split("query", [1, 0, 2]), k = split("key", [1, 2, 0]), v = split("value", [1, 0, 2]);
    const scores = node("Mul", [node("MatMul", [q, k], `${n}_qk`), "scale"], `${n}_scores`);
    const probs = node("Softmax", [scores], `${n}_probs`, [{ name: "axis", i: -1 }]);
    const ctx = node("Reshape", [
      node("Transpose", [node("MatMul", [probs, v], `${n}_ctx`)], `${n}_ctx_t`, [{ name: "perm", ints: [1, 0, 2] }]),
      "shape_flat",
    ], `${n}_ctx_flat`);
    const attn = linear(ctx, `${p}.attention.output.dense`, `${n}_attn`);
    const mid = layerNorm(node("Add", [attn, h], `${n}_res1`), `${p}.attention.output.LayerNorm`, `${n}_mid`);
    const pre = linear(mid, `${p}.intermediate.dense`, `${n}_pre`);
    // erf GELU: 0.5·x·(1 + erf(x/√2)) (ORT fuses this pattern into its Gelu kernel)
    const erf = node("Erf", [node("Div", [pre, "sqrt2"], `${n}_div`)], `${n}_erf`);
    const gelu = node(
      "Mul",
      [node("Mul", [pre, node("Add", [erf, "one"], `${n}_erf1`)], `${n}_xg`), "half"],
      `${n}_gelu`,
    );
    const out = linear(gelu, `${p}.output.dense`, `${n}_out`);
    h = layerNorm(node("Add", [out, mid], `${n}_res2`), `${p}.output.LayerNorm`, l === layers - 1 ? "y" : `${n}_h`);
  }
  graph.string(2, "bert_base_encoder");
  for (const i of inits) graph.message(5, i);
  graph.message(11, valueInfo("x", [T, C])).message(12, valueInfo("y", [T, C]));
  return new Writer().int(1, 8).string(2, "bertology-bench").message(7, graph)
    .message(8, new Writer().string(1, "").int(2, 17)).finish();
}
