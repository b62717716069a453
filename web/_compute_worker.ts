/**
 * The compute worker (started by `workerCompute` in `_compute.ts`): loads its own copy of the model, reading
 * each file through the main thread, then runs one job at a time and posts back the answer's JSON text, or
 * the error it ended with. Never imported; only started as a Worker.
 *
 * @module
 */

import type { ModelFiles } from "@bertology/core/checkpoint";
import { exportOnnx } from "@bertology/core/export";
import { loadModel } from "@bertology/core/models";
import { type ComputeContext, computeJson, type FromWorker, modelIdentity, toWire, type ToWorker } from "./_compute.ts";
import { OrtSessions } from "./_ort_sessions.ts";
import { Deadline } from "./_queue.ts";

/** The worker's global scope, as far as this file uses it (typed here: the app's lib is not `deno.worker`). */
const scope = globalThis as unknown as {
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
};

const fileWaiters = new Map<number, { resolve: (b: Uint8Array | undefined) => void; reject: (e: Error) => void }>();
let nextFileId = 1;
let loaded: ComputeContext | undefined;

/** Files read through the main thread, which holds the app's {@linkcode ModelFiles}. */
const filesFromHost: ModelFiles = {
  location: "the app's model files",
  read(name) {
    const id = nextFileId++;
    return new Promise((resolve, reject) => {
      fileWaiters.set(id, { resolve, reject });
      scope.postMessage({ type: "read", id, name });
    });
  },
};

async function init(msg: Extract<ToWorker, { type: "init" }>): Promise<void> {
  try {
    const { model, tokenizer } = await loadModel(filesFromHost, { dtype: msg.dtype });
    if (!tokenizer) throw new Error("no tokenizer");
    const mine = JSON.stringify(modelIdentity(model)), theirs = JSON.stringify(msg.identity);
    if (mine !== theirs) throw new Error(`its files hold another model (${mine}, the app serves ${theirs})`);
    loaded = { model, tokenizer, limits: msg.limits, sessions: new OrtSessions(model) };
    scope.postMessage({ type: "ready" });
  } catch (e) {
    scope.postMessage({ type: "failed", message: (e as Error).message });
  }
}

async function runJob(msg: Extract<ToWorker, { type: "job" }>): Promise<void> {
  try {
    if (!loaded) throw new Error("the compute worker got a job before its model loaded");
    const deadline = new Deadline(msg.deadlineMs, msg.remainingMs);
    const json = await computeJson(loaded, msg.job, deadline);
    scope.postMessage({ type: "done", id: msg.id, json });
  } catch (e) {
    scope.postMessage({ type: "error", id: msg.id, error: toWire(e) });
  }
}

/** Exports this worker's copy of the model and hands the bytes over (transferred: no copy stays here). */
function runExport(msg: Extract<ToWorker, { type: "export" }>): void {
  try {
    if (!loaded) throw new Error("the compute worker got an export before its model loaded");
    const bytes = exportOnnx(loaded.model, msg.options).bytes;
    scope.postMessage({ type: "exported", id: msg.id, bytes }, [bytes.buffer as ArrayBuffer]);
  } catch (e) {
    scope.postMessage({ type: "error", id: msg.id, error: toWire(e) });
  }
}

scope.onmessage = (ev) => {
  const msg = ev.data;
  if (msg.type === "init") {
    void init(msg);
  } else if (msg.type === "file") {
    const waiter = fileWaiters.get(msg.id);
    fileWaiters.delete(msg.id);
    if (msg.error !== undefined) waiter?.reject(new Error(msg.error));
    else waiter?.resolve(msg.bytes);
  } else if (msg.type === "job") {
    void runJob(msg);
  } else if (msg.type === "export") {
    runExport(msg);
  }
};
