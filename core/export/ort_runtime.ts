/**
 * Loading an ONNX Runtime package for a backend: `ort-wasm` (onnxruntime-web's wasm provider), `ort-webgpu`
 * (onnxruntime-web on `navigator.gpu`) or `ort-node` (onnxruntime-node, native). Each check says why a backend
 * cannot run here (no adapter, package missing). Kept out of `@bertology/core/export` (its own entry,
 * `@bertology/core/export/runtime`) so that a browser bundle of core never sees `onnxruntime-node`.
 *
 * @example Usage
 * ```ts
 * import { loadOrt } from "./ort_runtime.ts";
 * const { providers } = await loadOrt("ort-wasm");
 * providers; // ["wasm"]
 * ```
 *
 * @module
 */

import type { ModelConfig } from "../models/config.ts";
import type { TransformerModel } from "../models/model.ts";
import { exportOnnx, type ExportOptions } from "./export.ts";
import { OrtModel, type OrtRuntime } from "./ort_backend.ts";

/** The backend names: our WASM engine, or an exported graph on an ONNX Runtime. */
export const BACKENDS = ["wasm", "ort-wasm", "ort-webgpu", "ort-node"] as const;

/** One of {@linkcode BACKENDS}. */
export type BackendName = typeof BACKENDS[number];

/** A backend that runs an exported graph on ONNX Runtime (every backend but `wasm`). */
export type OrtBackendName = Exclude<BackendName, "wasm">;

/** A backend that cannot run on this machine; the message says which and why. */
export class BackendUnavailable extends Error {
  /**
   * @param message which backend and why
   */
  constructor(message: string) {
    super(message);
    this.name = "BackendUnavailable";
  }
}

/**
 * Whether a string names a backend.
 *
 * @param value the string
 * @returns whether it is one of {@linkcode BACKENDS}
 * @example Usage
 * ```ts
 * import { isBackendName } from "./ort_runtime.ts";
 * isBackendName("ort-node"); // true
 * ```
 */
export function isBackendName(value: string): value is BackendName {
  return (BACKENDS as readonly string[]).includes(value);
}

/** An ONNX Runtime package loaded for a backend. */
export interface LoadedOrt {
  /** The package. */
  ort: OrtRuntime;
  /** The execution providers to create sessions with. */
  providers: string[];
  /** Where it runs, for messages (`onnxruntime-web wasm (1 thread)` …). */
  label: string;
}

/** The part of an ONNX Runtime package's `env` set here. */
interface OrtEnv {
  logLevel?: string;
  wasm: { numThreads?: number };
}

/**
 * Imports an ONNX Runtime package by a specifier computed at run time, so that a module graph built ahead (a
 * bundle, a Deno Deploy build of the web analyzer) does not take in the runtimes — 100+ MB of WASM and a native
 * library — that only a chosen backend loads. The specifiers are full `npm:` ones, so core needs no import map.
 */
async function importRuntime(name: string): Promise<OrtRuntime & { env: OrtEnv }> {
  return await import(name); // `name`, not a literal: see above
}

/**
 * Loads an ONNX Runtime package and the execution providers of a backend, or says why it cannot.
 *
 * @param backend which runtime
 * @param threads wasm threads (`ort-wasm` only)
 * @returns the package, its providers and a label
 * @throws {BackendUnavailable} when the backend cannot run here (no `navigator.gpu` or adapter, package missing)
 * @example Usage
 * ```ts
 * import { loadOrt } from "./ort_runtime.ts";
 * (await loadOrt("ort-wasm", 1)).label; // "onnxruntime-web wasm (1 thread)"
 * ```
 */
export async function loadOrt(backend: OrtBackendName, threads = 1): Promise<LoadedOrt> {
  if (backend === "ort-wasm") {
    const ort = await importRuntime("npm:onnxruntime-web@1.30.0");
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = "error";
    return { ort, providers: ["wasm"], label: `onnxruntime-web wasm (${threads} thread${threads > 1 ? "s" : ""})` };
  }
  if (backend === "ort-webgpu") {
    const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
    if (gpu === undefined) {
      throw new BackendUnavailable("ort-webgpu is not available: this runtime has no navigator.gpu");
    }
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (adapter === null || adapter === undefined) {
      throw new BackendUnavailable("ort-webgpu is not available: navigator.gpu found no WebGPU adapter");
    }
    const ort = await importRuntime("npm:onnxruntime-web@1.30.0/webgpu");
    ort.env.logLevel = "error";
    return { ort, providers: ["webgpu"], label: "onnxruntime-web webgpu" };
  }
  let mod: OrtRuntime & { env?: { logLevel?: string } };
  try {
    mod = await importRuntime("npm:onnxruntime-node@1.30.0");
  } catch (e) {
    throw new BackendUnavailable(
      `ort-node is not available: the onnxruntime-node package could not be loaded (${(e as Error).message})`,
    );
  }
  if (mod.env) mod.env.logLevel = "error";
  if (nodeCudaInstalled()) return { ort: mod, providers: ["cuda", "cpu"], label: "onnxruntime-node cuda" };
  return { ort: mod, providers: ["cpu"], label: "onnxruntime-node cpu" };
}

/**
 * Whether onnxruntime-node's CUDA provider library lies beside its binding (the package installed with
 * `--onnxruntime-node-install=cuda12`, Linux): then `ort-node` asks for CUDA first, CPU after. Looked for rather
 * than tried, because a session asking for a missing provider prints a native error before it fails. False where
 * it cannot be read (no read permission of the npm cache, no `Deno`).
 */
export function nodeCudaInstalled(): boolean {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined || deno.build.os !== "linux") return false;
  try {
    const entry = import.meta.resolve("npm:onnxruntime-node@1.30.0"); // …/onnxruntime-node/<version>/dist/index.js
    const arch = deno.build.arch === "aarch64" ? "arm64" : "x64";
    const lib = new URL(`../bin/napi-v6/linux/${arch}/libonnxruntime_providers_cuda.so`, entry);
    return deno.statSync(lib).isFile;
  } catch {
    return false;
  }
}

/**
 * Opens an exported model's bytes on an ONNX Runtime backend.
 *
 * @param bytes the `.onnx` file's bytes
 * @param config the config it was exported from
 * @param backend which runtime
 * @returns the session's model
 * @throws {BackendUnavailable} when the backend cannot run here
 * @example Usage
 * ```ts ignore
 * const onnx = await openOrtBytes(exportOnnx(model).bytes, model.config, "ort-node");
 * ```
 */
export async function openOrtBytes(bytes: Uint8Array, config: ModelConfig, backend: OrtBackendName): Promise<OrtModel> {
  const { ort, providers, label } = await loadOrt(backend);
  return await OrtModel.create(ort, bytes, config, { executionProviders: providers, backend: label });
}

/**
 * Exports a loaded model in memory and opens it on an ONNX Runtime backend.
 *
 * @param model the model
 * @param backend which runtime
 * @param options what the graph exports (outputs, gradient)
 * @returns the session's model
 * @throws {BackendUnavailable} when the backend cannot run here
 * @example Usage
 * ```ts ignore
 * const onnx = await openOrtModel(model, "ort-wasm", { outputs: ["logits"] });
 * await onnx.release();
 * ```
 */
export function openOrtModel(
  model: TransformerModel,
  backend: OrtBackendName,
  options: ExportOptions,
): Promise<OrtModel> {
  return openOrtBytes(exportOnnx(model, options).bytes, model.config, backend);
}
