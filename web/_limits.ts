/**
 * Request limits and the size-limited JSON body reader (the `bodyLimit` middleware of a Hono app).
 *
 * @module
 */

import { HttpError } from "./_errors.ts";

/** Every limit the API enforces. Violations are 4xx JSON errors naming the field; see `web/README.md`. */
export interface Limits {
  /** Largest request body in bytes (413 `body_too_large`). */
  maxBodyBytes: number;
  /** Longest `text` / `text_pair` in UTF-16 code units (413 `text_too_long`). */
  maxTextChars: number;
  /**
   * Most tokens per encoded input, special tokens included (422 `too_many_tokens`). Never more than the
   * model's `max_position_embeddings`, whatever is configured.
   */
  maxTokens: number;
  /** Most examples in one `/api/importance` request (413 `too_many_examples`). */
  maxExamples: number;
  /** Most requests waiting for compute behind the running one; more get 503 `busy` with `Retry-After`. */
  maxQueue: number;
  /** Per-request time limit in milliseconds, queueing included (503 `timeout`). */
  timeoutMs: number;
}

/** The defaults: sized for a laptop and for an edge isolate. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxBodyBytes: 256 * 1024,
  maxTextChars: 2000,
  maxTokens: 128,
  maxExamples: 32,
  maxQueue: 16,
  timeoutMs: 20_000,
});

/**
 * Merges partial limits over the defaults and checks each is a positive integer.
 *
 * @param partial the overrides
 * @param maxPositions the model's `max_position_embeddings` (caps `maxTokens`)
 * @returns the complete limits
 * @throws {Error} naming the limit, for a value that is not a positive integer
 * @example Usage
 * ```ts
 * import { resolveLimits } from "./_limits.ts";
 * resolveLimits({ maxTokens: 1000 }, 64).maxTokens; // 64
 * ```
 */
export function resolveLimits(partial: Partial<Limits> | undefined, maxPositions: number): Limits {
  const out: Limits = { ...DEFAULT_LIMITS, ...partial };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isInteger(v) || v < (k === "maxQueue" ? 0 : 1)) {
      throw new Error(`Limit "${k}" must be a positive integer, got ${JSON.stringify(v)}`);
    }
  }
  out.maxTokens = Math.min(out.maxTokens, maxPositions);
  return out;
}

/**
 * Reads a request body as JSON with a byte limit: a `content-length` over the limit is refused before
 * reading, and a streamed body is cut off as soon as it passes the limit.
 *
 * @param request the request
 * @param maxBytes the limit
 * @returns the parsed value
 * @throws {HttpError} 415 for a content type that is not JSON, 413 for a body over the limit, 400 for an
 *   empty body or text that is not JSON
 * @example Usage
 * ```ts
 * import { readJsonBody } from "./_limits.ts";
 * const req = new Request("http://x/", { method: "POST", body: '{"a":1}', headers: { "content-type": "application/json" } });
 * await readJsonBody(req, 1024); // { a: 1 }
 * ```
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get("content-type");
  if (type !== null && !/^application\/([\w.+-]*\+)?json\b/i.test(type.trim())) {
    throw new HttpError(
      415,
      "unsupported_media_type",
      `Header "content-type" must be application/json, got "${type}"`,
      {
        field: "content-type",
      },
    );
  }
  const tooLarge = () =>
    new HttpError(413, "body_too_large", `Request body is larger than the limit of ${maxBytes} bytes`, {
      field: "body",
    });
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  if (size === 0) {
    throw new HttpError(400, "invalid_json", "Request body is empty; send a JSON object", { field: "body" });
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "invalid_json", "Request body is not valid UTF-8", { field: "body" });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, "invalid_json", `Request body is not valid JSON (${(e as Error).message})`, {
      field: "body",
    });
  }
}
