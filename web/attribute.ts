/**
 * `POST /api/attribute`: one score per token for the target logit (a classifier's predicted class, a language
 * model's predicted next token, or `target`), by saliency, gradient × input or integrated gradients, through
 * `core/attribution` exactly as `bertology attribute --json` computes it (same encoding, same baseline, the
 * special tokens kept by integrated gradients), plus the scores summed per word.
 *
 * @module
 */

import {
  BASELINE_KINDS,
  type BaselineKind,
  integratedGradients,
  resolveBaseline,
  resolveTarget,
  tokenGradients,
  wordScores,
  wordSpans,
} from "@bertology/core/attribution";
import type { AttributionInput } from "@bertology/core/attribution";
import type { TransformerModel } from "@bertology/core/models";
import { type Tokenizer, wordTokenId } from "@bertology/core/tokenizers";
import { excerpt, HttpError } from "./_errors.ts";
import type { Limits } from "./_limits.ts";
import type { Deadline } from "./_queue.ts";
import { encodeChecked } from "./analyze.ts";
import { fieldName, requireObject, textField, typeOf } from "./_validate.ts";

/** The methods `/api/attribute` takes (rollout and flow the page computes from the attention maps itself). */
export const ATTRIBUTE_METHODS = ["saliency", "grad-input", "ig"] as const;

/** One attribution method. */
export type AttributeMethod = typeof ATTRIBUTE_METHODS[number];

/** The most integrated-gradients steps a request may ask for (each step is one row of a forward/backward pass). */
export const MAX_IG_STEPS = 200;

/** Integrated gradients' steps when the request gives none (as the CLI). */
export const DEFAULT_IG_STEPS = 50;

const FIELDS = ["text", "text_pair", "method", "target", "steps", "baseline"];

/** A checked `/api/attribute` request. */
export interface AttributeRequest {
  text: string;
  text_pair?: string;
  method: AttributeMethod;
  /** A class index or label name (classifiers), a token id or token (language models); default the prediction. */
  target?: number | string;
  /** Integrated gradients only: midpoint-rule steps, 1..{@linkcode MAX_IG_STEPS}. */
  steps?: number;
  /** Integrated gradients only: the baseline (default `pad`). */
  baseline?: BaselineKind;
}

/** One word of the sentence and its summed score. */
export interface WordScore {
  /** The word as its tokens spell it. */
  text: string;
  /** Its half-open token range `[start, end)`. */
  tokens: [number, number];
  /** The sum of its tokens' scores. */
  score: number;
}

/** The `/api/attribute` answer (see `web/README.md`); the fields of `bertology attribute --json`. */
export interface AttributeResponse {
  tokens: string[];
  /** The explained class index or next-token id. */
  target: number;
  /** The class name or token of `target`. */
  target_name: string;
  /** One score per token. */
  scores: number[];
  /** Integrated gradients: |Σ scores − (f(x) − f(baseline))| / |f(x) − f(baseline)|. */
  completeness_gap?: number;
  method: AttributeMethod;
  /** The scores summed per word. */
  words: WordScore[];
  /** Compute time in milliseconds (queueing excluded). */
  elapsed_ms: number;
}

/**
 * Reads an optional `target`: an integer or a non-empty string (resolved against the model when the job runs,
 * since a token needs the tokenizer).
 *
 * @param obj the body
 * @returns the value, or `undefined` when absent
 * @throws {HttpError} 400 `invalid_field` naming `target`
 * @example Usage
 * ```ts
 * import { targetField } from "./attribute.ts";
 * targetField({ target: "positive" }); // "positive"
 * ```
 */
export function targetField(obj: Record<string, unknown>): number | string | undefined {
  const v = obj.target;
  if (v === undefined || v === null) return undefined;
  if ((typeof v === "number" && Number.isInteger(v) && v >= 0) || (typeof v === "string" && v.trim() !== "")) {
    return v;
  }
  throw new HttpError(
    400,
    "invalid_field",
    `"target" must be a non-negative integer or a label or token name, got ${excerpt(v)}`,
    { field: "target" },
  );
}

/**
 * Resolves a checked `target` to a class index (classifiers, regressors) or vocabulary id (language models):
 * an index, a label name, or a token (tried as given, then with GPT-2's leading-space marker).
 *
 * @param model the model
 * @param tokenizer its tokenizer
 * @param value the request's value
 * @returns the index, or `undefined` for none (the prediction is then the target)
 * @throws {HttpError} 422 `invalid_field` naming `target` for an index out of range or an unknown name
 * @example Usage
 * ```ts ignore
 * resolveTargetField(model, tokenizer, "LABEL_1"); // 1
 * ```
 */
export function resolveTargetField(
  model: TransformerModel,
  tokenizer: Tokenizer,
  value: number | string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  const lm = model.task === "lm";
  const width = lm ? model.config.vocabSize : Math.max(1, model.config.labels.length);
  const refuse = (why: string) => new HttpError(422, "invalid_field", `"target" ${why}`, { field: "target" });
  if (typeof value === "number") {
    if (value >= width) throw refuse(`${value} is outside 0..${width - 1}`);
    return value;
  }
  if (!lm) {
    const i = model.config.labels.indexOf(value);
    if (i < 0) {
      throw refuse(`${excerpt(value)} is not a class index or label (${JSON.stringify(model.config.labels)})`);
    }
    return i;
  }
  const id = wordTokenId(tokenizer, value);
  if (id === undefined) throw refuse(`${excerpt(value)} is not a token id or a token of the vocabulary`);
  return id;
}

/**
 * The class name or token string of a target.
 *
 * @param model the model
 * @param tokenizer its tokenizer
 * @param target a class index or vocabulary id
 * @returns its name
 * @example Usage
 * ```ts ignore
 * targetName(model, tokenizer, 1); // "LABEL_1"
 * ```
 */
export function targetName(model: TransformerModel, tokenizer: Tokenizer, target: number): string {
  return model.task === "lm" ? tokenizer.idToToken(target) : (model.config.labels[target] ?? String(target));
}

/**
 * Refuses a model that has no logit to explain (no classifier or LM head).
 *
 * @param model the model
 * @param field the field the message names
 * @throws {HttpError} 422 `invalid_field`
 * @example Usage
 * ```ts ignore
 * requireHead(model, "text");
 * ```
 */
export function requireHead(model: TransformerModel, field: string): void {
  if (!model.hasHead) {
    throw new HttpError(422, "invalid_field", "This model has no classifier or LM head: there is no logit to explain", {
      field,
    });
  }
}

/**
 * Refuses keys outside `known`.
 *
 * @param obj the body
 * @param known the fields it may have
 * @throws {HttpError} 400 `invalid_field` naming the first unknown key (an excerpt)
 * @example Usage
 * ```ts
 * import { refuseUnknown } from "./attribute.ts";
 * refuseUnknown({ text: "hi" }, ["text"]);
 * ```
 */
export function refuseUnknown(obj: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      throw new HttpError(400, "invalid_field", `Unknown field ${excerpt(k)} (expected ${known.join(", ")})`, {
        field: fieldName(k),
      });
    }
  }
}

/**
 * Checks an `/api/attribute` body.
 *
 * @param body the parsed JSON
 * @param model the model (it must have a head)
 * @param limits the limits
 * @returns the checked request
 * @throws {HttpError} 400/413/422 naming the field
 * @example Usage
 * ```ts ignore
 * parseAttributeRequest({ text: "a fine film", method: "ig", steps: 20 }, model, limits);
 * ```
 */
export function parseAttributeRequest(body: unknown, model: TransformerModel, limits: Limits): AttributeRequest {
  const obj = requireObject(body);
  refuseUnknown(obj, FIELDS);
  const text = textField(obj, "text", "text", limits, false)!;
  const m = obj.method;
  if (typeof m !== "string" || !(ATTRIBUTE_METHODS as readonly string[]).includes(m)) {
    throw new HttpError(
      400,
      "invalid_field",
      `"method" must be one of ${ATTRIBUTE_METHODS.join(", ")}, got ${
        typeof m === "string" ? excerpt(m) : typeOf(m ?? null)
      }`,
      { field: "method" },
    );
  }
  const method = m as AttributeMethod;
  const req: AttributeRequest = { text, method };
  const pair = textField(obj, "text_pair", "text_pair", limits, true);
  if (pair !== undefined) req.text_pair = pair;
  const target = targetField(obj);
  if (target !== undefined) req.target = target;
  for (const f of ["steps", "baseline"] as const) {
    if (obj[f] !== undefined && obj[f] !== null && method !== "ig") {
      throw new HttpError(400, "invalid_field", `"${f}" is for method "ig" only`, { field: f });
    }
  }
  const steps = obj.steps;
  if (steps !== undefined && steps !== null) {
    if (typeof steps !== "number" || !Number.isInteger(steps) || steps < 1 || steps > MAX_IG_STEPS) {
      throw new HttpError(
        400,
        "invalid_field",
        `"steps" must be an integer in 1..${MAX_IG_STEPS}, got ${excerpt(steps)}`,
        { field: "steps" },
      );
    }
    req.steps = steps;
  }
  const baseline = obj.baseline;
  if (baseline !== undefined && baseline !== null) {
    if (typeof baseline !== "string" || !(BASELINE_KINDS as readonly string[]).includes(baseline)) {
      throw new HttpError(
        400,
        "invalid_field",
        `"baseline" must be one of ${BASELINE_KINDS.join(", ")}, got ${excerpt(baseline)}`,
        { field: "baseline" },
      );
    }
    req.baseline = baseline as BaselineKind;
  }
  requireHead(model, "text");
  return req;
}

/**
 * Per position: whether the token is a special token (`[CLS]`, `[SEP]`, `<|endoftext|>`; not the unknown
 * token), which integrated gradients keep in the baseline (as `bertology attribute` does).
 *
 * @param tokenizer the tokenizer
 * @param ids the token ids
 * @returns one flag per position
 * @example Usage
 * ```ts ignore
 * specialPositions(tokenizer, [101, 2009, 102]); // [true, false, true]
 * ```
 */
export function specialPositions(tokenizer: Tokenizer, ids: readonly number[]): boolean[] {
  // special: it vanishes only when special tokens are skipped (a sentencepiece "▁" decodes to "" either way)
  return ids.map((id) =>
    id !== tokenizer.unkId && tokenizer.decode([id], { skipSpecialTokens: true }) === "" &&
    tokenizer.decode([id]) !== ""
  );
}

/**
 * Runs one attribution (synchronous compute; call it from the compute queue).
 *
 * @param model the model
 * @param tokenizer its tokenizer
 * @param req the checked request
 * @param limits the limits
 * @param deadline checked before the compute
 * @returns the answer
 * @throws {HttpError} 422 for too many tokens or an unknown target, 503 when the deadline passes
 * @example Usage
 * ```ts ignore
 * attribute(model, tokenizer, { text: "a fine film", method: "saliency" }, limits, new Deadline(1000)).scores;
 * ```
 */
export function attribute(
  model: TransformerModel,
  tokenizer: Tokenizer,
  req: AttributeRequest,
  limits: Limits,
  deadline: Deadline,
): AttributeResponse {
  const t0 = performance.now();
  const enc = encodeChecked(
    tokenizer,
    req.text,
    req.text_pair,
    limits,
    req.text_pair === undefined ? "text" : "text_pair",
  );
  const input: AttributionInput = { inputIds: enc.ids, tokenTypeIds: enc.tokenTypeIds };
  deadline.check("forward pass");
  const target = resolveTarget(model, input, resolveTargetField(model, tokenizer, req.target));
  let scores: Float32Array;
  let gap: number | undefined;
  deadline.check("attribution");
  if (req.method === "ig") {
    let baseline;
    try {
      baseline = resolveBaseline(model, tokenizer, req.baseline ?? "pad");
    } catch (e) {
      throw new HttpError(422, "invalid_field", (e as Error).message, { field: "baseline" });
    }
    const ig = integratedGradients(model, input, {
      target,
      steps: req.steps ?? DEFAULT_IG_STEPS,
      baseline,
      keep: specialPositions(tokenizer, enc.ids),
    });
    scores = ig.scores;
    gap = ig.relativeGap;
  } else {
    const g = tokenGradients(model, input, { target });
    scores = req.method === "saliency" ? g.saliency : g.gradInput;
  }
  const spans = wordSpans(enc, req.text, req.text_pair);
  const perWord = wordScores(scores, spans);
  return {
    tokens: enc.tokens,
    target,
    target_name: targetName(model, tokenizer, target),
    scores: Array.from(scores),
    ...(gap === undefined ? {} : { completeness_gap: gap }),
    method: req.method,
    words: spans.map((w, i) => ({ text: w.text, tokens: [w.start, w.end], score: perWord[i]! })),
    elapsed_ms: Math.round(performance.now() - t0),
  };
}
