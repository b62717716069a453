/**
 * Serves a `{ fetch }` app over `node:http`, for `deno task serve`. `Deno.serve` keeps a connection open
 * until the client has sent its whole declared body, even after the handler has answered (a client dripping
 * a byte a minute holds its socket for ever), and it has no header timeout. Here a response to a request
 * whose body was not read to the end (408 `body_timeout`, 503 `busy`, 413) closes the socket once written,
 * and a client that sends its headers too slowly is cut off by `headersTimeout`.
 *
 * @module
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { clearInterval, setInterval } from "node:timers";

/** What {@linkcode serveOverNodeHttp} listens on and how long it waits for a request's headers. */
export interface NodeServeOptions {
  /** The host to listen on. */
  hostname: string;
  /** The port (0: any free port). */
  port: number;
  /**
   * Connections the kernel may hold, accepted but not yet taken by the server (default
   * {@linkcode LISTEN_BACKLOG}; the kernel caps it at `net.core.somaxconn`).
   */
  backlog?: number;
  /** Most milliseconds from a connection's first byte to the end of the request headers (default 10 000). */
  headersTimeoutMs?: number;
  /** Called once listening, with the actual address. */
  onListen?: (addr: { hostname: string; port: number }) => void;
  /**
   * Adds `server-timing: app;dur=MS, loop;dur=MS, loopcpu;dur=MS` to every response — the time from the
   * request event to the response written, the longest event-loop stall of the last second, and the main
   * thread's CPU time during that stall — for load runs (`web/load.ts`).
   */
  serverTiming?: boolean;
}

/**
 * The default listen backlog. Node's is 511: when thousands of clients connect at once (a burst on top of
 * thousands of slow connections) and the event loop is busy for a moment, the kernel's accept queue overflows
 * and drops their SYNs, and each such client waits for its SYN to be resent — 1 s, then 3 s, 7 s … — which
 * shows as multi-second latencies that no work in the server explains. A deep queue costs the kernel a few
 * hundred bytes per waiting connection.
 */
export const LISTEN_BACKLOG = 8192;

/** A running server. */
export interface RunningServer {
  /** The address it listens on. */
  readonly addr: { hostname: string; port: number };
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops listening and closes every connection. */
  shutdown(): Promise<void>;
}

/**
 * The web `Request` for a Node request: the body is a stream that pulls from the socket (back-pressure), and
 * errors when the client goes away before sending all of it.
 *
 * @param req the Node request
 * @param origin `http://host:port`, for the URL
 * @returns the request
 */
function toRequest(req: IncomingMessage, origin: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) { for (const v of value) headers.append(name, v); }
    else if (value !== undefined) headers.set(name, value);
  }
  const method = req.method ?? "GET";
  const init: RequestInit = { method, headers };
  req.on("error", () => {}); // an aborted request: handled through the body stream (or nothing to read)
  if (method !== "GET" && method !== "HEAD") {
    let open = true; // 'data' may still come after a cancel or an error; the stream must not see it
    init.body = new ReadableStream<Uint8Array>({
      start(controller) {
        const fail = (e: Error) => {
          if (!open) return;
          open = false;
          controller.error(e);
        };
        req.on("data", (chunk: Uint8Array) => {
          if (!open) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.on("end", () => {
          if (!open) return;
          open = false;
          controller.close();
        });
        req.on("close", () => {
          if (!req.complete) fail(new Error("the client closed the connection mid-body"));
        });
        req.on("error", fail);
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel() {
        open = false;
        req.pause(); // the socket is closed after the response (see below)
      },
    }, { highWaterMark: 1 });
  }
  return new Request(new URL(req.url ?? "/", origin), init);
}

/**
 * Writes a web `Response` to a Node response, then closes the socket when the request body was not read to
 * the end (or the response asks for `connection: close`): the client cannot hold it by dripping.
 *
 * @param response the app's answer
 * @param req the Node request
 * @param res the Node response
 */
async function writeResponse(
  response: Response,
  req: IncomingMessage,
  res: ServerResponse,
  timing?: { start: number; loop: LoopStallMeter },
): Promise<void> {
  // a body of declared length (GET /api/onnx) is streamed with back-pressure: no copy of it per request
  const streamed = response.body !== null && response.headers.has("content-length");
  const body = response.body && !streamed ? new Uint8Array(await response.arrayBuffer()) : undefined;
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  if (timing) {
    const { stallMs, cpuMs } = timing.loop.recent();
    headers["server-timing"] = `app;dur=${(performance.now() - timing.start).toFixed(2)}, loop;dur=${
      stallMs.toFixed(1)
    }, loopcpu;dur=${cpuMs.toFixed(1)}`;
  }
  const close = !req.complete || response.headers.get("connection") === "close";
  if (close) headers.connection = "close";
  if (res.destroyed) return; // the client went away meanwhile
  res.on("error", () => {}); // a write to a socket the client closed
  res.writeHead(response.status, headers);
  if (streamed) await writeStream(response.body!, res);
  res.end(body, () => {
    if (close) req.socket.destroy();
  });
}

/**
 * Writes a body stream to a Node response, one chunk at a time, waiting for the socket to drain before the next:
 * a slow client holds only what its socket buffers. Stops (cancelling the stream) when the client goes away.
 */
async function writeStream(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  try {
    while (!res.destroyed) {
      const { done, value } = await reader.read();
      if (done) return;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            res.off("drain", go);
            res.off("close", go);
            resolve();
          };
          res.on("drain", go);
          res.on("close", go);
        });
      }
    }
  } finally {
    if (res.destroyed) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * Serves `fetch` on a host and port over `node:http`.
 *
 * @param fetch the app's `fetch`
 * @param opts host, port, header timeout
 * @returns the running server, once listening
 * @example Usage
 * ```ts ignore
 * const server = await serveOverNodeHttp(app.fetch, { hostname: "127.0.0.1", port: 0 });
 * await server.shutdown();
 * ```
 */
export async function serveOverNodeHttp(
  fetch: (request: Request) => Promise<Response>,
  opts: NodeServeOptions,
): Promise<RunningServer> {
  const loop = opts.serverTiming ? new LoopStallMeter() : undefined;
  const server = createServer((req, res) => {
    const timing = loop ? { start: performance.now(), loop } : undefined;
    const origin = `http://${opts.hostname.includes(":") ? `[${opts.hostname}]` : opts.hostname}:${port}`;
    fetch(toRequest(req, origin))
      .then((response) => writeResponse(response, req, res, timing))
      .catch(() => req.socket.destroy()); // the app never throws; a write to a closed socket may
  });
  server.headersTimeout = opts.headersTimeoutMs ?? 10_000;
  server.requestTimeout = 0; // the app times bodies and compute itself
  server.on("clientError", (_e, socket) => socket.destroy()); // malformed or timed-out headers
  let port = opts.port;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.hostname, opts.backlog ?? LISTEN_BACKLOG, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const addr = { hostname: opts.hostname, port };
  opts.onListen?.(addr);
  let stopped: () => void = () => {};
  const finished = new Promise<void>((resolve) => (stopped = resolve));
  server.on("close", () => {
    loop?.stop();
    stopped();
  });
  return {
    addr,
    finished,
    shutdown() {
      server.closeAllConnections?.();
      server.close();
      return finished;
    },
  };
}

/**
 * The event loop's longest stall over the last second — how late a 10 ms interval fires — and how much of
 * it the main thread spent running (the rest it waited for a CPU: another process, or the compute worker).
 */
class LoopStallMeter {
  // [stall ms, main-thread CPU ms during it] for this second and the last one
  #now = [0, 0];
  #prev = [0, 0];
  #second = 0;
  #last = performance.now();
  #lastCpu = threadCpuMs();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor() {
    this.#timer = setInterval(() => {
      const now = performance.now(), cpu = threadCpuMs(), second = Math.floor(now / 1000);
      if (second !== this.#second) {
        this.#prev = second === this.#second + 1 ? this.#now : [0, 0];
        this.#now = [0, 0];
        this.#second = second;
      }
      const stall = now - this.#last - 10;
      if (stall > this.#now[0]!) this.#now = [stall, cpu - this.#lastCpu];
      this.#last = now;
      this.#lastCpu = cpu;
    }, 10);
    this.#timer.unref(); // it never keeps the process alive
  }

  /** The longest stall of the last second, and the main thread's CPU time during it. */
  recent(): { stallMs: number; cpuMs: number } {
    const [stallMs, cpuMs] = this.#now[0]! >= this.#prev[0]! ? this.#now : this.#prev;
    return { stallMs: Math.max(0, stallMs!), cpuMs: cpuMs! };
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The main thread's CPU time in ms (`process.threadCpuUsage`; the whole process's where it is missing). */
function threadCpuMs(): number {
  const p = process as unknown as { threadCpuUsage?: () => { user: number; system: number } };
  const u = p.threadCpuUsage?.() ?? process.cpuUsage();
  return (u.user + u.system) / 1000;
}
