/**
 * ALBERT, following HF's `modeling_albert.py` (AlbertForSequenceClassification): factorised embeddings (word,
 * position and token-type tables of width `embedding_size` E, LayerNorm over E) mapped to d_model by
 * `albert.encoder.embedding_hidden_mapping_in`, then `num_hidden_layers` post-LN blocks that share weights:
 * layer l runs the block of group `⌊l / (layers / num_hidden_groups)⌋` (one group for every released ALBERT),
 * and a pooler (`albert.pooler`, tanh) → classifier on `[CLS]`.
 *
 * Because one tensor serves several layers, every per-layer quantity — hooks, the head mask and its gradient,
 * importance, neuron masks — is per (layer, head) *use* of the shared weights; a unit can be removed from the
 * checkpoint only when it is removed in every layer that shares it (`core/bertology/prune.ts` finds the sharing
 * from `headSlices`, which name the same tensors for those layers).
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import { bertSizesConfig, bertStyleSizes, classifierLabelFields, classifierTask } from "./bert.ts";
import {
  type EncoderEmbeddingNames,
  type FirstTokenHead,
  type PostNormBlockNames,
  postNormEncoder,
} from "./builders.ts";
import type { FamilySection, ModelConfig } from "./config.ts";
import type { ModelFamily } from "./family.ts";

/** ALBERT's own config fields. */
interface AlbertSection extends FamilySection {
  /** Weight groups (`num_hidden_groups`): consecutive layers share one group's block. */
  groups: number;
}

const EMBEDDINGS: EncoderEmbeddingNames = {
  word: "albert.embeddings.word_embeddings.weight",
  position: "albert.embeddings.position_embeddings.weight",
  tokenType: "albert.embeddings.token_type_embeddings.weight",
  norm: "albert.embeddings.LayerNorm",
  project: "albert.encoder.embedding_hidden_mapping_in",
  projectAlways: true,
};

/** `albert.pooler` (a Linear, tanh) → dropout → classifier. */
const CLASSIFIER: FirstTokenHead = {
  dense: "albert.pooler",
  activation: "tanh",
  out: "classifier",
  inputDropout: false,
};

/** The weight group layer `l` runs (HF: `int(l / (num_hidden_layers / num_hidden_groups))`). */
function groupOf(config: ModelConfig, l: number): number {
  const { groups } = config.section as AlbertSection;
  return Math.floor(l / (config.layers / groups));
}

/** The module names of the (shared) block layer `l` runs. */
function layerNames(config: ModelConfig, l: number): PostNormBlockNames {
  const p = `albert.encoder.albert_layer_groups.${groupOf(config, l)}.albert_layers.0`;
  return {
    query: `${p}.attention.query`,
    key: `${p}.attention.key`,
    value: `${p}.attention.value`,
    attnOutput: `${p}.attention.dense`,
    attnNorm: `${p}.attention.LayerNorm`,
    mlpIn: `${p}.ffn`,
    mlpOut: `${p}.ffn_output`,
    mlpNorm: `${p}.full_layer_layer_norm`,
  };
}

// a tensor several layers share is declared once; layers that disagree on its shape are refused
const ENCODER = postNormEncoder({ embeddings: EMBEDDINGS, layer: layerNames, classifier: CLASSIFIER });

/** ALBERT (`model_type: "albert"`). */
export const albert: ModelFamily = {
  modelType: "albert",
  displayName: "ALBERT",
  tokenizer: "albert-sentencepiece",
  readSizes: (f) => {
    const layers = f.size("num_hidden_layers", "layers");
    const groups = f.int("num_hidden_groups", 1, Math.max(1, layers));
    if (groups === 0 || layers % groups !== 0) {
      throw new Error(
        `${f.source}: field "num_hidden_groups" = ${groups} must divide "num_hidden_layers" = ${layers}`,
      );
    }
    if (f.int("inner_group_num", 1) !== 1) {
      throw new Error(
        `${f.source}: field "inner_group_num" must be 1 (every released ALBERT); several blocks per layer are not supported`,
      );
    }
    return {
      ...bertStyleSizes(f, { typeVocabSize: 2, layerNormEps: 1e-12, activation: "gelu_new" }),
      classifier: true,
      embeddingSize: f.size("embedding_size", "hidden", 128),
      section: { groups } satisfies AlbertSection,
      // HF's AlbertModel._prune_heads reads key k as layer group k (inner layer 0): one key per shared block
      prunedHeadsKeys: Array.from(
        { length: groups },
        (_, g) => Array.from({ length: layers / groups }, (_, i) => g * (layers / groups) + i),
      ),
    };
  },
  task: classifierTask,
  weights: ENCODER.weights,
  // a bare AlbertModel has no `albert.` prefix
  renameKey: (name) => (/^(embeddings|encoder|pooler)\./.test(name) ? `albert.${name}` : name),
  headSlices: ENCODER.headSlices,
  neuronSlices: ENCODER.neuronSlices,
  forward: ENCODER.forward,
  finalHooks: ["pooler"],
  hiddenStateHook: (i) => (i === 0 ? hookName("embed") : hookName("resid_post", i - 1)),
  newConfig: (s) => ({
    architectures: ["AlbertForSequenceClassification"],
    ...bertSizesConfig(s, {
      model_type: "albert",
      embedding_size: Math.min(128, s.hidden),
      num_hidden_groups: 1,
      inner_group_num: 1,
      hidden_act: "gelu_new",
      classifier_dropout_prob: s.dropout,
    }),
    ...classifierLabelFields(s),
  }),
  initStd: (_name, _c, std) => std,
  zeroRows: () => new Map([[EMBEDDINGS.word, 0]]),
};
