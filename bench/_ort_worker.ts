/**
 * A worker that holds onnxruntime-web sessions at its own thread count: onnxruntime-web fixes
 * `env.wasm.numThreads` when its WASM starts, once per module instance, so the bench runs 1 and 2 threads
 * side by side in separate workers and times each run here.
 *
 * Messages in: `{ init: { threads } }`, `{ load: { key, bytes } }`, `{ run: { key, feeds } }` (feeds as
 * `{ name: { type, data, dims } }`). Each answers `{ ok: true, ms? }` or `{ error }`.
 *
 * @module
 */

import * as ort from "npm:onnxruntime-web@1.30.0";

type Feed = { type: "int64" | "float32"; data: BigInt64Array | Float32Array; dims: number[] };
type Message = { init: { threads: number } } | { load: { key: string; bytes: Uint8Array } } | {
  run: { key: string; feeds: Record<string, Feed> };
};

const sessions = new Map<string, ort.InferenceSession>();
const self = globalThis as unknown as {
  onmessage: (e: MessageEvent<Message>) => void;
  postMessage: (m: unknown) => void;
};

self.onmessage = async (e: MessageEvent<Message>) => {
  try {
    const m = e.data;
    if ("init" in m) {
      ort.env.wasm.numThreads = m.init.threads;
      ort.env.logLevel = "error";
      self.postMessage({ ok: true });
    } else if ("load" in m) {
      // no spinning between runs: an idle pool would take the core the next runtime is timed on
      const options = {
        executionProviders: ["wasm"],
        extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
      };
      sessions.set(m.load.key, await ort.InferenceSession.create(m.load.bytes, options));
      self.postMessage({ ok: true });
    } else {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, f] of Object.entries(m.run.feeds)) {
        feeds[name] = f.type === "int64"
          ? new ort.Tensor("int64", f.data as BigInt64Array, f.dims)
          : new ort.Tensor("float32", f.data as Float32Array, f.dims);
      }
      const t = performance.now();
      await sessions.get(m.run.key)!.run(feeds);
      self.postMessage({ ok: true, ms: performance.now() - t });
    }
  } catch (err) {
    self.postMessage({ error: (err as Error).message });
  }
};
