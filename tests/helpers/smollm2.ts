/**
 * Test and bench helper: a Llama checkpoint of SmolLM2-135M's shape with seeded random weights, written as
 * `config.json` + `model.safetensors` (F16), for the size checks of the decoder issue (item 6) and the
 * recomputation issue's claim that its importance pass fits the wasm32 memory only with recomputation.
 *
 * The config is HuggingFaceTB/SmolLM2-135M's (hidden 576, 30 layers, 9 query heads over 3 kv heads of 64,
 * intermediate 1536, vocabulary 49,152, tied embeddings, rope_theta 100,000, rms_norm_eps 1e-5, 8,192 positions,
 * initializer_range 1/24) with `torch_dtype` float16. The weights are seeded uniforms of that standard
 * deviation on 4,096 levels (not normals: 135M Box–Muller draws and F16 roundings take several seconds more on a
 * loaded machine, and nothing here depends on the distribution's shape), RMSNorm scales 1. The file is written tensor by tensor, so
 * the JavaScript heap holds one tensor at a time, never the 270 MB file.
 *
 * @module
 */

import { float32ToFloat16Bits } from "@bertology/core/checkpoint";
import { hookName } from "@bertology/core/hooks";
import { type Batch, parseConfig, type Run, type TransformerModel } from "@bertology/core/models";
import { mixSeed, mulberry32 } from "@bertology/core/rng";
import { parameterShapes } from "@bertology/core/training";

/**
 * SmolLM2-135M's `config.json` (HuggingFaceTB/SmolLM2-135M, transformers 4.46), `torch_dtype` float16 as the
 * file written here holds.
 */
export const SMOLLM2_135M_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 0,
  eos_token_id: 0,
  head_dim: 64,
  hidden_act: "silu",
  hidden_size: 576,
  initializer_range: 0.041666666666666664,
  intermediate_size: 1536,
  is_llama_config: true,
  max_position_embeddings: 8192,
  mlp_bias: false,
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_interleaved: false,
  rope_scaling: null,
  rope_theta: 100000,
  tie_word_embeddings: true,
  torch_dtype: "float16",
  use_cache: true,
  vocab_size: 49152,
});

/** What {@linkcode writeSmolLM2} wrote. */
export interface WrittenCheckpoint {
  /** Parameters in the file. */
  parameters: number;
  /** Size of `model.safetensors` in bytes. */
  bytes: number;
}

/**
 * Writes a SmolLM2-135M-shaped checkpoint into `dir` (created if missing): `config.json` and an F16
 * `model.safetensors` with seeded random weights (same seed, same bytes).
 *
 * @param dir the folder to write into
 * @param seed the weights' seed
 * @param overrides config fields to change (a smaller model of the same layout, for a quick check)
 * @returns how many parameters and bytes were written
 */
export async function writeSmolLM2(
  dir: string,
  seed: number,
  overrides: Record<string, unknown> = {},
): Promise<WrittenCheckpoint> {
  const raw = { ...SMOLLM2_135M_CONFIG, ...overrides };
  const config = parseConfig(raw, `${dir}/config.json`);
  const std = raw.initializer_range as number;
  const shapes = [...parameterShapes(config)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0, parameters = 0;
  for (const [name, shape] of shapes) {
    const count = shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: "F16", shape, data_offsets: [offset, offset + 2 * count] };
    offset += 2 * count;
    parameters += count;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Uint8Array.from({ length: padded }, (_, i) => json[i] ?? 0x20);

  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(raw, null, 2) + "\n");
  const path = `${dir}/model.safetensors`;
  const file = await Deno.open(`${path}.partial`, { write: true, create: true, truncate: true });
  try {
    const prefix = new Uint8Array(8 + json.length);
    new DataView(prefix.buffer).setUint32(0, json.length, true);
    prefix.set(json, 8);
    await writeAll(file, prefix);
    // uniform in [-a, a) has standard deviation a/√3; drawn as one of 4,096 evenly spaced levels, already F16,
    // two per 32-bit draw (rounding 135M floats to F16 one by one takes seconds)
    const a = std * Math.sqrt(3);
    const levels = Uint16Array.from({ length: 4096 }, (_, i) => float32ToFloat16Bits(a * ((2 * i + 1) / 4096 - 1)));
    for (const [index, [, shape]] of shapes.entries()) {
      const bits = new Uint16Array(shape.reduce((x, y) => x * y, 1));
      if (shape.length === 1) bits.fill(float32ToFloat16Bits(1)); // an RMSNorm scale
      else {
        const uniform = mulberry32(mixSeed(seed, index));
        for (let i = 0; i < bits.length; i += 2) {
          const r = uniform() * 2 ** 32;
          bits[i] = levels[r & 4095]!;
          if (i + 1 < bits.length) bits[i + 1] = levels[(r >>> 16) & 4095]!;
        }
      }
      await writeAll(file, new Uint8Array(bits.buffer)); // little-endian on every platform Deno runs on
    }
  } finally {
    file.close();
  }
  await Deno.rename(`${path}.partial`, path);
  return { parameters, bytes: 8 + json.length + offset };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
}

/** A batch of `batchSize` × `seqLen` token ids spread over the vocabulary (seeded by position), every position real. */
export function spreadBatch(batchSize: number, seqLen: number, vocab: number): Batch {
  const inputIds = Int32Array.from({ length: batchSize * seqLen }, (_, i) => (i * 7919) % vocab);
  return { batchSize, seqLen, inputIds, attentionMask: new Int32Array(inputIds.length).fill(1) };
}

/** What the recomputation planner (`recompute: "auto"`) sees for a next-token importance batch. */
export interface ImportancePlan {
  /** Kernel bytes in use when the first block starts: weights and inputs. */
  baseBytes: number;
  /** Kernel bytes the first block's activations take when kept. */
  blockBytes: number;
  /** Kernel bytes of the head after the blocks: logits, softmax and their gradient, [rows, vocab] f32 each. */
  headBytes: number;
  /** The planner's estimate of the stored pass: base + (blocks + 1) × block + head. */
  storedEstimateBytes: number;
  /** Whether `auto` under the budget chose to recompute. */
  recomputes: boolean;
}

class StopAfterFirstBlock extends Error {}

/**
 * The planner's view of a next-token importance batch (head-mask gradient under the LM loss), found by running
 * only the first block: once with every activation kept, reading the kernel memory at the start of the first and
 * of the second block (the planner measures the same), and once with `recompute: "auto"` under `budgetMB`,
 * reading whether the first block was set to be recomputed. A throwing observer at the second block ends each
 * run; the model is left as it was.
 *
 * @param model a language model
 * @param batch the batch
 * @param budgetMB the kernel-memory budget `auto` plans for
 * @returns the planner's figures and its choice
 */
export function planImportance(model: TransformerModel, batch: Batch, budgetMB: number): ImportancePlan {
  const marks: number[] = [];
  let recomputed = 0;
  const at = (layer: number) => (_value: unknown, run: Run) => {
    marks.push(run.k.mem.mark());
    if (layer === 1) {
      recomputed = run.recomputedBlocks;
      throw new StopAfterFirstBlock();
    }
  };
  const observe = new Map([[hookName("resid_pre", 0), at(0)], [hookName("resid_pre", 1), at(1)]]);
  for (const recompute of ["off", "auto"] as const) {
    try {
      model.run({ batch, labels: "lm", names: ["hook_head_mask_grad"], observe, recompute, memoryBudgetMB: budgetMB });
      throw new Error("planImportance: the run passed the second block's input without stopping");
    } catch (e) {
      if (!(e instanceof StopAfterFirstBlock)) throw e;
    }
  }
  const [baseBytes, secondBlock] = marks as [number, number];
  const blockBytes = secondBlock - baseBytes;
  const c = model.config;
  const headBytes = 3 * 4 * c.vocabSize * batch.batchSize * (batch.seqLen - 1);
  return {
    baseBytes,
    blockBytes,
    headBytes,
    storedEstimateBytes: baseBytes + (c.layers + 1) * blockBytes + headBytes,
    recomputes: recomputed > 0,
  };
}
