/**
 * `POST /api/head-roles`: previous-token, duplicate-token and induction scores of every head on seeded rows of
 * BOS + r + r (core `analysis/head_roles.ts`), and for a language model the next-token loss on the first and
 * the second repeat: `bertology head-roles --json`'s fields, from the same rows (the BOS and the excluded
 * special tokens chosen by the same `repeatedRowTokens`). An encoder's attention sinks stay with the CLI.
 *
 * @module
 */

import { headRoles, repeatedRowTokens, repeatedTokenRows } from "@bertology/core/analysis";
import type { TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import { excerpt, HttpError } from "./_errors.ts";
import { type Limits, MAX_HEAD_ROLE_ROWS } from "./_limits.ts";
import type { Deadline } from "./_queue.ts";
import { refuseUnknown } from "./attribute.ts";
import { requireObject } from "./_validate.ts";

/** A checked `/api/head-roles` request (the CLI's defaults: 40, 20, 0). */
export interface HeadRolesRequest {
  /** Tokens in each repeat. */
  repeat_len: number;
  /** Rows averaged over. */
  rows: number;
  /** The random tokens' seed. */
  seed: number;
}

/** The `/api/head-roles` answer: `bertology head-roles --json`'s fields, with the BOS and the time. */
export interface HeadRolesResponse {
  /** [layers][heads] mean A[t, t−1] over the second repeat's queries (`null` for a pruned head). */
  previous_token: (number | null)[][];
  /** [layers][heads] mean A[t, t−len]. */
  duplicate_token: (number | null)[][];
  /** [layers][heads] mean A[t, t−len+1]. */
  induction: (number | null)[][];
  /** A language model's mean next-token loss on the first repeat (nats). */
  loss_first_repeat?: number;
  /** …and on the second (in-context copying lowers it). */
  loss_second_repeat?: number;
  repeat_len: number;
  rows: number;
  seed: number;
  /** The first token of every row. */
  bos: number;
  /** Compute time in milliseconds (queueing excluded). */
  elapsed_ms: number;
}

function intField(obj: Record<string, unknown>, key: string, fallback: number, lo: number, hi: number): number {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < lo || v > hi) {
    const range = hi === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${lo}` : `an integer in ${lo}..${hi}`;
    throw new HttpError(400, "invalid_field", `"${key}" must be ${range}, got ${excerpt(v)}`, { field: key });
  }
  return v;
}

/**
 * Checks an `/api/head-roles` body.
 *
 * @param body the parsed JSON
 * @param model the model (a row of 1 + 2 · `repeat_len` tokens must fit its positions and `limits.maxTokens`)
 * @param limits the limits
 * @returns the checked request
 * @throws {HttpError} 400 naming the field
 * @example Usage
 * ```ts ignore
 * parseHeadRolesRequest({ repeat_len: 40, rows: 20, seed: 0 }, model, limits);
 * ```
 */
export function parseHeadRolesRequest(body: unknown, model: TransformerModel, limits: Limits): HeadRolesRequest {
  const obj = requireObject(body);
  refuseUnknown(obj, ["repeat_len", "rows", "seed"]);
  const longest = Math.floor((Math.min(limits.maxTokens, model.config.maxPositions) - 1) / 2);
  if (longest < 1) {
    throw new HttpError(
      400,
      "invalid_field",
      `This model takes ${limits.maxTokens} tokens: no row of BOS + r + r fits`,
      {
        field: "repeat_len",
      },
    );
  }
  return {
    repeat_len: intField(obj, "repeat_len", Math.min(40, longest), 1, longest),
    rows: intField(obj, "rows", 20, 1, MAX_HEAD_ROLE_ROWS),
    seed: intField(obj, "seed", 0, 0, Number.MAX_SAFE_INTEGER),
  };
}

/**
 * Measures the head roles (synchronous compute; call it from the compute queue).
 *
 * @param model the model
 * @param tokenizer its tokenizer (its template's first token is the BOS)
 * @param req the checked request
 * @param deadline checked before the compute
 * @returns the answer
 * @throws {HttpError} 400 (field `model`) for a model that names no BOS token; 503 past the deadline
 * @example Usage
 * ```ts ignore
 * headRolesRoute(model, tokenizer, { repeat_len: 40, rows: 20, seed: 0 }, deadline).induction;
 * ```
 */
export function headRolesRoute(
  model: TransformerModel,
  tokenizer: Tokenizer,
  req: HeadRolesRequest,
  deadline: Deadline,
): HeadRolesResponse {
  const t0 = performance.now();
  const special = repeatedRowTokens(model.config.raw, tokenizer);
  if (special === undefined) {
    throw new HttpError(
      400,
      "invalid_field",
      "This model names no BOS token (no template, no bos_token_id or eos_token_id in config.json)",
      { field: "model" },
    );
  }
  const rows = repeatedTokenRows(model.config.vocabSize, {
    repeatLen: req.repeat_len,
    rows: req.rows,
    seed: req.seed,
    bos: special.bos,
    exclude: special.exclude,
  });
  deadline.check("head roles");
  const r = headRoles(model, rows);
  const { layers: L, heads: H } = r;
  const grid = (a: Float64Array) =>
    Array.from(
      { length: L },
      (_, l) => Array.from(a.subarray(l * H, (l + 1) * H), (x) => (Number.isNaN(x) ? null : x)),
    );
  return {
    previous_token: grid(r.previousToken),
    duplicate_token: grid(r.duplicateToken),
    induction: grid(r.induction),
    ...(r.lossFirstRepeat !== undefined
      ? { loss_first_repeat: r.lossFirstRepeat, loss_second_repeat: r.lossSecondRepeat! }
      : {}),
    repeat_len: r.repeatLen,
    rows: r.rows,
    seed: req.seed,
    bos: special.bos,
    elapsed_ms: Math.round(performance.now() - t0),
  };
}
