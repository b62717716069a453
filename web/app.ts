/**
 * The edge analyzer: an app object whose `fetch(request)` serves the JSON API and the page that shows every
 * attention head of a transformer. The same object runs under `Deno.serve`, `deno serve` and Deno Deploy; it
 * keeps no module globals, writes no files and calls no `Deno.*` API. Given the model's files, it computes on a
 * Worker (the main thread keeps accepting and answering meanwhile); without them, or with no Workers, inline.
 *
 * @example Usage
 * ```ts ignore
 * import { localFiles } from "@bertology/core/checkpoint/deno";
 * import { loadModel } from "@bertology/core/models";
 * import { createApp } from "./app.ts";
 * const { model, tokenizer, files } = await loadModel(localFiles("models/bert-sst2"));
 * const app = createApp({ model, tokenizer: tokenizer!, files }); // compute on a Worker
 * Deno.serve(app.fetch);
 * ```
 *
 * @module
 */

import type { ModelFiles } from "@bertology/core/checkpoint";
import type { TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import { type ComputeBackend, type ComputeJob, inlineCompute, workerCompute } from "./_compute.ts";
import { errorToResponse, excerpt, HttpError, jsonResponse } from "./_errors.ts";
import { BodyBudget, type Limits, readJsonBody, resolveLimits } from "./_limits.ts";
import { ComputeQueue } from "./_queue.ts";
import { parseAnalyzeRequest } from "./analyze.ts";
import { parseAttributeRequest } from "./attribute.ts";
import { parseImportanceRequest } from "./importance.ts";
import { parsePatchRequest } from "./patch.ts";
import { parseCircuitFaithfulnessRequest, parseCircuitRequest } from "./circuit.ts";
import { parseGenerateRequest } from "./generate.ts";
import { parseHeadRolesRequest } from "./head_roles.ts";
import { OnnxDownloads } from "./onnx_route.ts";
import { tokenize } from "./tokenize.ts";
import { OnnxExports, OrtSessions } from "./_ort_sessions.ts";
import { backendField } from "./_validate.ts";
import { type BackendName, isBackendName, type OrtBackendName } from "@bertology/core/export/runtime";
import { APP_CSS, APP_JS, PAGE_HTML } from "./static/_assets.ts";
import { modelSummary } from "./model_summary.ts";

export type { Limits } from "./_limits.ts";
export { DEFAULT_LIMITS } from "./_limits.ts";

/** The edge-function shape: Deno Deploy, `deno serve` and `Deno.serve(app.fetch)` all take it. */
export interface App {
  /** Answers one request; never throws (errors become JSON responses). */
  fetch(request: Request): Promise<Response>;
  /** Stops the compute worker, if one runs (idempotent; later compute requests get 503). */
  close?(): void;
}

/** What {@linkcode createApp} serves. */
export interface AppOptions {
  /** The loaded model (one run at a time: the app queues compute). */
  model: TransformerModel;
  /** Its tokenizer. */
  tokenizer: Tokenizer;
  /** Overrides of {@linkcode DEFAULT_LIMITS}. */
  limits?: Partial<Limits>;
  /** A display name for the model (default: its family). */
  name?: string;
  /**
   * The model's own files (`loadModel(...).files`): with them, compute runs on a Worker that loads its own
   * copy, so the main thread keeps answering while a request computes. Without them, compute is inline.
   */
  files?: ModelFiles;
  /** `"worker"` (the default when `files` is given; inline where Workers are missing) or `"inline"`. */
  compute?: "worker" | "inline";
  /**
   * The backends `/api/analyze` and `/api/importance` accept in their `backend` field, the first being the
   * page's default (default `["wasm"]`, our engine only). An ONNX Runtime backend runs the model exported once
   * per outputs set, in a session on the compute thread.
   */
  backends?: readonly BackendName[];
  /**
   * Offer in-browser compute: `GET /api/onnx` hands out the exported model, and `/api/model` says the page may
   * run it through onnxruntime-web. Only where the server also serves onnxruntime-web's files under
   * `/vendor/onnxruntime-web/` (`serve.ts` does; an edge deployment has no file to serve). Default `false`.
   */
  browserCompute?: boolean;
}

export type { ModelSummary } from "./model_summary.ts";

type Handler = (request: Request) => Promise<Response> | Response;

const PAGE_HEADERS = {
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self' 'wasm-unsafe-eval'; " +
    "connect-src 'self'; frame-ancestors 'none'",
};

/**
 * Builds the app for a loaded model.
 *
 * @param opts the model, its tokenizer, limits, display name
 * @returns `{ fetch }`
 * @throws {Error} for a limit that is not a positive integer
 * @example Usage
 * ```ts
 * import { localFiles } from "@bertology/core/checkpoint/deno";
 * import { loadModel } from "@bertology/core/models";
 * import { createApp } from "./app.ts";
 * const { model, tokenizer } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"));
 * const app = createApp({ model, tokenizer: tokenizer!, limits: { maxTokens: 64 } });
 * const res = await app.fetch(new Request("http://localhost/api/model"));
 * (await res.json()).task; // "classify"
 * const analysis = await app.fetch(
 *   new Request("http://localhost/api/analyze", {
 *     method: "POST",
 *     headers: { "content-type": "application/json" },
 *     body: JSON.stringify({ text: "a gripping film" }),
 *   }),
 * );
 * (await analysis.json()).tokens.length; // 5
 * app.close?.();
 * ```
 */
export function createApp(opts: AppOptions): App {
  const { model, tokenizer } = opts;
  const c = model.config;
  const limits = resolveLimits(opts.limits, c.maxPositions);
  const queue = new ComputeQueue({ maxWaiting: limits.maxQueue, timeoutMs: limits.timeoutMs });
  const bodyBudget = new BodyBudget(limits.maxBodyBytesInFlight);
  const backends = checkBackends(opts.backends ?? ["wasm"]);
  const exports = new OnnxExports(model);
  const inline = inlineCompute({ model, tokenizer, limits, sessions: new OrtSessions(model, exports) });
  const backend: ComputeBackend = opts.files && opts.compute !== "inline"
    ? workerCompute(opts.files, model, limits, inline)
    : inline;
  const onnx = new OnnxDownloads(model, limits, queue, backend);
  const summary = modelSummary(model, tokenizer, {
    name: opts.name ?? c.family,
    limits,
    backends,
    browserCompute: opts.browserCompute === true,
  });

  const asset = (body: string, type: string): Handler => () =>
    new Response(body, { headers: { "content-type": `${type}; charset=utf-8`, ...PAGE_HEADERS } });

  const routes: Record<string, Record<string, Handler>> = {
    "/": { GET: asset(PAGE_HTML, "text/html") },
    "/app.js": { GET: asset(APP_JS, "text/javascript") },
    "/app.css": { GET: asset(APP_CSS, "text/css") },
    "/api/model": { GET: () => jsonResponse(summary) },
    "/api/analyze": {
      POST: (request) =>
        compute(request, (body) => ({
          kind: "analyze",
          request: parseAnalyzeRequest(body, model, limits),
          ...onBackend(body),
        })),
    },
    "/api/importance": {
      POST: (request) =>
        compute(request, (body) => ({
          kind: "importance",
          request: parseImportanceRequest(body, model, limits),
          ...onBackend(body),
        })),
    },
    "/api/tokenize": {
      POST: async (request) =>
        jsonResponse(tokenize(
          tokenizer,
          await readJsonBody(request, limits.maxBodyBytes, {
            timeoutMs: limits.bodyTimeoutMs,
            budget: bodyBudget,
          }),
          limits,
        )),
    },
    "/api/onnx": {
      GET: (request) => {
        if (opts.browserCompute !== true) {
          throw new HttpError(404, "not_found", "This server does not offer in-browser compute (no /api/onnx)", {
            field: "path",
          });
        }
        return onnx.response(new URL(request.url).searchParams.get("outputs"), queue.deadline());
      },
    },
    "/api/attribute": {
      POST: (request) =>
        compute(request, (body) => ({ kind: "attribute", request: parseAttributeRequest(body, model, limits) })),
    },
    "/api/patch": {
      POST: (request) =>
        compute(request, (body) => ({ kind: "patch", request: parsePatchRequest(body, model, limits) })),
    },
    "/api/circuit": {
      POST: (request) =>
        compute(request, (body) => ({ kind: "circuit", request: parseCircuitRequest(body, model, limits) })),
    },
    "/api/circuit/faithfulness": {
      POST: (request) =>
        compute(request, (body) => ({
          kind: "circuit_faithfulness",
          request: parseCircuitFaithfulnessRequest(body, model, limits),
        })),
    },
    "/api/generate": {
      POST: (request) =>
        compute(request, (body) => ({ kind: "generate", request: parseGenerateRequest(body, model, limits) })),
    },
    "/api/head-roles": {
      POST: (request) =>
        compute(request, (body) => ({ kind: "head_roles", request: parseHeadRolesRequest(body, model, limits) })),
    },
  };

  /** The `backend` of a compute body, as a job field (none: our engine). */
  function onBackend(body: unknown): { backend?: OrtBackendName } {
    const backend = backendField(body, backends);
    return backend === undefined ? {} : { backend };
  }

  /**
   * A compute request: refused on arrival when the queue is full, before its body is read; else the body is
   * read within the header-to-body limit, the request's deadline and the shared body budget, checked, and
   * run when its turn comes (refused then if the queue filled meanwhile).
   */
  async function compute(request: Request, parse: (body: unknown) => ComputeJob): Promise<Response> {
    const deadline = queue.deadline(); // from arrival: the body, the wait and the compute all count
    try {
      queue.refuseIfFull(deadline);
    } catch (e) {
      await request.body?.cancel().catch(() => {});
      throw e;
    }
    const timeoutMs = Math.min(limits.bodyTimeoutMs, deadline.remainingMs);
    const job = parse(await readJsonBody(request, limits.maxBodyBytes, { timeoutMs, budget: bodyBudget }));
    await deadline.within(backend.ready(), "the model load"); // a worker's first start: not a queue job
    // answered at the deadline at the latest, even while the worker finishes its current step
    const json = await deadline.within(queue.run((d) => backend.run(job, d), deadline), "the compute queue");
    return new Response(json, {
      headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
    });
  }

  return {
    async fetch(request: Request): Promise<Response> {
      try {
        const path = new URL(request.url).pathname;
        const route = routes[path];
        if (!route) throw new HttpError(404, "not_found", `No route for path ${excerpt(path, 80)}`, { field: "path" });
        const method = request.method === "HEAD" && route.GET ? "GET" : request.method;
        const handler = route[method];
        if (!handler) {
          const allow = Object.keys(route).flatMap((m) => m === "GET" ? ["GET", "HEAD"] : [m]).join(", ");
          throw new HttpError(
            405,
            "method_not_allowed",
            `HTTP method ${request.method} is not allowed on ${path} (allowed: ${allow})`,
            {
              field: "method",
              headers: { allow },
            },
          );
        }
        const res = await handler(request);
        if (request.method !== "HEAD") return res;
        await res.body?.cancel(); // a streamed body (GET /api/onnx) is not read
        return new Response(null, { status: res.status, headers: res.headers });
      } catch (err) {
        return errorToResponse(err);
      }
    },
    close() {
      backend.close();
    },
  };
}

/** Checks the `backends` option: known names, no repeats, at least one. */
function checkBackends(list: readonly BackendName[]): readonly BackendName[] {
  if (list.length === 0) throw new Error(`Option "backends" must name at least one backend`);
  for (const b of list) {
    if (!isBackendName(b)) throw new Error(`Option "backends": unknown backend ${JSON.stringify(b)}`);
  }
  if (new Set(list).size !== list.length) throw new Error(`Option "backends" names a backend twice`);
  return list;
}

/**
 * An app whose model loads in the background (start-up of an edge isolate): requests wait for the load, and
 * a failed load answers every request with 503 `model_unavailable` naming the cause.
 *
 * @param load loads the model and tokenizer
 * @returns `{ fetch }`
 * @example Usage
 * ```ts ignore
 * const app = createLazyApp(async () => {
 *   const { model, tokenizer } = await loadModel(localFiles("models/bert-sst2"));
 *   return { model, tokenizer: tokenizer! };
 * });
 * ```
 */
export function createLazyApp(load: () => Promise<AppOptions>): App {
  const ready: Promise<App | Error> = load().then(
    (opts) => createApp(opts),
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  return {
    async fetch(request: Request): Promise<Response> {
      const app = await ready;
      if (app instanceof Error) {
        return new HttpError(503, "model_unavailable", `The model could not be loaded: ${app.message}`, {
          headers: { "retry-after": "60" },
        }).response();
      }
      return app.fetch(request);
    },
    close() {
      void ready.then((app) => app instanceof Error ? undefined : app.close?.());
    },
  };
}
