/**
 * RoBERTa, following HF's `modeling_roberta.py` (RobertaForSequenceClassification): BERT's post-LN encoder under
 * the `roberta.` prefix, with fairseq's position numbering (`padding_idx + 1 + cumsum(ids ≠ pad)`, so the
 * position table holds `pad_token_id + 1` extra rows) and one token type, and a classification head on `<s>`:
 * `classifier.dense → tanh → classifier.out_proj`. XLM-RoBERTa (`xlm-roberta`) and CamemBERT (`camembert`) are
 * the same model under another `model_type`.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import { bertSizesConfig, bertStyleSizes, classifierLabelFields, classifierTask } from "./bert.ts";
import { bertBlockNames, type EncoderEmbeddingNames, type FirstTokenHead, postNormEncoder } from "./builders.ts";
import type { ModelFamily } from "./family.ts";

const EMBEDDINGS: EncoderEmbeddingNames = {
  word: "roberta.embeddings.word_embeddings.weight",
  position: "roberta.embeddings.position_embeddings.weight",
  tokenType: "roberta.embeddings.token_type_embeddings.weight",
  norm: "roberta.embeddings.LayerNorm",
};

/** RobertaClassificationHead: dropout → dense → tanh → dropout → out_proj, on `<s>`. */
const CLASSIFIER: FirstTokenHead = {
  dense: "classifier.dense",
  activation: "tanh",
  out: "classifier.out_proj",
  inputDropout: true,
};

const ENCODER = postNormEncoder({
  embeddings: EMBEDDINGS,
  layer: (_c, l) => bertBlockNames(`roberta.encoder.layer.${l}`),
  classifier: CLASSIFIER,
});

/** RoBERTa (`model_type: "roberta"`). */
export const roberta: ModelFamily = {
  modelType: "roberta",
  displayName: "RoBERTa",
  tokenizer: "roberta-vocab",
  readSizes: (f) => ({
    ...bertStyleSizes(f, { typeVocabSize: 1, layerNormEps: 1e-5, activation: "gelu" }),
    classifier: true,
    positions: { kind: "after_padding", paddingIdx: f.int("pad_token_id", 1, 1_000_000) },
  }),
  task: classifierTask,
  weights: ENCODER.weights,
  // a bare RobertaModel has no `roberta.` prefix
  renameKey: (name) => (/^(embeddings|encoder|pooler)\./.test(name) ? `roberta.${name}` : name),
  headSlices: ENCODER.headSlices,
  neuronSlices: ENCODER.neuronSlices,
  forward: ENCODER.forward,
  finalHooks: ["pooler"],
  hiddenStateHook: (i) => (i === 0 ? hookName("embed") : hookName("resid_post", i - 1)),
  newConfig: (s) => ({
    architectures: ["RobertaForSequenceClassification"],
    ...bertSizesConfig(s, {
      model_type: "roberta",
      // fairseq positions start after the padding row
      max_position_embeddings: (s.maxPositions ?? 512) + 2,
      type_vocab_size: 1,
      layer_norm_eps: 1e-5,
      pad_token_id: 1,
      bos_token_id: 0,
      eos_token_id: 2,
    }),
    ...classifierLabelFields(s),
  }),
  initStd: (_name, _c, std) => std,
  // HF zeroes the padding rows (pad_token_id) of the word and position embeddings
  zeroRows: (c) => {
    const pad = c.positions.kind === "after_padding" ? c.positions.paddingIdx : 1;
    return new Map([[EMBEDDINGS.word, pad], [EMBEDDINGS.position, pad]]);
  },
};

/** XLM-RoBERTa (`model_type: "xlm-roberta"`): RoBERTa's model with a sentencepiece vocabulary. */
export const xlmRoberta: ModelFamily = { ...roberta, modelType: "xlm-roberta", displayName: "XLM-RoBERTa" };

/** CamemBERT (`model_type: "camembert"`): RoBERTa's model with a sentencepiece vocabulary. */
export const camembert: ModelFamily = {
  ...roberta,
  modelType: "camembert",
  displayName: "CamemBERT",
  // CamemBERT's sentencepiece model numbers its pieces its own way: read from tokenizer.json only
  tokenizer: "tokenizer-json",
};
