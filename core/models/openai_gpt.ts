/**
 * OpenAI GPT (the first GPT) with its language-model head, following HF's `modeling_openai.py`
 * (OpenAIGPTLMHeadModel): token + position embeddings → L post-LN blocks (causal attention with a fused
 * `c_attn`, GELU MLP) → logits through the tied token embedding. No final LayerNorm.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { ModelConfig } from "./config.ts";
import type { Act, ParamStore, Run } from "./graph.ts";
import { gptBlockShapes, hookSlices } from "./gpt2.ts";
import type { ArenaInputs } from "./inputs.ts";

/** The HF names and shapes an OpenAI GPT checkpoint must hold (`lm_head.weight` is tied to `tokens_embed`). */
export function openaiGptShapes(config: ModelConfig): Map<string, number[]> {
  const C = config.hidden;
  const s = new Map<string, number[]>([
    ["transformer.tokens_embed.weight", [config.vocabSize, C]],
    ["transformer.positions_embed.weight", [config.maxPositions, C]],
  ]);
  for (let l = 0; l < config.layers; l++) for (const [name, shape] of gptBlockShapes(config, l)) s.set(name, shape);
  return s;
}

/** Adds the `transformer.` prefix of OpenAIGPTLMHeadModel to a bare OpenAIGPTModel's keys. */
export function openaiGptRenameKey(name: string): string {
  return /^(tokens_embed|positions_embed|h)\./.test(name) ? `transformer.${name}` : name;
}

/**
 * The forward pass. Returns LM logits [B, T, V] (or [rows, V] for `x.lmRows`).
 *
 * @param run the run that records activations
 * @param config the checked config
 * @param w the weights
 * @param x the inputs, already in kernel memory
 */
export function openaiGptForward(run: Run, config: ModelConfig, w: ParamStore, x: ArenaInputs): Act {
  const { B, T } = x;
  const D = config.headDim, eps = config.layerNormEps;
  const p = (name: string) => w.get(name);

  const tok = run.hook(hookName("tok_embed"), run.embedding(p("transformer.tokens_embed.weight"), x.ids, [B, T]));
  let h = run.drop(run.hook(
    hookName("embed"),
    run.add(tok, run.embedding(p("transformer.positions_embed.weight"), x.positions, [B, T])),
  ));

  for (let l = 0; l < config.layers; l++) {
    const q = `transformer.h.${l}`;
    const H = config.heads - config.prunedHeads[l].length;
    const HD = H * D;
    const scope = run.beginScope(h.shape);
    run.hook(hookName("resid_pre", l), h);
    const qkv = run.linear(h, p(`${q}.attn.c_attn.weight`), p(`${q}.attn.c_attn.bias`), false); // [B, T, 3·H·D]
    hookSlices(run, l, qkv, B, T, H, D);
    const { ctx, probs } = run.attention(
      { q: [qkv, 0], k: [qkv, 4 * HD], v: [qkv, 8 * HD], ld: 3 * HD },
      { B, T, H, D, scale: 1 / Math.sqrt(D), causal: true },
      x.keyMask,
      x.headMask[l],
      x.headMaskGrad[l],
    );
    run.hookPattern(l, probs, x.headMask[l], H, x.keyMask);
    run.hook(hookName("z", l), ctx, [B, T, H, D]);
    const attnOut = run.hook(
      hookName("attn_out", l),
      run.linear(ctx, p(`${q}.attn.c_proj.weight`), p(`${q}.attn.c_proj.bias`), false),
    );
    // post-LN, like BERT: n = LN1(h + attn), out = LN2(n + mlp(n))
    const mid = run.hook(
      hookName("resid_mid", l),
      run.layerNorm(run.add(h, run.drop(attnOut)), p(`${q}.ln_1.weight`), p(`${q}.ln_1.bias`), eps),
    );
    const pre = run.hook(
      hookName("mlp_pre", l),
      run.linear(mid, p(`${q}.mlp.c_fc.weight`), p(`${q}.mlp.c_fc.bias`), false),
    );
    const post = run.hook(hookName("mlp_post", l), run.gelu(pre, config.activation));
    const mlpOut = run.hook(
      hookName("mlp_out", l),
      run.linear(post, p(`${q}.mlp.c_proj.weight`), p(`${q}.mlp.c_proj.bias`), false),
    );
    const out = run.layerNorm(run.add(mid, run.drop(mlpOut)), p(`${q}.ln_2.weight`), p(`${q}.ln_2.bias`), eps);
    h = run.endScope(scope, run.hook(hookName("resid_post", l), out));
  }

  const head = w.has("lm_head.weight") ? p("lm_head.weight") : p("transformer.tokens_embed.weight");
  const rows = x.lmRows ? run.gatherRows(h, x.lmRows.ptr, x.lmRows.count) : h; // only the rows a loss counts
  return run.linear(rows, head, undefined, true);
}
