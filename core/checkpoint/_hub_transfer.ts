/**
 * The HTTP side of the hub cache (Deno only; used by `hub.ts`): one GET whose redirects are followed by hand,
 * so that the hub's own headers (the commit a revision resolved to, the file's size and sha256) are read from
 * the hub's answer and not from the CDN it redirects to, and a body streamed to a file with its sha256
 * computed on the way — never held in memory. Every step runs under time limits: a server that holds back its
 * headers, never sends the first byte, or drips bytes slower than a minimum rate is abandoned with a sentence
 * naming the URL and the limit (an idle timer that every byte resets would never fire on a drip, so the rate
 * is measured over a window).
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Time limits of one download; each has an environment variable ({@linkcode TRANSFER_LIMIT_VARIABLES}). */
export interface TransferLimits {
  /** From sending a request (or following a redirect) to the answer's headers: connect, TLS, the server's reply. */
  connectTimeoutMs: number;
  /** From the headers to the first byte of the body. */
  firstByteTimeoutMs: number;
  /** The slowest transfer kept: fewer bytes than this rate over a whole window abandon the download. */
  minBytesPerSecond: number;
  /** The window over which the rate is measured. */
  rateWindowMs: number;
}

/** The limits when neither an option nor a variable sets them. */
export const DEFAULT_TRANSFER_LIMITS: Readonly<TransferLimits> = {
  connectTimeoutMs: 30_000,
  firstByteTimeoutMs: 30_000,
  minBytesPerSecond: 1024,
  rateWindowMs: 30_000,
};

/** The environment variable of each limit: seconds for the times, bytes per second for the rate. */
export const TRANSFER_LIMIT_VARIABLES: Readonly<Record<keyof TransferLimits, string>> = {
  connectTimeoutMs: "BERTOLOGY_HUB_CONNECT_TIMEOUT",
  firstByteTimeoutMs: "BERTOLOGY_HUB_FIRST_BYTE_TIMEOUT",
  minBytesPerSecond: "BERTOLOGY_HUB_MIN_RATE",
  rateWindowMs: "BERTOLOGY_HUB_RATE_WINDOW",
};

/**
 * The limits in force: each option, else its variable, else the default.
 *
 * @throws {Error} naming the variable when it is not a positive number (the rate may be 0: no minimum)
 */
export function transferLimits(
  options: Partial<TransferLimits>,
  env: (name: string) => string | undefined,
): TransferLimits {
  const out = { ...DEFAULT_TRANSFER_LIMITS };
  for (const key of Object.keys(out) as (keyof TransferLimits)[]) {
    const given = options[key];
    if (given !== undefined) {
      out[key] = given;
      continue;
    }
    const variable = TRANSFER_LIMIT_VARIABLES[key];
    const text = env(variable);
    if (text === undefined || text === "") continue;
    const value = Number(text);
    const isRate = key === "minBytesPerSecond";
    if (!Number.isFinite(value) || value < 0 || (!isRate && value === 0)) {
      throw new Error(
        `${variable} must be ${
          isRate ? "a number of bytes per second, 0 or more" : "a positive number of seconds"
        }, got "${text}"`,
      );
    }
    out[key] = isRate ? value : value * 1000;
  }
  return out;
}

/**
 * The server could not be reached, or did not answer or send in time: a cached copy may stand in for it.
 * (A server that answers with something wrong is not this error.)
 */
export class NetworkError extends Error {}

/** A file's answer, after its redirects. */
export interface HubAnswer {
  /** The final answer (not a redirect); its body is unread. */
  response: Response;
  /** The URL asked for first. */
  url: string;
  /** The commit the revision resolved to (`X-Repo-Commit`), where the server says. */
  commit?: string | undefined;
  /** The file's id (`X-Linked-Etag` of a large file, else the hub's `ETag`), quotes and `W/` removed. */
  etag?: string | undefined;
  /** The file's size as the hub gives it (`X-Linked-Size`), where it does. */
  linkedSize?: number | undefined;
  /** The hub's `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, `GatedRepo`, …). */
  errorCode?: string | undefined;
  /** Aborts the transfer (the body stream ends). */
  abort(): void;
}

const MAX_REDIRECTS = 10;

/** The hub's ETag as a bare id. */
function bareEtag(value: string | null): string | undefined {
  if (value === null) return undefined;
  return value.replace(/^W\//, "").replace(/^"(.*)"$/, "$1") || undefined;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * GETs `url`, following redirects by hand (the token goes only to `url`'s origin, never to a CDN), each hop
 * under {@linkcode TransferLimits.connectTimeoutMs}.
 *
 * @param url The file's `resolve` URL.
 * @param opts The fetch, headers for `url`'s origin, and the limits.
 * @returns The final answer with the hub's metadata.
 * @throws {NetworkError} when a server cannot be reached or does not answer in time, naming the URL
 */
export async function requestFile(
  url: string,
  opts: { fetch: typeof fetch; headers: Record<string, string>; limits: TransferLimits },
): Promise<HubAnswer> {
  const controller = new AbortController();
  const origin = new URL(url).origin;
  const answer: Omit<HubAnswer, "response"> = { url, abort: () => controller.abort() };
  let current = url;
  for (let hop = 0;; hop++) {
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    if (new URL(current).origin === origin) Object.assign(headers, opts.headers);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, opts.limits.connectTimeoutMs);
    let response: Response;
    try {
      response = await opts.fetch(current, { headers, redirect: "manual", signal: controller.signal });
    } catch (e) {
      const via = current === url ? "" : ` (redirected from "${url}")`;
      if (timedOut) {
        throw new NetworkError(
          `"${current}"${via} sent no answer within ${
            seconds(opts.limits.connectTimeoutMs)
          } (${TRANSFER_LIMIT_VARIABLES.connectTimeoutMs})`,
        );
      }
      throw new NetworkError(`Cannot reach "${current}"${via}: ${(e as Error).message}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
    const h = response.headers;
    answer.commit ??= h.get("x-repo-commit") ?? undefined;
    answer.errorCode ??= h.get("x-error-code") ?? undefined;
    const linkedEtag = bareEtag(h.get("x-linked-etag"));
    const linkedSize = h.get("x-linked-size");
    if (answer.etag === undefined && linkedEtag !== undefined) answer.etag = linkedEtag;
    if (answer.linkedSize === undefined && linkedSize !== null && /^\d+$/.test(linkedSize)) {
      answer.linkedSize = Number(linkedSize);
    }
    const location = h.get("location");
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel();
      // the hub's own ETag is the file's id; a CDN's, further on, is not (X-Linked-Etag already took precedence)
      if (answer.etag === undefined && h.has("x-repo-commit")) answer.etag = bareEtag(h.get("etag"));
      if (hop === MAX_REDIRECTS) throw new Error(`"${url}" redirects more than ${MAX_REDIRECTS} times`);
      current = new URL(location, current).href;
      continue;
    }
    answer.etag ??= bareEtag(h.get("etag"));
    return { ...answer, response };
  }
}

/** What {@linkcode streamToFile} wrote. */
export interface Streamed {
  /** Bytes written. */
  size: number;
  /** Their sha256, lowercase hex. */
  sha256: string;
  /** The first bytes (up to 512), to recognise an HTML page. */
  head: Uint8Array;
}

/**
 * Streams `answer`'s body into `file` chunk by chunk (nothing kept but the first 512 bytes), hashing as it
 * goes, under the first-byte and minimum-rate limits.
 *
 * @param answer The answer (from {@linkcode requestFile}) whose body to write.
 * @param file An open file, written from its current position.
 * @param limits The limits.
 * @param onBytes Called after each chunk with the bytes written so far.
 * @returns The size, sha256 and first bytes.
 * @throws {NetworkError} when the body stops, breaks or is too slow, naming the URL and the limit
 */
export async function streamToFile(
  answer: HubAnswer,
  file: Deno.FsFile,
  limits: TransferLimits,
  onBytes: (done: number) => void,
): Promise<Streamed> {
  const body = answer.response.body;
  const hash = createHash("sha256");
  const head = new Uint8Array(512);
  let headLength = 0;
  let done = 0;
  if (body === null) return { size: 0, sha256: hash.digest("hex"), head: head.subarray(0, 0) };
  const reader = body.getReader();
  let abandoned: string | undefined;
  const abandon = (why: string) => {
    abandoned ??= `Download of "${answer.url}" abandoned: ${why}`;
    reader.cancel().catch(() => {});
    answer.abort();
  };
  let firstByte: ReturnType<typeof setTimeout> | undefined = setTimeout(
    () =>
      abandon(
        `no byte of the body within ${
          seconds(limits.firstByteTimeoutMs)
        } of the headers (${TRANSFER_LIMIT_VARIABLES.firstByteTimeoutMs})`,
      ),
    limits.firstByteTimeoutMs,
  );
  let windowBytes = 0;
  const windowMinimum = (limits.minBytesPerSecond * limits.rateWindowMs) / 1000;
  const rate = setInterval(() => {
    if (windowBytes < windowMinimum) {
      abandon(
        `${windowBytes} bytes in the last ${
          seconds(limits.rateWindowMs)
        }, under the minimum rate of ${limits.minBytesPerSecond} bytes/s (${TRANSFER_LIMIT_VARIABLES.minBytesPerSecond} over ${TRANSFER_LIMIT_VARIABLES.rateWindowMs})`,
      );
    }
    windowBytes = 0;
  }, limits.rateWindowMs);
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (abandoned !== undefined) break;
        throw new NetworkError(
          `Download of "${answer.url}" broke off after ${done} bytes: ${(e as Error).message}`,
          { cause: e },
        );
      }
      if (chunk.done || abandoned !== undefined) break;
      const bytes = chunk.value;
      if (firstByte !== undefined) (clearTimeout(firstByte), firstByte = undefined);
      hash.update(bytes);
      if (headLength < head.length) {
        const take = Math.min(head.length - headLength, bytes.length);
        head.set(bytes.subarray(0, take), headLength);
        headLength += take;
      }
      for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
      done += bytes.length;
      windowBytes += bytes.length;
      onBytes(done);
    }
  } finally {
    clearTimeout(firstByte);
    clearInterval(rate);
  }
  if (abandoned !== undefined) throw new NetworkError(abandoned);
  return { size: done, sha256: hash.digest("hex"), head: head.subarray(0, headLength) };
}
