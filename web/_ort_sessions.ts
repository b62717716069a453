/**
 * The app's ONNX Runtime side: the model exported once per outputs set (kept for the app's lifetime, also what
 * `GET /api/onnx` serves) and one session per backend and export, opened on first use. Each compute thread —
 * the app's, or the compute worker with its own copy of the model — holds its own.
 *
 * @module
 */

import { exportOnnx, type ExportOptions, type OrtModel } from "@bertology/core/export";
import { BackendUnavailable, openOrtBytes, type OrtBackendName } from "@bertology/core/export/runtime";
import type { TransformerModel } from "@bertology/core/models";
import { HttpError } from "./_errors.ts";

/**
 * A stable key for export options (the same outputs in any order are one export).
 *
 * @param options the export options
 * @returns the key
 */
function exportKey(options: ExportOptions): string {
  return JSON.stringify([[...(options.outputs ?? [])].sort(), options.grad ?? null, options.dtype ?? "f32"]);
}

/**
 * A model's ONNX exports, made on first request and kept.
 *
 * @example Usage
 * ```ts ignore
 * const exports = new OnnxExports(model);
 * exports.bytes({ outputs: ["logits", "attentions"] }) === exports.bytes({ outputs: ["attentions", "logits"] }); // true
 * ```
 */
export class OnnxExports {
  readonly #model: TransformerModel;
  readonly #bytes = new Map<string, Uint8Array>();

  /**
   * @param model the model to export
   */
  constructor(model: TransformerModel) {
    this.#model = model;
  }

  /**
   * The `.onnx` bytes for a set of outputs (exported now the first time).
   *
   * @param options outputs and gradient
   * @returns the bytes (shared: do not modify)
   * @throws {Error} what the exporter refuses (an output the family lacks)
   */
  bytes(options: ExportOptions): Uint8Array {
    const key = exportKey(options);
    let bytes = this.#bytes.get(key);
    if (bytes === undefined) {
      bytes = exportOnnx(this.#model, options).bytes;
      this.#bytes.set(key, bytes);
    }
    return bytes;
  }
}

/**
 * Sessions of a model's exports on ONNX Runtime backends, opened on first use and kept until
 * {@linkcode OrtSessions.close}.
 *
 * @example Usage
 * ```ts ignore
 * const sessions = new OrtSessions(model);
 * const onnx = await sessions.open("ort-wasm", { outputs: ["logits"] });
 * await sessions.close();
 * ```
 */
export class OrtSessions {
  readonly #model: TransformerModel;
  readonly #exports: OnnxExports;
  readonly #open = new Map<string, Promise<OrtModel>>();

  /**
   * @param model the model
   * @param exports where its exports are kept (default: a cache of its own)
   */
  constructor(model: TransformerModel, exports: OnnxExports = new OnnxExports(model)) {
    this.#model = model;
    this.#exports = exports;
  }

  /** Where this thread's exports are kept (the inline backend serves `GET /api/onnx` from it too). */
  get exports(): OnnxExports {
    return this.#exports;
  }

  /**
   * The session of an export on a backend.
   *
   * @param backend which runtime
   * @param options what the graph exports
   * @returns the exported model in its session
   * @throws {HttpError} 503 `backend_unavailable` (field `backend`) when the runtime cannot run here, saying why
   */
  async open(backend: OrtBackendName, options: ExportOptions): Promise<OrtModel> {
    const key = `${backend} ${exportKey(options)}`;
    let session = this.#open.get(key);
    if (session === undefined) {
      session = Promise.resolve().then(() => openOrtBytes(this.#exports.bytes(options), this.#model.config, backend));
      this.#open.set(key, session);
      session.catch(() => this.#open.delete(key)); // a later request tries again
    }
    try {
      return await session;
    } catch (e) {
      if (e instanceof BackendUnavailable) {
        throw new HttpError(503, "backend_unavailable", e.message, { field: "backend" });
      }
      throw new HttpError(503, "backend_unavailable", `${backend} could not open the model: ${(e as Error).message}`, {
        field: "backend",
      });
    }
  }

  /** Releases every open session (idempotent). */
  async close(): Promise<void> {
    const open = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(open.map((s) => s.then((m) => m.release(), () => {})));
  }
}
