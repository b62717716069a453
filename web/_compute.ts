/**
 * Where the app's compute runs. {@linkcode workerCompute} runs it on a dedicated Worker that loads its own copy
 * of the model, so the main thread keeps accepting, admitting and answering (`GET /api/model`) while a request
 * computes; {@linkcode inlineCompute} runs it on the calling thread (no Workers, as on Deno Deploy, or a model
 * with no files to load from). Both answer with the response's JSON text.
 *
 * @module
 */

import type { ModelFiles } from "@bertology/core/checkpoint";
import { type ExportOptions, importanceExportOptions } from "@bertology/core/export";
import type { OrtBackendName } from "@bertology/core/export/runtime";
import type { TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import { asHttpError, type ErrorCode, HttpError } from "./_errors.ts";
import type { Limits } from "./_limits.ts";
import type { Deadline } from "./_queue.ts";
import { analysisExportOptions, analyze, analyzeOnOrt, type AnalyzeRequest } from "./analyze.ts";
import { attribute, type AttributeRequest } from "./attribute.ts";
import { importance, type ImportanceExample, importanceOnOrt } from "./importance.ts";
import type { OrtSessions } from "./_ort_sessions.ts";
import { patch, type PatchRequest } from "./patch.ts";
import { circuit, circuitFaithfulness, type CircuitFaithfulnessRequest, type CircuitRequest } from "./circuit.ts";
import { type GenerateApiRequest, generateRoute } from "./generate.ts";
import { type HeadRolesRequest, headRolesRoute } from "./head_roles.ts";

/**
 * A checked compute request: what the route parsed from the body, and the ONNX Runtime backend it runs on
 * (absent: our engine; only `analyze` and `importance` take one).
 */
export type ComputeJob =
  & (
    | { kind: "analyze"; request: AnalyzeRequest }
    | { kind: "importance"; request: ImportanceExample[] }
    | { kind: "attribute"; request: AttributeRequest }
    | { kind: "patch"; request: PatchRequest }
    | { kind: "circuit"; request: CircuitRequest }
    | { kind: "circuit_faithfulness"; request: CircuitFaithfulnessRequest }
    | { kind: "generate"; request: GenerateApiRequest }
    | { kind: "head_roles"; request: HeadRolesRequest }
  )
  & { backend?: OrtBackendName };

/** Runs compute jobs one at a time (the queue sees to that). */
export interface ComputeBackend {
  /** `"worker"` or `"inline"` (the inline fallback of a worker backend that could not start reports `"inline"`). */
  readonly mode: "worker" | "inline";
  /**
   * Runs one job.
   *
   * @param job the checked request
   * @param deadline the request's deadline (from its arrival)
   * @returns the answer as JSON text
   * @throws {HttpError} what the compute refuses (422, 503 `timeout`), or 500 when a worker dies
   */
  run(job: ComputeJob, deadline: Deadline): Promise<string>;
  /**
   * Exports the model to ONNX (`GET /api/onnx`), on the compute thread like a job: a worker exports its own copy
   * and hands the bytes over (transferred, not copied), so the main thread keeps answering meanwhile.
   *
   * @param options what the graph exports
   * @param deadline the request's deadline
   * @returns the `.onnx` bytes (the caller's to keep)
   * @throws {Error} what the exporter refuses; {@linkcode HttpError} 503 past the deadline, 500 when a worker dies
   */
  exportOnnx(options: ExportOptions, deadline: Deadline): Promise<Uint8Array>;
  /**
   * Resolves once jobs can run (a worker has loaded its model, or compute fell back to inline); awaited before a
   * request takes its turn, so that the queue's job times (and its wait estimates) leave the start-up out.
   */
  ready(): Promise<void>;
  /** Stops the worker, if any (idempotent). */
  close(): void;
}

/** The model identity a worker checks its own copy against, so that it never serves another model. */
interface ModelIdentity {
  family: string;
  layers: number;
  heads: number;
  hidden: number;
  vocabSize: number;
  prunedHeads: number[][];
  labels: string[];
  hasHead: boolean;
}

/** Messages to the worker. */
export type ToWorker =
  | { type: "init"; limits: Limits; identity: ModelIdentity; dtype: "f32" | "f16" }
  | { type: "file"; id: number; bytes?: Uint8Array; error?: string }
  | { type: "job"; id: number; job: ComputeJob; remainingMs: number; deadlineMs: number }
  | { type: "export"; id: number; options: ExportOptions };

/** A thrown error, as it crosses the worker boundary. */
export interface WireError {
  status: number;
  code: ErrorCode;
  detail: string;
  field?: string;
  headers?: Record<string, string>;
}

/** Messages from the worker. */
export type FromWorker =
  | { type: "read"; id: number; name: string }
  | { type: "ready" }
  | { type: "failed"; message: string }
  | { type: "done"; id: number; json: string }
  | { type: "exported"; id: number; bytes: Uint8Array }
  | { type: "error"; id: number; error: WireError };

/**
 * The identity fields of a model (compared between the app's model and the worker's copy).
 *
 * @param model the model
 * @returns its identity
 */
export function modelIdentity(model: TransformerModel): ModelIdentity {
  const c = model.config;
  return {
    family: c.family,
    layers: c.layers,
    heads: c.heads,
    hidden: c.hidden,
    vocabSize: c.vocabSize,
    prunedHeads: c.prunedHeads.map((p) => [...p]),
    labels: [...c.labels],
    hasHead: model.hasHead,
  };
}

/** What one compute thread runs jobs on: the model, its tokenizer, the limits and its ONNX Runtime sessions. */
export interface ComputeContext {
  /** The model. */
  model: TransformerModel;
  /** Its tokenizer. */
  tokenizer: Tokenizer;
  /** The limits. */
  limits: Limits;
  /** This thread's sessions of the model's exports (a job with a `backend` opens one on first use). */
  sessions: OrtSessions;
}

/**
 * Runs one job in this thread (what the inline backend and the worker both call): on our engine, or on the
 * job's ONNX Runtime backend through the thread's cached export and session.
 *
 * @param ctx the model, tokenizer, limits and sessions
 * @param job the checked request
 * @param deadline the request's deadline
 * @returns the answer as JSON text
 * @throws {HttpError} 422 for too many tokens, 503 when the deadline passes or the backend cannot run here
 */
export async function computeJson(ctx: ComputeContext, job: ComputeJob, deadline: Deadline): Promise<string> {
  const { model, tokenizer, limits } = ctx;
  switch (job.kind) {
    case "analyze": {
      if (job.backend === undefined) return JSON.stringify(analyze(model, tokenizer, job.request, limits, deadline));
      const onnx = await ctx.sessions.open(job.backend, analysisExportOptions(model));
      return JSON.stringify(await analyzeOnOrt(model, onnx, tokenizer, job.request, limits, deadline));
    }
    case "importance": {
      if (job.backend === undefined) {
        return JSON.stringify(importance(model, tokenizer, job.request, limits, deadline));
      }
      const onnx = await ctx.sessions.open(job.backend, importanceExportOptions(true));
      return JSON.stringify(await importanceOnOrt(model, onnx, tokenizer, job.request, limits, deadline));
    }
    case "attribute":
      return JSON.stringify(attribute(model, tokenizer, job.request, limits, deadline));
    case "patch":
      return JSON.stringify(patch(model, tokenizer, job.request, limits, deadline));
    case "circuit":
      return JSON.stringify(circuit(model, tokenizer, job.request, limits, deadline));
    case "circuit_faithfulness":
      return JSON.stringify(circuitFaithfulness(model, tokenizer, job.request, limits, deadline));
    case "generate":
      return JSON.stringify(await generateRoute(model, tokenizer, job.request, limits, deadline));
    case "head_roles":
      return JSON.stringify(headRolesRoute(model, tokenizer, job.request, deadline));
  }
}

/**
 * Compute on the calling thread: blocks the event loop while a job runs (the queue gives it a turn between
 * two jobs).
 *
 * @param ctx the model, its tokenizer, the limits and this thread's ONNX Runtime sessions
 * @returns the backend
 * @example Usage
 * ```ts ignore
 * const backend = inlineCompute({ model, tokenizer, limits, sessions: new OrtSessions(model) });
 * const json = await backend.run({ kind: "analyze", request: { text: "hi" } }, new Deadline(1000));
 * ```
 */
export function inlineCompute(ctx: ComputeContext): ComputeBackend {
  return {
    mode: "inline",
    run: (job, deadline) => Promise.resolve().then(() => computeJson(ctx, job, deadline)),
    exportOnnx: (options) => Promise.resolve().then(() => ctx.sessions.exports.bytes(options)),
    ready: () => Promise.resolve(),
    close() {
      void ctx.sessions.close();
    },
  };
}

/**
 * The runtime's Web Worker, taken when this module loads: onnxruntime-web's Node build (Emscripten) replaces
 * `globalThis.Worker` with `worker_threads.Worker` once its wasm starts, and a compute worker started through
 * that one has no `self` and never loads.
 */
const WebWorker: typeof Worker | undefined = typeof Worker === "function" ? Worker : undefined;

/** How long past its deadline a worker job may run before the worker is stopped (and started afresh). */
const HARD_STOP_GRACE_MS = 1000;

/**
 * Whether this runtime may load the worker's script: under Deno, a `file:` worker needs read permission for
 * it (a run granted read of the model folder only would otherwise print an uncaught error from the worker).
 *
 * @param script the worker module
 * @returns `false` only when Deno says read is not granted
 */
function mayReadWorkerScript(script: URL): boolean {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (script.protocol !== "file:" || !deno?.permissions?.querySync) return true;
  try {
    return deno.permissions.querySync({ name: "read", path: script }).state === "granted";
  } catch {
    return true;
  }
}

/**
 * The wire form of an error thrown in the compute worker: a typed one as its HTTP error (`asHttpError`: an
 * `HttpError`, a tokenizer's refusal as 422), anything else 500 `internal`.
 *
 * @param err what was thrown
 * @returns the wire form
 * @example Usage
 * ```ts
 * import { TokenizerInputError } from "@bertology/core/tokenizers";
 * import { toWire } from "./_compute.ts";
 * toWire(new TokenizerInputError("lone surrogate")).status; // 422
 * ```
 */
export function toWire(err: unknown): WireError {
  const e = asHttpError(err);
  if (e) {
    const wire: WireError = { status: e.status, code: e.code, detail: e.message, headers: e.headers };
    if (e.field !== undefined) wire.field = e.field;
    return wire;
  }
  return { status: 500, code: "internal", detail: err instanceof Error ? err.message : String(err) };
}

/**
 * Rebuilds an error that crossed the worker boundary.
 *
 * @param e the wire form
 * @returns the error
 */
function fromWire(e: WireError): HttpError {
  const opts: { field?: string; headers?: Record<string, string> } = {};
  if (e.field !== undefined) opts.field = e.field;
  if (e.headers !== undefined) opts.headers = e.headers;
  return new HttpError(e.status, e.code, e.detail, opts);
}

/**
 * Compute on a dedicated Worker (`_compute_worker.ts`) that loads its own copy of the model from `files`
 * (the worker asks this thread for each file, so any {@linkcode ModelFiles} works). The worker starts on the
 * first job; a job that runs past its deadline (plus a grace second) is answered with 503 `timeout` and the
 * worker is stopped, to start afresh on the next job. When no Worker can start (none in this runtime, or the
 * model fails to load there), every job runs on `fallback` instead, and one line says so.
 *
 * @param files the model's files
 * @param model the app's copy of the model (the worker checks that it loaded the same one)
 * @param limits the limits
 * @param fallback the inline backend to use when no Worker can start
 * @returns the backend
 * @example Usage
 * ```ts ignore
 * const backend = workerCompute(localFiles(dir), model, limits, inlineCompute(model, tokenizer, limits));
 * backend.close();
 * ```
 */
export function workerCompute(
  files: ModelFiles,
  model: TransformerModel,
  limits: Limits,
  fallback: ComputeBackend,
): ComputeBackend {
  const identity = modelIdentity(model);
  // the worker keeps the weights as the app's copy does: 16-bit ones stay 16-bit (--dtype f16)
  const dtype = model.params.hasHalfWeights() ? "f16" as const : "f32" as const;
  let worker: Worker | undefined;
  let ready: Promise<Worker | undefined> | undefined;
  let usingFallback = WebWorker === undefined;
  let closed = false;
  let nextId = 1;
  const pending = new Map<number, { resolve: (answer: string | Uint8Array) => void; reject: (e: unknown) => void }>();

  const failAll = (e: unknown) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  const stop = () => {
    worker?.terminate();
    worker = undefined;
    ready = undefined;
  };

  const start = (): Promise<Worker | undefined> => {
    ready ??= new Promise<Worker | undefined>((resolve) => {
      let w: Worker;
      const script = new URL("./_compute_worker.ts", import.meta.url);
      if (!mayReadWorkerScript(script)) {
        console.error(`bertology web: compute runs inline (no read permission for the worker, ${script.pathname})`);
        usingFallback = true;
        return resolve(undefined);
      }
      try {
        w = new WebWorker!(script, { type: "module" });
      } catch (e) {
        console.error(`bertology web: compute runs inline (no worker: ${(e as Error).message})`);
        usingFallback = true;
        return resolve(undefined);
      }
      let isReady = false;
      w.onmessage = async (ev: MessageEvent<FromWorker>) => {
        const msg = ev.data;
        if (msg.type === "read") {
          try {
            const bytes = await files.read(msg.name);
            w.postMessage({ type: "file", id: msg.id, ...(bytes ? { bytes } : {}) } satisfies ToWorker);
          } catch (e) {
            w.postMessage({ type: "file", id: msg.id, error: (e as Error).message } satisfies ToWorker);
          }
        } else if (msg.type === "ready") {
          isReady = true;
          worker = w;
          resolve(w);
        } else if (msg.type === "failed") {
          console.error(`bertology web: compute runs inline (the worker could not load the model: ${msg.message})`);
          w.terminate();
          usingFallback = true;
          resolve(undefined);
        } else {
          const p = pending.get(msg.id);
          if (!p) return; // answered already (hard stop)
          pending.delete(msg.id);
          if (msg.type === "done") p.resolve(msg.json);
          else if (msg.type === "exported") p.resolve(msg.bytes);
          else p.reject(fromWire(msg.error));
        }
      };
      w.onerror = (ev: ErrorEvent) => {
        ev.preventDefault();
        if (!isReady) {
          console.error(`bertology web: compute runs inline (the worker did not start: ${ev.message})`);
          usingFallback = true;
          w.terminate();
          return resolve(undefined);
        }
        stop();
        failAll(new HttpError(500, "internal", `The compute worker stopped: ${ev.message}`));
      };
      w.postMessage({ type: "init", limits, identity, dtype } satisfies ToWorker);
    });
    return ready;
  };

  /** The started worker, or `undefined` when compute falls back to inline. */
  const startedWorker = async (deadline: Deadline): Promise<Worker | undefined> => {
    if (closed) throw new HttpError(503, "model_unavailable", "The app is closed");
    const w = usingFallback ? undefined : await start();
    if (w) deadline.check("start of compute");
    return w;
  };

  /** Posts one message to the worker and waits for its answer, at most until the deadline (plus a grace second). */
  const call = (w: Worker, deadline: Deadline, message: (id: number) => ToWorker): Promise<string | Uint8Array> => {
    const id = nextId++;
    return new Promise<string | Uint8Array>((resolve, reject) => {
      const hardStop = setTimeout(() => {
        if (!pending.delete(id)) return;
        stop(); // the job may be stuck in one long step; a fresh worker takes the next one
        reject(
          new HttpError(503, "timeout", `Request exceeded its time limit of ${deadline.limitMs} ms (in compute)`, {
            headers: { "retry-after": "2" },
          }),
        );
      }, Math.max(0, deadline.remainingMs) + HARD_STOP_GRACE_MS);
      pending.set(id, {
        resolve: (answer) => {
          clearTimeout(hardStop);
          resolve(answer);
        },
        reject: (e) => {
          clearTimeout(hardStop);
          reject(e);
        },
      });
      w.postMessage(message(id));
    });
  };

  return {
    get mode() {
      return usingFallback ? "inline" : "worker";
    },
    async ready() {
      if (!closed && !usingFallback) await start();
    },
    async run(job, deadline) {
      const w = await startedWorker(deadline);
      if (!w) return fallback.run(job, deadline);
      const answer = await call(w, deadline, (id) => ({
        type: "job",
        id,
        job,
        remainingMs: deadline.remainingMs,
        deadlineMs: deadline.limitMs,
      }));
      return answer as string;
    },
    async exportOnnx(options, deadline) {
      const w = await startedWorker(deadline);
      if (!w) return fallback.exportOnnx(options, deadline);
      return await call(w, deadline, (id) => ({ type: "export", id, options })) as Uint8Array;
    },
    close() {
      closed = true;
      stop();
      failAll(new HttpError(503, "model_unavailable", "The app is closed"));
      fallback.close();
    },
  };
}
