/**
 * `bertology dump`: runs a model on a batch from an `*.inputs.json` file and writes HF-named tensors
 * (`logits`, `hidden_states.{i}`, `attentions.{l}`; with labels `loss`, and `head_mask_grad` with
 * `--grad head_mask`) to a safetensors file — the format of the project's HF goldens.
 *
 * @module
 */

import { writeSafetensors } from "@bertology/core/checkpoint";
import { hookName } from "@bertology/core/hooks";
import { batchFromArrays } from "@bertology/core/models";
import type { Labels, RunResult } from "@bertology/core/models";
import {
  DTYPE_OPTION,
  dtypeFlag,
  openModel,
  parseFlags,
  readJsonFile,
  UsageError,
  withoutUndefined,
  writeFileAtomic,
} from "../_common.ts";
import { openOrtModel } from "@bertology/core/export/runtime";
import { parseBackend } from "../_ort.ts";

/** Help text. */
export const DUMP_HELP =
  `bertology dump --model DIR (--inputs FILE.inputs.json | --text STR [--text-pair STR]) --out FILE.safetensors
               [--head-mask FILE.json]
               [--labels 1,0,1,1 | --labels lm] [--grad head_mask] [--names NAME,NAME…] [--offline] [--dtype f32|f16]
               [--backend wasm|ort-wasm|ort-webgpu|ort-node]
  Writes F32 tensors logits, hidden_states.{i}, attentions.{l} (HF shapes). With --labels: loss;
  with --grad head_mask: head_mask_grad. --names adds any activation or gradient by its stable name
  (e.g. blocks.0.attn.hook_z, blocks.0.attn.hook_z_grad). --backend: our WASM engine (default), or the
  model exported to ONNX in memory and run on onnxruntime-web (wasm, webgpu) or onnxruntime-node (cpu);
  a backend that cannot run here exits 1 saying why. --text (and --text-pair) tokenize one example with the
  model's tokenizer instead of reading token ids from --inputs.`;

/** Runs the command; returns the exit code. */
export async function dumpCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    inputs: { type: "string" },
    text: { type: "string" },
    "text-pair": { type: "string" },
    out: { type: "string" },
    "head-mask": { type: "string" },
    labels: { type: "string" },
    grad: { type: "string" },
    names: { type: "string" },
    offline: { type: "boolean" },
    ...DTYPE_OPTION,
    backend: { type: "string" },
  });
  const backend = parseBackend(values.backend);
  for (const f of ["model", "out"] as const) if (!values[f]) throw new UsageError(`--${f} is required`);
  if ((values.inputs === undefined) === (values.text === undefined)) {
    throw new UsageError("give exactly one of --inputs or --text");
  }
  if (values["text-pair"] !== undefined && values.text === undefined) throw new UsageError("--text-pair needs --text");
  if (values.grad !== undefined && values.grad !== "head_mask") {
    throw new UsageError(`--grad takes "head_mask" (other gradients: --names …_grad), got "${values.grad}"`);
  }
  const headMask = values["head-mask"] === undefined ? undefined : readJsonFile(values["head-mask"]) as number[][];
  let labels: Labels | undefined;
  if (values.labels === "lm") labels = "lm";
  else if (values.labels !== undefined) {
    const parts = values.labels.split(",").map((s) => s.trim());
    if (parts.some((p) => p === "" || !Number.isFinite(Number(p)))) {
      throw new UsageError(`--labels must be comma-separated numbers or "lm", got "${values.labels}"`);
    }
    labels = parts.map(Number);
  }
  const { model, tokenizer } = await openModel(values.model!, {
    offline: values.offline,
    tokenizer: values.text !== undefined,
    dtype: dtypeFlag(values.dtype),
  });
  let inputs: Record<string, unknown>;
  if (values.text !== undefined) {
    if (!tokenizer) throw new Error(`${values.model} has no tokenizer files: --text needs one (or give --inputs)`);
    const e = tokenizer.encode(values.text, values["text-pair"]);
    inputs = { input_ids: [e.ids], attention_mask: [e.ids.map(() => 1)] };
    if (values["text-pair"] !== undefined) inputs.token_type_ids = [e.tokenTypeIds];
  } else inputs = readJsonFile(values.inputs!) as Record<string, unknown>;
  const source = values.inputs ?? "--text";
  if (typeof inputs !== "object" || inputs === null) throw new Error(`${source}: expected a JSON object`);
  const batch = batchFromArrays(inputs as { input_ids: unknown }, source);
  const { layers } = model.config;
  if (headMask !== undefined && !Array.isArray(headMask)) {
    throw new Error(`${values["head-mask"]}: expected a JSON [layers][heads] array`);
  }
  if (values.grad && labels === undefined) throw new UsageError("--grad head_mask needs --labels");

  // HF output name → our activation name
  const wanted = new Map<string, string>();
  if (model.hasHead) wanted.set("logits", hookName("logits"));
  for (let i = 0; i <= layers; i++) wanted.set(`hidden_states.${i}`, model.resolveName(`hidden_states.${i}`));
  for (let l = 0; l < layers; l++) wanted.set(`attentions.${l}`, model.resolveName(`attentions.${l}`));
  if (values.grad) wanted.set("head_mask_grad", hookName("head_mask", undefined, true));
  // a name asked for keeps its spelling in the file (an HF name resolves to our activation, as above)
  for (const n of (values.names ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    wanted.set(n, model.resolveName(n));
  }

  const names = [...new Set(wanted.values())];
  let result: RunResult;
  if (backend === "wasm") result = model.run({ batch, names, ...withoutUndefined({ headMask, labels }) });
  else {
    // the same names, as outputs of a graph exported in memory (a loss needs the gradient graph)
    const outputs = [...wanted.keys()].filter((n) => n !== "head_mask_grad");
    const onnx = await openOrtModel(model, backend, { outputs, ...(labels ? { grad: "head_mask" as const } : {}) });
    try {
      result = await onnx.run({ batch, ...(headMask ? { headMask } : {}), ...(labels ? { labels } : {}) });
      if (result.headMaskGrad) result.cache.set(hookName("head_mask", undefined, true), result.headMaskGrad);
    } finally {
      await onnx.release();
    }
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [out, ours] of wanted) {
    const t = result.cache.get(ours);
    if (!t) throw new Error(`${backend} did not produce "${out}" (${ours}); nothing was written to ${values.out}`);
    tensors.set(out, { shape: [...t.shape], data: t.data });
  }
  if (result.loss !== undefined) tensors.set("loss", { shape: [1], data: new Float32Array([result.loss]) });
  // echo the inputs, as the HF goldens do, so a dump is self-describing
  const bt = [batch.batchSize, batch.seqLen];
  tensors.set("input_ids", { shape: bt, data: Float32Array.from(batch.inputIds) });
  if (batch.attentionMask) tensors.set("attention_mask", { shape: bt, data: Float32Array.from(batch.attentionMask) });
  if (batch.tokenTypeIds) tensors.set("token_type_ids", { shape: bt, data: Float32Array.from(batch.tokenTypeIds) });
  if (Array.isArray(labels)) tensors.set("labels", { shape: [labels.length], data: Float32Array.from(labels) });
  if (headMask) {
    tensors.set("head_mask", { shape: [layers, model.config.heads], data: Float32Array.from(headMask.flat()) });
  }
  await writeFileAtomic(values.out!, writeSafetensors(tensors, { metadata: { generator: "bertology dump" } }));
  console.error(`wrote ${tensors.size} tensors to ${values.out}`);
  return 0;
}
