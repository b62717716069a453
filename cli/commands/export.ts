/**
 * `bertology export`: writes a model — pruned ones too — as an ONNX file whose graph is generated from the
 * family's op description: inputs `input_ids`, `attention_mask`, `token_type_ids` (BERT), `head_mask`
 * [layers, heads] (original head numbering; entries of pruned heads are ignored); the outputs asked for; with
 * `--grad head_mask`, a `labels` input and `loss` and `head_mask_grad` outputs (see `core/export/export.ts`).
 *
 * @module
 */

import { basename } from "node:path";
import { exportOnnx, EXTERNAL_DATA_THRESHOLD } from "@bertology/core/export";
import { clearStage, numberFlag, openModel, parseFlags, showStage, UsageError, writeFileAtomic } from "../_common.ts";

/** Help text. */
export const EXPORT_HELP =
  `bertology export --model DIR --out FILE.onnx [--outputs logits,hidden_states,attentions,NAME…]
                 [--grad head_mask] [--dtype f32|f16] [--external-data-threshold BYTES] [--force] [--offline]
  Writes an ONNX file (opset 17, dynamic batch and sequence axes, weights as initializers under their HF
  names). Inputs: input_ids, attention_mask (int64 [batch, seq]), token_type_ids (BERT), head_mask
  (float32 [layers, heads], original head numbering: entries of pruned heads are ignored).
  --outputs: HF names (logits, hidden_states, attentions, hidden_states.3 …) or any stable activation name
  (blocks.0.attn.hook_z …); default logits. --grad head_mask adds the input labels (int64 [batch];
  float32 for regression; language models use the next token) and the outputs loss and head_mask_grad.
  Weights past protobuf's 2 GB limit go to ONNX external data in FILE.onnx.data beside it (each initializer
  of 1 KiB or more, at 4096-aligned offsets; onnxruntime finds it next to the .onnx file);
  --external-data-threshold lowers the weight size (bytes) from which it does. An existing FILE (or its
  .data file) is kept unless --force.`;

/** Runs the command; returns the exit code. */
export async function exportCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    out: { type: "string" },
    outputs: { type: "string" },
    grad: { type: "string" },
    dtype: { type: "string" },
    force: { type: "boolean" },
    offline: { type: "boolean" },
    "external-data-threshold": { type: "string" },
  });
  for (const f of ["model", "out"] as const) if (!values[f]) throw new UsageError(`--${f} is required`);
  if (values.grad !== undefined && values.grad !== "head_mask") {
    throw new UsageError(`--grad takes "head_mask", got "${values.grad}"`);
  }
  const dtype = values.dtype ?? "f32";
  if (dtype !== "f32" && dtype !== "f16") throw new UsageError(`--dtype takes f32 or f16, got "${dtype}"`);
  const threshold = numberFlag(
    values["external-data-threshold"],
    "external-data-threshold",
    EXTERNAL_DATA_THRESHOLD,
    true,
  );
  if (threshold < 0 || threshold > EXTERNAL_DATA_THRESHOLD) {
    throw new UsageError(`--external-data-threshold must be in [0, ${EXTERNAL_DATA_THRESHOLD}], got ${threshold}`);
  }
  const out = values.out!;
  const dataFile = `${out}.data`;
  for (const path of [out, dataFile]) {
    if (!values.force && await exists(path)) throw new Error(`${path} already exists (pass --force to replace it)`);
  }
  showStage("export: loading the model");
  const { model } = await openModel(values.model!, { offline: values.offline === true, tokenizer: false });
  showStage("export: building the ONNX graph");
  const outputs = values.outputs?.split(",").map((s) => s.trim()).filter(Boolean);
  const onnx = exportOnnx(model, {
    ...(outputs ? { outputs } : {}),
    ...(values.grad ? { grad: "head_mask" as const } : {}),
    dtype,
    externalData: { location: basename(dataFile), threshold },
  });
  // the data first: a model file never points at a data file that is not there yet
  showStage(`export: writing ${out}`);
  if (onnx.externalData) await writeFileAtomic(dataFile, onnx.externalData.chunks);
  await writeFileAtomic(out, onnx.bytes);
  clearStage();
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  console.error(
    `wrote ${out}: ${mib(onnx.bytes.length)}${
      onnx.externalData ? ` + external data ${dataFile}: ${mib(onnx.externalData.bytes)}` : ""
    }, ${onnx.nodes} nodes; inputs ${onnx.inputs.join(", ")}; outputs ${onnx.outputs.join(", ")}`,
  );
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw new Error(`Cannot check ${path}: ${(e as Error).message}`);
  }
}
