/**
 * Request limits and the size-limited JSON body reader (the `bodyLimit` middleware of a Hono app).
 *
 * @module
 */

import { excerpt, HttpError } from "./_errors.ts";

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
  /** Per-request time limit in milliseconds from arrival, body, queueing and compute included (503 `timeout`). */
  timeoutMs: number;
  /** Most milliseconds from the request's headers to the end of its body (408 `body_timeout`). */
  bodyTimeoutMs: number;
  /** Most bytes of buffer held by all the bodies being read at once; past it, 503 `busy`. */
  maxBodyBytesInFlight: number;
  /** Largest exported model `GET /api/onnx` hands out, in bytes (413 `model_too_large`). */
  maxOnnxBytes: number;
}

/** The most new tokens one `/api/generate` request may ask for (prompt and new tokens also stay within `maxTokens`). */
export const MAX_NEW_TOKENS = 256;

/** The most rows one `/api/head-roles` request may ask for (each row is 1 + 2 · `repeat_len` tokens). */
export const MAX_HEAD_ROLE_ROWS = 64;

/** The defaults: sized for a laptop and for an edge isolate. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxBodyBytes: 256 * 1024,
  maxTextChars: 2000,
  maxTokens: 128,
  maxExamples: 32,
  maxQueue: 16,
  timeoutMs: 20_000,
  bodyTimeoutMs: 5_000,
  maxBodyBytesInFlight: 32 * 1024 * 1024,
  maxOnnxBytes: 512 * 1024 * 1024,
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
 * The buffer bytes that all bodies being read may hold together: each body's buffer grows only with what has
 * arrived, so thousands of slow clients hold little, and many large bodies at once are refused (503).
 *
 * @example Usage
 * ```ts
 * import { BodyBudget } from "./_limits.ts";
 * const budget = new BodyBudget(1024);
 * budget.reserve(1000); // true
 * budget.reserve(100); // false
 * ```
 */
export class BodyBudget {
  readonly #max: number;
  #held = 0;

  /**
   * @param maxBytes the most bytes held at once
   */
  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  /** Bytes held now. */
  get held(): number {
    return this.#held;
  }

  /**
   * Takes `bytes` from the budget.
   *
   * @param bytes how many
   * @returns whether they fit (nothing is taken when not)
   */
  reserve(bytes: number): boolean {
    if (this.#held + bytes > this.#max) return false;
    this.#held += bytes;
    return true;
  }

  /**
   * Gives `bytes` back.
   *
   * @param bytes how many
   */
  release(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }
}

/** How {@linkcode readJsonBody} bounds a body in time and memory. */
export interface BodyReadOptions {
  /** Milliseconds from the call (the headers are in) to the end of the body; default: no limit. */
  timeoutMs?: number;
  /** The budget shared by all bodies being read; default: none. */
  budget?: BodyBudget;
}

/**
 * Reads a request body as JSON with a byte limit and a header-to-body deadline. A `content-length` over the
 * limit is refused before reading; a streamed body is copied chunk by chunk into one buffer that grows up
 * to the limit (so no chunk, nor the stream buffer a chunk is a view of, is kept), and it is cut off as soon
 * as it passes the limit or the deadline. A body that breaks off (the client went away) is a 400, not a
 * server error.
 *
 * @param request the request
 * @param maxBytes the limit
 * @param opts the deadline
 * @returns the parsed value
 * @throws {HttpError} 415 for a content type that is not JSON, 413 for a body over the limit, 408 for a body
 *   slower than the deadline, 400 for a body that breaks off, an empty body or text that is not JSON
 * @example Usage
 * ```ts
 * import { readJsonBody } from "./_limits.ts";
 * const req = new Request("http://x/", { method: "POST", body: '{"a":1}', headers: { "content-type": "application/json" } });
 * await readJsonBody(req, 1024, { timeoutMs: 5000 }); // { a: 1 }
 * ```
 */
export async function readJsonBody(request: Request, maxBytes: number, opts: BodyReadOptions = {}): Promise<unknown> {
  const type = request.headers.get("content-type");
  if (type !== null && !/^application\/([\w.+-]*\+)?json\b/i.test(type.trim())) {
    await request.body?.cancel().catch(() => {});
    throw new HttpError(
      415,
      "unsupported_media_type",
      `Header "content-type" must be application/json, got ${excerpt(type)}`,
      { field: "content-type" },
    );
  }
  const bytes = await readBodyBytes(request, maxBytes, opts.timeoutMs ?? Infinity, opts.budget);
  if (bytes.byteLength === 0) {
    throw new HttpError(400, "invalid_json", "Request body is empty; send a JSON object", { field: "body" });
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
    // V8's message quotes the text around the fault; keep it short
    const why = (e as Error).message;
    throw new HttpError(
      400,
      "invalid_json",
      `Request body is not valid JSON (${why.length > 120 ? why.slice(0, 120) + "…" : why})`,
      {
        field: "body",
      },
    );
  }
}

/** The first buffer for a body of unknown length; it doubles as needed, up to the limit. */
const INITIAL_BODY_BUFFER = 1024;

// Thousands of slow bodies that started together expire together; answering them all (408, close) in one turn of
// the event loop stalled it ~130 ms under 3,000 dripping connections, so `GET /api/model` waited behind them. The
// expiries run in slices of EXPIRE_SLICE, a timer turn apart, so accepting and other requests go on in between.
const EXPIRE_SLICE = 32;
const expiring: (() => void)[] = [];
let expiryScheduled = false;

function expireLater(cancel: () => void): void {
  expiring.push(cancel);
  if (!expiryScheduled) {
    expiryScheduled = true;
    setTimeout(expireSlice, 0);
  }
}

function expireSlice(): void {
  for (const cancel of expiring.splice(0, EXPIRE_SLICE)) cancel();
  if (expiring.length > 0) setTimeout(expireSlice, 0);
  else expiryScheduled = false;
}

/**
 * Reads a body into one bounded buffer (copies, not views), within a deadline.
 *
 * @param request the request
 * @param maxBytes the byte limit
 * @param timeoutMs the deadline, from now
 * @param budget the buffer budget shared with other bodies being read (the buffer is given back on return)
 * @returns the bytes (a view of the part of the buffer that was filled)
 * @throws {HttpError} 413 `body_too_large`, 408 `body_timeout`, 400 `body_incomplete`, 503 `busy` when the
 *   budget is spent
 * @example Usage
 * ```ts
 * import { readBodyBytes } from "./_limits.ts";
 * (await readBodyBytes(new Request("http://x/", { method: "POST", body: "abc" }), 10, 1000)).byteLength; // 3
 * ```
 */
export async function readBodyBytes(
  request: Request,
  maxBytes: number,
  timeoutMs: number,
  budget?: BodyBudget,
): Promise<Uint8Array> {
  const tooLarge = () =>
    new HttpError(413, "body_too_large", `Request body is larger than the limit of ${maxBytes} bytes`, {
      field: "body",
    });
  const declared = request.headers.get("content-length");
  const declaredBytes = declared === null ? NaN : Number(declared);
  if (declaredBytes > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  // a declared length is only a hint: a client may declare much and send little, so start small and grow
  const hint = Number.isInteger(declaredBytes) && declaredBytes >= 0 ? declaredBytes : INITIAL_BODY_BUFFER;
  let held = 0;
  const take = (bytes: number) => {
    if (budget && !budget.reserve(bytes)) {
      throw new HttpError(503, "busy", "The server is reading too many request bodies at once; retry shortly", {
        headers: { "retry-after": "1" },
      });
    }
    held += bytes;
    return new Uint8Array(bytes);
  };
  let buffer: Uint8Array;
  try {
    buffer = take(Math.min(hint, INITIAL_BODY_BUFFER, maxBytes));
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  }
  let size = 0;
  // one timer per body, not one race per chunk: at the deadline it cancels the reader, which ends a pending read
  let timedOut = false;
  const timer = Number.isFinite(timeoutMs)
    ? setTimeout(() => {
      timedOut = true;
      expireLater(() => reader.cancel().catch(() => {}));
    }, Math.max(0, timeoutMs))
    : undefined;
  try {
    while (true) {
      let step: ReadableStreamReadResult<Uint8Array> | undefined;
      try {
        step = await reader.read();
      } catch {
        // the connection broke off mid-body: the client went away (Deno: BadResource / connection closed)
        if (!timedOut) {
          throw new HttpError(400, "body_incomplete", "Request body ended early: the connection was closed", {
            field: "body",
          });
        }
      }
      if (timedOut || step === undefined) {
        throw new HttpError(408, "body_timeout", `Request body did not arrive within ${Math.round(timeoutMs)} ms`, {
          field: "body",
          headers: { connection: "close" },
        });
      }
      if (step.done) break;
      const chunk = step.value;
      if (size + chunk.byteLength > maxBytes) throw tooLarge();
      if (size + chunk.byteLength > buffer.byteLength) {
        const grown = take(Math.min(maxBytes, Math.max(2 * buffer.byteLength, size + chunk.byteLength)));
        grown.set(buffer.subarray(0, size));
        budget?.release(buffer.byteLength);
        held -= buffer.byteLength;
        buffer = grown;
      }
      buffer.set(chunk, size); // a copy: the chunk (and the buffer it views) can go
      size += chunk.byteLength;
    }
    reader.releaseLock();
    return buffer.subarray(0, size);
  } catch (e) {
    reader.cancel().catch(() => {});
    throw e;
  } finally {
    clearTimeout(timer);
    budget?.release(held); // the caller parses the bytes at once, then drops them
  }
}
