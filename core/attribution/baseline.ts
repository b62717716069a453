/**
 * The baselines of integrated gradients: what "no input" is. A baseline replaces the token embeddings only
 * (`embed.hook_tok`); position and segment embeddings are those of the input, so only what the tokens say is
 * taken away. `pad` and `mask` use one token's embedding at every position, `zero` a zero vector.
 *
 * @module
 */

import type { TransformerModel } from "../models/model.ts";
import type { Tokenizer } from "../tokenizers/types.ts";

/** A baseline by name: the `[PAD]` token's embedding, a zero vector, or the `[MASK]` token's embedding. */
export type BaselineKind = "pad" | "zero" | "mask";

/** A resolved baseline: zero embeddings, or one token's embedding at every replaced position. */
export type Baseline = { kind: "zero" } | { kind: "token"; tokenId: number };

/** The names {@linkcode resolveBaseline} takes. */
export const BASELINE_KINDS: readonly BaselineKind[] = ["pad", "zero", "mask"];

/**
 * Resolves a baseline name for a model and its tokenizer. `pad` is `config.json`'s `pad_token_id`, else the
 * tokenizer's `[PAD]`/`<pad>`, else (GPT-2, which has no pad token) `eos_token_id`; `mask` is `[MASK]`/`<mask>`.
 *
 * @param model the model (its config names the pad and end-of-text tokens)
 * @param tokenizer its tokenizer, if any
 * @param kind the baseline name
 * @throws {Error} when the model has no such token, or for an unknown name
 * @example Usage
 * ```ts
 * import { resolveBaseline } from "./baseline.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model, tokenizer } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"));
 * resolveBaseline(model, tokenizer, "pad"); // { kind: "token", tokenId: 0 }
 * ```
 */
export function resolveBaseline(
  model: TransformerModel,
  tokenizer: Tokenizer | undefined,
  kind: BaselineKind,
): Baseline {
  if (kind === "zero") return { kind: "zero" };
  const raw = model.config.raw;
  const id = (field: string) => {
    const v = raw[field];
    return typeof v === "number" && Number.isInteger(v) && v >= 0 && v < model.config.vocabSize ? v : undefined;
  };
  const token = (...names: string[]) => {
    for (const n of names) {
      const v = tokenizer?.tokenToId(n);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  if (kind === "pad") {
    const tokenId = id("pad_token_id") ?? token("[PAD]", "<pad>") ?? id("eos_token_id");
    if (tokenId === undefined) {
      throw new Error('baseline "pad": the model has no pad_token_id or eos_token_id; use baseline "zero"');
    }
    return { kind: "token", tokenId };
  }
  if (kind === "mask") {
    const tokenId = token("[MASK]", "<mask>");
    if (tokenId === undefined) {
      throw new Error('baseline "mask": the tokenizer has no [MASK] token; use "pad" or "zero"');
    }
    return { kind: "token", tokenId };
  }
  throw new Error(`Unknown baseline "${kind as string}" (expected ${BASELINE_KINDS.join(", ")})`);
}
