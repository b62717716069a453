/**
 * `POST /api/tokenize`: the model's tokenizer for a page that computes in the browser — `{text, text_pair?}` →
 * the tokens and ids `/api/analyze` would run (same encoding, same token limit), or `{ids}` → each id's token
 * (a language model's next-token candidates).
 *
 * @module
 */

import type { Tokenizer } from "@bertology/core/tokenizers";
import { excerpt, HttpError } from "./_errors.ts";
import type { Limits } from "./_limits.ts";
import { fieldName, requireObject, textField, typeOf } from "./_validate.ts";
import { encodeChecked } from "./analyze.ts";

/** The answer to `{text, text_pair?}`. */
export interface TokenizeResponse {
  /** The tokens, special ones included. */
  tokens: string[];
  /** Their ids. */
  input_ids: number[];
  /** Segment ids (0 for the first text, 1 for the pair; all 0 for GPT). */
  token_type_ids: number[];
}

/** The answer to `{ids}`. */
export interface IdTokensResponse {
  /** Each id's token. */
  tokens: string[];
}

/** Most ids one `{ids}` request may look up. */
const MAX_IDS = 256;

/**
 * Answers one `/api/tokenize` body.
 *
 * @param tokenizer the model's tokenizer
 * @param body the parsed JSON
 * @param limits the limits (text length, token limit)
 * @returns tokens and ids, or the ids' tokens
 * @throws {HttpError} 400/413/422 naming the field
 * @example Usage
 * ```ts ignore
 * tokenize(tokenizer, { text: "a film" }, limits).tokens; // ["[CLS]", "a", "film", "[SEP]"]
 * ```
 */
export function tokenize(tokenizer: Tokenizer, body: unknown, limits: Limits): TokenizeResponse | IdTokensResponse {
  const obj = requireObject(body);
  for (const k of Object.keys(obj)) {
    if (k !== "text" && k !== "text_pair" && k !== "ids") {
      throw new HttpError(400, "invalid_field", `Unknown field ${excerpt(k)} (expected text, text_pair or ids)`, {
        field: fieldName(k),
      });
    }
  }
  if (obj.ids !== undefined) {
    if (obj.text !== undefined || obj.text_pair !== undefined) {
      throw new HttpError(400, "invalid_field", `Send either "ids" or "text", not both`, { field: "ids" });
    }
    const ids = obj.ids;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_IDS) {
      throw new HttpError(
        400,
        "invalid_field",
        `"ids" must be an array of 1 to ${MAX_IDS} token ids, got ${typeOf(ids)}`,
        {
          field: "ids",
        },
      );
    }
    const vocab = tokenizer.vocabSize;
    return {
      tokens: ids.map((id, i) => {
        if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= vocab) {
          throw new HttpError(
            400,
            "invalid_field",
            `"ids[${i}]" must be a token id in 0..${vocab - 1}, got ${excerpt(id)}`,
            {
              field: `ids[${i}]`,
            },
          );
        }
        return tokenizer.idToToken(id);
      }),
    };
  }
  const text = textField(obj, "text", "text", limits, false)!;
  const pair = textField(obj, "text_pair", "text_pair", limits, true);
  const enc = encodeChecked(tokenizer, text, pair, limits, pair === undefined ? "text" : "text_pair");
  return { tokens: enc.tokens, input_ids: enc.ids, token_type_ids: enc.tokenTypeIds };
}
