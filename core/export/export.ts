/**
 * The ONNX exporter: one more executor of a family's model description. It records the family's forward pass
 * with the tracing executor (`../models/trace_ops.ts`), writes each traced op as ONNX nodes (`_emit.ts`) and,
 * for the head-mask gradient, applies each op's backward rule (`_backward.ts`) over the trace in reverse —
 * there is no second, hand-written model.
 *
 * The graph's inputs and outputs are a contract:
 *
 * - inputs `input_ids` int64 [batch, seq], `attention_mask` int64 [batch, seq], `token_type_ids` int64
 *   [batch, seq] (families with token types only: BERT), `head_mask` float32 [layers, heads] — always present,
 *   ones = no masking, in the ORIGINAL head numbering: the entries of heads a pruned checkpoint no longer has
 *   are ignored;
 * - outputs as asked: `logits`, `hidden_states.{i}`, `attentions.{l}` [batch, heads_l, seq, seq] (HF's names),
 *   and any activation by its stable name (`blocks.3.attn.hook_z` …, see `../hooks.ts`);
 * - with `grad: "head_mask"`: an input `labels` (int64 [batch] for classification, float32 [batch] for
 *   regression; language models use the next token of `input_ids`, as HF's LM loss does) and outputs `loss`
 *   (a scalar, HF's mean) and `head_mask_grad` float32 [layers, heads] (pruned heads 0).
 *
 * Batch and sequence axes are dynamic. Weights are initializers named by their HF checkpoint keys, in their
 * checkpoint layout (F32, or F16 followed by a Cast).
 *
 * @module
 */

import { hookName, parseHookName } from "../hooks.ts";
import { keptHeads, type ModelConfig } from "../models/config.ts";
import type { ModelFamily } from "../models/family.ts";
import type { TransformerModel } from "../models/model.ts";
import type { HookLayout } from "../models/ops.ts";
import { familyOf } from "../models/registry.ts";
import { IGNORE_INDEX, labelKind, unreachableTask } from "../models/losses.ts";
import { stableOutputName } from "../models/output_names.ts";
import { type ModelTrace, traceModel } from "../models/trace_ops.ts";
import type { Tensor } from "../tensor.ts";
import { backwardRule } from "./_backward.ts";
import { EmitContext, emitOp, type Emitted } from "./_emit.ts";
import { DataType, OnnxGraph } from "./onnx_graph.ts";

/** A model to export: a checked config and its weights by HF key (what `loadModel` or `checkWeights` give). */
export interface ExportSource {
  /** The checked config. */
  config: ModelConfig;
  /** Tensors by (normalised) HF name. */
  weights: ReadonlyMap<string, Tensor>;
}

/** What to export. */
export interface ExportOptions {
  /**
   * Graph outputs: HF names (`logits`, `hidden_states.{i}`, `attentions.{l}`, or `hidden_states` /
   * `attentions` for every layer's) and stable activation names. Default: `logits` when the model has a
   * head, else every `hidden_states.{i}`.
   */
  outputs?: readonly string[];
  /** `"head_mask"`: add the `labels` input and the `loss` and `head_mask_grad` outputs. */
  grad?: "head_mask";
  /** Initializer precision (default `f32`; `f16` halves the file, computing in f32 after a Cast). */
  dtype?: "f32" | "f16";
  /**
   * Where the weights go when they pass `threshold` bytes: ONNX external data in a file at `location`, relative
   * to the `.onnx` file (`model.onnx.data`). Without it, a model past protobuf's 2 GB limit is refused.
   */
  externalData?: {
    /** The data file's path relative to the `.onnx` file. */
    location: string;
    /** Weight bytes above which they go to the data file (default {@linkcode EXTERNAL_DATA_THRESHOLD}). */
    threshold?: number;
  };
}

/** The weight size past which an export writes external data (protobuf's 2 GB less room for the graph). */
export const EXTERNAL_DATA_THRESHOLD = 2 ** 31 - 1 - 64 * 2 ** 20;

/** An exported model: the ONNX bytes and what its graph holds. */
export interface ExportedModel {
  /** The serialised `ModelProto`. */
  bytes: Uint8Array;
  /** Graph input names, in order. */
  inputs: string[];
  /** Graph output names, in order. */
  outputs: string[];
  /** Number of nodes. */
  nodes: number;
  /**
   * The external data file, when the weights went there (`ExportOptions.externalData`): its location as
   * written in the model, its content as chunks to write in order, and its size.
   */
  externalData?: { location: string; chunks: Uint8Array[]; bytes: number };
}

/**
 * Expands and checks the output names asked for: `hidden_states` / `attentions` become every layer's.
 *
 * @param names the names asked for
 * @param config the model's config
 * @returns the graph's output names, deduplicated, in order
 * @example Usage
 * ```ts
 * import { expandOutputNames } from "./export.ts";
 * import { parseConfig } from "../models/registry.ts";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 10, n_embd: 8, n_layer: 2, n_head: 2, n_positions: 16 }, "config.json");
 * expandOutputNames(["logits", "attentions"], config); // ["logits", "attentions.0", "attentions.1"]
 * ```
 */
export function expandOutputNames(names: readonly string[], config: ModelConfig): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (n === "hidden_states") { for (let i = 0; i <= config.layers; i++) out.push(`hidden_states.${i}`); }
    else if (n === "attentions") { for (let l = 0; l < config.layers; l++) out.push(`attentions.${l}`); }
    else out.push(n);
  }
  return [...new Set(out)];
}

/**
 * The stable activation name behind a graph output name (`hidden_states.2` → `blocks.1.hook_resid_post` in
 * BERT; `logits` → `hook_logits`; a stable name → itself). `loss` and `head_mask_grad` map to `loss` and
 * `hook_head_mask_grad`.
 *
 * @param name a graph output name
 * @param config the model's config
 * @returns the activation name
 * @throws {Error} for an HF layer index the model does not have
 * @example Usage
 * ```ts
 * import { outputHookName } from "./export.ts";
 * import { parseConfig } from "../models/registry.ts";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 10, n_embd: 8, n_layer: 2, n_head: 2, n_positions: 16 }, "config.json");
 * outputHookName("hidden_states.2", config); // "ln_final.hook_out"
 * outputHookName("attentions.1", config); // "blocks.1.attn.hook_pattern"
 * ```
 */
export function outputHookName(name: string, config: ModelConfig): string {
  return stableOutputName(name, config);
}

/**
 * Exports a model to ONNX (see the module doc for the graph's inputs and outputs).
 *
 * @param source a loaded model, or a config and its weights
 * @param options outputs, gradient, precision
 * @returns the ONNX bytes and the graph's input and output names
 * @throws {Error} for an output the family does not produce (naming it and why), a gradient without a head
 *   (no loss), or a model whose weights pass protobuf's 2 GB limit without `externalData`
 * @example Usage
 * ```ts
 * import { exportOnnx } from "./export.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * const onnx = exportOnnx(model, { outputs: ["logits", "attentions"], grad: "head_mask" });
 * onnx.inputs; // ["input_ids", "attention_mask", "token_type_ids", "head_mask", "labels"]
 * onnx.outputs; // ["logits", "attentions.0", "attentions.1", "attentions.2", "loss", "head_mask_grad"]
 * ```
 */
export function exportOnnx(source: ExportSource | TransformerModel, options: ExportOptions = {}): ExportedModel {
  const config = source.config;
  const weights = "weights" in source ? source.weights : source.params.toTensors();
  const family = familyOf(config);
  const trace = traceModel(family, config, (n) => weights.get(n)?.shape);
  let bytes = 0;
  for (const t of weights.values()) bytes += t.data.length * (options.dtype === "f16" ? 2 : 4);
  const external = options.externalData;
  const threshold = external?.threshold ?? EXTERNAL_DATA_THRESHOLD;
  if (!(threshold >= 0 && threshold <= EXTERNAL_DATA_THRESHOLD)) {
    throw new Error(`ONNX export: externalData.threshold must be in [0, ${EXTERNAL_DATA_THRESHOLD}], got ${threshold}`);
  }
  if (external === undefined && bytes > EXTERNAL_DATA_THRESHOLD) {
    throw new Error(
      `ONNX export: the weights take ${(bytes / 2 ** 30).toFixed(2)} GiB, past protobuf's 2 GB limit: ` +
        `write them as external data (externalData; bertology export writes FILE.onnx.data) or try dtype "f16"`,
    );
  }
  const wanted = expandOutputNames(
    options.outputs ?? (trace.logits !== undefined ? ["logits"] : ["hidden_states"]),
    config,
  );
  const resolved = wanted.map((n) => [n, resolveOutput(n, config, family, trace)] as const);
  if (options.grad !== undefined && options.grad !== "head_mask") {
    throw new Error(`ONNX export: grad takes "head_mask", got "${String(options.grad)}"`);
  }
  if (options.grad === "head_mask" && trace.logits === undefined) {
    throw new Error("ONNX export: this checkpoint has no head (no logits), so no loss to differentiate");
  }

  const g = new OnnxGraph();
  const L = config.layers;
  const inputs = ["input_ids", "attention_mask"];
  g.input("input_ids", DataType.INT64, ["batch", "seq"]);
  g.input("attention_mask", DataType.INT64, ["batch", "seq"]);
  if (config.typeVocabSize > 0) {
    g.input("token_type_ids", DataType.INT64, ["batch", "seq"]);
    inputs.push("token_type_ids");
  }
  g.input("head_mask", DataType.FLOAT, [L, config.heads]);
  inputs.push("head_mask");
  if (options.grad === "head_mask") {
    const kind = labelKind(config.task);
    switch (kind) {
      case "next_token": // the targets are the input ids themselves
        break;
      case "per_row_value":
        g.input("labels", DataType.FLOAT, ["batch"]);
        break;
      case "per_row_class":
        g.input("labels", DataType.INT64, ["batch"]);
        break;
      case "per_position":
        g.input("labels", DataType.INT64, ["batch", "seq"]);
        break;
      default:
        unreachableTask(kind as never);
    }
    if (kind !== "next_token") inputs.push("labels");
  }

  // forward: every traced op, in order
  const cx = new EmitContext(g, config, weights, options.dtype ?? "f32");
  const values: Array<Emitted | undefined> = new Array(trace.values.length);
  const emitted: Array<{ inputs: Emitted[]; outputs: Emitted[] }> = [];
  // values downstream of an attention op: the only ones a head-mask gradient flows through
  const dependsOnMask = new Set<number>();
  trace.ops.forEach((op, index) => {
    if (op.op === "attention" || op.inputs.some((id) => dependsOnMask.has(id))) {
      for (const id of op.outputs) dependsOnMask.add(id);
    }
    const ins = op.inputs.map((id) => {
      const v = values[id];
      if (v === undefined) throw new Error(`ONNX export: op ${op.op} reads value ${id} before it is written`);
      return v;
    });
    const outs = emitOp(cx, op, index, ins);
    op.outputs.forEach((id, i) => (values[id] = outs[i]!));
    emitted.push({ inputs: ins, outputs: outs });
  });

  const outputs: string[] = [];
  for (const [name, target] of resolved) {
    const e = target.value === "logits" ? values[trace.logits!]! : values[target.value]!;
    let dims = e.dims, value = e.name;
    const H = target.layout?.heads;
    if (H !== undefined) {
      // [.., H·D] → [.., H, D], as the WASM engine's cache holds per-head activations
      const D = H > 0 ? (dims[dims.length - 1] as number) / H : 0;
      dims = [...dims.slice(0, -1), H, D];
      if (value !== undefined) value = g.op("Reshape", [value, g.ints([0, 0, H, D])]);
    }
    g.output(name, value ?? cx.zeros(dims), DataType.FLOAT, dims);
    outputs.push(name);
  }

  if (options.grad === "head_mask") {
    const logits = values[trace.logits!]!;
    const { loss, dLogits } = lossAndSeed(cx, logits);
    g.output("loss", loss, DataType.FLOAT, []);
    outputs.push("loss");
    const grads = new Map<number, string>([[trace.logits!, dLogits]]);
    const headGrads = new Map<number, string>();
    // backward: each op's rule, in reverse order, accumulating into its inputs' gradients
    for (let index = trace.ops.length - 1; index >= 0; index--) {
      const op = trace.ops[index]!;
      const dy = op.outputs.map((id) => grads.get(id));
      if (dy.every((d) => d === undefined)) continue;
      const rule = backwardRule(op);
      if (rule === undefined) continue; // an op before the first attention (embeddings): nothing to carry back
      const { inputs: ins, outputs: outs } = emitted[index]!;
      const dx = rule({
        cx,
        op: op as never,
        index,
        inputs: ins,
        outputs: outs,
        dy,
        headMaskGrad: (l, grad) => {
          const have = headGrads.get(l);
          headGrads.set(l, have === undefined ? grad : g.op("Add", [have, grad]));
        },
      });
      op.inputs.forEach((id, i) => {
        const d = dx[i];
        if (d === undefined || ins[i]!.name === undefined || !dependsOnMask.has(id)) return;
        const have = grads.get(id);
        grads.set(id, have === undefined ? d : g.op("Add", [have, d]));
      });
    }
    g.output("head_mask_grad", headMaskGradMatrix(cx, headGrads), DataType.FLOAT, [L, config.heads]);
    outputs.push("head_mask_grad");
  }

  const graphName = `bertology_${config.family}`;
  const metadata = { "bertology.model_type": config.family, "bertology.config": JSON.stringify(config.raw) };
  if (external !== undefined && bytes > threshold) {
    const { bytes: model, data, dataBytes } = g.encodeWithExternalData(graphName, metadata, external.location);
    const externalData = { location: external.location, chunks: data, bytes: dataBytes };
    return { bytes: model, inputs, outputs, nodes: g.nodeCount, externalData };
  }
  return { bytes: g.encode(graphName, metadata), inputs, outputs, nodes: g.nodeCount };
}

/** dL/dhead_mask [layers, heads]: each layer's kept-head gradients placed at their original indices. */
function headMaskGradMatrix(cx: EmitContext, perLayer: ReadonlyMap<number, string>): string {
  const g = cx.g, c = cx.config;
  const rows: string[] = [];
  for (let l = 0; l < c.layers; l++) {
    const d = perLayer.get(l);
    const kept = keptHeads(c, l);
    if (d === undefined || kept.length === 0) {
      rows.push(g.floats(new Array<number>(c.heads).fill(0), [1, c.heads]));
      continue;
    }
    let row = g.op("Unsqueeze", [d, g.ints([0])]); // [1, H_l]
    if (kept.length !== c.heads) {
      // [1, H_l] · E [H_l, heads], E one-hot of each kept head's original index
      const e = new Array<number>(kept.length * c.heads).fill(0);
      kept.forEach((h, i) => (e[i * c.heads + h] = 1));
      row = g.op("MatMul", [row, g.floats(e, [kept.length, c.heads])]);
    }
    rows.push(row);
  }
  return g.op("Concat", rows, { axis: { i: 0 } });
}

/** The loss HF computes for the model's task, and its gradient with respect to the logits. */
function lossAndSeed(cx: EmitContext, logits: Emitted): { loss: string; dLogits: string } {
  const g = cx.g, c = cx.config;
  const z = logits.name!;
  const sumAll = (v: string) => g.op("ReduceSum", [v], { keepdims: { i: 0 } });
  const kind = labelKind(c.task);
  if (kind === "per_row_value") {
    // MSE over the batch: (pred − y)², mean; d/dpred = 2·(pred − y)/n
    const diff = g.op("Sub", [g.op("Reshape", [z, g.ints([-1])]), "labels"]);
    const n = g.op("Cast", [g.op("Size", ["labels"])], { to: { i: DataType.FLOAT } });
    const loss = g.op("Div", [sumAll(g.op("Mul", [diff, diff])), n]);
    const d = g.op("Div", [g.op("Mul", [diff, g.scalar(2)]), n]);
    return { loss, dLogits: g.op("Reshape", [d, g.op("Shape", [z])]) };
  }
  const V = logits.dims[logits.dims.length - 1] as number;
  const classes = g.op("Range", [g.ints([0], []), g.ints([V], []), g.ints([1], [])]);
  let targets: string, weight: string, count: string;
  if (kind === "next_token") {
    // position t predicts token t+1 where that token is real; the last position predicts nothing
    const next = (v: string) =>
      g.op("Pad", [g.op("Slice", [v, g.ints([1]), g.ints([2 ** 53]), g.ints([1])]), g.ints([0, 0, 0, 1])]);
    targets = next("input_ids");
    const valid = next(g.op("Cast", ["attention_mask"], { to: { i: DataType.FLOAT } }));
    count = g.op("Max", [sumAll(valid), g.scalar(1)]);
    weight = g.op("Unsqueeze", [g.op("Div", [valid, count]), g.ints([-1])]); // [B, T, 1]
  } else if (kind === "per_position") {
    // a masked LM counts the positions whose label is not the ignore index (−100, which no class equals)
    targets = "labels";
    const counted = g.op("Cast", [g.op("Not", [g.op("Equal", ["labels", g.ints([IGNORE_INDEX], [])])])], {
      to: { i: DataType.FLOAT },
    });
    count = g.op("Max", [sumAll(counted), g.scalar(1)]);
    weight = g.op("Unsqueeze", [g.op("Div", [counted, count]), g.ints([-1])]); // [B, T, 1]
  } else {
    targets = "labels";
    count = g.op("Cast", [g.op("Size", ["labels"])], { to: { i: DataType.FLOAT } });
    weight = g.op("Reciprocal", [count]);
  }
  const oneHot = g.op("Cast", [g.op("Equal", [g.op("Unsqueeze", [targets, g.ints([-1])]), classes])], {
    to: { i: DataType.FLOAT },
  });
  const logp = g.op("LogSoftmax", [z], { axis: { i: -1 } });
  const loss = g.op("Neg", [sumAll(g.op("Mul", [g.op("Mul", [oneHot, logp]), weight]))]);
  const dLogits = g.op("Mul", [g.op("Sub", [g.op("Softmax", [z], { axis: { i: -1 } }), oneHot]), weight]);
  return { loss, dLogits };
}

interface ResolvedOutput {
  /** The trace value id, or `logits`. */
  value: number | "logits";
  layout?: HookLayout;
}

function resolveOutput(name: string, config: ModelConfig, family: ModelFamily, trace: ModelTrace): ResolvedOutput {
  const fail = (why: string): never => {
    throw new Error(`Unknown output "${name}" for a ${config.layers}-layer ${family.displayName} model: ${why}`);
  };
  if (name === "loss" || name === "head_mask_grad" || name === hookName("head_mask", undefined, true)) {
    fail(`it comes with the gradient (grad "head_mask"), not as an output to ask for`);
  }
  const ours = outputHookName(name, config);
  if (ours === hookName("logits")) {
    if (trace.logits === undefined) fail("this checkpoint has no head (bert.pooler / classifier): no logits");
    return { value: "logits" };
  }
  const hook = trace.hooks.get(ours);
  if (hook !== undefined) return hook.layout === undefined ? { value: hook.value } : hook;
  const parsed = parseHookName(ours);
  if (parsed?.grad === true) fail('only head_mask_grad is exported among gradients (grad "head_mask")');
  if (parsed?.kind === "head_mask") fail("head_mask is the graph's input");
  return fail(
    parsed === undefined
      ? "not an activation name (see core/hooks.ts)"
      : parsed.layer !== undefined && parsed.layer >= config.layers
      ? `layer ${parsed.layer} does not exist (layers 0..${config.layers - 1})`
      : `${family.displayName} has no such activation`,
  );
}
