/**
 * BERT for sequence classification, following HF's `modeling_bert.py` (BertForSequenceClassification):
 * embeddings (word + position + token type, LayerNorm) → L post-LN encoder blocks → pooler (tanh on [CLS]) →
 * classifier. Weight names are the HF checkpoint keys.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { ModelConfig } from "./config.ts";
import type { Act, ParamStore, Run } from "./graph.ts";
import type { ArenaInputs } from "./inputs.ts";

/** The HF names and shapes a BERT checkpoint must hold (pooler and classifier are optional: bare encoders). */
export function bertShapes(config: ModelConfig): Map<string, number[]> {
  const { hidden: C, intermediate: I, headDim: D } = config;
  const s = new Map<string, number[]>([
    ["bert.embeddings.word_embeddings.weight", [config.vocabSize, C]],
    ["bert.embeddings.position_embeddings.weight", [config.maxPositions, C]],
    ["bert.embeddings.token_type_embeddings.weight", [config.typeVocabSize, C]],
    ["bert.embeddings.LayerNorm.weight", [C]],
    ["bert.embeddings.LayerNorm.bias", [C]],
  ]);
  for (let l = 0; l < config.layers; l++) {
    const p = `bert.encoder.layer.${l}`;
    const HD = (config.heads - config.prunedHeads[l].length) * D;
    for (const qkv of ["query", "key", "value"]) {
      s.set(`${p}.attention.self.${qkv}.weight`, [HD, C]);
      s.set(`${p}.attention.self.${qkv}.bias`, [HD]);
    }
    s.set(`${p}.attention.output.dense.weight`, [C, HD]);
    s.set(`${p}.attention.output.dense.bias`, [C]);
    s.set(`${p}.attention.output.LayerNorm.weight`, [C]);
    s.set(`${p}.attention.output.LayerNorm.bias`, [C]);
    s.set(`${p}.intermediate.dense.weight`, [I, C]);
    s.set(`${p}.intermediate.dense.bias`, [I]);
    s.set(`${p}.output.dense.weight`, [C, I]);
    s.set(`${p}.output.dense.bias`, [C]);
    s.set(`${p}.output.LayerNorm.weight`, [C]);
    s.set(`${p}.output.LayerNorm.bias`, [C]);
  }
  return s;
}

/** Optional BERT heads: pooler + classifier (absent in a bare encoder such as `bert-base-uncased`). */
export function bertHeadShapes(config: ModelConfig): Map<string, number[]> {
  const C = config.hidden;
  return new Map([
    ["bert.pooler.dense.weight", [C, C]],
    ["bert.pooler.dense.bias", [C]],
    ["classifier.weight", [config.labels.length, C]],
    ["classifier.bias", [config.labels.length]],
  ]);
}

/** HF name fixes for older BERT checkpoints: a bare `BertModel` (no `bert.` prefix), TF-era `gamma`/`beta`. */
export function bertRenameKey(name: string): string {
  let n = name.replace(/LayerNorm\.gamma$/, "LayerNorm.weight").replace(/LayerNorm\.beta$/, "LayerNorm.bias");
  if (/^(embeddings|encoder|pooler)\./.test(n)) n = `bert.${n}`;
  return n;
}

/**
 * The forward pass. Returns the logits [B, labels] (or `undefined` for a bare encoder).
 *
 * @param run the run that records activations
 * @param config the checked config
 * @param w the weights
 * @param x the inputs, already in kernel memory
 */
export function bertForward(run: Run, config: ModelConfig, w: ParamStore, x: ArenaInputs): Act | undefined {
  const { B, T } = x;
  const D = config.headDim, eps = config.layerNormEps;
  const p = (name: string) => w.get(name);

  // embeddings: word + position + token type, then LayerNorm
  const tok = run.hook(
    hookName("tok_embed"),
    run.embedding(p("bert.embeddings.word_embeddings.weight"), x.ids, [B, T]),
  );
  const pos = run.embedding(p("bert.embeddings.position_embeddings.weight"), x.positions, [B, T]);
  const typ = run.embedding(p("bert.embeddings.token_type_embeddings.weight"), x.tokenTypes, [B, T]);
  const sum = run.add(run.add(tok, pos), typ);
  let h = run.drop(run.hook(
    hookName("embed"),
    run.layerNorm(sum, p("bert.embeddings.LayerNorm.weight"), p("bert.embeddings.LayerNorm.bias"), eps),
  ));

  for (let l = 0; l < config.layers; l++) {
    const q = `bert.encoder.layer.${l}`;
    const H = config.heads - config.prunedHeads[l].length;
    const scope = run.beginScope(h.shape);
    run.hook(hookName("resid_pre", l), h);
    // self-attention: separate Q, K, V projections (nn.Linear: weight [out, in])
    const Q = run.hook(
      hookName("q", l),
      run.linear(h, p(`${q}.attention.self.query.weight`), p(`${q}.attention.self.query.bias`), true),
      [B, T, H, D],
    );
    const K = run.hook(
      hookName("k", l),
      run.linear(h, p(`${q}.attention.self.key.weight`), p(`${q}.attention.self.key.bias`), true),
      [B, T, H, D],
    );
    const V = run.hook(
      hookName("v", l),
      run.linear(h, p(`${q}.attention.self.value.weight`), p(`${q}.attention.self.value.bias`), true),
      [B, T, H, D],
    );
    const { ctx, probs } = run.attention(
      { q: [Q, 0], k: [K, 0], v: [V, 0], ld: H * D },
      { B, T, H, D, scale: 1 / Math.sqrt(D), causal: false },
      x.keyMask,
      x.headMask[l],
      x.headMaskGrad[l],
    );
    run.hookPattern(l, probs, x.headMask[l], H, x.keyMask);
    run.hook(hookName("z", l), ctx, [B, T, H, D]);
    const attnOut = run.hook(
      hookName("attn_out", l),
      run.linear(ctx, p(`${q}.attention.output.dense.weight`), p(`${q}.attention.output.dense.bias`), true),
    );
    const mid = run.hook(
      hookName("resid_mid", l),
      run.layerNorm(
        run.add(run.drop(attnOut), h),
        p(`${q}.attention.output.LayerNorm.weight`),
        p(`${q}.attention.output.LayerNorm.bias`),
        eps,
      ),
    );
    // MLP
    const pre = run.hook(
      hookName("mlp_pre", l),
      run.linear(mid, p(`${q}.intermediate.dense.weight`), p(`${q}.intermediate.dense.bias`), true),
    );
    const post = run.hook(hookName("mlp_post", l), run.gelu(pre, config.activation));
    const mlpOut = run.hook(
      hookName("mlp_out", l),
      run.linear(post, p(`${q}.output.dense.weight`), p(`${q}.output.dense.bias`), true),
    );
    h = run.hook(
      hookName("resid_post", l),
      run.layerNorm(
        run.add(run.drop(mlpOut), mid),
        p(`${q}.output.LayerNorm.weight`),
        p(`${q}.output.LayerNorm.bias`),
        eps,
      ),
    );
    h = run.endScope(scope, h);
  }

  if (!w.has("classifier.weight") || !w.has("bert.pooler.dense.weight")) return undefined;
  // pooler: tanh(W · h[CLS] + b), then the classifier
  const cls = run.firstToken(h);
  const pooled = run.hook(
    hookName("pooler"),
    run.tanh(run.linear(cls, p("bert.pooler.dense.weight"), p("bert.pooler.dense.bias"), true)),
  );
  return run.linear(run.drop(pooled), p("classifier.weight"), p("classifier.bias"), true);
}
