/**
 * GPT-Neo with its language-model head, following HF's `modeling_gpt_neo.py` (GPTNeoForCausalLM): token +
 * learned position embeddings → L pre-LN blocks → final LayerNorm `ln_f` → logits through the tied token
 * embedding. Its attention differs from GPT-2's in three ways: separate q, k, v projections without bias (the
 * output projection has one); scores q·kᵀ **not** scaled by 1/√d_head; and layers that alternate, by
 * `attention_types`, between global causal attention and local attention over the last `window_size` keys
 * (query i sees keys i − window_size < j ≤ i: HF's bias `tril(ones) ^ tril(ones, −window_size)`). Linear
 * weights are nn.Linear `[out, in]`.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { ConfigFields, FamilySection, ModelConfig } from "./config.ts";
import type { HeadSlice, WeightSpec } from "./family.ts";
import type { ModelFamily } from "./family.ts";
import { buildAttention, buildMlp, headsIn, norm } from "./builders.ts";
import { lmHead, unembedding } from "./gpt2.ts";
import type { LinearParams, ModelOps } from "./ops.ts";

/** An attention layer's kind in `attention_types`. */
export type GptNeoAttentionKind = "global" | "local";

/** GPT-Neo's own config fields. */
interface GptNeoSection extends FamilySection {
  /** Each layer's attention kind, comma-separated (`attention_types` expanded: HF's `attention_layers`). */
  attentionLayers: string;
  /** Keys a local layer's query sees, itself included (`window_size`). */
  windowSize: number;
}

/**
 * HF's `GPTNeoConfig.expand_attention_types_params`: `[[["global", "local"], 12]]` → 24 layers alternating
 * global, local — checked against `num_layers` and against `attention_layers` when the file also holds it.
 *
 * @param f The config's fields.
 * @param layers `num_layers`.
 * @returns Each layer's attention kind.
 * @throws {Error} naming the field, for a malformed `attention_types`, a count that is not `num_layers`, or an
 *   `attention_layers` that disagrees
 *
 * @example Usage
 * ```ts
 * import { ConfigFields } from "./config.ts";
 * import { gptNeoAttentionLayers } from "./gpt_neo.ts";
 * const f = new ConfigFields({ attention_types: [[["global", "local"], 2]] }, "config.json");
 * gptNeoAttentionLayers(f, 4); // ["global", "local", "global", "local"]
 * ```
 */
export function gptNeoAttentionLayers(f: ConfigFields, layers: number): GptNeoAttentionKind[] {
  const types = f.raw.attention_types ?? [[["global", "local"], 12]];
  const bad = (why: string) =>
    new Error(
      `${f.source}: field "attention_types" ${why}: it must list [kinds, repeats] pairs, kinds "global" or "local" ` +
        `(e.g. [[["global", "local"], 12]])`,
    );
  if (!Array.isArray(types)) throw bad("is not a list");
  let total = 0;
  for (const [i, item] of types.entries()) {
    if (!Array.isArray(item) || item.length !== 2 || !Array.isArray(item[0])) throw bad(`entry ${i} is malformed`);
    const [kinds, repeats] = item as [unknown[], unknown];
    if (kinds.some((k) => k !== "global" && k !== "local")) throw bad(`entry ${i} names a kind other than those`);
    if (typeof repeats !== "number" || !Number.isInteger(repeats) || repeats < 0) {
      throw bad(`entry ${i} repeats its kinds ${JSON.stringify(repeats)} times`);
    }
    total += repeats * kinds.length;
  }
  // counted before expanding, so a hostile repeat count allocates nothing
  if (total !== layers) {
    throw new Error(
      `${f.source}: field "attention_types" gives ${total} attention layers but "num_layers" is ${layers}`,
    );
  }
  const out = (types as Array<[GptNeoAttentionKind[], number]>).flatMap(([kinds, repeats]) =>
    Array.from({ length: repeats }, () => kinds).flat()
  );
  const stated = f.raw.attention_layers;
  if (stated !== undefined && stated !== null && JSON.stringify(stated) !== JSON.stringify(out)) {
    throw new Error(
      `${f.source}: field "attention_layers" ${JSON.stringify(stated).slice(0, 120)} disagrees with ` +
        `"attention_types", which expands to ${JSON.stringify(out)}`,
    );
  }
  return out;
}

/** The attention kind of layer `l` and the local window (`window_size`). */
function attentionOf(config: ModelConfig, l: number): { kind: GptNeoAttentionKind; window: number } {
  const section = config.section as GptNeoSection;
  const kind = section.attentionLayers.split(",")[l] as GptNeoAttentionKind;
  return { kind, window: section.windowSize };
}

/** The module prefixes of block `l`. */
function blockNames(l: number) {
  const p = `transformer.h.${l}`;
  return {
    p,
    attention: `${p}.attn.attention`,
    mlp: `${p}.mlp`,
  };
}

/** The tensors of block `l` (its pruned heads and neurons taken into account). */
function blockShapes(config: ModelConfig, l: number): Array<[string, number[]]> {
  const C = config.hidden, HD = headsIn(config, l) * config.headDim, I = config.intermediateSizes[l]!;
  const { p, attention: a, mlp: m } = blockNames(l);
  return [
    [`${p}.ln_1.weight`, [C]],
    [`${p}.ln_1.bias`, [C]],
    [`${a}.q_proj.weight`, [HD, C]],
    [`${a}.k_proj.weight`, [HD, C]],
    [`${a}.v_proj.weight`, [HD, C]],
    [`${a}.out_proj.weight`, [C, HD]],
    [`${a}.out_proj.bias`, [C]],
    [`${p}.ln_2.weight`, [C]],
    [`${p}.ln_2.bias`, [C]],
    [`${m}.c_fc.weight`, [I, C]],
    [`${m}.c_fc.bias`, [I]],
    [`${m}.c_proj.weight`, [C, I]],
    [`${m}.c_proj.bias`, [C]],
  ];
}

function weights(config: ModelConfig): WeightSpec {
  const C = config.hidden;
  const required = new Map<string, number[]>([
    ["transformer.wte.weight", [config.vocabSize, C]],
    ["transformer.wpe.weight", [config.positionTableSize, C]],
    ["transformer.ln_f.weight", [C]],
    ["transformer.ln_f.bias", [C]],
  ]);
  for (let l = 0; l < config.layers; l++) for (const [name, shape] of blockShapes(config, l)) required.set(name, shape);
  // HF ties lm_head to the token embedding unless tie_word_embeddings is false
  const optional = config.raw.tie_word_embeddings === false
    ? new Map([["lm_head.weight", [config.vocabSize, C]]])
    : new Map<string, number[]>();
  return { required, optional, optionalIsHead: false };
}

/** Layer `l`'s heads: rows of q, k, v (no biases), columns of `out_proj` (whose bias every head shares). */
function headSlices(_config: ModelConfig, l: number): HeadSlice[] {
  const a = blockNames(l).attention;
  return [
    ...["q_proj", "k_proj", "v_proj"].map((n) => ({ name: `${a}.${n}.weight`, axis: 0 as const, groups: 1 })),
    { name: `${a}.out_proj.weight`, axis: 1, groups: 1, output: true, bias: `${a}.out_proj.bias` },
  ];
}

/** Layer `l`'s MLP neurons: rows of `c_fc` and its bias, columns of `c_proj`. */
function neuronSlices(_config: ModelConfig, l: number): HeadSlice[] {
  const m = blockNames(l).mlp;
  return [
    { name: `${m}.c_fc.weight`, axis: 0, groups: 1 },
    { name: `${m}.c_fc.bias`, axis: 0, groups: 1 },
    { name: `${m}.c_proj.weight`, axis: 1, groups: 1, output: true, bias: `${m}.c_proj.bias` },
  ];
}

/** The forward pass; returns LM logits [B, T, V] (or [rows, V] on the rows a loss counts). */
function gptNeoForward<T>(ops: ModelOps<T>, config: ModelConfig): T {
  const eps = config.layerNormEps;
  const linear = (name: string, bias: boolean): LinearParams => ({
    weight: `${name}.weight`,
    ...(bias ? { bias: `${name}.bias` } : {}),
    layout: "linear",
  });

  const tok = ops.hook(hookName("tok_embed"), ops.embedding("transformer.wte.weight", "input_ids"));
  let h = ops.dropout(
    ops.hook(hookName("embed"), ops.add(tok, ops.embedding("transformer.wpe.weight", "position_ids"))),
  );

  for (let l = 0; l < config.layers; l++) {
    const { p, attention: a, mlp: m } = blockNames(l);
    const { kind, window } = attentionOf(config, l);
    h = ops.block(h, (input) => {
      const x = ops.hook(hookName("resid_pre", l), input);
      const n1 = ops.layerNorm(x, norm(`${p}.ln_1`, eps));
      const qkv = ["q_proj", "k_proj", "v_proj"].map((n) => ops.linear(n1, linear(`${a}.${n}`, false))) as [T, T, T];
      // GPT-Neo never scales its scores (HF computes q·kᵀ in float32 and softmaxes it as it is)
      const attnOut = buildAttention(ops, config, l, qkv, linear(`${a}.out_proj`, true), {
        causal: true,
        scale: 1,
        ...(kind === "local" ? { window } : {}),
      });
      const mid = ops.hook(hookName("resid_mid", l), ops.add(x, ops.dropout(attnOut)));
      const n2 = ops.layerNorm(mid, norm(`${p}.ln_2`, eps));
      const mlpOut = buildMlp(ops, l, n2, linear(`${m}.c_fc`, true), linear(`${m}.c_proj`, true), config.activation);
      return ops.hook(hookName("resid_post", l), ops.add(mid, ops.dropout(mlpOut)));
    });
  }

  const f = ops.hook(hookName("ln_final"), ops.layerNorm(h, norm("transformer.ln_f", eps)));
  return lmHead(ops, f, "transformer.wte.weight");
}

/** `attention_types` for `layers` layers alternating global and local, as EleutherAI's checkpoints do. */
function alternating(layers: number): unknown[] {
  const pairs: unknown[] = layers >= 2 ? [[["global", "local"], Math.floor(layers / 2)]] : [];
  return layers % 2 === 1 ? [...pairs, [["global"], 1]] : pairs;
}

/** GPT-Neo (`model_type: "gpt_neo"`). */
export const gptNeo: ModelFamily = {
  modelType: "gpt_neo",
  displayName: "GPT-Neo",
  tokenizer: "gpt2-bpe",
  readSizes: (f: ConfigFields) => {
    const hidden = f.size("hidden_size", "hidden", 2048);
    const layers = f.size("num_layers", "layers", 24);
    return {
      vocabSize: f.size("vocab_size", "vocabSize", 50257),
      hidden,
      layers,
      heads: f.size("num_heads", "heads", 16),
      intermediate: f.raw.intermediate_size == null ? 4 * hidden : f.size("intermediate_size", "intermediate"),
      maxPositions: f.size("max_position_embeddings", "maxPositions", 2048),
      typeVocabSize: 0,
      layerNormEps: f.num("layer_norm_epsilon", 1e-5, { exclusiveMin: 0 }),
      activation: f.activation("activation_function", "gelu_new"),
      classifier: false,
      section: {
        attentionLayers: gptNeoAttentionLayers(f, layers).join(","),
        windowSize: f.int("window_size", 256, 0x7fffffff) || badWindow(f),
      } satisfies GptNeoSection,
    };
  },
  task: () => "lm",
  weights,
  // a bare GPTNeoModel has no `transformer.` prefix
  renameKey: (name) => (/^(wte|wpe|h|ln_f)\./.test(name) ? `transformer.${name}` : name),
  headSlices,
  neuronSlices,
  forward: gptNeoForward,
  unembed: (ops, c, x) =>
    unembedding(ops, ops.layerNorm(x, norm("transformer.ln_f", c.layerNormEps)), "transformer.wte.weight"),
  finalHooks: ["ln_final"],
  // HF returns block inputs and, last, the final LayerNorm's output
  hiddenStateHook: (i, c) =>
    i === 0 ? hookName("embed") : i === c.layers ? hookName("ln_final") : hookName("resid_pre", i),
  newConfig: (s) => ({
    architectures: ["GPTNeoForCausalLM"],
    model_type: "gpt_neo",
    vocab_size: s.vocabSize,
    max_position_embeddings: s.maxPositions ?? 2048,
    hidden_size: s.hidden,
    num_layers: s.layers,
    attention_types: alternating(s.layers),
    num_heads: s.heads,
    intermediate_size: s.intermediate,
    window_size: 256,
    activation_function: "gelu_new",
    resid_dropout: s.dropout,
    embed_dropout: s.dropout,
    attention_dropout: s.dropout,
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    bos_token_id: s.vocabSize - 1,
    eos_token_id: s.vocabSize - 1,
    tie_word_embeddings: true,
  }),
  // HF's GPTNeoPreTrainedModel._init_weights: every Linear and Embedding N(0, initializer_range)
  initStd: (_name, _c, std) => std,
  zeroRows: () => new Map(),
};

/** `window_size` 0 would hide every key from a local layer's queries. */
function badWindow(f: ConfigFields): never {
  throw new Error(`${f.source}: field "window_size" must be at least 1 (the keys a local layer's query sees)`);
}
