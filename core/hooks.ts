/**
 * Stable names for every activation a model can hand back, generated in this one module.
 *
 * Names follow TransformerLens: `blocks.3.attn.hook_pattern`, and a gradient is the activation's name plus
 * `_grad` (`blocks.3.attn.hook_z_grad`). A forward pass keeps only the names it was asked for. Which names a
 * model produces, and which of ours stand for Hugging Face's outputs (`hidden_states.{i}`, `attentions.{l}`,
 * `logits`), a model answers itself: `TransformerModel.hookNames()` and `resolveName()`.
 *
 * @example Usage
 * ```ts
 * import { hookName, parseHookName } from "./hooks.ts";
 * hookName("pattern", 3); // "blocks.3.attn.hook_pattern"
 * parseHookName("blocks.3.attn.hook_z_grad"); // { kind: "z", layer: 3, grad: true }
 * ```
 *
 * @module
 */

/** What each activation is, where it sits and its shape (axis names as TransformerLens writes them). */
export const HOOKS = {
  tok_embed: {
    template: "embed.hook_tok",
    shape: "[batch, pos, d_model]",
    doc: "token embeddings looked up from the vocabulary (HF's `inputs_embeds`)",
  },
  embed: {
    template: "embed.hook_out",
    shape: "[batch, pos, d_model]",
    doc: "embedding output (BERT: after its LayerNorm)",
  },
  resid_pre: { template: "blocks.{l}.hook_resid_pre", shape: "[batch, pos, d_model]", doc: "input of block l" },
  q: { template: "blocks.{l}.attn.hook_q", shape: "[batch, pos, head, d_head]", doc: "queries" },
  k: { template: "blocks.{l}.attn.hook_k", shape: "[batch, pos, head, d_head]", doc: "keys" },
  v: { template: "blocks.{l}.attn.hook_v", shape: "[batch, pos, head, d_head]", doc: "values" },
  rot_q: {
    template: "blocks.{l}.attn.hook_rot_q",
    shape: "[batch, pos, head, d_head]",
    doc: "queries after the rotary position embedding (rotary families)",
  },
  rot_k: {
    template: "blocks.{l}.attn.hook_rot_k",
    shape: "[batch, pos, head, d_head]",
    doc: "keys after the rotary position embedding (rotary families)",
  },
  pattern: {
    template: "blocks.{l}.attn.hook_pattern",
    shape: "[batch, head, query_pos, key_pos]",
    doc: "attention probabilities times the head mask (HF's `attentions`)",
  },
  z: {
    template: "blocks.{l}.attn.hook_z",
    shape: "[batch, pos, head, d_head]",
    doc: "each head's context vector, before the output projection",
  },
  attn_out: {
    template: "blocks.{l}.hook_attn_out",
    shape: "[batch, pos, d_model]",
    doc: "attention output projection",
  },
  resid_mid: {
    template: "blocks.{l}.hook_resid_mid",
    shape: "[batch, pos, d_model]",
    doc: "between attention and MLP (post-LN models: after the first LayerNorm)",
  },
  mlp_pre: { template: "blocks.{l}.mlp.hook_pre", shape: "[batch, pos, d_mlp]", doc: "MLP before the activation" },
  mlp_post: { template: "blocks.{l}.mlp.hook_post", shape: "[batch, pos, d_mlp]", doc: "MLP after the activation" },
  mlp_out: { template: "blocks.{l}.hook_mlp_out", shape: "[batch, pos, d_model]", doc: "MLP output projection" },
  resid_post: { template: "blocks.{l}.hook_resid_post", shape: "[batch, pos, d_model]", doc: "output of block l" },
  ln_final: { template: "ln_final.hook_out", shape: "[batch, pos, d_model]", doc: "final LayerNorm output (GPT-2)" },
  pooler: { template: "pooler.hook_out", shape: "[batch, d_model]", doc: "BERT pooler output (tanh)" },
  logits: {
    template: "hook_logits",
    shape: "[batch, labels] or [batch, pos, vocab]",
    doc: "classifier logits (BERT) or LM logits (GPT, GPT-2)",
  },
  head_mask: {
    template: "hook_head_mask",
    shape: "[layer, head]",
    doc: "the head mask (its gradient is the importance signal)",
  },
  neuron_mask: {
    template: "hook_neuron_mask",
    shape: "[layer, d_mlp]",
    doc: "the MLP neuron mask (layer l's neurons are its first intermediate_sizes[l] entries; the rest 0)",
  },
} as const;

/** One kind of activation. */
export type HookKind = keyof typeof HOOKS;

const LAYERED = new Set<HookKind>(
  (Object.keys(HOOKS) as HookKind[]).filter((k) => HOOKS[k].template.includes("{l}")),
);

/** Whether a hook kind exists once per layer. */
export function isLayered(kind: HookKind): boolean {
  return LAYERED.has(kind);
}

/**
 * The full name of an activation (or of its gradient).
 *
 * @param kind the activation kind, a key of {@linkcode HOOKS}
 * @param layer the block index, required for per-layer kinds
 * @param grad whether to name the gradient (`…_grad`)
 * @throws {Error} when a per-layer kind has no layer
 * @example Usage
 * ```ts
 * import { hookName } from "./hooks.ts";
 * hookName("z", 0, true); // "blocks.0.attn.hook_z_grad"
 * ```
 */
export function hookName(kind: HookKind, layer?: number, grad = false): string {
  const t: string = HOOKS[kind].template;
  let name = t;
  if (LAYERED.has(kind)) {
    if (layer === undefined || !Number.isInteger(layer) || layer < 0) {
      throw new Error(`Activation "${kind}" needs a layer index, got ${layer}`);
    }
    name = t.replace("{l}", String(layer));
  }
  return grad ? `${name}_grad` : name;
}

/** A parsed activation name. */
export interface ParsedHookName {
  /** The activation kind. */
  kind: HookKind;
  /** The block index, for per-layer kinds. */
  layer?: number;
  /** Whether the name is a gradient's (`…_grad`). */
  grad: boolean;
}

const BY_TEMPLATE = new Map<string, HookKind>(
  (Object.keys(HOOKS) as HookKind[]).map((k) => [HOOKS[k].template, k]),
);

/**
 * Parses a full activation name; `undefined` when it is not one of ours.
 *
 * @example Usage
 * ```ts
 * import { parseHookName } from "./hooks.ts";
 * parseHookName("blocks.2.hook_resid_post"); // { kind: "resid_post", layer: 2, grad: false }
 * ```
 */
export function parseHookName(name: string): ParsedHookName | undefined {
  const grad = name.endsWith("_grad");
  const base = grad ? name.slice(0, -5) : name;
  const m = /^blocks\.(\d+)\.(.+)$/.exec(base);
  const template = m ? `blocks.{l}.${m[2]}` : base;
  const kind = BY_TEMPLATE.get(template);
  if (kind === undefined) return undefined;
  return m ? { kind, layer: Number(m[1]), grad } : { kind, grad };
}
