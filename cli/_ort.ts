/**
 * The ONNX Runtime backends of the CLI (`--backend ort-wasm|ort-webgpu|ort-node`): loads the runtime package,
 * checks it can run here, and opens a model exported in memory by `@bertology/core/export` in a session.
 *
 * @module
 */

import { exportOnnx, type ExportOptions, OrtModel, type OrtRuntime } from "@bertology/core/export";
import type { TransformerModel } from "@bertology/core/models";
import { UsageError } from "./_common.ts";

/** The `--backend` values: our WASM engine, or an exported graph on an ONNX Runtime. */
export const BACKENDS = ["wasm", "ort-wasm", "ort-webgpu", "ort-node"] as const;

/** One of {@linkcode BACKENDS}. */
export type BackendName = typeof BACKENDS[number];

/** A backend that cannot run on this machine; the message says which and why. */
export class BackendUnavailable extends Error {}

/**
 * Checks a `--backend` value.
 *
 * @param value the flag's value (default `wasm`)
 * @returns the backend name
 * @throws {UsageError} for an unknown backend, listing the known ones
 */
export function parseBackend(value: string | undefined): BackendName {
  const v = value ?? "wasm";
  if (!(BACKENDS as readonly string[]).includes(v)) {
    throw new UsageError(`--backend takes ${BACKENDS.join(", ")}, got "${v}"`);
  }
  return v as BackendName;
}

/** Loads an ONNX Runtime package and the execution providers of a backend, or says why it cannot. */
export async function loadOrt(
  backend: Exclude<BackendName, "wasm">,
  threads = 1,
): Promise<{ ort: OrtRuntime; providers: string[]; label: string }> {
  if (backend === "ort-wasm") {
    const ort = await import("onnxruntime-web");
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
    const ort = await import("onnxruntime-web/webgpu");
    ort.env.logLevel = "error";
    return { ort, providers: ["webgpu"], label: "onnxruntime-web webgpu" };
  }
  let mod: OrtRuntime & { env?: { logLevel?: string } };
  try {
    mod = await import("onnxruntime-node");
  } catch (e) {
    throw new BackendUnavailable(
      `ort-node is not available: the onnxruntime-node package could not be loaded (${(e as Error).message})`,
    );
  }
  if (mod.env) mod.env.logLevel = "error";
  return { ort: mod, providers: ["cpu"], label: "onnxruntime-node cpu" };
}

/**
 * Exports a loaded model in memory and opens it on an ONNX Runtime backend.
 *
 * @param model the model
 * @param backend which runtime
 * @param options what the graph exports (outputs, gradient)
 * @returns the session's model
 * @throws {BackendUnavailable} when the backend cannot run here
 */
export async function openOrtModel(
  model: TransformerModel,
  backend: Exclude<BackendName, "wasm">,
  options: ExportOptions,
): Promise<OrtModel> {
  const { ort, providers, label } = await loadOrt(backend);
  const { bytes } = exportOnnx(model, options);
  return await OrtModel.create(ort, bytes, model.config, { executionProviders: providers, backend: label });
}
