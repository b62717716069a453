/**
 * GPT-NeoX (Pythia) with its language-model head, following HF's `modeling_gpt_neox.py` (GPTNeoXForCausalLM):
 * token embedding `embed_in` → L pre-LN blocks → `final_layer_norm` → logits through the untied `embed_out`
 * (or `embed_in` when `tie_word_embeddings` is set). No position table: q and k rotate (rotary on the first
 * `rotary_pct`·d_head dims of each head, HF's rotate-half layout).
 *
 * A block, with `use_parallel_residual` (the default, every Pythia):
 *
 *     out = x + attn(ln1(x)) + mlp(ln2(x))
 *
 * and without it the sequential pre-LN form `mid = x + attn(ln1(x))`, `out = mid + mlp(ln2(mid))`.
 *
 * Hooks: TransformerLens has no `resid_mid` for parallel attention; here `resid_mid` is `resid_pre + attn_out`
 * in both forms, so that `resid_post = resid_mid + mlp_out` always holds (what the logit lens, residual
 * decompositions and Kwon et al.'s per-layer mask tuning rely on). In the parallel form the MLP does not read
 * it: it reads `ln2(resid_pre)`.
 *
 * The fused `attention.query_key_value` [3·H·D, C] holds each head's q, k and v rows together — HF views its
 * output as [.., H, 3·D] and chunks per head — not GPT-2's [q | k | v] blocks. The checkpoint keeps that layout
 * (pruning, the three save formats and the ONNX initializers all see HF's tensor): `splitQKV`'s `heads` layout
 * takes q, k and v out of it, and the head slices say that head h is rows [h·3D, (h+1)·3D) (`unitSize` 3·D).
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import { ConfigFields, type FamilySection, type ModelConfig } from "./config.ts";
import type { HeadSlice, ModelFamily, WeightSpec } from "./family.ts";
import { type AttentionOptions, buildAttention, buildMlp, headsIn, norm } from "./builders.ts";
import type { LinearParams, ModelOps } from "./ops.ts";

/** GPT-NeoX's own config fields. */
interface GptNeoxSection extends FamilySection {
  /** Leading dims of each head that rotate: ⌊d_head · rotary_pct⌋ (0: no rotary). */
  rotaryDim: number;
  /** The rotary frequency base (`rotary_emb_base`, `rope_theta`). */
  theta: number;
  /** `use_parallel_residual`: attention and MLP both read the block's input (default true). */
  parallelResidual: boolean;
  /** `attention_bias`: `query_key_value` and `dense` have biases (default true). */
  attentionBias: boolean;
}

const EMBED = "gpt_neox.embed_in.weight";
const FINAL_NORM = "gpt_neox.final_layer_norm";
const LM_HEAD = "embed_out.weight";

/** The section of a checked GPT-NeoX config. */
function section(config: ModelConfig): GptNeoxSection {
  return config.section as GptNeoxSection;
}

/**
 * The rotary width and base, from a transformers 4 config (`rotary_pct`, `rotary_emb_base`) or a transformers 5
 * one (`rope_parameters.partial_rotary_factor`, `rope_parameters.rope_theta`; top-level `partial_rotary_factor`
 * and `rope_theta` too). Only HF's default rotary is computed: scaled variants (`linear`, `dynamic` …) are refused.
 */
function readRotary(f: ConfigFields, headDim: number): { rotaryDim: number; theta: number } {
  const params = f.raw.rope_parameters ?? f.raw.rope_scaling;
  let nested: ConfigFields | undefined;
  if (params !== undefined && params !== null) {
    const field = f.raw.rope_parameters !== undefined ? "rope_parameters" : "rope_scaling";
    if (typeof params !== "object" || Array.isArray(params)) {
      throw new Error(`${f.source}: field "${field}" must be an object`);
    }
    nested = new ConfigFields(params as Record<string, unknown>, `${f.source} ("${field}")`);
    const type = nested.raw.rope_type ?? nested.raw.type ?? "default";
    if (type !== "default") {
      throw new Error(
        `${f.source}: "${field}" asks for rotary type ${JSON.stringify(type)}; only "default" is supported`,
      );
    }
  }
  type Range = Parameters<ConfigFields["num"]>[2];
  const pick = (nestedName: string, names: string[], fallback: number, range: Range): number => {
    if (nested?.raw[nestedName] != null) return nested.num(nestedName, fallback, range);
    const name = names.find((n) => f.raw[n] != null);
    return name === undefined ? fallback : f.num(name, fallback, range);
  };
  // a fraction of 0 rotates nothing (no position information at all, as in HF)
  const pct = pick("partial_rotary_factor", ["partial_rotary_factor", "rotary_pct"], 0.25, { min: 0, max: 1 });
  const theta = pick("rope_theta", ["rope_theta", "rotary_emb_base"], 10000, { exclusiveMin: 0 });
  // HF: int(head_dim * partial_rotary_factor)
  const rotaryDim = Math.floor(headDim * pct);
  if (rotaryDim % 2 !== 0) {
    throw new Error(
      `${f.source}: the rotary width ⌊d_head ${headDim} · ${pct}⌋ = ${rotaryDim} is odd; rotate-half needs an even width`,
    );
  }
  return { rotaryDim, theta };
}

/** The attention biases' keys, or none (`attention_bias: false`). */
function linear(prefix: string, bias: boolean): LinearParams {
  return bias
    ? { weight: `${prefix}.weight`, bias: `${prefix}.bias`, layout: "linear" }
    : { weight: `${prefix}.weight`, layout: "linear" };
}

/** The forward pass; returns LM logits [B, T, V] (or [rows, V] on the rows a loss counts). */
function gptNeoxForward<T>(ops: ModelOps<T>, config: ModelConfig): T {
  const { rotaryDim, theta, parallelResidual, attentionBias } = section(config);
  const eps = config.layerNormEps;
  const attention: AttentionOptions = { causal: true, ...(rotaryDim > 0 ? { rotary: { rotaryDim, theta } } : {}) };

  const tok = ops.hook(hookName("tok_embed"), ops.embedding(EMBED, "input_ids"));
  let h = ops.dropout(ops.hook(hookName("embed"), tok));

  for (let l = 0; l < config.layers; l++) {
    const p = `gpt_neox.layers.${l}`;
    h = ops.block(h, (input) => {
      const x = ops.hook(hookName("resid_pre", l), input);
      const a = ops.layerNorm(x, norm(`${p}.input_layernorm`, eps));
      const fused = ops.linear(a, linear(`${p}.attention.query_key_value`, attentionBias));
      const qkv = ops.splitQKV(fused, headsIn(config, l), "heads");
      const attnOut = buildAttention(ops, config, l, qkv, linear(`${p}.attention.dense`, attentionBias), attention);
      const mid = ops.hook(hookName("resid_mid", l), ops.add(x, ops.dropout(attnOut)));
      // the parallel form's MLP reads the block's input; the sequential form's reads resid_mid
      const m = ops.layerNorm(parallelResidual ? x : mid, norm(`${p}.post_attention_layernorm`, eps));
      const up = linear(`${p}.mlp.dense_h_to_4h`, true), down = linear(`${p}.mlp.dense_4h_to_h`, true);
      const mlpOut = buildMlp(ops, l, m, up, down, config.activation);
      return ops.hook(hookName("resid_post", l), ops.add(mid, ops.dropout(mlpOut)));
    });
  }

  const f = ops.hook(hookName("ln_final"), ops.layerNorm(h, norm(FINAL_NORM, eps)));
  return unembed(ops, ops.lossRows(f));
}

/** logits = x · Wᵀ through `embed_out`, or `embed_in` when tied (the checkpoint then has no `embed_out`). */
function unembed<T>(ops: ModelOps<T>, x: T): T {
  return ops.linear(x, { weight: ops.hasWeight(LM_HEAD) ? LM_HEAD : EMBED, layout: "linear" });
}

/** The tensors a config implies (each layer's attention rows shrink with its pruned heads, its MLP with its neurons). */
function gptNeoxWeights(config: ModelConfig): WeightSpec {
  const { hidden: C, vocabSize: V, headDim: D } = config;
  const bias = section(config).attentionBias;
  const required = new Map<string, number[]>([[EMBED, [V, C]]]);
  const linearShapes = (prefix: string, out: number, inp: number, hasBias: boolean) => {
    required.set(`${prefix}.weight`, [out, inp]);
    if (hasBias) required.set(`${prefix}.bias`, [out]);
  };
  for (let l = 0; l < config.layers; l++) {
    const p = `gpt_neox.layers.${l}`, HD = headsIn(config, l) * D, I = config.intermediateSizes[l]!;
    for (const n of ["input_layernorm", "post_attention_layernorm"]) {
      required.set(`${p}.${n}.weight`, [C]);
      required.set(`${p}.${n}.bias`, [C]);
    }
    linearShapes(`${p}.attention.query_key_value`, 3 * HD, C, bias);
    linearShapes(`${p}.attention.dense`, C, HD, bias);
    linearShapes(`${p}.mlp.dense_h_to_4h`, I, C, true);
    linearShapes(`${p}.mlp.dense_4h_to_h`, C, I, true);
  }
  required.set(`${FINAL_NORM}.weight`, [C]);
  required.set(`${FINAL_NORM}.bias`, [C]);
  // HF unties embed_out unless tie_word_embeddings is set; a tied checkpoint may still carry the copy
  const optional = new Map<string, number[]>();
  if (config.raw.tie_word_embeddings === true) optional.set(LM_HEAD, [V, C]);
  else required.set(LM_HEAD, [V, C]);
  return { required, optional, optionalIsHead: false };
}

/**
 * Layer `l`'s heads: head h is rows [h·3D, (h+1)·3D) of `query_key_value` and its bias (its q, k and v rows
 * together), and columns [h·D, (h+1)·D) of the output projection `dense`.
 */
function gptNeoxHeadSlices(config: ModelConfig, l: number): HeadSlice[] {
  const p = `gpt_neox.layers.${l}.attention`, D = config.headDim;
  const slices: HeadSlice[] = [{ name: `${p}.query_key_value.weight`, axis: 0, groups: 1, unitSize: 3 * D }];
  if (section(config).attentionBias) {
    slices.push({ name: `${p}.query_key_value.bias`, axis: 0, groups: 1, unitSize: 3 * D });
    slices.push({ name: `${p}.dense.weight`, axis: 1, groups: 1, output: true, bias: `${p}.dense.bias` });
  } else slices.push({ name: `${p}.dense.weight`, axis: 1, groups: 1, output: true });
  return slices;
}

/** Layer `l`'s MLP neurons: rows of `dense_h_to_4h` and its bias, columns of `dense_4h_to_h`. */
function gptNeoxNeuronSlices(_config: ModelConfig, l: number): HeadSlice[] {
  const p = `gpt_neox.layers.${l}.mlp`;
  return [
    { name: `${p}.dense_h_to_4h.weight`, axis: 0, groups: 1 },
    { name: `${p}.dense_h_to_4h.bias`, axis: 0, groups: 1 },
    { name: `${p}.dense_4h_to_h.weight`, axis: 1, groups: 1, output: true, bias: `${p}.dense_4h_to_h.bias` },
  ];
}

/** GPT-NeoX (`model_type: "gpt_neox"`: Pythia, GPT-NeoX-20B). */
export const gptNeox: ModelFamily = {
  modelType: "gpt_neox",
  displayName: "GPT-NeoX",
  // Pythia ships a tokenizer.json (NFC + byte-level BPE), which is preferred; this reads vocab.json + merges.txt
  tokenizer: "gpt2-bpe",
  readSizes: (f) => {
    const hidden = f.size("hidden_size", "hidden");
    const heads = f.size("num_attention_heads", "heads");
    const headDim = heads > 0 && hidden % heads === 0 ? hidden / heads : 0; // parseConfig names the bad division
    return {
      vocabSize: f.size("vocab_size", "vocabSize"),
      hidden,
      layers: f.size("num_hidden_layers", "layers"),
      heads,
      intermediate: f.size("intermediate_size", "intermediate"),
      maxPositions: f.size("max_position_embeddings", "maxPositions", 2048),
      typeVocabSize: 0,
      layerNormEps: f.num("layer_norm_eps", 1e-5, { exclusiveMin: 0 }),
      activation: f.activation("hidden_act", "gelu"),
      classifier: false,
      section: {
        ...readRotary(f, headDim),
        parallelResidual: f.raw.use_parallel_residual !== false,
        attentionBias: f.raw.attention_bias !== false,
      } satisfies GptNeoxSection,
    };
  },
  task: () => "lm",
  weights: gptNeoxWeights,
  // a bare GPTNeoXModel has no `gpt_neox.` prefix
  renameKey: (name) => (/^(embed_in|layers|final_layer_norm|emb_dropout)\./.test(name) ? `gpt_neox.${name}` : name),
  headSlices: gptNeoxHeadSlices,
  neuronSlices: gptNeoxNeuronSlices,
  forward: gptNeoxForward,
  unembed: (ops, c, x) => unembed(ops, ops.layerNorm(x, norm(FINAL_NORM, c.layerNormEps))),
  finalHooks: ["ln_final"],
  // HF returns block inputs and, last, the final LayerNorm's output
  hiddenStateHook: (i, c) =>
    i === 0 ? hookName("embed") : i === c.layers ? hookName("ln_final") : hookName("resid_pre", i),
  newConfig: (s) => {
    // Pythia's rotary_pct 0.25 where d_head allows an even rotary width, else the narrowest even one (2 dims)
    const D = s.hidden / s.heads, rotaryDim = Math.max(2, 2 * Math.floor(D / 8));
    return {
      architectures: ["GPTNeoXForCausalLM"],
      model_type: "gpt_neox",
      vocab_size: s.vocabSize,
      hidden_size: s.hidden,
      num_hidden_layers: s.layers,
      num_attention_heads: s.heads,
      intermediate_size: s.intermediate,
      max_position_embeddings: s.maxPositions ?? 2048,
      hidden_act: "gelu",
      // transformers 5 reads rope_parameters, 4.x rotary_pct and rotary_emb_base: both written, equal
      rope_parameters: { rope_type: "default", rope_theta: 10000, partial_rotary_factor: rotaryDim / D },
      rotary_pct: rotaryDim / D,
      rotary_emb_base: 10000,
      attention_dropout: s.dropout,
      hidden_dropout: s.dropout,
      initializer_range: 0.02,
      layer_norm_eps: 1e-5,
      use_parallel_residual: true,
      attention_bias: true,
      tie_word_embeddings: false,
      bos_token_id: 0,
      eos_token_id: 0,
    };
  },
  // HF's _init_weights: every Linear and Embedding N(0, initializer_range)
  initStd: (_name, _c, std) => std,
  zeroRows: () => new Map(),
};
