/**
 * GPT-2 with its language-model head, following HF's `modeling_gpt2.py` (GPT2LMHeadModel): token + position
 * embeddings → L pre-LN blocks (causal attention with a fused `c_attn`, GELU-tanh MLP) → final LayerNorm →
 * logits through the tied token embedding. Conv1D weights are stored [in, out], as in the checkpoint.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { ConfigFields, FamilySection, ModelConfig } from "./config.ts";
import type { FamilySizes, HeadSlice, ModelFamily, NewModelSizes, WeightSpec } from "./family.ts";
import { buildAttention, buildMlp, headsIn } from "./builders.ts";
import type { ModelOps } from "./ops.ts";

/**
 * The weights of GPT block `l` (the same keys and shapes in GPT-2 and OpenAI GPT; only their order of use
 * differs): LayerNorms, the fused `c_attn` [C, 3·H_l·D], `c_proj` [H_l·D, C] and the MLP, Conv1D [in, out].
 */
export function gptBlockShapes(config: ModelConfig, l: number): Array<[string, number[]]> {
  const { hidden: C, headDim: D } = config;
  const I = config.intermediateSizes[l]!;
  const p = `transformer.h.${l}`;
  const HD = (config.heads - config.prunedHeads[l]!.length) * D;
  return [
    [`${p}.ln_1.weight`, [C]],
    [`${p}.ln_1.bias`, [C]],
    [`${p}.attn.c_attn.weight`, [C, 3 * HD]],
    [`${p}.attn.c_attn.bias`, [3 * HD]],
    [`${p}.attn.c_proj.weight`, [HD, C]],
    [`${p}.attn.c_proj.bias`, [C]],
    [`${p}.ln_2.weight`, [C]],
    [`${p}.ln_2.bias`, [C]],
    [`${p}.mlp.c_fc.weight`, [C, I]],
    [`${p}.mlp.c_fc.bias`, [I]],
    [`${p}.mlp.c_proj.weight`, [I, C]],
    [`${p}.mlp.c_proj.bias`, [C]],
  ];
}

/** GPT blocks' heads: q|k|v column blocks of the fused `c_attn` (and its bias), rows of `c_proj`. */
export function gptHeadSlices(_config: ModelConfig, l: number): HeadSlice[] {
  const p = `transformer.h.${l}.attn`;
  return [
    { name: `${p}.c_attn.weight`, axis: 1, groups: 3 },
    { name: `${p}.c_attn.bias`, axis: 0, groups: 3 },
    { name: `${p}.c_proj.weight`, axis: 0, groups: 1, output: true, bias: `${p}.c_proj.bias` },
  ];
}

/** GPT blocks' MLP neurons: columns of `c_fc` (and its bias), rows of the MLP's `c_proj`. */
export function gptNeuronSlices(_config: ModelConfig, l: number): HeadSlice[] {
  const p = `transformer.h.${l}.mlp`;
  return [
    { name: `${p}.c_fc.weight`, axis: 1, groups: 1 },
    { name: `${p}.c_fc.bias`, axis: 0, groups: 1 },
    { name: `${p}.c_proj.weight`, axis: 0, groups: 1, output: true, bias: `${p}.c_proj.bias` },
  ];
}

/** A GPT checkpoint's tensors: embeddings, blocks, `extra` (GPT-2's final LayerNorm), an optional untied LM head. */
export function gptWeights(config: ModelConfig, embeddings: [string, string], extra: string[]): WeightSpec {
  const C = config.hidden;
  const required = new Map<string, number[]>([
    [embeddings[0], [config.vocabSize, C]],
    [embeddings[1], [config.positionTableSize, C]],
  ]);
  for (const name of extra) required.set(name, [C]);
  for (let l = 0; l < config.layers; l++) {
    for (const [name, shape] of gptBlockShapes(config, l)) required.set(name, shape);
  }
  // HF ties lm_head to the token embedding unless tie_word_embeddings is false
  const optional = config.raw.tie_word_embeddings === false
    ? new Map([["lm_head.weight", [config.vocabSize, C]]])
    : new Map<string, number[]>();
  return { required, optional, optionalIsHead: false };
}

/** The size fields GPT-2 and OpenAI GPT share (`n_embd`, `n_layer`, …); `own` holds the ones they differ in. */
export function gptSizes(
  f: ConfigFields,
  own: Pick<FamilySizes, "activation" | "section">,
): FamilySizes {
  const hidden = f.size("n_embd", "hidden");
  return {
    vocabSize: f.size("vocab_size", "vocabSize"),
    hidden,
    layers: f.size("n_layer", "layers"),
    heads: f.size("n_head", "heads"),
    intermediate: f.raw.n_inner == null ? 4 * hidden : f.size("n_inner", "intermediate"),
    maxPositions: f.size("n_positions", "maxPositions"),
    typeVocabSize: 0,
    layerNormEps: f.num("layer_norm_epsilon", 1e-5, { exclusiveMin: 0 }),
    ...own,
    classifier: false,
  };
}

/** The `config.json` fields GPT-2 and OpenAI GPT share for a new model, with HF's names and defaults. */
export function gptNewConfig(
  s: NewModelSizes,
  architecture: string,
  modelType: string,
  defaultPositions: number,
): Record<string, unknown> {
  return {
    architectures: [architecture],
    model_type: modelType,
    vocab_size: s.vocabSize,
    n_embd: s.hidden,
    n_layer: s.layers,
    n_head: s.heads,
    n_inner: s.intermediate === 4 * s.hidden ? null : s.intermediate,
    n_positions: s.maxPositions ?? defaultPositions,
    resid_pdrop: s.dropout,
    embd_pdrop: s.dropout,
    attn_pdrop: s.dropout,
    initializer_range: 0.02,
    layer_norm_epsilon: 1e-5,
  };
}

/**
 * The LM head tied to the token embedding (or an untied `lm_head`): logits = f · Eᵀ, E [V, C] in nn.Linear
 * layout, computed only on the rows a loss counts.
 */
export function lmHead<T>(ops: ModelOps<T>, f: T, tokenEmbedding: string): T {
  return unembedding(ops, ops.lossRows(f), tokenEmbedding);
}

/** logits = x · Eᵀ through the untied `lm_head` when the checkpoint has one, else the token embedding E. */
export function unembedding<T>(ops: ModelOps<T>, x: T, tokenEmbedding: string): T {
  const weight = ops.hasWeight("lm_head.weight") ? "lm_head.weight" : tokenEmbedding;
  return ops.linear(x, { weight, layout: "linear" });
}

/** GPT-2's own config fields. */
interface Gpt2Section extends FamilySection {
  /** Scale attention scores by 1/√d_head (`scale_attn_weights`, default true). */
  scaleAttnWeights: boolean;
  /** Also divide scores by (layer + 1) (`scale_attn_by_inverse_layer_idx`). */
  scaleAttnByInverseLayerIdx: boolean;
}

/** The forward pass; returns LM logits [B, T, V] (or [rows, V] on the rows a loss counts). */
function gpt2Forward<T>(ops: ModelOps<T>, config: ModelConfig): T {
  const D = config.headDim, eps = config.layerNormEps;
  const ln = (name: string) => ({ weight: `${name}.weight`, bias: `${name}.bias`, eps });
  const conv = (name: string) => ({ weight: `${name}.weight`, bias: `${name}.bias`, layout: "conv1d" as const });

  const tok = ops.hook(hookName("tok_embed"), ops.embedding("transformer.wte.weight", "input_ids"));
  let h = ops.dropout(
    ops.hook(hookName("embed"), ops.add(tok, ops.embedding("transformer.wpe.weight", "position_ids"))),
  );

  for (let l = 0; l < config.layers; l++) {
    const p = `transformer.h.${l}`;
    const section = config.section as Gpt2Section;
    let scale = section.scaleAttnWeights ? 1 / Math.sqrt(D) : 1;
    if (section.scaleAttnByInverseLayerIdx) scale /= l + 1;
    h = ops.block(h, (input) => {
      const x = ops.hook(hookName("resid_pre", l), input);
      // attention: one fused projection to [q | k | v], each H·D wide
      const a = ops.layerNorm(x, ln(`${p}.ln_1`));
      const qkv = ops.splitQKV(ops.linear(a, conv(`${p}.attn.c_attn`)), headsIn(config, l));
      const attnOut = buildAttention(ops, config, l, qkv, conv(`${p}.attn.c_proj`), { causal: true, scale });
      const mid = ops.hook(hookName("resid_mid", l), ops.add(x, ops.dropout(attnOut)));
      // MLP
      const m = ops.layerNorm(mid, ln(`${p}.ln_2`));
      const mlpOut = buildMlp(ops, l, m, conv(`${p}.mlp.c_fc`), conv(`${p}.mlp.c_proj`), config.activation);
      return ops.hook(hookName("resid_post", l), ops.add(mid, ops.dropout(mlpOut)));
    });
  }

  const f = ops.hook(hookName("ln_final"), ops.layerNorm(h, ln("transformer.ln_f")));
  return lmHead(ops, f, "transformer.wte.weight");
}

/** GPT-2 (`model_type: "gpt2"`). */
export const gpt2: ModelFamily = {
  modelType: "gpt2",
  displayName: "GPT-2",
  tokenizer: "gpt2-bpe",
  readSizes: (f) =>
    gptSizes(f, {
      activation: f.activation("activation_function", "gelu_new"),
      section: {
        scaleAttnWeights: f.raw.scale_attn_weights !== false,
        scaleAttnByInverseLayerIdx: f.raw.scale_attn_by_inverse_layer_idx === true,
      } satisfies Gpt2Section,
    }),
  task: () => "lm",
  weights: (c) =>
    gptWeights(c, ["transformer.wte.weight", "transformer.wpe.weight"], [
      "transformer.ln_f.weight",
      "transformer.ln_f.bias",
    ]),
  // a bare GPT2Model has no `transformer.` prefix
  renameKey: (name) => (/^(wte|wpe|h|ln_f)\./.test(name) ? `transformer.${name}` : name),
  headSlices: gptHeadSlices,
  neuronSlices: gptNeuronSlices,
  forward: gpt2Forward,
  unembed: (ops, c, x) =>
    unembedding(
      ops,
      ops.layerNorm(x, { weight: "transformer.ln_f.weight", bias: "transformer.ln_f.bias", eps: c.layerNormEps }),
      "transformer.wte.weight",
    ),
  finalHooks: ["ln_final"],
  // GPT-2 returns block inputs and, last, the final LayerNorm's output
  hiddenStateHook: (i, c) =>
    i === 0 ? hookName("embed") : i === c.layers ? hookName("ln_final") : hookName("resid_pre", i),
  newConfig: (s) => ({
    ...gptNewConfig(s, "GPT2LMHeadModel", "gpt2", 1024),
    activation_function: "gelu_new",
    n_ctx: s.maxPositions ?? 1024,
    bos_token_id: s.vocabSize - 1,
    eos_token_id: s.vocabSize - 1,
  }),
  // GPT-2 scales its residual projections by 1/√(2·n_layer)
  initStd: (name, c, std) => (/c_proj\.weight$/.test(name) ? std / Math.sqrt(2 * c.layers) : std),
  zeroRows: () => new Map(),
};
