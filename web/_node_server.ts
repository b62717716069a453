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

/** What {@linkcode serveOverNodeHttp} listens on and how long it waits for a request's headers. */
export interface NodeServeOptions {
  /** The host to listen on. */
  hostname: string;
  /** The port (0: any free port). */
  port: number;
  /** Most milliseconds from a connection's first byte to the end of the request headers (default 10 000). */
  headersTimeoutMs?: number;
  /** Called once listening, with the actual address. */
  onListen?: (addr: { hostname: string; port: number }) => void;
}

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
async function writeResponse(response: Response, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = response.body ? new Uint8Array(await response.arrayBuffer()) : undefined;
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  const close = !req.complete || response.headers.get("connection") === "close";
  if (close) headers.connection = "close";
  if (res.destroyed) return; // the client went away meanwhile
  res.on("error", () => {}); // a write to a socket the client closed
  res.writeHead(response.status, headers);
  res.end(body, () => {
    if (close) req.socket.destroy();
  });
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
  const server = createServer((req, res) => {
    const origin = `http://${opts.hostname.includes(":") ? `[${opts.hostname}]` : opts.hostname}:${port}`;
    fetch(toRequest(req, origin))
      .then((response) => writeResponse(response, req, res))
      .catch(() => req.socket.destroy()); // the app never throws; a write to a closed socket may
  });
  server.headersTimeout = opts.headersTimeoutMs ?? 10_000;
  server.requestTimeout = 0; // the app times bodies and compute itself
  server.on("clientError", (_e, socket) => socket.destroy()); // malformed or timed-out headers
  let port = opts.port;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const addr = { hostname: opts.hostname, port };
  opts.onListen?.(addr);
  let stopped: () => void = () => {};
  const finished = new Promise<void>((resolve) => (stopped = resolve));
  server.on("close", () => stopped());
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
