/**
 * New models for training from scratch: an HF `config.json` built from a few sizes ({@linkcode newConfig}) and
 * weights initialised as HF's `_init_weights` does ({@linkcode initWeights}).
 *
 * @module
 */

import { bertHeadShapes, bertShapes } from "../models/bert.ts";
import { FAMILIES, type Family, type ModelConfig, parseConfig } from "../models/config.ts";
import { gpt2Shapes } from "../models/gpt2.ts";
import { openaiGptShapes } from "../models/openai_gpt.ts";
import type { Tensor } from "../tensor.ts";
import { normalGenerator } from "../_rng.ts";

/** Sizes of a new model. */
export interface NewConfigOptions {
  /** `bert`, `gpt2` or `openai-gpt`. */
  family: Family;
  layers: number;
  heads: number;
  /** d_model; must be divisible by `heads`. */
  hidden: number;
  /** MLP width (default 4·hidden). */
  intermediate?: number;
  vocabSize: number;
  /** Positions (default 512 for BERT, 1024 for GPT-2, 512 for OpenAI GPT). */
  maxPositions?: number;
  /** BERT classification labels, index = class id (default `["0", "1"]`); ignored by GPT models. */
  labels?: readonly string[];
  /** BERT: `"regression"` for one real-valued output (STS-B). */
  problemType?: "regression" | "single_label_classification";
  /** Dropout probability written to config.json (`hidden_dropout_prob` / `resid_pdrop` …). Default 0.1. */
  dropout?: number;
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
  if (!(FAMILIES as readonly string[]).includes(opts.family)) {
    throw new Error(`newConfig: unknown family "${opts.family}" (expected one of ${FAMILIES.join(", ")})`);
  }
  const layers = positiveInt("layers", opts.layers);
  const heads = positiveInt("heads", opts.heads);
  const hidden = positiveInt("hidden", opts.hidden);
  const vocab = positiveInt("vocabSize", opts.vocabSize);
  const inter = positiveInt("intermediate", opts.intermediate ?? 4 * hidden);
  if (hidden % heads !== 0) throw new Error(`newConfig: hidden ${hidden} is not divisible by heads ${heads}`);
  const drop = opts.dropout ?? 0.1;
  let raw: Record<string, unknown>;
  if (opts.family === "bert") {
    const regression = opts.problemType === "regression";
    const labels = regression ? ["LABEL_0"] : [...(opts.labels ?? ["0", "1"])];
    if (labels.length < 1) throw new Error("newConfig: a BERT classifier needs at least one label");
    raw = {
      architectures: ["BertForSequenceClassification"],
      model_type: "bert",
      vocab_size: vocab,
      hidden_size: hidden,
      num_hidden_layers: layers,
      num_attention_heads: heads,
      intermediate_size: inter,
      hidden_act: "gelu",
      hidden_dropout_prob: drop,
      attention_probs_dropout_prob: drop,
      max_position_embeddings: positiveInt("maxPositions", opts.maxPositions ?? 512),
      type_vocab_size: 2,
      initializer_range: 0.02,
      layer_norm_eps: 1e-12,
      pad_token_id: 0,
      num_labels: labels.length,
      id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
      label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
      ...(regression ? { problem_type: "regression" } : {}),
    };
  } else {
    raw = {
      architectures: [opts.family === "gpt2" ? "GPT2LMHeadModel" : "OpenAIGPTLMHeadModel"],
      model_type: opts.family,
      vocab_size: vocab,
      n_embd: hidden,
      n_layer: layers,
      n_head: heads,
      n_inner: inter === 4 * hidden ? null : inter,
      n_positions: positiveInt("maxPositions", opts.maxPositions ?? (opts.family === "gpt2" ? 1024 : 512)),
      resid_pdrop: drop,
      embd_pdrop: drop,
      attn_pdrop: drop,
      initializer_range: 0.02,
      layer_norm_epsilon: 1e-5,
      ...(opts.family === "gpt2"
        ? {
          activation_function: "gelu_new",
          n_ctx: opts.maxPositions ?? 1024,
          bos_token_id: vocab - 1,
          eos_token_id: vocab - 1,
        }
        : { afn: "gelu" }),
    };
  }
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
  if (config.family === "bert") return new Map([...bertShapes(config), ...bertHeadShapes(config)]);
  return config.family === "gpt2" ? gpt2Shapes(config) : openaiGptShapes(config);
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
  const normal = normalGenerator(seed);
  const std = typeof config.raw.initializer_range === "number" ? config.raw.initializer_range : 0.02;
  const out = new Map<string, Tensor>();
  for (const [name, shape] of parameterShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNorm = /LayerNorm|\.ln_\d\.|ln_f\./.test(name);
    if (isNorm && name.endsWith(".weight")) data.fill(1);
    else if (name.endsWith(".weight")) {
      const s = config.family === "gpt2" && /c_proj\.weight$/.test(name) ? std / Math.sqrt(2 * config.layers) : std;
      for (let i = 0; i < data.length; i++) data[i] = s * normal();
      if (name === "bert.embeddings.word_embeddings.weight") data.fill(0, 0, shape[1]);
    }
    out.set(name, { shape, data });
  }
  return out;
}
