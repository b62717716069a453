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
import {
  activate,
  bertBlockNames,
  dense,
  type EncoderEmbeddingNames,
  encoderEmbeddings,
  type FirstTokenHead,
  norm,
  postNormBlock,
  type PostNormBlockNames,
  postNormEncoder,
} from "./builders.ts";
import type { ConfigFields, ModelConfig, TaskKind } from "./config.ts";
import type { FamilySizes, ModelFamily, NewModelSizes, WeightSpec } from "./family.ts";
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

/** BERT's embedding names under a base-model prefix (`bert`). */
export function bertEmbeddingNames(base: string): EncoderEmbeddingNames {
  return {
    word: `${base}.embeddings.word_embeddings.weight`,
    position: `${base}.embeddings.position_embeddings.weight`,
    tokenType: `${base}.embeddings.token_type_embeddings.weight`,
    norm: `${base}.embeddings.LayerNorm`,
  };
}

/** BERT's pooler + classifier. */
const BERT_CLASSIFIER: FirstTokenHead = {
  dense: "bert.pooler.dense",
  activation: "tanh",
  out: "classifier",
  inputDropout: false,
};

/** Layer `l`'s module names. */
function layerNames(l: number): PostNormBlockNames {
  return bertBlockNames(`bert.encoder.layer.${l}`);
}

const ENCODER = postNormEncoder({
  embeddings: bertEmbeddingNames("bert"),
  layer: (_c, l) => layerNames(l),
  classifier: BERT_CLASSIFIER,
});

/**
 * The HF names and shapes a BERT checkpoint holds; the head (pooler + classifier, or the masked-LM head) is
 * optional (bare encoders).
 */
function bertWeights(config: ModelConfig): WeightSpec {
  const spec = ENCODER.weights(config);
  return config.task === "mlm" ? { ...spec, optional: mlmHeadWeights(config) } : spec;
}

/**
 * HF's `BertOnlyMLMHead` on the rows a loss counts: dense → activation → LayerNorm, then logits = t · Eᵀ +
 * `cls.predictions.bias` with E the word embedding (the tied decoder) or an untied `cls.predictions.decoder`.
 */
function mlmHead<T>(ops: ModelOps<T>, config: ModelConfig, h: T): T {
  const p = "cls.predictions";
  const transformed = ops.linear(ops.lossRows(h), dense(`${p}.transform.dense`));
  const t = ops.layerNorm(
    activate(ops, transformed, config.activation),
    norm(`${p}.transform.LayerNorm`, config.layerNormEps),
  );
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
  if (config.task !== "mlm") return ENCODER.forward(ops, config);
  // embeddings: word + position + token type, then LayerNorm; the blocks; the masked-LM head
  let h = encoderEmbeddings(ops, config, bertEmbeddingNames("bert"));
  for (let l = 0; l < config.layers; l++) h = postNormBlock(ops, config, l, h, layerNames(l));
  return ops.hasWeight("cls.predictions.bias") ? mlmHead(ops, config, h) : undefined;
}

/**
 * The `config.json` fields every new BERT-style model gets (sizes, dropout, HF's BERT defaults), whatever its head;
 * `own` overrides or adds a family's fields (RoBERTa's, ALBERT's, ELECTRA's).
 */
export function bertSizesConfig(s: NewModelSizes, own: Record<string, unknown> = {}): Record<string, unknown> {
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
    ...own,
  };
}

/**
 * A new classifier's label fields (`num_labels`, `id2label`, `label2id`, `problem_type`), HF's names.
 *
 * @throws {Error} for a classifier without labels
 */
export function classifierLabelFields(s: NewModelSizes): Record<string, unknown> {
  const regression = s.problemType === "regression";
  const labels = regression ? ["LABEL_0"] : [...(s.labels ?? ["0", "1"])];
  if (labels.length < 1) throw new Error("newConfig: a classifier needs at least one label");
  return {
    num_labels: labels.length,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    ...(regression ? { problem_type: "regression" } : {}),
  };
}

/** What a sequence classifier's head computes: one real value (`problem_type: "regression"`) or class logits. */
export function classifierTask(c: ModelConfig): TaskKind {
  return c.problemType === "regression" ? "regress" : "classify";
}

/**
 * The size fields of a BERT-style `config.json` (`vocab_size`, `hidden_size`, `num_hidden_layers`,
 * `num_attention_heads`, `intermediate_size`, `max_position_embeddings`, `type_vocab_size`, `layer_norm_eps`,
 * `hidden_act`), shared by BERT, RoBERTa, ALBERT and ELECTRA; `defaults` are the family's HF defaults.
 */
export function bertStyleSizes(
  f: ConfigFields,
  defaults: { typeVocabSize: number; layerNormEps: number; activation: string },
): Omit<FamilySizes, "classifier"> {
  return {
    vocabSize: f.size("vocab_size", "vocabSize"),
    hidden: f.size("hidden_size", "hidden"),
    layers: f.size("num_hidden_layers", "layers"),
    heads: f.size("num_attention_heads", "heads"),
    intermediate: f.size("intermediate_size", "intermediate"),
    maxPositions: f.size("max_position_embeddings", "maxPositions"),
    typeVocabSize: f.size("type_vocab_size", "typeVocabSize", defaults.typeVocabSize),
    layerNormEps: f.num("layer_norm_eps", defaults.layerNormEps, { exclusiveMin: 0 }),
    activation: f.activation("hidden_act", defaults.activation),
  };
}

/** BERT (`model_type: "bert"`). */
export const bert: ModelFamily = {
  modelType: "bert",
  displayName: "BERT",
  tokenizer: "wordpiece",
  readSizes: (f) => ({
    ...bertStyleSizes(f, { typeVocabSize: 2, layerNormEps: 1e-12, activation: "gelu" }),
    classifier: !isMaskedLM(f.raw),
  }),
  task: (c) => (isMaskedLM(c.raw) ? "mlm" : classifierTask(c)),
  weights: bertWeights,
  // a bare BertModel has no `bert.` prefix; TF-era checkpoints say gamma/beta
  renameKey: (name) => {
    const n = name.replace(/LayerNorm\.gamma$/, "LayerNorm.weight").replace(/LayerNorm\.beta$/, "LayerNorm.bias");
    return /^(embeddings|encoder|pooler)\./.test(n) ? `bert.${n}` : n;
  },
  headSlices: ENCODER.headSlices,
  neuronSlices: ENCODER.neuronSlices,
  forward: bertForward,
  finalHooks: ["pooler"],
  hiddenStateHook: (i) => (i === 0 ? hookName("embed") : hookName("resid_post", i - 1)),
  newConfig: (s) =>
    s.maskedLM
      ? { architectures: ["BertForMaskedLM"], ...bertSizesConfig(s) }
      : { architectures: ["BertForSequenceClassification"], ...bertSizesConfig(s), ...classifierLabelFields(s) },
  initStd: (_name, _c, std) => std,
  // HF zeroes the padding row (pad_token_id 0) of the word embeddings
  zeroRows: () => new Map([["bert.embeddings.word_embeddings.weight", 0]]),
};
