/**
 * GPT-2 with its language-model head, following HF's `modeling_gpt2.py` (GPT2LMHeadModel): token + position
 * embeddings → L pre-LN blocks (causal attention with a fused `c_attn`, GELU-tanh MLP) → final LayerNorm →
 * logits through the tied token embedding. Conv1D weights are stored [in, out], as in the checkpoint.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { ModelConfig } from "./config.ts";
import type { Act, ParamStore, Run } from "./graph.ts";
import type { ArenaInputs } from "./inputs.ts";

/** The HF names and shapes a GPT-2 checkpoint must hold (`lm_head.weight` is tied to `transformer.wte.weight`). */
export function gpt2Shapes(config: ModelConfig): Map<string, number[]> {
  const C = config.hidden;
  const s = new Map<string, number[]>([
    ["transformer.wte.weight", [config.vocabSize, C]],
    ["transformer.wpe.weight", [config.maxPositions, C]],
    ["transformer.ln_f.weight", [C]],
    ["transformer.ln_f.bias", [C]],
  ]);
  for (let l = 0; l < config.layers; l++) for (const [name, shape] of gptBlockShapes(config, l)) s.set(name, shape);
  return s;
}

/**
 * The weights of GPT block `l` (the same names and shapes in GPT-2 and OpenAI GPT; only their order of use
 * differs): LayerNorms, the fused `c_attn` [C, 3·H_l·D], `c_proj` [H_l·D, C] and the MLP, Conv1D [in, out].
 */
export function gptBlockShapes(config: ModelConfig, l: number): Array<[string, number[]]> {
  const { hidden: C, intermediate: I, headDim: D } = config;
  const p = `transformer.h.${l}`;
  const HD = (config.heads - config.prunedHeads[l].length) * D;
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

/** Adds the `transformer.` prefix of GPT2LMHeadModel to a bare GPT2Model's keys. */
export function gpt2RenameKey(name: string): string {
  return /^(wte|wpe|h|ln_f)\./.test(name) ? `transformer.${name}` : name;
}

/**
 * The forward pass. Returns LM logits [B, T, V] (or [rows, V] for `x.lmRows`).
 *
 * @param run the run that records activations
 * @param config the checked config
 * @param w the weights
 * @param x the inputs, already in kernel memory
 */
export function gpt2Forward(run: Run, config: ModelConfig, w: ParamStore, x: ArenaInputs): Act {
  const { B, T } = x;
  const D = config.headDim, eps = config.layerNormEps;
  const p = (name: string) => w.get(name);

  const tok = run.hook(hookName("tok_embed"), run.embedding(p("transformer.wte.weight"), x.ids, [B, T]));
  let h = run.drop(
    run.hook(hookName("embed"), run.add(tok, run.embedding(p("transformer.wpe.weight"), x.positions, [B, T]))),
  );

  for (let l = 0; l < config.layers; l++) {
    const q = `transformer.h.${l}`;
    const H = config.heads - config.prunedHeads[l].length;
    const HD = H * D;
    const scope = run.beginScope(h.shape);
    run.hook(hookName("resid_pre", l), h);
    // attention: one fused projection to [q | k | v], each H·D wide
    const a = run.layerNorm(h, p(`${q}.ln_1.weight`), p(`${q}.ln_1.bias`), eps);
    const qkv = run.linear(a, p(`${q}.attn.c_attn.weight`), p(`${q}.attn.c_attn.bias`), false); // [B, T, 3·H·D]
    hookSlices(run, l, qkv, B, T, H, D);
    let scale = config.scaleAttnWeights ? 1 / Math.sqrt(D) : 1;
    if (config.scaleAttnByInverseLayerIdx) scale /= l + 1;
    const { ctx, probs } = run.attention(
      { q: [qkv, 0], k: [qkv, 4 * HD], v: [qkv, 8 * HD], ld: 3 * HD },
      { B, T, H, D, scale, causal: true },
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
    const mid = run.hook(hookName("resid_mid", l), run.add(h, run.drop(attnOut)));
    // MLP
    const m = run.layerNorm(mid, p(`${q}.ln_2.weight`), p(`${q}.ln_2.bias`), eps);
    const pre = run.hook(
      hookName("mlp_pre", l),
      run.linear(m, p(`${q}.mlp.c_fc.weight`), p(`${q}.mlp.c_fc.bias`), false),
    );
    const post = run.hook(hookName("mlp_post", l), run.gelu(pre, config.activation));
    const mlpOut = run.hook(
      hookName("mlp_out", l),
      run.linear(post, p(`${q}.mlp.c_proj.weight`), p(`${q}.mlp.c_proj.bias`), false),
    );
    h = run.endScope(scope, run.hook(hookName("resid_post", l), run.add(mid, run.drop(mlpOut))));
  }

  const f = run.hook(
    hookName("ln_final"),
    run.layerNorm(h, p("transformer.ln_f.weight"), p("transformer.ln_f.bias"), eps),
  );
  // LM head tied to the token embedding: logits = f · wteᵀ (wte is [V, C], nn.Linear layout)
  const head = w.has("lm_head.weight") ? p("lm_head.weight") : p("transformer.wte.weight");
  const rows = x.lmRows ? run.gatherRows(f, x.lmRows.ptr, x.lmRows.count) : f; // only the rows a loss counts
  return run.linear(rows, head, undefined, true);
}

/**
 * Copies q / k / v out of a fused [B, T, 3·H·D] projection when they were asked for. Shared by GPT-2 and
 * OpenAI GPT (both fuse them in `c_attn`).
 */
export function hookSlices(run: Run, l: number, qkv: Act, B: number, T: number, H: number, D: number): void {
  const HD = H * D;
  (["q", "k", "v"] as const).forEach((kind, i) => {
    const name = hookName(kind, l);
    if (!run.wants(name)) return;
    const out = run.act([B, T, HD]);
    for (let r = 0; r < B * T; r++) run.k.copy(out.ptr + 4 * r * HD, qkv.ptr + 4 * (r * 3 * HD + i * HD), HD);
    run.hook(name, out, [B, T, H, D]);
  });
}
