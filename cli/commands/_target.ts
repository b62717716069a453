/**
 * What the attribution commands share: encoding a text for a model, which positions hold special tokens,
 * and `--target` read as a class index or label name (classifiers) or a token id or token (language models).
 *
 * @module
 */

import type { AttributionInput } from "@bertology/core/attribution";
import type { TransformerModel } from "@bertology/core/models";
import { type Encoding, type Tokenizer, wordTokenId } from "@bertology/core/tokenizers";
import { UsageError } from "../_common.ts";

/** An encoded text: the model's input and its token strings. */
export interface EncodedText {
  /** The model input. */
  input: AttributionInput;
  /** The token strings. */
  tokens: string[];
  /** The whole encoding (offsets and sequence ids for word spans). */
  encoding: Encoding;
}

/**
 * Encodes a text (or pair) for a model, refusing sequences longer than its positions.
 *
 * @throws {Error} for an empty encoding or one longer than `max_position_embeddings`
 */
export function encodeText(
  model: TransformerModel,
  tokenizer: Tokenizer,
  text: string,
  pair?: string,
  flag = "--text",
): EncodedText {
  const e = tokenizer.encode(text, pair);
  if (e.ids.length === 0) throw new UsageError(`${flag} encodes to no tokens`);
  if (e.ids.length > model.config.maxPositions) {
    throw new Error(`${flag} encodes to ${e.ids.length} tokens; the model takes at most ${model.config.maxPositions}`);
  }
  return { input: { inputIds: e.ids, tokenTypeIds: e.tokenTypeIds }, tokens: e.tokens, encoding: e };
}

/** Per position: whether the token is a special token (`[CLS]`, `[SEP]`, `<|endoftext|>`; not the unknown token). */
export function specialPositions(tokenizer: Tokenizer, ids: readonly number[]): boolean[] {
  // special: it vanishes only when special tokens are skipped (a sentencepiece "▁" decodes to "" either way)
  return ids.map((id) =>
    id !== tokenizer.unkId && tokenizer.decode([id], { skipSpecialTokens: true }) === "" &&
    tokenizer.decode([id]) !== ""
  );
}

/**
 * Reads `--target`: for a classifier a class index or a label name (`id2label`), for a language model a
 * vocabulary id or a token (as given, else the one token the word encodes to: `Ġfilm`, `▁film`).
 *
 * @throws {UsageError} naming the flag, for a value that is neither
 */
export function parseTarget(
  model: TransformerModel,
  tokenizer: Tokenizer,
  value: string | undefined,
  flag = "target",
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const width = model.task === "lm" ? model.config.vocabSize : model.config.labels.length;
  if (value.trim() !== "" && Number.isInteger(n)) {
    if (n < 0 || n >= width) throw new UsageError(`--${flag} ${value} is outside 0..${width - 1}`);
    return n;
  }
  if (model.task !== "lm") {
    const i = model.config.labels.indexOf(value);
    if (i < 0) {
      throw new UsageError(`--${flag} "${value}" is not a class index or label (${model.config.labels.join(", ")})`);
    }
    return i;
  }
  const id = wordTokenId(tokenizer, value);
  if (id === undefined) throw new UsageError(`--${flag} "${value}" is not a token id or a token of the vocabulary`);
  return id;
}

/** A label for a target: the class name for a classifier, the token string for a language model. */
export function targetName(model: TransformerModel, tokenizer: Tokenizer, target: number): string {
  return model.task === "lm" ? tokenizer.idToToken(target) : (model.config.labels[target] ?? String(target));
}
