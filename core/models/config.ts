/**
 * A checked model configuration: the plain object every model, study and front-end reads. Family-specific
 * field names (`hidden_size` vs `n_embd` …) are read by the family object (`family.ts`); this module holds
 * what all families share — the typed config, the field reader with its limits, pruned heads and labels.
 * `registry.ts`'s `parseConfig` picks the family by `model_type`.
 *
 * @module
 */

import type { GeluKind } from "../kernels/types.ts";
import type { FamilySizes, ModelFamily } from "./family.ts";

/**
 * An MLP (or head) activation: a GELU form (`erf` = HF's `gelu`, `tanh` = `gelu_new` / `gelu_pytorch_tanh`),
 * `relu` or `silu` (the Llama family's gate).
 */
export type Activation = GeluKind | "relu" | "silu";

/**
 * How a family numbers positions for its learned position embedding: `index` — position t of every row is
 * `t + offset` (BERT, GPT-2); `after_padding` — fairseq's scheme that RoBERTa, XLM-R and CamemBERT inherit:
 * `padding_idx + 1 + (number of non-pad tokens up to t)` on real tokens and `padding_idx` on pad tokens, so
 * the table holds `padding_idx + 1` rows before the first position.
 */
export type PositionScheme =
  | { kind: "index"; offset: number }
  | { kind: "after_padding"; paddingIdx: number };

/**
 * A family's own typed config fields, beyond the shared ones (GPT-2's `scale_attn_by_inverse_layer_idx`,
 * ALBERT's `num_hidden_groups` …): read and checked by the family's `readSizes`, read back by the family only
 * through its own typed accessor.
 */
export type FamilySection = Readonly<
  Record<string, number | boolean | string | readonly (number | boolean | string)[]>
>;

/** A family's HF `model_type` (`bert`, `gpt2`, `openai-gpt`; see `registry.ts`). */
export type Family = string;

/**
 * What a model's head computes, and so which loss, labels and scores it takes: `classify` (class logits,
 * cross-entropy, accuracy/F1/MCC), `regress` (one output, MSE, Pearson/Spearman), `lm` (next-token logits,
 * next-token cross-entropy, perplexity), `mlm` (masked-language-model logits over the vocabulary at every
 * position, cross-entropy on the masked positions, masked-token accuracy and perplexity). Callers branch on this,
 * never on the family name.
 */
export type TaskKind = "classify" | "regress" | "lm" | "mlm";

/** A checked model configuration. */
export interface ModelConfig {
  /** `model_type`: the key of its family in the registry. */
  family: Family;
  /** What the head computes. */
  task: TaskKind;
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
  /**
   * Key/value heads per layer before any pruning (`num_key_value_heads`; `heads` in families without
   * grouped-query attention): query head h reads kv head ⌊h / (heads / kvHeads)⌋ (see {@linkcode keptKvHeads}).
   */
  kvHeads: number;
  /** d_head: `head_dim` where the family reads it, else hidden / heads. */
  headDim: number;
  /** Width of the embedding tables: `embedding_size` for factorised embeddings (ALBERT, ELECTRA), else hidden. */
  embeddingSize: number;
  /** MLP width before any neuron pruning (`intermediate_size` / `n_inner` or 4·n_embd). */
  intermediate: number;
  /**
   * MLP width of each layer: `intermediate_sizes` in config.json (written by neuron pruning, a bertology
   * field HF does not read), else `intermediate` in every layer.
   */
  intermediateSizes: number[];
  /**
   * Longest sequence: `max_position_embeddings` / `n_positions`, less the rows a position scheme reserves
   * (RoBERTa's `padding_idx + 1`).
   */
  maxPositions: number;
  /** Rows of the position-embedding table (`max_position_embeddings`; 0 when the family has none). */
  positionTableSize: number;
  /** How positions are numbered (declared by the family). */
  positions: PositionScheme;
  /** Token types (0 for families without them). */
  typeVocabSize: number;
  /** LayerNorm epsilon (`layer_norm_eps` / `layer_norm_epsilon`). */
  layerNormEps: number;
  /** The MLP activation (`hidden_act` / `activation_function` / `afn` / `activation`). */
  activation: Activation;
  /** The layers each `pruned_heads` key names (one per layer, or ALBERT's shared groups). */
  prunedHeadsKeys: number[][];
  /** Pruned heads per layer, original numbering, sorted (`pruned_heads` in config.json). */
  prunedHeads: number[][];
  /** Classification labels: index → name, from `id2label` or `num_labels` (empty for language models). */
  labels: string[];
  /** `regression` (one output, MSE loss) or `single_label_classification`. */
  problemType: "regression" | "single_label_classification";
  /** The family's own typed fields (see {@linkcode FamilySection}). */
  section: FamilySection;
}

/** The task kind of a checked config (see {@linkcode TaskKind}). */
export function taskKind(config: ModelConfig): TaskKind {
  return config.task;
}

/**
 * The key/value heads still in layer `l` (original numbering): those serving at least one kept query head.
 * Grouped-query attention removes a query head alone; a kv head goes only with the last query head it serves.
 *
 * @example Usage
 * ```ts
 * import { keptKvHeads } from "./config.ts";
 * keptKvHeads({ heads: 4, kvHeads: 2, prunedHeads: [[0, 1, 3]] }, 0); // [1]
 * ```
 */
export function keptKvHeads(config: Pick<ModelConfig, "heads" | "kvHeads" | "prunedHeads">, layer: number): number[] {
  const group = config.heads / config.kvHeads;
  return [...new Set(keptHeads(config, layer).map((h) => Math.floor(h / group)))];
}

/**
 * For each kept query head of layer `l`, the index among the layer's kept kv heads ({@linkcode keptKvHeads}) of
 * the kv head it reads (an attention's `kvHeadOf`).
 *
 * @example Usage
 * ```ts
 * import { kvHeadOfKept } from "./config.ts";
 * kvHeadOfKept({ heads: 4, kvHeads: 2, prunedHeads: [[0]] }, 0); // [0, 1, 1]
 * ```
 */
export function kvHeadOfKept(config: Pick<ModelConfig, "heads" | "kvHeads" | "prunedHeads">, layer: number): number[] {
  const group = config.heads / config.kvHeads, kv = keptKvHeads(config, layer);
  return keptHeads(config, layer).map((h) => kv.indexOf(Math.floor(h / group)));
}

/** Heads kept in layer `l`, in original numbering. */
export function keptHeads(config: Pick<ModelConfig, "heads" | "prunedHeads">, layer: number): number[] {
  const pruned = new Set(config.prunedHeads[layer]);
  const kept: number[] = [];
  for (let h = 0; h < config.heads; h++) if (!pruned.has(h)) kept.push(h);
  return kept;
}

/**
 * The largest sizes a config may declare. They bound every allocation made from config.json before the
 * weights are looked at, so a hostile `num_hidden_layers: 1e9` is refused at once instead of exhausting
 * memory; real checkpoints are far below them (GPT-3 175B: 96 layers, 96 heads, d_model 12,288).
 */
export const CONFIG_LIMITS: Readonly<Record<string, number>> = {
  layers: 1024,
  heads: 1024,
  hidden: 65_536,
  intermediate: 262_144,
  vocabSize: 4_194_304,
  maxPositions: 1_048_576,
  typeVocabSize: 65_536,
  labels: 65_536,
};

const ACTIVATIONS: Record<string, Activation> = {
  gelu: "erf",
  gelu_new: "tanh",
  gelu_pytorch_tanh: "tanh",
  gelu_fast: "tanh",
  relu: "relu",
  silu: "silu",
};

/** Typed reads of config.json fields, each error naming the file and the field. */
export class ConfigFields {
  /** The parsed JSON object. */
  readonly raw: Record<string, unknown>;
  /** Where it came from, for messages (e.g. "models/bert-sst2/config.json"). */
  readonly source: string;

  /**
   * @param raw the parsed JSON object
   * @param source where it came from
   */
  constructor(raw: Record<string, unknown>, source: string) {
    this.raw = raw;
    this.source = source;
  }

  /**
   * A non-negative integer field (or `fallback` when absent), at most `max`.
   *
   * @throws {Error} naming the field, for a missing, non-integer, negative or too large value
   */
  int(field: string, fallback?: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      throw new Error(
        `${this.source}: field "${field}" must be a non-negative integer, got ${excerpt(this.raw[field])}`,
      );
    }
    if (v > max) {
      throw new Error(`${this.source}: field "${field}" = ${v} is larger than ${max}, the most bertology accepts`);
    }
    return v;
  }

  /** An integer size field bounded by {@linkcode CONFIG_LIMITS}`[limit]`. */
  size(field: string, limit: keyof typeof CONFIG_LIMITS & string, fallback?: number): number {
    return this.int(field, fallback, CONFIG_LIMITS[limit]);
  }

  /**
   * A finite number field (or `fallback`), within the bounds given.
   *
   * @throws {Error} naming the field, for a value that is not a finite number or is out of range
   */
  num(field: string, fallback: number, range: { min?: number; max?: number; exclusiveMin?: number } = {}): number {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(`${this.source}: field "${field}" must be a finite number, got ${excerpt(this.raw[field])}`);
    }
    const { min, max, exclusiveMin } = range;
    if ((min !== undefined && v < min) || (exclusiveMin !== undefined && v <= exclusiveMin)) {
      const bound = exclusiveMin !== undefined ? `greater than ${exclusiveMin}` : `at least ${min}`;
      throw new Error(`${this.source}: field "${field}" = ${v} is out of range: it must be ${bound}`);
    }
    if (max !== undefined && v > max) {
      throw new Error(`${this.source}: field "${field}" = ${v} is out of range: it must be at most ${max}`);
    }
    return v;
  }

  /** An activation name (`gelu`, `gelu_new`, `relu` …) → its kind. */
  activation(field: string, fallback: string): Activation {
    const v = this.raw[field] ?? fallback;
    const kind = typeof v === "string" ? ACTIVATIONS[v] : undefined;
    if (kind === undefined) {
      throw new Error(
        `${this.source}: field "${field}" = ${excerpt(v)} is not supported (supported: ${
          Object.keys(ACTIVATIONS).join(", ")
        })`,
      );
    }
    return kind;
  }
}

/** A short, safe rendering of a JSON value for an error message. */
function excerpt(v: unknown): string {
  // JSON reads 1e400 as Infinity, which JSON.stringify would print as null
  if (typeof v === "number" && !Number.isFinite(v)) return `${v} (a number beyond double precision)`;
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

/**
 * Checks a parsed `config.json` with a given family and returns the typed config (the registry's
 * `parseConfig` picks the family from `model_type`).
 *
 * @throws {Error} naming `source` and the field: a missing, non-integer or too large size, hidden size not
 *   divisible by heads, an unsupported activation, malformed `pruned_heads` or labels
 */
export function parseConfigWith(family: ModelFamily, raw: Record<string, unknown>, source: string): ModelConfig {
  const fields = new ConfigFields(raw, source);
  const s: FamilySizes = family.readSizes(fields);
  const {
    classifier,
    headDim: declaredHeadDim,
    embeddingSize,
    positions,
    section,
    prunedHeadsKeys,
    kvHeads,
    ...sizes
  } = s;
  const keys = prunedHeadsKeys ?? Array.from({ length: s.layers }, (_, l) => [l]);
  if (s.heads === 0 || (declaredHeadDim === undefined && s.hidden % s.heads !== 0)) {
    throw new Error(`${source}: hidden size ${s.hidden} is not divisible by the number of heads ${s.heads}`);
  }
  if (kvHeads !== undefined && (kvHeads < 1 || s.heads % kvHeads !== 0)) {
    throw new Error(
      `${source}: field "num_key_value_heads" = ${kvHeads} must divide "num_attention_heads" = ${s.heads} ` +
        `(each key/value head serves an equal group of query heads)`,
    );
  }
  const scheme = positions ?? { kind: "index", offset: 0 };
  const reserved = scheme.kind === "after_padding" ? scheme.paddingIdx + 1 : scheme.offset;
  if (s.maxPositions > 0 && reserved >= s.maxPositions) {
    throw new Error(
      `${source}: max_position_embeddings ${s.maxPositions} leaves no position after the ${reserved} reserved rows`,
    );
  }
  const labels = classifier
    ? parseLabels(raw, source)
    : { labels: [], problemType: "single_label_classification" as const };
  const config: ModelConfig = {
    family: family.modelType,
    task: "lm",
    raw,
    ...sizes,
    headDim: declaredHeadDim ?? s.hidden / s.heads,
    kvHeads: kvHeads ?? s.heads,
    embeddingSize: embeddingSize ?? s.hidden,
    maxPositions: s.maxPositions - reserved,
    positionTableSize: s.maxPositions,
    positions: scheme,
    section: section ?? {},
    prunedHeadsKeys: keys,
    prunedHeads: parsePrunedHeads(raw.pruned_heads, s.layers, keys, s.heads, source),
    intermediateSizes: parseIntermediateSizes(raw.intermediate_sizes, s.layers, s.intermediate, source),
    ...labels,
  };
  config.task = family.task(config);
  return config;
}

/**
 * `intermediate_sizes`: one MLP width per layer, each at most the config's full width (neuron pruning only
 * removes neurons). Absent: every layer has the full width.
 */
function parseIntermediateSizes(value: unknown, layers: number, full: number, source: string): number[] {
  if (value === undefined || value === null) return Array.from({ length: layers }, () => full);
  if (!Array.isArray(value) || value.length !== layers) {
    throw new Error(`${source}: field "intermediate_sizes" must list one MLP width per layer (${layers} integers)`);
  }
  return value.map((v, l) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > full) {
      throw new Error(
        `${source}: "intermediate_sizes"[${l}] = ${excerpt(v)} must be an integer in 0..${full} (the full MLP width)`,
      );
    }
    return v;
  });
}

function parsePrunedHeads(
  value: unknown,
  layers: number,
  keys: readonly number[][],
  heads: number,
  source: string,
): number[][] {
  const out: number[][] = Array.from({ length: layers }, () => []);
  if (value === undefined || value === null) return out;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${source}: field "pruned_heads" must be an object {layer: [heads]}`);
  }
  for (const [key, list] of Object.entries(value as Record<string, unknown>)) {
    const k = Number(key);
    if (!Number.isInteger(k) || k < 0 || k >= keys.length) {
      throw new Error(`${source}: "pruned_heads" has layer ${excerpt(key)}, outside 0..${keys.length - 1}`);
    }
    if (!Array.isArray(list) || list.some((h) => !Number.isInteger(h) || h < 0 || h >= heads)) {
      throw new Error(`${source}: "pruned_heads"."${k}" must list head indices in 0..${heads - 1}`);
    }
    for (const layer of keys[k]!) {
      out[layer] = [...new Set([...out[layer]!, ...(list as number[])])].sort((a, b) => a - b);
    }
  }
  return out;
}

/**
 * The `pruned_heads` field for pruned heads per layer, keyed as the family's HF class reads it (one key per
 * layer; ALBERT's shared groups one key each), empty keys left out.
 *
 * @example Usage
 * ```ts
 * import { prunedHeadsField } from "./config.ts";
 * prunedHeadsField({ prunedHeadsKeys: [[0], [1], [2]] }, [[1, 3], [], [0]]); // { "0": [1, 3], "2": [0] }
 * ```
 */
export function prunedHeadsField(
  config: Pick<ModelConfig, "prunedHeadsKeys">,
  pruned: readonly (readonly number[])[],
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  config.prunedHeadsKeys.forEach((layers, k) => {
    const heads = pruned[layers[0]!] ?? [];
    if (heads.length > 0) out[String(k)] = [...heads];
  });
  return out;
}

function parseLabels(r: Record<string, unknown>, source: string): Pick<ModelConfig, "labels" | "problemType"> {
  const problemType = r.problem_type === "regression" ? "regression" : "single_label_classification";
  const max = CONFIG_LIMITS.labels!;
  const id2label = r.id2label;
  if (id2label !== undefined && id2label !== null) {
    if (typeof id2label !== "object" || Array.isArray(id2label)) {
      throw new Error(`${source}: field "id2label" must be an object {index: name}`);
    }
    const entries = Object.entries(id2label as Record<string, unknown>);
    if (entries.length > max) {
      throw new Error(`${source}: "id2label" has ${entries.length} labels; the most bertology accepts is ${max}`);
    }
    const labels: string[] = new Array(entries.length);
    for (const [k, v] of entries) {
      const i = Number(k);
      // "00" and "0" would name one class twice (a label lost): keys must be canonical indices, each once
      if (!Number.isInteger(i) || i < 0 || i >= entries.length || String(i) !== k || labels[i] !== undefined) {
        throw new Error(
          `${source}: "id2label" key ${excerpt(k)} is not an index in 0..${entries.length - 1} written once, ` +
            `as a plain decimal ("0", "1", …)`,
        );
      }
      labels[i] = String(v);
    }
    return { labels, problemType };
  }
  const n = r.num_labels ?? (problemType === "regression" ? 1 : 2);
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new Error(`${source}: field "num_labels" must be a positive integer`);
  }
  if (n > max) {
    throw new Error(`${source}: field "num_labels" = ${n} is larger than ${max}, the most bertology accepts`);
  }
  return { labels: Array.from({ length: n }, (_, i) => `LABEL_${i}`), problemType };
}
