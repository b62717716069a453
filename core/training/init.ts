/**
 * New models for training from scratch: an HF `config.json` built from a few sizes ({@linkcode newConfig}) and
 * weights initialised as HF's `_init_weights` does ({@linkcode initWeights}).
 *
 * @module
 */

import type { Family, ModelConfig } from "../models/config.ts";
import { familyOf, modelTypes, parseConfig } from "../models/registry.ts";
import type { Tensor } from "../tensor.ts";
import { normalGenerator } from "../rng.ts";

/** Sizes of a new model. */
export interface NewConfigOptions {
  /** A registered `model_type`: `bert`, `gpt2` or `openai-gpt`. */
  family: Family;
  layers: number;
  heads: number;
  /** d_model; must be divisible by `heads`. */
  hidden: number;
  /** MLP width (default 4·hidden). */
  intermediate?: number | undefined;
  vocabSize: number;
  /** Positions (default 512 for BERT, 1024 for GPT-2, 512 for OpenAI GPT). */
  maxPositions?: number | undefined;
  /** BERT classification labels, index = class id (default `["0", "1"]`); ignored by GPT models. */
  labels?: readonly string[] | undefined;
  /** BERT: `"regression"` for one real-valued output (STS-B). */
  problemType?: "regression" | "single_label_classification" | undefined;
  /** Dropout probability written to config.json (`hidden_dropout_prob` / `resid_pdrop` …). Default 0.1. */
  dropout?: number | undefined;
  /** BERT: a masked-language-model head (`BertForMaskedLM`) instead of a classifier. */
  maskedLM?: boolean | undefined;
}

function positiveInt(name: string, v: number | undefined): number {
  if (v === undefined || !Number.isInteger(v) || v < 1) {
    throw new Error(`newConfig: "${name}" must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Builds a Hugging Face `config.json` object for a new model, with HF's field names and defaults, and checks it.
 *
 * @param opts The sizes.
 * @returns `raw` (the JSON to save) and the checked {@linkcode ModelConfig}.
 * @throws {Error} For an unknown family, non-positive sizes, or `hidden` not divisible by `heads`.
 *
 * @example Usage
 * ```ts
 * import { newConfig } from "./init.ts";
 * const { config } = newConfig({ family: "bert", layers: 2, heads: 2, hidden: 8, vocabSize: 30, labels: ["0", "1"] });
 * config.headDim; // 4
 * ```
 */
export function newConfig(opts: NewConfigOptions): { raw: Record<string, unknown>; config: ModelConfig } {
  if (!modelTypes().includes(opts.family)) {
    throw new Error(`newConfig: unknown family "${opts.family}" (expected one of ${modelTypes().join(", ")})`);
  }
  const layers = positiveInt("layers", opts.layers);
  const heads = positiveInt("heads", opts.heads);
  const hidden = positiveInt("hidden", opts.hidden);
  const vocabSize = positiveInt("vocabSize", opts.vocabSize);
  const intermediate = positiveInt("intermediate", opts.intermediate ?? 4 * hidden);
  if (hidden % heads !== 0) throw new Error(`newConfig: hidden ${hidden} is not divisible by heads ${heads}`);
  const raw = familyOf(opts.family).newConfig({
    layers,
    heads,
    hidden,
    intermediate,
    vocabSize,
    ...(opts.maxPositions === undefined ? {} : { maxPositions: positiveInt("maxPositions", opts.maxPositions) }),
    ...(opts.labels === undefined ? {} : { labels: opts.labels }),
    ...(opts.problemType === undefined ? {} : { problemType: opts.problemType }),
    dropout: opts.dropout ?? 0.1,
    ...(opts.maskedLM ? { maskedLM: true } : {}),
  });
  return { raw, config: parseConfig(raw, "new config") };
}

/**
 * Every tensor name and shape a config implies (with BERT's pooler and classifier).
 *
 * @param config The checked config.
 * @returns Shapes by HF checkpoint name.
 *
 * @example Usage
 * ```ts
 * import { newConfig, parameterShapes } from "./init.ts";
 * const { config } = newConfig({ family: "bert", layers: 1, heads: 2, hidden: 8, vocabSize: 30, maxPositions: 16 });
 * parameterShapes(config).get("classifier.weight"); // [2, 8]
 * ```
 */
export function parameterShapes(config: ModelConfig): Map<string, number[]> {
  const spec = familyOf(config).weights(config);
  // a new model gets its head (BERT's pooler + classifier); optional extras (an untied LM head) only if tied off
  return new Map([...spec.required, ...spec.optional]);
}

/**
 * Initialises weights as HF's `_init_weights`: Linear/Conv1D and embedding weights ~ N(0, 0.02²), biases 0,
 * LayerNorm weight 1 and bias 0, BERT's `[PAD]` embedding row (pad_token_id 0) zero, and GPT-2's residual
 * projections (`c_proj`) ~ N(0, (0.02/√(2·n_layer))²). Deterministic in `seed`.
 *
 * @param config The checked config (pruned heads shrink the shapes as in a pruned checkpoint).
 * @param seed The RNG seed.
 * @returns The tensors by HF checkpoint name.
 *
 * @example Usage
 * ```ts
 * import { initWeights, newConfig } from "./init.ts";
 * const { config } = newConfig({ family: "gpt2", layers: 1, heads: 2, hidden: 8, vocabSize: 30, maxPositions: 16 });
 * const weights = initWeights(config, 42);
 * weights.get("transformer.ln_f.weight")!.data[0]; // 1
 * ```
 */
export function initWeights(config: ModelConfig, seed: number): Map<string, Tensor> {
  const family = familyOf(config);
  const zeroRows = family.zeroRows(config);
  const normal = normalGenerator(seed);
  const std = typeof config.raw.initializer_range === "number" ? config.raw.initializer_range : 0.02;
  const out = new Map<string, Tensor>();
  for (const [name, shape] of parameterShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    // a norm's scale: LayerNorm's, or any 1-D weight (RMSNorm's `input_layernorm`, `model.norm`)
    const isNorm = /LayerNorm|\.ln_\d\.|ln_f\./.test(name) || shape.length === 1;
    if (isNorm && name.endsWith(".weight")) data.fill(1);
    else if (name.endsWith(".weight")) {
      const s = family.initStd(name, config, std);
      for (let i = 0; i < data.length; i++) data[i] = s * normal();
      const row = zeroRows.get(name);
      if (row !== undefined) data.fill(0, row * shape[1]!, (row + 1) * shape[1]!);
    }
    out.set(name, { shape, data });
  }
  return out;
}
