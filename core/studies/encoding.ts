/**
 * How a model reads one example in every study (importance, masking, scoring, training), by task kind:
 * a classifier or regressor reads `[CLS] a [SEP] b [SEP]` through its tokenizer; a language model reads
 * GPT-2's `<|endoftext|> a b <|endoftext|>`, so that every sentence token and the end are predicted.
 *
 * @module
 */

import type { EncodedInput } from "../data/batches.ts";
import type { InputExample } from "../data/input_example.ts";
import type { TaskKind } from "../models/config.ts";
import type { Tokenizer } from "../tokenizers/types.ts";

/** The text of an example: the sentence and, for a pair task, the second sentence. */
export type ExampleText = Pick<InputExample, "textA" | "textB">;

/**
 * How a language model reads a sentence (in training and in every study, so perplexities agree): GPT-2's
 * `<|endoftext|> sentence <|endoftext|>`, so that every sentence token and the end are predicted; models
 * without that token read the sentence as their tokenizer frames it (Llama's `<s>` first, as it was trained;
 * OpenAI GPT's bare sentence). A pair is joined with a space. At most `maxLength` tokens.
 *
 * @param tokenizer the model's tokenizer
 * @param example the sentence (and optional second sentence)
 * @param maxLength the most tokens kept, framing included (default: no truncation)
 * @returns token ids and all-zero segment ids
 * @example Usage
 * ```ts ignore
 * lmEncoding(gpt2Tokenizer, { textA: "a gripping film" }, 64).ids; // [50256, …, 50256]
 * ```
 */
export function lmEncoding(
  tokenizer: Tokenizer,
  example: ExampleText,
  maxLength?: number,
): { ids: number[]; tokenTypeIds: number[] } {
  const eos = tokenizer.tokenToId("<|endoftext|>");
  const text = example.textB === undefined ? example.textA : `${example.textA} ${example.textB}`;
  if (eos === undefined) {
    const ids = tokenizer.encode(text, undefined, maxLength === undefined ? {} : { maxLength }).ids;
    return { ids, tokenTypeIds: new Array<number>(ids.length).fill(0) };
  }
  const body = tokenizer.encode(text, undefined, { addSpecialTokens: false }).ids;
  const keep = (n: number) => maxLength === undefined ? body : body.slice(0, Math.max(0, n));
  const ids = [eos, ...keep((maxLength ?? 0) - 2), eos];
  return { ids, tokenTypeIds: new Array<number>(ids.length).fill(0) };
}

/**
 * Encodes one example the way a model of this task kind reads it in a study: {@linkcode lmEncoding} for
 * `"lm"`, the tokenizer's own sentence (pair) encoding with its special tokens for `"classify"` and
 * `"regress"`.
 *
 * @param task the model's task kind (`model.task`)
 * @param tokenizer the model's tokenizer
 * @param example the sentence (and optional second sentence)
 * @param maxLength the most tokens kept (default: no truncation)
 * @returns token ids and segment ids of equal length
 * @example Usage
 * ```ts ignore
 * const enc = encodeExample(model.task, tokenizer, { textA: "good", textB: "fine" }, 128);
 * ```
 */
export function encodeExample(
  task: TaskKind,
  tokenizer: Tokenizer,
  example: ExampleText,
  maxLength?: number,
): EncodedInput & { ids: number[]; tokenTypeIds: number[] } {
  if (task === "lm") return lmEncoding(tokenizer, example, maxLength);
  const enc = tokenizer.encode(example.textA, example.textB, maxLength === undefined ? {} : { maxLength });
  return { ids: enc.ids, tokenTypeIds: enc.tokenTypeIds };
}
