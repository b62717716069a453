/**
 * ELECTRA's discriminator, following HF's `modeling_electra.py` (ElectraForSequenceClassification): BERT's
 * embeddings at width `embedding_size` (E), projected to d_model by `electra.embeddings_project` when E ≠ d_model,
 * BERT's post-LN encoder under `electra.`, and the head `classifier.dense → GELU → classifier.out_proj` on
 * `[CLS]` (no pooler).
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import { bertSizesConfig, bertStyleSizes, classifierLabelFields, classifierTask } from "./bert.ts";
import { bertBlockNames, type EncoderEmbeddingNames, type FirstTokenHead, postNormEncoder } from "./builders.ts";
import type { ModelFamily } from "./family.ts";

const EMBEDDINGS: EncoderEmbeddingNames = {
  word: "electra.embeddings.word_embeddings.weight",
  position: "electra.embeddings.position_embeddings.weight",
  tokenType: "electra.embeddings.token_type_embeddings.weight",
  norm: "electra.embeddings.LayerNorm",
  project: "electra.embeddings_project",
};

/** ElectraClassificationHead: dropout → dense → GELU (erf) → dropout → out_proj, on `[CLS]`. */
const CLASSIFIER: FirstTokenHead = {
  dense: "classifier.dense",
  activation: "erf",
  out: "classifier.out_proj",
  inputDropout: true,
};

const ENCODER = postNormEncoder({
  embeddings: EMBEDDINGS,
  layer: (_c, l) => bertBlockNames(`electra.encoder.layer.${l}`),
  classifier: CLASSIFIER,
});

/** ELECTRA (`model_type: "electra"`), the discriminator. */
export const electra: ModelFamily = {
  modelType: "electra",
  displayName: "ELECTRA",
  tokenizer: "wordpiece",
  readSizes: (f) => {
    const sizes = bertStyleSizes(f, { typeVocabSize: 2, layerNormEps: 1e-12, activation: "gelu" });
    return { ...sizes, classifier: true, embeddingSize: f.size("embedding_size", "hidden", sizes.hidden) };
  },
  task: classifierTask,
  weights: ENCODER.weights,
  // a bare ElectraModel has no `electra.` prefix
  renameKey: (name) => (/^(embeddings|embeddings_project|encoder)\./.test(name) ? `electra.${name}` : name),
  headSlices: ENCODER.headSlices,
  neuronSlices: ENCODER.neuronSlices,
  forward: ENCODER.forward,
  finalHooks: ["pooler"],
  hiddenStateHook: (i) => (i === 0 ? hookName("embed") : hookName("resid_post", i - 1)),
  newConfig: (s) => ({
    architectures: ["ElectraForSequenceClassification"],
    ...bertSizesConfig(s, { model_type: "electra", embedding_size: s.hidden }),
    ...classifierLabelFields(s),
  }),
  initStd: (_name, _c, std) => std,
  zeroRows: () => new Map([[EMBEDDINGS.word, 0]]),
};
