/**
 * The Llama family with its language-model head — Llama (`llama`), Mistral (`mistral`) and Qwen2 (`qwen2`), one
 * architecture whose variants differ only in config — following HF's `modeling_llama.py` (LlamaForCausalLM):
 * token embedding → L pre-RMSNorm blocks (causal attention with rotary q and k and grouped-query key/value heads,
 * SiLU-gated MLP) → final RMSNorm → logits through `lm_head` (or the tied token embedding). No position table:
 * positions enter only through the rotation. The variants' differences, read from `config.json`:
 *
 * - biases: Llama's `attention_bias` (q, k, v and o) and `mlp_bias`; Qwen2 always has q, k, v biases and no o
 *   bias; Mistral has none;
 * - `num_key_value_heads` (grouped-query attention), `head_dim`, `rope_theta` (transformers ≤ 4: top level; 5:
 *   `rope_parameters.rope_theta`), `rms_norm_eps`, `tie_word_embeddings`;
 * - Mistral's `sliding_window` (every layer) and Qwen2's `use_sliding_window` (the layers its `layer_types` or
 *   `max_window_layers` name): those layers' attention sees a query's last `sliding_window` keys, itself
 *   included (HF's `kv_idx > q_idx − sliding_window`).
 *
 * Rotary scalings (`rope_scaling`, `rope_parameters.rope_type` other than `default`) are refused.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { ConfigFields, FamilySection, ModelConfig } from "./config.ts";
import type { FamilySizes, HeadSlice, ModelFamily, NewModelSizes, WeightSpec } from "./family.ts";
import { buildAttention, buildGatedMlp, headsIn } from "./builders.ts";
import { keptKvHeads } from "./config.ts";
import { unembedding } from "./gpt2.ts";
import type { LinearParams, ModelOps } from "./ops.ts";

/** The Llama family's own config fields, as its forward reads them. */
interface LlamaSection extends FamilySection {
  /** The rotary frequency base. */
  ropeTheta: number;
  /** Whether q, k and v projections have biases. */
  qkvBias: boolean;
  /** Whether the attention output projection `o_proj` has a bias. */
  outputBias: boolean;
  /** Whether the gated MLP's projections have biases (`mlp_bias`). */
  mlpBias: boolean;
  /** Whether the LM head is the token embedding (`tie_word_embeddings`). */
  tied: boolean;
  /** The attention window (keys a query sees, itself included) of the sliding layers; 0 = no window. */
  slidingWindow: number;
  /** Per layer, whether it attends within the window. */
  slidingLayers: boolean[];
}

/** How one model type of the family reads what differs between the variants. */
interface LlamaVariant {
  modelType: string;
  displayName: string;
  architecture: string;
  /** HF's `max_position_embeddings` default. */
  defaultPositions: number;
  /** Biases of q/k/v, o_proj and the MLP. */
  biases(f: ConfigFields): { qkv: boolean; output: boolean; mlp: boolean };
  /** The window of the sliding layers (0 when no layer slides) and which layers slide. */
  slidingWindow(f: ConfigFields): { window: number; layers: boolean[] };
  /** Fields a new model's `config.json` gets besides the shared ones. */
  newFields: Record<string, unknown>;
}

const DEFAULT_ROPE_THETA = 10_000;

function section(config: ModelConfig): LlamaSection {
  return config.section as LlamaSection;
}

/** A boolean field (or `fallback` when absent or null). */
function flag(f: ConfigFields, field: string, fallback: boolean): boolean {
  const v = f.raw[field] ?? fallback;
  if (typeof v !== "boolean") throw new Error(`${f.source}: field "${field}" must be true or false, got ${v}`);
  return v;
}

/**
 * The rotary frequency base: `rope_parameters.rope_theta` (transformers 5) or `rope_theta`; a scaled rotary
 * embedding (`rope_scaling`, a `rope_type` other than `default`) or a partial one is refused.
 */
function readRopeTheta(f: ConfigFields): number {
  let theta = f.raw.rope_theta;
  for (const field of ["rope_parameters", "rope_scaling"]) {
    const params = f.raw[field];
    if (params === undefined || params === null) continue;
    if (typeof params !== "object" || Array.isArray(params)) {
      throw new Error(`${f.source}: field "${field}" must be an object`);
    }
    const p = params as Record<string, unknown>;
    const type = p.rope_type ?? p.type ?? "default";
    if (type !== "default") {
      throw new Error(
        `${f.source}: field "${field}" asks for the rotary scaling ${JSON.stringify(type)}, which bertology does ` +
          `not compute: it supports the default rotary embedding only (rope_type "default")`,
      );
    }
    theta = p.rope_theta ?? theta;
  }
  const partial = (f.raw.rope_parameters as Record<string, unknown> | undefined)?.partial_rotary_factor ??
    f.raw.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1) {
    throw new Error(`${f.source}: "partial_rotary_factor" = ${partial} is not supported for this family (1 only)`);
  }
  theta ??= DEFAULT_ROPE_THETA;
  if (typeof theta !== "number" || !(theta > 0) || !Number.isFinite(theta)) {
    throw new Error(`${f.source}: field "rope_theta" must be a positive number, got ${JSON.stringify(theta)}`);
  }
  return theta;
}

function readSizes(variant: LlamaVariant, f: ConfigFields): FamilySizes {
  const heads = f.size("num_attention_heads", "heads");
  const hidden = f.size("hidden_size", "hidden");
  const activation = f.activation("hidden_act", "silu");
  if (activation !== "silu") {
    throw new Error(
      `${f.source}: field "hidden_act" = ${JSON.stringify(f.raw.hidden_act)} is not supported for ` +
        `${variant.displayName}: its gated MLP is SiLU-gated ("silu")`,
    );
  }
  const kvHeads = f.size("num_key_value_heads", "heads", heads);
  if (kvHeads === 0 || heads % kvHeads !== 0) {
    throw new Error(
      `${f.source}: field "num_key_value_heads" = ${kvHeads} must divide "num_attention_heads" = ${heads} ` +
        `(each key/value head serves an equal group of query heads)`,
    );
  }
  const biases = variant.biases(f);
  const maxPositions = f.size("max_position_embeddings", "maxPositions", variant.defaultPositions);
  const sliding = variant.slidingWindow(f);
  return {
    vocabSize: f.size("vocab_size", "vocabSize"),
    hidden,
    layers: f.size("num_hidden_layers", "layers"),
    heads,
    kvHeads,
    ...(f.raw.head_dim == null ? {} : { headDim: f.size("head_dim", "hidden") }),
    intermediate: f.size("intermediate_size", "intermediate"),
    maxPositions,
    typeVocabSize: 0,
    layerNormEps: f.num("rms_norm_eps", 1e-6, { exclusiveMin: 0 }),
    activation,
    classifier: false,
    section: {
      ropeTheta: readRopeTheta(f),
      qkvBias: biases.qkv,
      outputBias: biases.output,
      mlpBias: biases.mlp,
      tied: flag(f, "tie_word_embeddings", false),
      slidingWindow: sliding.window,
      slidingLayers: sliding.layers,
    } satisfies LlamaSection,
  };
}

/** A projection by module prefix, with its bias when the config says it has one. */
function proj(prefix: string, bias: boolean): LinearParams {
  return { weight: `${prefix}.weight`, ...(bias ? { bias: `${prefix}.bias` } : {}), layout: "linear" };
}

/** The forward pass; returns LM logits [B, T, V] (or [rows, V] on the rows a loss counts). */
function llamaForward<T>(ops: ModelOps<T>, config: ModelConfig): T {
  const s = section(config), eps = config.layerNormEps;
  const rms = (prefix: string) => ({ weight: `${prefix}.weight`, eps });
  const rotary = { rotaryDim: config.headDim, theta: s.ropeTheta };

  const tok = ops.hook(hookName("tok_embed"), ops.embedding("model.embed_tokens.weight", "input_ids"));
  let h = ops.hook(hookName("embed"), tok);
  for (let l = 0; l < config.layers; l++) {
    const p = `model.layers.${l}`;
    h = ops.block(h, (input) => {
      const x = ops.hook(hookName("resid_pre", l), input);
      const a = ops.rmsNorm(x, rms(`${p}.input_layernorm`));
      const qkv = (["q_proj", "k_proj", "v_proj"] as const).map((n) =>
        ops.linear(a, proj(`${p}.self_attn.${n}`, s.qkvBias))
      ) as [T, T, T];
      const out = proj(`${p}.self_attn.o_proj`, s.outputBias);
      const window = s.slidingLayers[l] ? { window: s.slidingWindow } : {};
      const attnOut = buildAttention(ops, config, l, qkv, out, { causal: true, rotary, ...window });
      const mid = ops.hook(hookName("resid_mid", l), ops.add(x, attnOut));
      const m = ops.rmsNorm(mid, rms(`${p}.post_attention_layernorm`));
      const mlp = (n: string) => proj(`${p}.mlp.${n}`, s.mlpBias);
      const mlpOut = buildGatedMlp(ops, l, m, mlp("gate_proj"), mlp("up_proj"), mlp("down_proj"));
      return ops.hook(hookName("resid_post", l), ops.add(mid, mlpOut));
    });
  }
  const f = ops.hook(hookName("ln_final"), ops.rmsNorm(h, rms("model.norm")));
  return unembedding(ops, ops.lossRows(f), "model.embed_tokens.weight");
}

/** The tensors a config implies (pruned query heads, kv heads and neurons taken into account). */
function llamaWeights(config: ModelConfig): WeightSpec {
  const s = section(config), C = config.hidden, D = config.headDim;
  const required = new Map<string, number[]>([["model.embed_tokens.weight", [config.vocabSize, C]]]);
  const linear = (prefix: string, out: number, inp: number, bias: boolean) => {
    required.set(`${prefix}.weight`, [out, inp]);
    if (bias) required.set(`${prefix}.bias`, [out]);
  };
  for (let l = 0; l < config.layers; l++) {
    const p = `model.layers.${l}`, HD = headsIn(config, l) * D, KD = keptKvHeads(config, l).length * D;
    const I = config.intermediateSizes[l]!;
    required.set(`${p}.input_layernorm.weight`, [C]);
    linear(`${p}.self_attn.q_proj`, HD, C, s.qkvBias);
    linear(`${p}.self_attn.k_proj`, KD, C, s.qkvBias);
    linear(`${p}.self_attn.v_proj`, KD, C, s.qkvBias);
    linear(`${p}.self_attn.o_proj`, C, HD, s.outputBias);
    required.set(`${p}.post_attention_layernorm.weight`, [C]);
    linear(`${p}.mlp.gate_proj`, I, C, s.mlpBias);
    linear(`${p}.mlp.up_proj`, I, C, s.mlpBias);
    linear(`${p}.mlp.down_proj`, C, I, s.mlpBias);
  }
  required.set("model.norm.weight", [C]);
  if (!s.tied) required.set("lm_head.weight", [config.vocabSize, C]);
  return { required, optional: new Map(), optionalIsHead: false };
}

/**
 * Where layer `l`'s heads live: rows of `q_proj` (query heads), rows of `k_proj` and `v_proj` (kv heads, removed
 * only with the last query head they serve), columns of `o_proj` (whose bias, when it has one, is shared).
 */
function llamaHeadSlices(config: ModelConfig, l: number): HeadSlice[] {
  const s = section(config), p = `model.layers.${l}.self_attn`;
  const rows = (name: string, kv: boolean): HeadSlice[] => [
    { name: `${p}.${name}.weight`, axis: 0, groups: 1, ...(kv ? { kv } : {}) },
    ...(s.qkvBias ? [{ name: `${p}.${name}.bias`, axis: 0 as const, groups: 1, ...(kv ? { kv } : {}) }] : []),
  ];
  return [
    ...rows("q_proj", false),
    ...rows("k_proj", true),
    ...rows("v_proj", true),
    {
      name: `${p}.o_proj.weight`,
      axis: 1,
      groups: 1,
      output: true,
      ...(s.outputBias ? { bias: `${p}.o_proj.bias` } : {}),
    },
  ];
}

/** Where layer `l`'s MLP neurons live: rows of `gate_proj` and `up_proj` (and biases), columns of `down_proj`. */
function llamaNeuronSlices(config: ModelConfig, l: number): HeadSlice[] {
  const s = section(config), p = `model.layers.${l}.mlp`;
  const rows = (name: string): HeadSlice[] => [
    { name: `${p}.${name}.weight`, axis: 0, groups: 1 },
    ...(s.mlpBias ? [{ name: `${p}.${name}.bias`, axis: 0 as const, groups: 1 }] : []),
  ];
  return [
    ...rows("gate_proj"),
    ...rows("up_proj"),
    {
      name: `${p}.down_proj.weight`,
      axis: 1,
      groups: 1,
      output: true,
      ...(s.mlpBias ? { bias: `${p}.down_proj.bias` } : {}),
    },
  ];
}

function newConfig(variant: LlamaVariant, s: NewModelSizes): Record<string, unknown> {
  return {
    architectures: [variant.architecture],
    model_type: variant.modelType,
    vocab_size: s.vocabSize,
    hidden_size: s.hidden,
    intermediate_size: s.intermediate,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.heads,
    hidden_act: "silu",
    max_position_embeddings: s.maxPositions ?? variant.defaultPositions,
    rms_norm_eps: 1e-6,
    rope_theta: DEFAULT_ROPE_THETA,
    attention_dropout: s.dropout,
    initializer_range: 0.02,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
    ...variant.newFields,
  };
}

function llamaFamily(variant: LlamaVariant): ModelFamily {
  return {
    modelType: variant.modelType,
    displayName: variant.displayName,
    tokenizer: "tokenizer-json",
    readSizes: (f) => readSizes(variant, f),
    task: () => "lm",
    weights: llamaWeights,
    // a bare LlamaModel has no `model.` prefix
    renameKey: (name) => (/^(embed_tokens|layers|norm)\./.test(name) ? `model.${name}` : name),
    headSlices: llamaHeadSlices,
    neuronSlices: llamaNeuronSlices,
    forward: llamaForward,
    unembed: (ops, c, x) =>
      unembedding(
        ops,
        ops.rmsNorm(x, { weight: "model.norm.weight", eps: c.layerNormEps }),
        "model.embed_tokens.weight",
      ),
    finalHooks: ["ln_final"],
    // HF returns block inputs and, last, the final norm's output
    hiddenStateHook: (i, c) =>
      i === 0 ? hookName("embed") : i === c.layers ? hookName("ln_final") : hookName("resid_pre", i),
    newConfig: (s) => newConfig(variant, s),
    initStd: (_name, _c, std) => std,
    zeroRows: () => new Map(),
    // transformers ≤ 4.x has no `_prune_heads` for these models: it cannot load `pruned_heads`
    hfPrunesHeads: false,
  };
}

/** Llama (`model_type: "llama"`): `attention_bias` gives q, k, v and o biases; `mlp_bias` the MLP's. */
export const llama: ModelFamily = llamaFamily({
  modelType: "llama",
  displayName: "Llama",
  architecture: "LlamaForCausalLM",
  defaultPositions: 2048,
  biases: (f) => {
    const attention = flag(f, "attention_bias", false);
    return { qkv: attention, output: attention, mlp: flag(f, "mlp_bias", false) };
  },
  slidingWindow: () => ({ window: 0, layers: [] }),
  newFields: { attention_bias: false, mlp_bias: false },
});

/** The window of a `sliding_window` field (null or absent: none). */
function windowField(f: ConfigFields): number {
  return f.raw.sliding_window == null ? 0 : f.int("sliding_window");
}

/** Mistral (`model_type: "mistral"`): no biases; every layer attends within `sliding_window`. */
export const mistral: ModelFamily = llamaFamily({
  modelType: "mistral",
  displayName: "Mistral",
  architecture: "MistralForCausalLM",
  defaultPositions: 4096 * 32,
  biases: () => ({ qkv: false, output: false, mlp: false }),
  slidingWindow: (f) => {
    const window = windowField(f);
    return { window, layers: new Array(f.size("num_hidden_layers", "layers")).fill(window > 0) };
  },
  newFields: { sliding_window: null },
});

/**
 * Qwen2 (`model_type: "qwen2"`): q, k and v biases, none on `o_proj` or the MLP; a window only where
 * `use_sliding_window` is on (its `layer_types` or, without them, the layers from `max_window_layers` on).
 */
export const qwen2: ModelFamily = llamaFamily({
  modelType: "qwen2",
  displayName: "Qwen2",
  architecture: "Qwen2ForCausalLM",
  defaultPositions: 32768,
  biases: () => ({ qkv: true, output: false, mlp: false }),
  slidingWindow: (f) => {
    const L = f.size("num_hidden_layers", "layers");
    const window = f.raw.use_sliding_window === true ? windowField(f) : 0;
    if (window === 0) return { window: 0, layers: new Array(L).fill(false) };
    const types = f.raw.layer_types;
    if (Array.isArray(types)) {
      if (types.length !== L || types.some((t) => t !== "sliding_attention" && t !== "full_attention")) {
        throw new Error(
          `${f.source}: field "layer_types" must list "sliding_attention" or "full_attention" for each of the ` +
            `${L} layers`,
        );
      }
      return { window, layers: types.map((t) => t === "sliding_attention") };
    }
    // HF's Qwen2Config without layer_types: the layers from max_window_layers on slide
    const from = f.int("max_window_layers", 28);
    return { window, layers: Array.from({ length: L }, (_, l) => l >= from) };
  },
  newFields: { use_sliding_window: false, sliding_window: null, max_window_layers: 0 },
});
