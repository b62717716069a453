/**
 * What a model family is to the rest of bertology: one object per family file (`bert.ts`, `gpt2.ts`,
 * `openai_gpt.ts`), registered by its HF `model_type` in `registry.ts`. Everything that differs between
 * families — config fields, checkpoint keys and shapes, the forward pass, how heads are pruned, the task its
 * head computes, defaults for new models — is asked of this object; no other module names a family.
 *
 * @module
 */

import type { HookKind } from "../hooks.ts";
import type { TokenizerKind } from "../tokenizers/types.ts";
import type { ConfigFields, FamilySection, ModelConfig, PositionScheme, TaskKind } from "./config.ts";
import type { ModelOps } from "./ops.ts";

/** The size fields every family reads from its `config.json` (under its own field names). */
export interface FamilySizes {
  /** Vocabulary size. */
  vocabSize: number;
  /** d_model. */
  hidden: number;
  /** Number of blocks. */
  layers: number;
  /** Heads per layer before pruning. */
  heads: number;
  /** MLP width. */
  intermediate: number;
  /** Rows of the position table (`max_position_embeddings`; the longest sequence is this less the rows a
   * position scheme reserves). */
  maxPositions: number;
  /** Token types (0 when the family has none). */
  typeVocabSize: number;
  /** LayerNorm ε. */
  layerNormEps: number;
  /** The MLP activation. */
  activation: ModelConfig["activation"];
  /** Whether the family has a classification head (and so reads labels from the config). */
  classifier: boolean;
  /**
   * Key/value heads (`num_key_value_heads`, grouped-query attention; must divide `heads`); default `heads`.
   */
  kvHeads?: number;
  /** d_head when the config says it (`head_dim`); default hidden / heads. */
  headDim?: number;
  /** Width of factorised embeddings (`embedding_size`); default hidden. */
  embeddingSize?: number;
  /** How positions are numbered; default `{ kind: "index", offset: 0 }`. */
  positions?: PositionScheme;
  /** The family's own typed fields; default none. */
  section?: FamilySection;
  /**
   * The layers each `pruned_heads` key names, in HF's numbering (ALBERT keys the block a group of layers
   * shares); default one key per layer.
   */
  prunedHeadsKeys?: number[][];
}

/** Checkpoint tensors a config implies. */
export interface WeightSpec {
  /** Tensors that must be present, by HF key, with their shapes. */
  required: Map<string, number[]>;
  /**
   * Tensors that may be absent (a bare encoder's pooler and classifier, an untied LM head). With
   * `optionalIsHead`, they are the model's head (all present or all absent; without them there are no logits).
   */
  optional: Map<string, number[]>;
  /** Whether the optional tensors are the head (BERT's pooler + classifier) rather than independent extras. */
  optionalIsHead: boolean;
}

/**
 * Where one layer's heads live in its weights, for real pruning: each entry names a tensor and the axis along
 * which it holds `groups` consecutive blocks of `[heads_l · w]` (3 for a fused q|k|v, else 1), `w` = `unitSize`
 * (default d_head); head `i` of the layer is the `w` rows/columns at `group · heads_l · w + i · w`.
 */
export interface HeadSlice {
  /** The HF key. */
  name: string;
  /** 0 = rows (a 1-D bias is one column of rows), 1 = columns. */
  axis: 0 | 1;
  /**
   * Whether the blocks are the layer's key/value heads rather than its query heads (grouped-query attention:
   * Llama's `k_proj` / `v_proj`): block `g` is kv head g of `keptKvHeads` (`config.ts`), removed only when every
   * query head it serves is pruned.
   */
  kv?: boolean;
  /** Concatenated per-head blocks along that axis. */
  groups: number;
  /**
   * Rows/columns one unit holds in each group; default d_head for a head, 1 for a neuron. GPT-NeoX's fused
   * `query_key_value` keeps each head's q, k and v rows together: one group, 3·d_head rows per head.
   */
  unitSize?: number;
  /**
   * Whether this is the output projection (BERT's `attention.output.dense` / `output.dense`, GPT's `c_proj`):
   * a unit's contribution to the residual stream is linear in these rows/columns, so a mask value folds in
   * here, and zeroing them alone removes the unit exactly (no bias needs zeroing).
   */
  output?: boolean;
  /**
   * For an output slice: the output projection's bias key — shared by every unit, never sliced, and what Kwon
   * et al.'s tuning solves for beside the kept units.
   */
  bias?: string;
}

/** Sizes of a new model to train (see `core/training/init.ts`). */
export interface NewModelSizes {
  /** Number of blocks. */
  layers: number;
  /** Heads per layer. */
  heads: number;
  /** d_model. */
  hidden: number;
  /** MLP width. */
  intermediate: number;
  /** Vocabulary size. */
  vocabSize: number;
  /** Positions (the family's default when absent). */
  maxPositions?: number;
  /** Classification labels (classifier families; index = class id). */
  labels?: readonly string[];
  /** `"regression"` for one real-valued output. */
  problemType?: "regression" | "single_label_classification";
  /** Dropout probability to write. */
  dropout: number;
  /** BERT: a masked-language-model head (HF `BertForMaskedLM`) instead of a classifier. */
  maskedLM?: boolean;
}

/** A model family. */
export interface ModelFamily {
  /** HF `model_type`. */
  readonly modelType: string;
  /** A readable name ("BERT", "GPT-2"). */
  readonly displayName: string;
  /** The tokenizer its checkpoints use when they ship no `tokenizer.json`. */
  readonly tokenizer: TokenizerKind;
  /** Reads the family's size fields from `config.json`. */
  readSizes(fields: ConfigFields): FamilySizes;
  /** What the head computes for this config. */
  task(config: ModelConfig): TaskKind;
  /** Tensors this config implies. */
  weights(config: ModelConfig): WeightSpec;
  /** Normalises an older checkpoint key (a bare base model's missing prefix, TF-era names). */
  renameKey(name: string): string;
  /** Where layer `l`'s heads live, for pruning. */
  headSlices(config: ModelConfig, layer: number): HeadSlice[];
  /**
   * Where layer `l`'s MLP neurons live (`groups` 1): neuron `j` is row/column `j` of the MLP's input
   * projection and its bias, and of its output projection (BERT's `intermediate.dense` / `output.dense`,
   * GPT's `mlp.c_fc` / `mlp.c_proj`).
   */
  neuronSlices(config: ModelConfig, layer: number): HeadSlice[];
  /**
   * The forward pass: embeddings → blocks → head. Returns the logits, or `undefined` when the checkpoint
   * has no head (a bare encoder).
   */
  forward<T>(ops: ModelOps<T>, config: ModelConfig): T | undefined;
  /**
   * A language model's readout applied to any residual stream [.., C] → logits [.., vocab]: the final
   * LayerNorm (when the family has one) and the unembedding (the logit lens). Absent for classifiers.
   */
  unembed?<T>(ops: ModelOps<T>, config: ModelConfig, residual: T): T;
  /** Non-layer activations the forward emits besides `embed.*` and `hook_logits` (`ln_final`, `pooler`). */
  readonly finalHooks: readonly HookKind[];
  /** The activation behind HF's `hidden_states.{i}`, i = 0 … layers. */
  hiddenStateHook(i: number, config: ModelConfig): string;
  /** A new model's `config.json`, with HF's field names and defaults. */
  newConfig(sizes: NewModelSizes): Record<string, unknown>;
  /** The initial standard deviation of weight `name` (HF's `_init_weights`; `std` is `initializer_range`). */
  initStd(name: string, config: ModelConfig, std: number): number;
  /** Embedding rows that start at zero (BERT's padding row), by weight key. */
  zeroRows(config: ModelConfig): Map<string, number>;
  /**
   * Whether Hugging Face transformers ≤ 4.x prunes heads on load from `pruned_heads` (its model class has
   * `_prune_heads`), so the `hf-v4` pruned format serves it; default true. Llama-family models have none.
   */
  readonly hfPrunesHeads?: boolean;
}
