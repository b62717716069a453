/**
 * DistilBERT, following HF's `modeling_distilbert.py` (DistilBertForSequenceClassification): word + position
 * embeddings (no token types) → LayerNorm → L post-LN blocks (`q_lin`, `k_lin`, `v_lin`, `out_lin`,
 * `sa_layer_norm`, `ffn.lin1`/`lin2`, `output_layer_norm`) → `pre_classifier → ReLU → classifier` on `[CLS]`.
 * Its config names differ (`dim`, `n_layers`, `n_heads`, `hidden_dim`, `activation`); LayerNorm ε is fixed at
 * 1e-12.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import { classifierLabelFields, classifierTask } from "./bert.ts";
import {
  type EncoderEmbeddingNames,
  type FirstTokenHead,
  type PostNormBlockNames,
  postNormEncoder,
} from "./builders.ts";
import type { ModelFamily } from "./family.ts";

const EMBEDDINGS: EncoderEmbeddingNames = {
  word: "distilbert.embeddings.word_embeddings.weight",
  position: "distilbert.embeddings.position_embeddings.weight",
  norm: "distilbert.embeddings.LayerNorm",
};

/** `pre_classifier → ReLU → dropout → classifier` on `[CLS]`. */
const CLASSIFIER: FirstTokenHead = {
  dense: "pre_classifier",
  activation: "relu",
  out: "classifier",
  inputDropout: false,
};

function layerNames(l: number): PostNormBlockNames {
  const p = `distilbert.transformer.layer.${l}`;
  return {
    query: `${p}.attention.q_lin`,
    key: `${p}.attention.k_lin`,
    value: `${p}.attention.v_lin`,
    attnOutput: `${p}.attention.out_lin`,
    attnNorm: `${p}.sa_layer_norm`,
    mlpIn: `${p}.ffn.lin1`,
    mlpOut: `${p}.ffn.lin2`,
    mlpNorm: `${p}.output_layer_norm`,
  };
}

const ENCODER = postNormEncoder({ embeddings: EMBEDDINGS, layer: (_c, l) => layerNames(l), classifier: CLASSIFIER });

/** DistilBERT (`model_type: "distilbert"`). */
export const distilbert: ModelFamily = {
  modelType: "distilbert",
  displayName: "DistilBERT",
  tokenizer: "wordpiece",
  readSizes: (f) => ({
    vocabSize: f.size("vocab_size", "vocabSize"),
    hidden: f.size("dim", "hidden"),
    layers: f.size("n_layers", "layers"),
    heads: f.size("n_heads", "heads"),
    intermediate: f.size("hidden_dim", "intermediate"),
    maxPositions: f.size("max_position_embeddings", "maxPositions"),
    typeVocabSize: 0,
    // HF's DistilBERT builds every LayerNorm with eps=1e-12, whatever the config says
    layerNormEps: 1e-12,
    activation: f.activation("activation", "gelu"),
    classifier: true,
  }),
  task: classifierTask,
  weights: ENCODER.weights,
  // a bare DistilBertModel has no `distilbert.` prefix
  renameKey: (name) => (/^(embeddings|transformer)\./.test(name) ? `distilbert.${name}` : name),
  headSlices: ENCODER.headSlices,
  neuronSlices: ENCODER.neuronSlices,
  forward: ENCODER.forward,
  finalHooks: ["pooler"],
  hiddenStateHook: (i) => (i === 0 ? hookName("embed") : hookName("resid_post", i - 1)),
  newConfig: (s) => ({
    architectures: ["DistilBertForSequenceClassification"],
    model_type: "distilbert",
    vocab_size: s.vocabSize,
    dim: s.hidden,
    n_layers: s.layers,
    n_heads: s.heads,
    hidden_dim: s.intermediate,
    activation: "gelu",
    dropout: s.dropout,
    attention_dropout: s.dropout,
    seq_classif_dropout: s.dropout,
    max_position_embeddings: s.maxPositions ?? 512,
    sinusoidal_pos_embds: false,
    initializer_range: 0.02,
    pad_token_id: 0,
    ...classifierLabelFields(s),
  }),
  initStd: (_name, _c, std) => std,
  zeroRows: () => new Map([[EMBEDDINGS.word, 0]]),
};
