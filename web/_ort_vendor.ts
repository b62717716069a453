/**
 * `GET /vendor/onnxruntime-web/<file>`: the onnxruntime-web files a page needs to compute in the browser — the
 * wasm-only and WebGPU bundles and the `.wasm` each loads — read from the installed package's `dist/` folder
 * (Deno's npm cache). Only those file names are served; anything else under `/vendor/` is a 404. For
 * `serve.ts` (an edge deployment has no files to read, so it offers no in-browser compute).
 *
 * @module
 */

import { readLocalFile } from "@bertology/core/checkpoint/deno";
import { excerpt, HttpError } from "./_errors.ts";

/** The URL prefix the files are served under (the page's `ort.env.wasm.wasmPaths`). */
export const ORT_VENDOR_PREFIX = "/vendor/onnxruntime-web/";

/**
 * The files served, and their types: each bundle embeds its Emscripten glue and fetches one `.wasm`
 * (`ort.wasm.bundle` the plain one, `ort.webgpu.bundle` the asyncify build).
 */
export const ORT_VENDOR_FILES: Readonly<Record<string, string>> = Object.freeze({
  "ort.wasm.bundle.min.mjs": "text/javascript; charset=utf-8",
  "ort.webgpu.bundle.min.mjs": "text/javascript; charset=utf-8",
  "ort-wasm-simd-threaded.wasm": "application/wasm",
  "ort-wasm-simd-threaded.mjs": "text/javascript; charset=utf-8",
  "ort-wasm-simd-threaded.asyncify.wasm": "application/wasm",
  "ort-wasm-simd-threaded.asyncify.mjs": "text/javascript; charset=utf-8",
});

/**
 * The installed onnxruntime-web's `dist/` folder (where `import("npm:onnxruntime-web@1.30.0")` resolves).
 *
 * @returns the folder's path, ending in `/`
 * @throws {Error} when the package does not resolve to a local file
 * @example Usage
 * ```ts ignore
 * ortDistDir(); // "/root/.cache/deno/npm/registry.npmjs.org/onnxruntime-web/1.30.0/dist/"
 * ```
 */
export function ortDistDir(): string {
  const entry = new URL(import.meta.resolve("npm:onnxruntime-web@1.30.0"));
  if (entry.protocol !== "file:") throw new Error(`onnxruntime-web resolves to ${entry.href}, not a local file`);
  return decodeURIComponent(new URL("./", entry).pathname);
}

/**
 * Wraps an app's `fetch` so that it also serves the onnxruntime-web files from `distDir`.
 *
 * @param fetch the app's `fetch`
 * @param distDir the package's `dist/` folder ({@linkcode ortDistDir})
 * @returns a `fetch` that answers `/vendor/onnxruntime-web/*` and passes everything else on
 * @example Usage
 * ```ts ignore
 * Deno.serve(withOrtVendorFiles(app.fetch, ortDistDir()));
 * ```
 */
export function withOrtVendorFiles(
  fetch: (request: Request) => Promise<Response>,
  distDir: string,
): (request: Request) => Promise<Response> {
  const dir = distDir.endsWith("/") ? distDir : `${distDir}/`;
  return async (request) => {
    const path = new URL(request.url).pathname;
    if (!path.startsWith("/vendor/")) return fetch(request);
    const name = path.startsWith(ORT_VENDOR_PREFIX) ? path.slice(ORT_VENDOR_PREFIX.length) : "";
    const type = Object.hasOwn(ORT_VENDOR_FILES, name) ? ORT_VENDOR_FILES[name] : undefined;
    if (type === undefined) {
      return new HttpError(404, "not_found", `No vendor file ${excerpt(path, 80)}`, { field: "path" }).response();
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new HttpError(405, "method_not_allowed", `HTTP method ${request.method} is not allowed on ${path}`, {
        field: "method",
        headers: { allow: "GET, HEAD" },
      }).response();
    }
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      // a regular file only, read no further than its declared size
      const read = await readLocalFile(dir + name);
      if (read === undefined) throw new Error("no such file");
      bytes = read as Uint8Array<ArrayBuffer>;
    } catch (e) {
      return new HttpError(
        503,
        "backend_unavailable",
        `onnxruntime-web's ${name} cannot be read: ${(e as Error).message}`,
      )
        .response();
    }
    const headers = {
      "content-type": type,
      "content-length": String(bytes.byteLength),
      "cache-control": "public, max-age=3600",
      "x-content-type-options": "nosniff",
    };
    return new Response(request.method === "HEAD" ? null : bytes, { headers });
  };
}
