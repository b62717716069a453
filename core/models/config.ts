/**
 * Reads and checks a Hugging Face `config.json` for the model families bertology runs: `bert`, `gpt2` and
 * `openai-gpt`. Field names stay HF's inside {@linkcode ModelConfig.raw}; the typed fields are what the
 * models read.
 *
 * @module
 */

import type { GeluKind } from "../kernels/types.ts";

/** The model families with a forward and backward pass here. */
export type Family = "bert" | "gpt2" | "openai-gpt";

/** The families' `model_type` values. */
export const FAMILIES: readonly Family[] = ["bert", "gpt2", "openai-gpt"];

/** A checked model configuration. */
export interface ModelConfig {
  /** `model_type`. */
  family: Family;
  /** config.json as read; saved checkpoints write it back with `pruned_heads` updated. */
  raw: Record<string, unknown>;
  /** Vocabulary size (`vocab_size`). */
  vocabSize: number;
  /** d_model: `hidden_size` / `n_embd`. */
  hidden: number;
  /** Number of blocks (`num_hidden_layers` / `n_layer`). */
  layers: number;
  /** Heads per layer before any pruning (`num_attention_heads` / `n_head`). */
  heads: number;
  /** d_head = hidden / heads. */
  headDim: number;
  /** MLP width (`intermediate_size` / `n_inner` or 4·n_embd). */
  intermediate: number;
  /** Longest sequence (`max_position_embeddings` / `n_positions`). */
  maxPositions: number;
  /** BERT token types (0 for GPT families). */
  typeVocabSize: number;
  /** LayerNorm epsilon (`layer_norm_eps` / `layer_norm_epsilon`). */
  layerNormEps: number;
  /** The MLP activation (`hidden_act` / `activation_function` / `afn`). */
  activation: GeluKind;
  /** Pruned heads per layer, original numbering, sorted (`pruned_heads` in config.json). */
  prunedHeads: number[][];
  /** Classification labels (BERT): index → name, from `id2label` or `num_labels`. */
  labels: string[];
  /** `regression` (one output, MSE loss) or `single_label_classification`. */
  problemType: "regression" | "single_label_classification";
  /** GPT-2: scale scores by 1/√d_head (`scale_attn_weights`). */
  scaleAttnWeights: boolean;
  /** GPT-2: also divide scores by (layer + 1) (`scale_attn_by_inverse_layer_idx`). */
  scaleAttnByInverseLayerIdx: boolean;
}

/**
 * What a model's head computes, and so which loss, labels and scores it takes: `classify` (class logits,
 * cross-entropy, accuracy/F1/MCC), `regress` (one output, MSE, Pearson/Spearman), `lm` (next-token logits,
 * next-token cross-entropy, perplexity). Callers branch on this, never on the family name.
 */
export type TaskKind = "classify" | "regress" | "lm";

/** The task kind of a checked config (see {@linkcode TaskKind}). */
export function taskKind(config: ModelConfig): TaskKind {
  if (config.family !== "bert") return "lm";
  return config.problemType === "regression" ? "regress" : "classify";
}

/** Heads kept in layer `l`, in original numbering. */
export function keptHeads(config: ModelConfig, layer: number): number[] {
  const pruned = new Set(config.prunedHeads[layer]);
  const kept: number[] = [];
  for (let h = 0; h < config.heads; h++) if (!pruned.has(h)) kept.push(h);
  return kept;
}

const ACTIVATIONS: Record<string, GeluKind> = {
  gelu: "erf",
  gelu_new: "tanh",
  gelu_pytorch_tanh: "tanh",
  gelu_fast: "tanh",
};

/**
 * Checks a parsed `config.json` and returns the typed config.
 *
 * @param raw the parsed JSON
 * @param source where it came from, for error messages (e.g. "models/bert-sst2/config.json")
 * @throws {Error} naming `source` and the field, for an unknown `model_type`, a missing or non-integer size,
 *   hidden size not divisible by heads, an unsupported activation, or malformed `pruned_heads`
 * @example Usage
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 10, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16 }, "config.json");
 * config.headDim; // 4
 * ```
 */
export function parseConfig(raw: unknown, source: string): ModelConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error(`${source}: expected a JSON object`);
  }
  const r = raw as Record<string, unknown>;
  const type = r.model_type;
  if (typeof type !== "string" || !(FAMILIES as readonly string[]).includes(type)) {
    throw new Error(
      `${source}: unknown model_type ${JSON.stringify(type)} (supported: ${FAMILIES.join(", ")})`,
    );
  }
  const family = type as Family;
  const int = (field: string, fallback?: number): number => {
    const v = r[field] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      throw new Error(`${source}: field "${field}" must be a non-negative integer, got ${JSON.stringify(r[field])}`);
    }
    return v;
  };
  const num = (field: string, fallback: number): number => {
    const v = r[field] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(`${source}: field "${field}" must be a number, got ${JSON.stringify(r[field])}`);
    }
    return v;
  };
  const act = (field: string, fallback: string): GeluKind => {
    const v = r[field] ?? fallback;
    const kind = typeof v === "string" ? ACTIVATIONS[v] : undefined;
    if (kind === undefined) {
      throw new Error(
        `${source}: field "${field}" = ${JSON.stringify(v)} is not supported (supported: ${
          Object.keys(ACTIVATIONS).join(", ")
        })`,
      );
    }
    return kind;
  };

  let c: Omit<ModelConfig, "headDim" | "prunedHeads" | "labels" | "problemType">;
  if (family === "bert") {
    c = {
      family,
      raw: r,
      vocabSize: int("vocab_size"),
      hidden: int("hidden_size"),
      layers: int("num_hidden_layers"),
      heads: int("num_attention_heads"),
      intermediate: int("intermediate_size"),
      maxPositions: int("max_position_embeddings"),
      typeVocabSize: int("type_vocab_size", 2),
      layerNormEps: num("layer_norm_eps", 1e-12),
      activation: act("hidden_act", "gelu"),
      scaleAttnWeights: true,
      scaleAttnByInverseLayerIdx: false,
    };
  } else {
    const hidden = int("n_embd");
    c = {
      family,
      raw: r,
      vocabSize: int("vocab_size"),
      hidden,
      layers: int("n_layer"),
      heads: int("n_head"),
      intermediate: r.n_inner == null ? 4 * hidden : int("n_inner"),
      maxPositions: int("n_positions"),
      typeVocabSize: 0,
      layerNormEps: num("layer_norm_epsilon", 1e-5),
      // HF's modeling_openai maps afn "gelu" to gelu_new (the tanh form), unlike ACT2FN
      activation: family === "gpt2"
        ? act("activation_function", "gelu_new")
        : r.afn === "gelu" || r.afn === undefined
        ? "tanh"
        : act("afn", "gelu"),
      scaleAttnWeights: family === "gpt2" ? r.scale_attn_weights !== false : true,
      scaleAttnByInverseLayerIdx: family === "gpt2" && r.scale_attn_by_inverse_layer_idx === true,
    };
  }
  if (c.heads === 0 || c.hidden % c.heads !== 0) {
    throw new Error(`${source}: hidden size ${c.hidden} is not divisible by the number of heads ${c.heads}`);
  }
  return {
    ...c,
    headDim: c.hidden / c.heads,
    prunedHeads: parsePrunedHeads(r.pruned_heads, c.layers, c.heads, source),
    ...parseLabels(r, source),
  };
}

function parsePrunedHeads(value: unknown, layers: number, heads: number, source: string): number[][] {
  const out: number[][] = Array.from({ length: layers }, () => []);
  if (value === undefined || value === null) return out;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${source}: field "pruned_heads" must be an object {layer: [heads]}`);
  }
  for (const [key, list] of Object.entries(value as Record<string, unknown>)) {
    const layer = Number(key);
    if (!Number.isInteger(layer) || layer < 0 || layer >= layers) {
      throw new Error(`${source}: "pruned_heads" has layer ${JSON.stringify(key)}, outside 0..${layers - 1}`);
    }
    if (!Array.isArray(list) || list.some((h) => !Number.isInteger(h) || h < 0 || h >= heads)) {
      throw new Error(`${source}: "pruned_heads"."${key}" must list head indices in 0..${heads - 1}`);
    }
    out[layer] = [...new Set([...out[layer], ...(list as number[])])].sort((a, b) => a - b);
  }
  return out;
}

function parseLabels(r: Record<string, unknown>, source: string): Pick<ModelConfig, "labels" | "problemType"> {
  const problemType = r.problem_type === "regression" ? "regression" : "single_label_classification";
  const id2label = r.id2label;
  if (id2label !== undefined && id2label !== null) {
    if (typeof id2label !== "object" || Array.isArray(id2label)) {
      throw new Error(`${source}: field "id2label" must be an object {index: name}`);
    }
    const entries = Object.entries(id2label as Record<string, unknown>);
    const labels: string[] = new Array(entries.length);
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= entries.length) {
        throw new Error(`${source}: "id2label" key ${JSON.stringify(k)} is not an index in 0..${entries.length - 1}`);
      }
      labels[i] = String(v);
    }
    return { labels, problemType };
  }
  const n = r.num_labels ?? (problemType === "regression" ? 1 : 2);
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new Error(`${source}: field "num_labels" must be a positive integer`);
  }
  return { labels: Array.from({ length: n }, (_, i) => `LABEL_${i}`), problemType };
}
