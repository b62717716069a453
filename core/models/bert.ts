/**
 * BERT, following HF's `modeling_bert.py`: embeddings (word + position + token type, LayerNorm) → L post-LN
 * encoder blocks → either pooler (tanh on [CLS]) → classifier (BertForSequenceClassification), or, for a config
 * whose `architectures` names `BertForMaskedLM`, the masked-LM head `cls.predictions` (dense → activation →
 * LayerNorm → decoder tied to the word embeddings, plus its own bias). Weight names are the HF checkpoint keys;
 * nn.Linear weights are stored [out, in].
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { ModelConfig } from "./config.ts";
import type { ModelFamily, NewModelSizes, WeightSpec } from "./family.ts";
import type { ModelOps } from "./ops.ts";

/** Whether a config.json describes HF's BertForMaskedLM (its `architectures` say so). */
function isMaskedLM(raw: Record<string, unknown>): boolean {
  return Array.isArray(raw.architectures) && raw.architectures.includes("BertForMaskedLM");
}

/** The masked-LM head's tensors (HF `BertOnlyMLMHead`); the decoder is the word embedding unless untied. */
function mlmHeadWeights(config: ModelConfig): Map<string, number[]> {
  const C = config.hidden;
  const head = new Map<string, number[]>([
    ["cls.predictions.transform.dense.weight", [C, C]],
    ["cls.predictions.transform.dense.bias", [C]],
    ["cls.predictions.transform.LayerNorm.weight", [C]],
    ["cls.predictions.transform.LayerNorm.bias", [C]],
    ["cls.predictions.bias", [config.vocabSize]],
  ]);
  if (config.raw.tie_word_embeddings === false) head.set("cls.predictions.decoder.weight", [config.vocabSize, C]);
  return head;
}

/**
 * The HF names and shapes a BERT checkpoint holds; the head (pooler + classifier, or the masked-LM head) is
 * optional (bare encoders).
 */
function bertWeights(config: ModelConfig): WeightSpec {
  const { hidden: C, headDim: D } = config;
  const required = new Map<string, number[]>([
    ["bert.embeddings.word_embeddings.weight", [config.vocabSize, C]],
    ["bert.embeddings.position_embeddings.weight", [config.maxPositions, C]],
    ["bert.embeddings.token_type_embeddings.weight", [config.typeVocabSize, C]],
    ["bert.embeddings.LayerNorm.weight", [C]],
    ["bert.embeddings.LayerNorm.bias", [C]],
  ]);
  for (let l = 0; l < config.layers; l++) {
    const p = `bert.encoder.layer.${l}`;
    const HD = (config.heads - config.prunedHeads[l]!.length) * D;
    const I = config.intermediateSizes[l]!;
    for (const qkv of ["query", "key", "value"]) {
      required.set(`${p}.attention.self.${qkv}.weight`, [HD, C]);
      required.set(`${p}.attention.self.${qkv}.bias`, [HD]);
    }
    required.set(`${p}.attention.output.dense.weight`, [C, HD]);
    required.set(`${p}.attention.output.dense.bias`, [C]);
    required.set(`${p}.attention.output.LayerNorm.weight`, [C]);
    required.set(`${p}.attention.output.LayerNorm.bias`, [C]);
    required.set(`${p}.intermediate.dense.weight`, [I, C]);
    required.set(`${p}.intermediate.dense.bias`, [I]);
    required.set(`${p}.output.dense.weight`, [C, I]);
    required.set(`${p}.output.dense.bias`, [C]);
    required.set(`${p}.output.LayerNorm.weight`, [C]);
    required.set(`${p}.output.LayerNorm.bias`, [C]);
  }
  if (config.task === "mlm") return { required, optional: mlmHeadWeights(config), optionalIsHead: true };
  const optional = new Map<string, number[]>([
    ["bert.pooler.dense.weight", [C, C]],
    ["bert.pooler.dense.bias", [C]],
    ["classifier.weight", [config.labels.length, C]],
    ["classifier.bias", [config.labels.length]],
  ]);
  return { required, optional, optionalIsHead: true };
}

/**
 * HF's `BertOnlyMLMHead` on the rows a loss counts: dense → activation → LayerNorm, then logits = t · Eᵀ +
 * `cls.predictions.bias` with E the word embedding (the tied decoder) or an untied `cls.predictions.decoder`.
 */
function mlmHead<T>(ops: ModelOps<T>, config: ModelConfig, h: T): T {
  const p = "cls.predictions";
  const dense = ops.linear(ops.lossRows(h), {
    weight: `${p}.transform.dense.weight`,
    bias: `${p}.transform.dense.bias`,
    layout: "linear",
  });
  const t = ops.layerNorm(ops.gelu(dense, config.activation), {
    weight: `${p}.transform.LayerNorm.weight`,
    bias: `${p}.transform.LayerNorm.bias`,
    eps: config.layerNormEps,
  });
  const decoder = ops.hasWeight(`${p}.decoder.weight`)
    ? `${p}.decoder.weight`
    : "bert.embeddings.word_embeddings.weight";
  return ops.linear(t, { weight: decoder, bias: `${p}.bias`, layout: "linear" });
}

/**
 * The forward pass; returns the logits — [B, labels] for a classifier, [B, T, vocab] (or [rows, vocab] on the
 * rows a loss counts) for a masked LM — or `undefined` for a bare encoder.
 */
function bertForward<T>(ops: ModelOps<T>, config: ModelConfig): T | undefined {
  const D = config.headDim, eps = config.layerNormEps;
  const ln = (name: string) => ({ weight: `${name}.weight`, bias: `${name}.bias`, eps });
  const dense = (name: string) => ({ weight: `${name}.weight`, bias: `${name}.bias`, layout: "linear" as const });

  // embeddings: word + position + token type, then LayerNorm
  const tok = ops.hook(hookName("tok_embed"), ops.embedding("bert.embeddings.word_embeddings.weight", "input_ids"));
  const pos = ops.embedding("bert.embeddings.position_embeddings.weight", "position_ids");
  const typ = ops.embedding("bert.embeddings.token_type_embeddings.weight", "token_type_ids");
  const emb = ops.layerNorm(ops.add(ops.add(tok, pos), typ), ln("bert.embeddings.LayerNorm"));
  let h = ops.dropout(ops.hook(hookName("embed"), emb));

  for (let l = 0; l < config.layers; l++) {
    const p = `bert.encoder.layer.${l}`;
    const H = config.heads - config.prunedHeads[l]!.length;
    h = ops.block(h, (input) => {
      const x = ops.hook(hookName("resid_pre", l), input);
      // self-attention: separate Q, K, V projections
      const heads = { heads: H };
      const q = ops.hook(hookName("q", l), ops.linear(x, dense(`${p}.attention.self.query`)), heads);
      const k = ops.hook(hookName("k", l), ops.linear(x, dense(`${p}.attention.self.key`)), heads);
      const v = ops.hook(hookName("v", l), ops.linear(x, dense(`${p}.attention.self.value`)), heads);
      const context = ops.attention(q, k, v, {
        layer: l,
        heads: H,
        headDim: D,
        scale: 1 / Math.sqrt(D),
        causal: false,
        patternHook: hookName("pattern", l),
      });
      const z = ops.hook(hookName("z", l), context, heads);
      const attnOut = ops.hook(hookName("attn_out", l), ops.linear(z, dense(`${p}.attention.output.dense`)));
      const mid = ops.hook(
        hookName("resid_mid", l),
        ops.layerNorm(ops.add(ops.dropout(attnOut), x), ln(`${p}.attention.output.LayerNorm`)),
      );
      // MLP
      const pre = ops.hook(hookName("mlp_pre", l), ops.linear(mid, dense(`${p}.intermediate.dense`)));
      const post = ops.hook(hookName("mlp_post", l), ops.gelu(pre, config.activation));
      const mlpOut = ops.hook(
        hookName("mlp_out", l),
        ops.linear(ops.neuronMask(post, l), dense(`${p}.output.dense`)),
      );
      return ops.hook(
        hookName("resid_post", l),
        ops.layerNorm(ops.add(ops.dropout(mlpOut), mid), ln(`${p}.output.LayerNorm`)),
      );
    });
  }

  if (config.task === "mlm") return ops.hasWeight("cls.predictions.bias") ? mlmHead(ops, config, h) : undefined;
  if (!ops.hasWeight("classifier.weight") || !ops.hasWeight("bert.pooler.dense.weight")) return undefined;
  // pooler: tanh(W · h[CLS] + b), then the classifier
  const pooled = ops.hook(hookName("pooler"), ops.tanh(ops.linear(ops.firstToken(h), dense("bert.pooler.dense"))));
  return ops.linear(ops.dropout(pooled), dense("classifier"));
}

/** The `config.json` fields every new BERT gets (sizes, dropout, HF's defaults), whatever its head. */
function bertSizesConfig(s: NewModelSizes): Record<string, unknown> {
  return {
    model_type: "bert",
    vocab_size: s.vocabSize,
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    intermediate_size: s.intermediate,
    hidden_act: "gelu",
    hidden_dropout_prob: s.dropout,
    attention_probs_dropout_prob: s.dropout,
    max_position_embeddings: s.maxPositions ?? 512,
    type_vocab_size: 2,
    initializer_range: 0.02,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
  };
}

/** BERT (`model_type: "bert"`). */
export const bert: ModelFamily = {
  modelType: "bert",
  displayName: "BERT",
  tokenizer: "wordpiece",
  readSizes: (f) => ({
    vocabSize: f.size("vocab_size", "vocabSize"),
    hidden: f.size("hidden_size", "hidden"),
    layers: f.size("num_hidden_layers", "layers"),
    heads: f.size("num_attention_heads", "heads"),
    intermediate: f.size("intermediate_size", "intermediate"),
    maxPositions: f.size("max_position_embeddings", "maxPositions"),
    typeVocabSize: f.size("type_vocab_size", "typeVocabSize", 2),
    layerNormEps: f.num("layer_norm_eps", 1e-12, { exclusiveMin: 0 }),
    activation: f.activation("hidden_act", "gelu"),
    scaleAttnWeights: true,
    scaleAttnByInverseLayerIdx: false,
    classifier: !isMaskedLM(f.raw),
  }),
  task: (c) => (isMaskedLM(c.raw) ? "mlm" : c.problemType === "regression" ? "regress" : "classify"),
  weights: bertWeights,
  // a bare BertModel has no `bert.` prefix; TF-era checkpoints say gamma/beta
  renameKey: (name) => {
    const n = name.replace(/LayerNorm\.gamma$/, "LayerNorm.weight").replace(/LayerNorm\.beta$/, "LayerNorm.bias");
    return /^(embeddings|encoder|pooler)\./.test(n) ? `bert.${n}` : n;
  },
  headSlices: (_c, l) => {
    const p = `bert.encoder.layer.${l}.attention`;
    return [
      ...["query", "key", "value"].flatMap((m) => [
        { name: `${p}.self.${m}.weight`, axis: 0 as const, groups: 1 },
        { name: `${p}.self.${m}.bias`, axis: 0 as const, groups: 1 },
      ]),
      { name: `${p}.output.dense.weight`, axis: 1, groups: 1, output: true },
    ];
  },
  neuronSlices: (_c, l) => {
    const p = `bert.encoder.layer.${l}`;
    return [
      { name: `${p}.intermediate.dense.weight`, axis: 0, groups: 1 },
      { name: `${p}.intermediate.dense.bias`, axis: 0, groups: 1 },
      { name: `${p}.output.dense.weight`, axis: 1, groups: 1, output: true },
    ];
  },
  forward: bertForward,
  finalHooks: ["pooler"],
  hiddenStateHook: (i) => (i === 0 ? hookName("embed") : hookName("resid_post", i - 1)),
  newConfig: (s) => {
    if (s.maskedLM) return { architectures: ["BertForMaskedLM"], ...bertSizesConfig(s) };
    const regression = s.problemType === "regression";
    const labels = regression ? ["LABEL_0"] : [...(s.labels ?? ["0", "1"])];
    if (labels.length < 1) throw new Error("newConfig: a BERT classifier needs at least one label");
    return {
      architectures: ["BertForSequenceClassification"],
      ...bertSizesConfig(s),
      num_labels: labels.length,
      id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
      label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
      ...(regression ? { problem_type: "regression" } : {}),
    };
  },
  initStd: (_name, _c, std) => std,
  // HF zeroes the padding row (pad_token_id 0) of the word embeddings
  zeroRows: () => new Map([["bert.embeddings.word_embeddings.weight", 0]]),
};
