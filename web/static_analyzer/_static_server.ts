/**
 * A plain static file server for the static analyzer's browser test: serves one folder's files on 127.0.0.1
 * (no API, no index other than `index.html`, nothing outside the folder) and records every path asked for, so
 * the test can assert the page never called a bertology route. Optional extra headers (COOP/COEP for cross-origin
 * isolation; CORS for a stand-in hub).
 *
 * @module
 */

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  wasm: "application/wasm",
  txt: "text/plain; charset=utf-8",
};

/** A running server. */
export interface StaticServer {
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  /** Every path requested, in order. */
  readonly requests: string[];
  /** Stops it. */
  shutdown(): Promise<void>;
}

/**
 * Serves `dir` (a folder path) at `mount` (default `/`).
 *
 * @param dir the folder
 * @param opts the URL prefix the folder appears under and headers added to every answer
 * @returns the server
 */
export function serveFolder(
  dir: string,
  opts: { mount?: string; headers?: Record<string, string> } = {},
): StaticServer {
  const mount = opts.mount ?? "/";
  const root = dir.replace(/\/+$/, "");
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    requests.push(path);
    const headers = { ...opts.headers };
    if (req.method !== "GET" && req.method !== "HEAD") return new Response("method", { status: 405, headers });
    if (!path.startsWith(mount)) return new Response("not found", { status: 404, headers });
    let rel = path.slice(mount.length);
    if (rel === "" || rel.endsWith("/")) rel += "index.html";
    if (rel.split("/").some((p) => p === ".." || p === "." || p === "")) {
      return new Response("not found", { status: 404, headers });
    }
    try {
      const body = await Deno.readFile(`${root}/${rel}`);
      const type = TYPES[rel.split(".").pop() ?? ""] ?? "application/octet-stream";
      return new Response(req.method === "HEAD" ? null : body, {
        headers: { ...headers, "content-type": type, "content-length": String(body.length) },
      });
    } catch {
      return new Response("not found", { status: 404, headers });
    }
  });
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    requests,
    shutdown: () => server.shutdown(),
  };
}
