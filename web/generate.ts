/**
 * `POST /api/generate`: a causal language model continues a prompt through `model.generate()` (KV cache; greedy
 * at temperature 0, the default; seeded sampling otherwise), as `bertology generate --json` does, and the answer
 * carries the analysis of the whole generated sequence (the `/api/analyze` tables on the exact ids, so the page's
 * head view shows what the generated tokens attend to: decoding and re-encoding the text need not give them back).
 *
 * @module
 */

import type { TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import { excerpt, HttpError } from "./_errors.ts";
import { type Limits, MAX_NEW_TOKENS } from "./_limits.ts";
import type { Deadline } from "./_queue.ts";
import { analyzeIds, type AnalyzeResponse, encodeChecked } from "./analyze.ts";
import { refuseUnknown } from "./attribute.ts";
import { requireObject, textField } from "./_validate.ts";

/** A checked `/api/generate` request. */
export interface GenerateApiRequest {
  /** The prompt text (encoded as the model's tokenizer does, special tokens included). */
  prompt: string;
  /** New tokens at most (default 20). */
  max_new_tokens: number;
  /** 0 (the default) is greedy. */
  temperature?: number;
  /** Keep the k likeliest tokens (0 = off). */
  top_k?: number;
  /** Keep the smallest set of likeliest tokens whose probability reaches p (1 = off). */
  top_p?: number;
  /** The sampler's seed (default 0). */
  seed?: number;
}

/** The `/api/generate` answer. */
export interface GenerateResponse {
  /** Every id, the prompt's first (`bertology generate --json`'s `ids`). */
  ids: number[];
  /** The token of each id. */
  tokens: string[];
  /** The text of every id, special tokens skipped (`bertology generate --json`'s `text`). */
  text: string;
  /** How many of `ids` are the prompt's: the generated tokens start there. */
  prompt_length: number;
  /** The text of the prompt's ids. */
  prompt_text: string;
  /**
   * What each generated token adds to the text (`prompt_text` + these pieces is `text`; a token that ends in
   * part of a character adds "" and the token that completes it the whole character).
   */
  generated_pieces: string[];
  /** Why it stopped: an end-of-sequence token, or `max_new_tokens`. */
  stop: "eos" | "max_new_tokens";
  /** The analysis of the whole sequence (the `/api/analyze` answer's tables, every layer and head). */
  analysis: AnalyzeResponse;
  /** Generation and analysis time in milliseconds (queueing excluded). */
  elapsed_ms: number;
}

/** The default number of new tokens. */
export const DEFAULT_NEW_TOKENS = 20;

const FIELDS = ["prompt", "max_new_tokens", "temperature", "top_k", "top_p", "seed"];

function numberField(
  obj: Record<string, unknown>,
  key: string,
  ok: (v: number) => boolean,
  expected: string,
): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !ok(v)) {
    throw new HttpError(400, "invalid_field", `"${key}" must be ${expected}, got ${excerpt(v)}`, { field: key });
  }
  return v;
}

/**
 * Refuses a model that cannot continue text: a 400 naming the model (a classifier, a regressor, an encoder
 * without an LM head).
 *
 * @param model the model
 * @param route the route, for the message
 * @throws {HttpError} 400 `invalid_field`, field `model`
 */
export function requireLanguageModel(model: TransformerModel, route: string): void {
  if (model.task !== "lm" || !model.hasHead) {
    throw new HttpError(
      400,
      "invalid_field",
      `${route} needs a causal language model; this model's task is "${model.task}"${
        model.hasHead ? "" : " without an output head"
      }`,
      { field: "model" },
    );
  }
}

/**
 * Checks an `/api/generate` body.
 *
 * @param body the parsed JSON
 * @param model the model (a causal language model)
 * @param limits the limits
 * @returns the checked request
 * @throws {HttpError} 400/413 naming the field (`model` for a model that is not a causal language model)
 * @example Usage
 * ```ts ignore
 * parseGenerateRequest({ prompt: "Once upon a time", max_new_tokens: 30 }, model, limits);
 * ```
 */
export function parseGenerateRequest(body: unknown, model: TransformerModel, limits: Limits): GenerateApiRequest {
  const obj = requireObject(body);
  refuseUnknown(obj, FIELDS);
  requireLanguageModel(model, "/api/generate");
  const int = (v: number) => Number.isSafeInteger(v);
  const req: GenerateApiRequest = {
    prompt: textField(obj, "prompt", "prompt", limits, false)!,
    max_new_tokens: numberField(
      obj,
      "max_new_tokens",
      (v) => int(v) && v >= 1 && v <= MAX_NEW_TOKENS,
      `an integer in 1..${MAX_NEW_TOKENS}`,
    ) ?? DEFAULT_NEW_TOKENS,
  };
  const temperature = numberField(obj, "temperature", (v) => Number.isFinite(v) && v >= 0, "a number ≥ 0 (0 = greedy)");
  const topK = numberField(obj, "top_k", (v) => int(v) && v >= 0, "an integer ≥ 0 (0 = off)");
  const topP = numberField(obj, "top_p", (v) => v > 0 && v <= 1, "a number in (0, 1] (1 = off)");
  const seed = numberField(obj, "seed", int, "an integer");
  if (temperature !== undefined) req.temperature = temperature;
  if (topK !== undefined) req.top_k = topK;
  if (topP !== undefined) req.top_p = topP;
  if (seed !== undefined) req.seed = seed;
  return req;
}

/**
 * Continues the prompt and analyses the whole sequence.
 *
 * @param model the model
 * @param tokenizer its tokenizer
 * @param req the checked request
 * @param limits the limits (prompt and new tokens together stay within `maxTokens`, so the sequence can be analysed)
 * @param deadline checked before each new token and before the analysis
 * @returns the answer
 * @throws {HttpError} 422 when the prompt and `max_new_tokens` pass the token limit; 503 past the deadline
 * @example Usage
 * ```ts ignore
 * (await generateRoute(model, tokenizer, { prompt: "Once upon a time", max_new_tokens: 20 }, limits, deadline)).text;
 * ```
 */
export async function generateRoute(
  model: TransformerModel,
  tokenizer: Tokenizer,
  req: GenerateApiRequest,
  limits: Limits,
  deadline: Deadline,
): Promise<GenerateResponse> {
  const t0 = performance.now();
  const prompt = encodeChecked(tokenizer, req.prompt, undefined, limits, "prompt").ids;
  if (prompt.length + req.max_new_tokens > limits.maxTokens) {
    throw new HttpError(
      422,
      "invalid_field",
      `"max_new_tokens" ${req.max_new_tokens} after a prompt of ${prompt.length} tokens passes the limit of ` +
        `${limits.maxTokens} tokens; at most ${Math.max(0, limits.maxTokens - prompt.length)} here`,
      { field: "max_new_tokens" },
    );
  }
  deadline.check("generation");
  const r = await model.generate({
    prompt,
    tokenizer,
    maxNewTokens: req.max_new_tokens,
    temperature: req.temperature,
    topK: req.top_k,
    topP: req.top_p,
    seed: req.seed,
    onToken: () => deadline.check("generation"),
  });
  const analysis = analyzeIds(model, tokenizer, r.ids, limits, deadline);
  const decode = (n: number) => tokenizer.decode(r.ids.slice(0, n), { skipSpecialTokens: true });
  const promptText = decode(r.promptLength);
  const pieces: string[] = [];
  let sent = promptText;
  for (let n = r.promptLength + 1; n <= r.ids.length; n++) {
    const t = decode(n);
    const whole = !t.endsWith("\uFFFD") && t.startsWith(sent);
    pieces.push(whole ? t.slice(sent.length) : "");
    if (whole) sent = t;
  }
  return {
    ids: r.ids,
    tokens: analysis.tokens,
    text: r.text ?? decode(r.ids.length),
    prompt_length: r.promptLength,
    prompt_text: promptText,
    generated_pieces: pieces,
    stop: r.stop,
    analysis,
    elapsed_ms: Math.round(performance.now() - t0),
  };
}
