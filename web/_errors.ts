/**
 * The one error type of the web app and the one handler that turns any thrown value into a JSON response
 * (`{error, detail}`), in the manner of Hono's `HTTPException` and default `errorHandler`.
 *
 * @module
 */

import { TokenizerInputError } from "@bertology/core/tokenizers";

/** Machine-readable error codes the API returns in `error`. */
export type ErrorCode =
  | "bad_request"
  | "invalid_json"
  | "invalid_field"
  | "unsupported_media_type"
  | "body_too_large"
  | "body_timeout"
  | "body_incomplete"
  | "text_too_long"
  | "too_many_tokens"
  | "too_many_examples"
  | "not_found"
  | "method_not_allowed"
  | "busy"
  | "timeout"
  | "model_unavailable"
  | "backend_not_allowed"
  | "backend_unavailable"
  | "model_too_large"
  | "internal";

/**
 * An error that renders itself as an HTTP response: handlers throw it instead of building error responses.
 *
 * @example Usage
 * ```ts
 * import { HttpError } from "./_errors.ts";
 * const e = new HttpError(400, "invalid_field", `"text" must be a string`, { field: "text" });
 * e.response().status; // 400
 * ```
 */
export class HttpError extends Error {
  /** HTTP status (4xx or 5xx). */
  readonly status: number;
  /** Machine-readable code, sent as `error`. */
  readonly code: ErrorCode;
  /** The request field at fault, when there is one (sent as `field`). */
  readonly field?: string;
  /** Extra response headers (`Allow`, `Retry-After`). */
  readonly headers: Record<string, string>;

  /**
   * @param status HTTP status
   * @param code machine-readable code
   * @param detail human-readable detail; names the field at fault
   * @param opts the field, and extra headers
   */
  constructor(
    status: number,
    code: ErrorCode,
    detail: string,
    opts: { field?: string; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    if (opts.field !== undefined) this.field = opts.field;
    this.headers = opts.headers ?? {};
  }

  /**
   * The JSON error response: `{error, detail, field?}`.
   *
   * @returns a fresh Response
   */
  response(): Response {
    const body: Record<string, string> = { error: this.code, detail: this.message };
    if (this.field !== undefined) body.field = this.field;
    return jsonResponse(body, this.status, this.headers);
  }
}

/**
 * A JSON response with `content-type: application/json` and no caching.
 *
 * @param body any JSON-serialisable value
 * @param status HTTP status (default 200)
 * @param headers extra headers
 * @returns the response
 * @example Usage
 * ```ts
 * import { jsonResponse } from "./_errors.ts";
 * jsonResponse({ ok: true }).headers.get("content-type"); // "application/json; charset=utf-8"
 * ```
 */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/**
 * A short, quoted excerpt of a value taken from the request, for error messages: long input is cut so that an
 * error never repeats a large part of what was sent.
 *
 * @param value the value (a string is quoted as JSON; anything else is serialised first)
 * @param maxChars most characters kept before the cut (default 40)
 * @returns the quoted excerpt, with `…` and the full length when cut
 * @example Usage
 * ```ts
 * import { excerpt } from "./_errors.ts";
 * excerpt("short"); // "\"short\""
 * excerpt("x".repeat(1000)).length < 80; // true
 * ```
 */
export function excerpt(value: unknown, maxChars = 40): string {
  let text: string;
  try {
    text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  const quote = (t: string) => typeof value === "string" ? JSON.stringify(t) : t;
  if (text.length <= maxChars) return quote(text);
  return `${quote(text.slice(0, maxChars))}… (${text.length} characters)`;
}

/**
 * The default error handler: an {@linkcode HttpError} renders itself; anything else is logged and becomes a
 * plain 500 `{error: "internal"}` (the detail is the message, never a stack).
 *
 * @param err what was thrown
 * @returns the error response
 * @example Usage
 * ```ts
 * import { errorToResponse } from "./_errors.ts";
 * errorToResponse(new Error("boom")).status; // 500
 * ```
 */
export function errorToResponse(err: unknown): Response {
  const typed = asHttpError(err);
  if (typed) return typed.response();
  console.error("bertology web: unhandled error:", err);
  const detail = err instanceof Error ? err.message : String(err);
  return jsonResponse({ error: "internal", detail }, 500);
}

/**
 * The HTTP form of a typed error: an {@linkcode HttpError} as it is, a {@linkcode TokenizerInputError} (a lone
 * surrogate) as 422 `invalid_field` naming `field` when given. Used by the error handler and by the compute
 * worker, so that a typed error crosses the worker boundary as what it is.
 *
 * @param err what was thrown
 * @param field the request field the error is about, when the caller knows it
 * @returns the HTTP error, or `undefined` for an untyped error (a 500)
 * @example Usage
 * ```ts
 * import { TokenizerInputError } from "@bertology/core/tokenizers";
 * import { asHttpError } from "./_errors.ts";
 * asHttpError(new TokenizerInputError("lone surrogate"), "text")?.status; // 422
 * ```
 */
export function asHttpError(err: unknown, field?: string): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof TokenizerInputError) {
    const where = field === undefined ? "" : `"${field}": `;
    return new HttpError(422, "invalid_field", `${where}${err.message}`, field === undefined ? {} : { field });
  }
  return undefined;
}
