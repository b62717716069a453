/**
 * The page's side of the compute worker: numbered requests, progress callbacks, and cancel — the worker runs a
 * job synchronously, so a cancel terminates it and starts a fresh one that loads the same model again.
 *
 * @module
 */

import type { FromWorker, LoadResult, ModelSource, Progress, ToWorker } from "./protocol.ts";

type Job = ToWorker extends infer M ? M extends { id: number } ? Omit<M, "id"> : never : never;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress: ((p: Progress) => void) | undefined;
}

/** An error of a job the user cancelled. */
export class CancelledError extends Error {
  constructor() {
    super("Cancelled");
    this.name = "CancelledError";
  }
}

/** One compute worker and the model it holds. */
export class ComputeClient {
  readonly #url: URL;
  #worker: Worker;
  #next = 1;
  readonly #pending = new Map<number, Pending>();
  #source: { source: ModelSource; threads: number } | undefined;

  /**
   * @param url the worker bundle (`worker.js`, an ES module)
   */
  constructor(url: URL) {
    this.#url = url;
    this.#worker = this.#start();
  }

  #start(): Worker {
    const w = new Worker(this.#url, { type: "module" });
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      const p = this.#pending.get(m.id);
      if (!p) return;
      if (m.type === "progress") return p.onProgress?.(m.progress);
      this.#pending.delete(m.id);
      if (m.type === "done") p.resolve(m.result);
      else p.reject(new Error(m.status ? `${m.message} (HTTP ${m.status})` : m.message));
    };
    w.onerror = (e) => {
      e.preventDefault();
      const err = new Error(`The compute worker failed: ${e.message || "it could not start"}`);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    return w;
  }

  /**
   * Sends a job and waits for its answer.
   *
   * @param job the message (without its id)
   * @param onProgress called with each progress report
   * @returns the worker's answer
   */
  run<T>(job: Job, onProgress?: (p: Progress) => void): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
      this.#worker.postMessage({ ...job, id } as ToWorker);
    });
  }

  /**
   * Loads a model (and remembers it, to load it again after a cancel).
   *
   * @param source picked files or a folder URL
   * @param threads threads asked for (the worker uses fewer where the page is not cross-origin isolated)
   * @param onProgress download progress
   * @returns the model summary and the threads it runs on
   */
  async load(source: ModelSource, threads: number, onProgress?: (p: Progress) => void): Promise<LoadResult> {
    const r = await this.run<LoadResult>({ type: "load", source, threads }, onProgress);
    this.#source = { source, threads };
    return r;
  }

  /**
   * Stops whatever runs: the worker is terminated (its jobs fail with {@linkcode CancelledError}) and a new one
   * loads the last model again.
   *
   * @returns once the model is loaded again (or at once, when none was loaded)
   */
  async cancel(): Promise<void> {
    this.#worker.terminate();
    for (const p of this.#pending.values()) p.reject(new CancelledError());
    this.#pending.clear();
    this.#worker = this.#start();
    if (this.#source) await this.load(this.#source.source, this.#source.threads);
  }
}
