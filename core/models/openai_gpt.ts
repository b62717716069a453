/**
 * OpenAI GPT (the first GPT) with its language-model head, following HF's `modeling_openai.py`
 * (OpenAIGPTLMHeadModel): token + position embeddings → L post-LN blocks (causal attention with a fused
 * `c_attn`, GELU MLP) → logits through the tied token embedding. No final LayerNorm.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { ModelConfig } from "./config.ts";
import type { ModelFamily } from "./family.ts";
import { gptHeadSlices, gptNeuronSlices, gptNewConfig, gptSizes, gptWeights, lmHead, unembedding } from "./gpt2.ts";
import { buildAttention, buildMlp, headsIn } from "./builders.ts";
import type { ModelOps } from "./ops.ts";

/** The forward pass; returns LM logits [B, T, V] (or [rows, V] on the rows a loss counts). */
function openaiGptForward<T>(ops: ModelOps<T>, config: ModelConfig): T {
  const eps = config.layerNormEps;
  const ln = (name: string) => ({ weight: `${name}.weight`, bias: `${name}.bias`, eps });
  const conv = (name: string) => ({ weight: `${name}.weight`, bias: `${name}.bias`, layout: "conv1d" as const });

  const tok = ops.hook(hookName("tok_embed"), ops.embedding("transformer.tokens_embed.weight", "input_ids"));
  const pos = ops.embedding("transformer.positions_embed.weight", "position_ids");
  let h = ops.dropout(ops.hook(hookName("embed"), ops.add(tok, pos)));

  for (let l = 0; l < config.layers; l++) {
    const p = `transformer.h.${l}`;
    h = ops.block(h, (input) => {
      const x = ops.hook(hookName("resid_pre", l), input);
      const qkv = ops.splitQKV(ops.linear(x, conv(`${p}.attn.c_attn`)), headsIn(config, l));
      const attnOut = buildAttention(ops, config, l, qkv, conv(`${p}.attn.c_proj`), { causal: true });
      // post-LN, like BERT: n = LN1(h + attn), out = LN2(n + mlp(n))
      const mid = ops.hook(hookName("resid_mid", l), ops.layerNorm(ops.add(x, ops.dropout(attnOut)), ln(`${p}.ln_1`)));
      const mlpOut = buildMlp(ops, l, mid, conv(`${p}.mlp.c_fc`), conv(`${p}.mlp.c_proj`), config.activation);
      return ops.hook(hookName("resid_post", l), ops.layerNorm(ops.add(mid, ops.dropout(mlpOut)), ln(`${p}.ln_2`)));
    });
  }
  return lmHead(ops, h, "transformer.tokens_embed.weight");
}

/** OpenAI GPT (`model_type: "openai-gpt"`). */
export const openaiGpt: ModelFamily = {
  modelType: "openai-gpt",
  displayName: "OpenAI GPT",
  tokenizer: "openai-gpt-bpe",
  readSizes: (f) =>
    gptSizes(f, {
      // HF's modeling_openai maps afn "gelu" to gelu_new (the tanh form), unlike ACT2FN
      activation: f.raw.afn === "gelu" || f.raw.afn === undefined ? "tanh" : f.activation("afn", "gelu"),
    }),
  task: () => "lm",
  weights: (c) => gptWeights(c, ["transformer.tokens_embed.weight", "transformer.positions_embed.weight"], []),
  // a bare OpenAIGPTModel has no `transformer.` prefix
  renameKey: (name) => (/^(tokens_embed|positions_embed|h)\./.test(name) ? `transformer.${name}` : name),
  headSlices: gptHeadSlices,
  neuronSlices: gptNeuronSlices,
  forward: openaiGptForward,
  // post-LN blocks end normalised: the unembedding reads the residual stream as it is
  unembed: (ops, _c, x) => unembedding(ops, x, "transformer.tokens_embed.weight"),
  finalHooks: [],
  hiddenStateHook: (i) => (i === 0 ? hookName("embed") : hookName("resid_post", i - 1)),
  newConfig: (s) => ({ ...gptNewConfig(s, "OpenAIGPTLMHeadModel", "openai-gpt", 512), afn: "gelu" }),
  initStd: (_name, _c, std) => std,
  zeroRows: () => new Map(),
};
