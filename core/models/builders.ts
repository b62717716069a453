/**
 * Shared block builders, in the spirit of llama.cpp's `build_norm` / `build_attn` / `build_ffn`: a family file
 * names its checkpoint's tensors and composes these; the builders emit every hook (`../hooks.ts`) and call the
 * protocol ops a family must not forget — the head mask lives inside `attention`, the neuron mask before the
 * MLP's output projection, `lossRows` before a language-model head — so a family cannot leave one out.
 *
 * Shapes: activations `[batch, pos, d_model]`; `H` heads of `D = d_head` in layer `l` after pruning.
 *
 * @example A post-LN encoder block (BERT, RoBERTa, ELECTRA, DistilBERT, ALBERT)
 * ```ts
 * import { bertBlockNames, postNormBlockShapes } from "./builders.ts";
 * import { parseConfig } from "./registry.ts";
 * const config = parseConfig({
 *   model_type: "bert", vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2,
 *   intermediate_size: 16, max_position_embeddings: 8,
 * }, "config.json");
 * const shapes = new Map(postNormBlockShapes(config, 0, bertBlockNames("bert.encoder.layer.0")));
 * shapes.get("bert.encoder.layer.0.attention.self.query.weight"); // [8, 8]
 * ```
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import { type Activation, keptKvHeads, kvHeadOfKept, type ModelConfig } from "./config.ts";
import type { HeadSlice, WeightSpec } from "./family.ts";
import type { LayerNormParams, LinearParams, ModelOps } from "./ops.ts";

/** An nn.Linear `[out, in]` with its bias, by module prefix (`…query` → `…query.weight`, `…query.bias`). */
export function dense(prefix: string): LinearParams {
  return { weight: `${prefix}.weight`, bias: `${prefix}.bias`, layout: "linear" };
}

/** A LayerNorm by module prefix. */
export function norm(prefix: string, eps: number): LayerNormParams {
  return { weight: `${prefix}.weight`, bias: `${prefix}.bias`, eps };
}

/** Applies an activation kind (GELU forms through `gelu`, ReLU through `relu`, SiLU through `silu`). */
export function activate<T>(ops: ModelOps<T>, x: T, kind: Activation): T {
  return kind === "relu" ? ops.relu(x) : kind === "silu" ? ops.silu(x) : ops.gelu(x, kind);
}

/** Heads present in layer `l` after pruning. */
export function headsIn(config: ModelConfig, l: number): number {
  return config.heads - config.prunedHeads[l]!.length;
}

/** How one attention sub-layer computes its scores. */
export interface AttentionOptions {
  /** Whether a query sees only keys at or before its position. */
  causal: boolean;
  /** Multiplier of q·k (default 1/√d_head). */
  scale?: number;
  /**
   * Rotary position embedding of q and k after their hooks (hooks `rot_q`, `rot_k`): the leading `rotaryDim`
   * dims of each head rotate with frequency base `theta` (Llama: all of d_head; GPT-NeoX: `rotary_pct`·d_head).
   */
  rotary?: { rotaryDim: number; theta: number };
  /** A sliding window (with `causal`): a query sees its last `window` keys, itself included (see `AttentionSpec`). */
  window?: number;
}

/**
 * Multi-head attention on projected q [batch, pos, H·D] and k, v [batch, pos, Hkv·D] through the output
 * projection: hooks `q`, `k`, `v`, `pattern` (inside `attention`, with the head mask), `z` (each head's context,
 * before the output projection — where a head mask or a patch acts on a head's own write) and `attn_out`. With
 * grouped-query attention (`config.kvHeads` < heads) k and v hold the layer's kept kv heads, and each kept query
 * head reads the kv head of its original group.
 */
export function buildAttention<T>(
  ops: ModelOps<T>,
  config: ModelConfig,
  l: number,
  qkv: readonly [T, T, T],
  output: LinearParams,
  opts: AttentionOptions,
): T {
  const H = headsIn(config, l), D = config.headDim;
  const grouped = config.kvHeads !== config.heads;
  const Hkv = grouped ? keptKvHeads(config, l).length : H;
  const heads = { heads: H }, kvHeads = { heads: Hkv };
  let q = ops.hook(hookName("q", l), qkv[0], heads);
  let k = ops.hook(hookName("k", l), qkv[1], kvHeads);
  const v = ops.hook(hookName("v", l), qkv[2], kvHeads);
  if (opts.rotary !== undefined) {
    q = ops.hook(hookName("rot_q", l), ops.rotary(q, { heads: H, headDim: D, ...opts.rotary }), heads);
    k = ops.hook(hookName("rot_k", l), ops.rotary(k, { heads: Hkv, headDim: D, ...opts.rotary }), kvHeads);
  }
  const context = ops.attention(q, k, v, {
    layer: l,
    heads: H,
    // unpruned groups are contiguous (the kernel's default map); a pruned layer's kept heads keep their kv heads
    ...(grouped ? { kvHeads: Hkv } : {}),
    ...(grouped && H < config.heads ? { kvHeadOf: kvHeadOfKept(config, l) } : {}),
    headDim: D,
    scale: opts.scale ?? 1 / Math.sqrt(D),
    causal: opts.causal,
    ...(opts.window === undefined ? {} : { window: opts.window }),
    patternHook: hookName("pattern", l),
  });
  const z = ops.hook(hookName("z", l), context, heads);
  return ops.hook(hookName("attn_out", l), ops.linear(z, output));
}

/**
 * The MLP: `down(act(up(x)) ⊙ neuron mask)`, hooks `mlp_pre`, `mlp_post` and `mlp_out`; the neuron mask
 * multiplies the activation before the output projection (Kwon et al.'s mask).
 */
export function buildMlp<T>(
  ops: ModelOps<T>,
  l: number,
  x: T,
  up: LinearParams,
  down: LinearParams,
  activation: Activation,
): T {
  const pre = ops.hook(hookName("mlp_pre", l), ops.linear(x, up));
  const post = ops.hook(hookName("mlp_post", l), activate(ops, pre, activation));
  return ops.hook(hookName("mlp_out", l), ops.linear(ops.neuronMask(post, l), down));
}

/**
 * The gated MLP of Llama, Mistral and Qwen2: `down(silu(gate(x)) ⊙ up(x) ⊙ neuron mask)`. Hooks `mlp_pre` (the
 * gate projection, before SiLU, TransformerLens's `hook_pre`), `mlp_post` (the gated product, what the down
 * projection reads) and `mlp_out`; a neuron is one row of `gate` and of `up` and one column of `down`.
 */
export function buildGatedMlp<T>(
  ops: ModelOps<T>,
  l: number,
  x: T,
  gate: LinearParams,
  up: LinearParams,
  down: LinearParams,
): T {
  const pre = ops.hook(hookName("mlp_pre", l), ops.linear(x, gate));
  const post = ops.hook(hookName("mlp_post", l), ops.mul(ops.silu(pre), ops.linear(x, up)));
  return ops.hook(hookName("mlp_out", l), ops.linear(ops.neuronMask(post, l), down));
}

/** The module prefixes of one post-LN encoder block with separate q, k, v projections. */
export interface PostNormBlockNames {
  /** The query projection. */
  query: string;
  /** The key projection. */
  key: string;
  /** The value projection. */
  value: string;
  /** The attention output projection. */
  attnOutput: string;
  /** The LayerNorm after the attention residual. */
  attnNorm: string;
  /** The MLP's input projection. */
  mlpIn: string;
  /** The MLP's output projection. */
  mlpOut: string;
  /** The LayerNorm after the MLP residual. */
  mlpNorm: string;
}

/** BERT's names for encoder layer prefix `p` (`bert.encoder.layer.3`; RoBERTa and ELECTRA use them too). */
export function bertBlockNames(p: string): PostNormBlockNames {
  return {
    query: `${p}.attention.self.query`,
    key: `${p}.attention.self.key`,
    value: `${p}.attention.self.value`,
    attnOutput: `${p}.attention.output.dense`,
    attnNorm: `${p}.attention.output.LayerNorm`,
    mlpIn: `${p}.intermediate.dense`,
    mlpOut: `${p}.output.dense`,
    mlpNorm: `${p}.output.LayerNorm`,
  };
}

/**
 * One post-LN encoder block (BERT's): `mid = LN(x + attn(x))`, `out = LN(mid + mlp(mid))`, with the hooks
 * `resid_pre`, `resid_mid` (after the first LayerNorm) and `resid_post`.
 */
export function postNormBlock<T>(ops: ModelOps<T>, config: ModelConfig, l: number, h: T, n: PostNormBlockNames): T {
  const eps = config.layerNormEps;
  return ops.block(h, (input) => {
    const x = ops.hook(hookName("resid_pre", l), input);
    const qkv = [dense(n.query), dense(n.key), dense(n.value)].map((p) => ops.linear(x, p)) as [T, T, T];
    const attnOut = buildAttention(ops, config, l, qkv, dense(n.attnOutput), { causal: false });
    const mid = ops.hook(
      hookName("resid_mid", l),
      ops.layerNorm(ops.add(ops.dropout(attnOut), x), norm(n.attnNorm, eps)),
    );
    const mlpOut = buildMlp(ops, l, mid, dense(n.mlpIn), dense(n.mlpOut), config.activation);
    return ops.hook(hookName("resid_post", l), ops.layerNorm(ops.add(ops.dropout(mlpOut), mid), norm(n.mlpNorm, eps)));
  });
}

/** The tensors of a post-LN block in layer `l` (its pruned heads and neurons taken into account). */
export function postNormBlockShapes(config: ModelConfig, l: number, n: PostNormBlockNames): Array<[string, number[]]> {
  const C = config.hidden, HD = headsIn(config, l) * config.headDim, I = config.intermediateSizes[l]!;
  const linear = (p: string, out: number, inp: number): Array<[string, number[]]> => [
    [`${p}.weight`, [out, inp]],
    [`${p}.bias`, [out]],
  ];
  return [
    ...linear(n.query, HD, C),
    ...linear(n.key, HD, C),
    ...linear(n.value, HD, C),
    ...linear(n.attnOutput, C, HD),
    [`${n.attnNorm}.weight`, [C]],
    [`${n.attnNorm}.bias`, [C]],
    ...linear(n.mlpIn, I, C),
    ...linear(n.mlpOut, C, I),
    [`${n.mlpNorm}.weight`, [C]],
    [`${n.mlpNorm}.bias`, [C]],
  ];
}

/**
 * Where a post-LN block's heads live: rows of the q, k, v projections and their biases, columns of the output
 * projection (whose bias is shared by every head and never sliced).
 */
export function postNormHeadSlices(n: PostNormBlockNames): HeadSlice[] {
  return [
    ...[n.query, n.key, n.value].flatMap((p) => [
      { name: `${p}.weight`, axis: 0 as const, groups: 1 },
      { name: `${p}.bias`, axis: 0 as const, groups: 1 },
    ]),
    { name: `${n.attnOutput}.weight`, axis: 1, groups: 1, output: true, bias: `${n.attnOutput}.bias` },
  ];
}

/** Where a post-LN block's MLP neurons live: rows of the input projection and its bias, columns of the output. */
export function postNormNeuronSlices(n: PostNormBlockNames): HeadSlice[] {
  return [
    { name: `${n.mlpIn}.weight`, axis: 0, groups: 1 },
    { name: `${n.mlpIn}.bias`, axis: 0, groups: 1 },
    { name: `${n.mlpOut}.weight`, axis: 1, groups: 1, output: true, bias: `${n.mlpOut}.bias` },
  ];
}

/** The embedding tables and norm of an encoder, by checkpoint key / module prefix. */
export interface EncoderEmbeddingNames {
  /** The token table [vocab, E]. */
  word: string;
  /** The learned position table [positions, E]. */
  position: string;
  /** The token-type table [types, E]; absent for families without segments (DistilBERT). */
  tokenType?: string;
  /** The LayerNorm over the summed embeddings (prefix). */
  norm: string;
  /**
   * A projection E → d_model after the norm (ELECTRA's `embeddings_project`, ALBERT's
   * `embedding_hidden_mapping_in`), when the checkpoint has it.
   */
  project?: string;
  /** Whether the checkpoint always holds `project`, even when E = d_model (ALBERT's mapping). */
  projectAlways?: boolean;
}

/**
 * Encoder embeddings: token (hook `tok_embed`) + position + token type, LayerNorm, dropout, then the optional
 * projection to d_model; hook `embed` on the result (HF's `hidden_states.0`).
 */
export function encoderEmbeddings<T>(ops: ModelOps<T>, config: ModelConfig, n: EncoderEmbeddingNames): T {
  const tok = ops.hook(hookName("tok_embed"), ops.embedding(n.word, "input_ids"));
  let sum = ops.add(tok, ops.embedding(n.position, "position_ids"));
  if (n.tokenType !== undefined) sum = ops.add(sum, ops.embedding(n.tokenType, "token_type_ids"));
  let h = ops.dropout(ops.layerNorm(sum, norm(n.norm, config.layerNormEps)));
  if (n.project !== undefined && ops.hasWeight(`${n.project}.weight`)) h = ops.linear(h, dense(n.project));
  return ops.hook(hookName("embed"), h);
}

/** The tensors of {@linkcode encoderEmbeddings} (`project` when E ≠ d_model: HF creates it only then). */
export function encoderEmbeddingShapes(config: ModelConfig, n: EncoderEmbeddingNames): Array<[string, number[]]> {
  const E = config.embeddingSize, C = config.hidden;
  const out: Array<[string, number[]]> = [
    [n.word, [config.vocabSize, E]],
    [n.position, [config.positionTableSize, E]],
  ];
  if (n.tokenType !== undefined) out.push([n.tokenType, [config.typeVocabSize, E]]);
  out.push([`${n.norm}.weight`, [E]], [`${n.norm}.bias`, [E]]);
  if (n.project !== undefined && (E !== C || n.projectAlways)) {
    out.push([`${n.project}.weight`, [C, E]], [`${n.project}.bias`, [C]]);
  }
  return out;
}

/** A classification head on the first token: `out(act(dense(h[first])))`. */
export interface FirstTokenHead {
  /** The hidden projection (BERT's pooler, RoBERTa's `classifier.dense`, DistilBERT's `pre_classifier`). */
  dense: string;
  /** Its activation: tanh (BERT, RoBERTa, ALBERT), GELU (ELECTRA), ReLU (DistilBERT). */
  activation: Activation | "tanh";
  /** The projection to the labels (prefix). */
  out: string;
  /** Dropout on the first token before `dense` (RoBERTa's and ELECTRA's heads have it; BERT's pooler not). */
  inputDropout: boolean;
}

/**
 * The classifier on the first token (`[CLS]` / `<s>`): dense → activation (hook `pooler`) → dropout → out.
 * Returns `undefined` when the checkpoint lacks the head (a bare encoder).
 */
export function firstTokenClassifier<T>(ops: ModelOps<T>, h: T, head: FirstTokenHead): T | undefined {
  if (!ops.hasWeight(`${head.dense}.weight`) || !ops.hasWeight(`${head.out}.weight`)) return undefined;
  const first = ops.firstToken(h);
  const x = ops.linear(head.inputDropout ? ops.dropout(first) : first, dense(head.dense));
  const a = head.activation === "tanh" ? ops.tanh(x) : activate(ops, x, head.activation);
  return ops.linear(ops.dropout(ops.hook(hookName("pooler"), a)), dense(head.out));
}

/** The tensors of {@linkcode firstTokenClassifier}. */
export function firstTokenClassifierShapes(config: ModelConfig, head: FirstTokenHead): Map<string, number[]> {
  const C = config.hidden, N = config.labels.length;
  return new Map([
    [`${head.dense}.weight`, [C, C]],
    [`${head.dense}.bias`, [C]],
    [`${head.out}.weight`, [N, C]],
    [`${head.out}.bias`, [N]],
  ]);
}

/** The names that make a post-LN encoder with a first-token classifier (BERT's shape). */
export interface PostNormEncoderNames {
  /** The embedding tables and norm. */
  embeddings: EncoderEmbeddingNames;
  /** The module names of the block layer `l` runs (the same names for layers that share weights). */
  layer: (config: ModelConfig, l: number) => PostNormBlockNames;
  /** The classification head on the first token. */
  classifier: FirstTokenHead;
}

/**
 * What a post-LN encoder family (BERT, RoBERTa, DistilBERT, ALBERT, ELECTRA) derives from its names alone: the
 * forward pass (embeddings → blocks → classifier, or `undefined` for a bare encoder), the tensors a config
 * implies (the classifier optional, as a head), and where each layer's heads and neurons live.
 *
 * @throws {Error} from `weights`, when layers that share a tensor (ALBERT) disagree on its shape — their pruned
 *   heads or MLP widths differ
 */
export function postNormEncoder(n: PostNormEncoderNames): {
  forward<T>(ops: ModelOps<T>, config: ModelConfig): T | undefined;
  weights(config: ModelConfig): WeightSpec;
  headSlices(config: ModelConfig, l: number): HeadSlice[];
  neuronSlices(config: ModelConfig, l: number): HeadSlice[];
} {
  return {
    forward<T>(ops: ModelOps<T>, config: ModelConfig): T | undefined {
      let h = encoderEmbeddings(ops, config, n.embeddings);
      for (let l = 0; l < config.layers; l++) h = postNormBlock(ops, config, l, h, n.layer(config, l));
      return firstTokenClassifier(ops, h, n.classifier);
    },
    weights(config: ModelConfig): WeightSpec {
      const required = new Map(encoderEmbeddingShapes(config, n.embeddings));
      const owner = new Map<string, number>();
      for (let l = 0; l < config.layers; l++) {
        for (const [name, shape] of postNormBlockShapes(config, l, n.layer(config, l))) {
          const had = required.get(name);
          if (had !== undefined && owner.has(name) && had.join() !== shape.join()) {
            throw new Error(
              `Layers ${owner.get(name)} and ${l} share "${name}", so their "pruned_heads" and "intermediate_sizes" ` +
                `must be equal (shapes [${had}] and [${shape}])`,
            );
          }
          if (!owner.has(name)) owner.set(name, l);
          required.set(name, shape);
        }
      }
      return { required, optional: firstTokenClassifierShapes(config, n.classifier), optionalIsHead: true };
    },
    headSlices: (config, l) => postNormHeadSlices(n.layer(config, l)),
    neuronSlices: (config, l) => postNormNeuronSlices(n.layer(config, l)),
  };
}
