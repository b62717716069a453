/**
 * `deno task serve [--port N] [--host H] [--model DIR] [--backend NAME[,NAME…]]`: loads a model and serves the
 * analyzer, computing on a Worker. Defaults: port 8000, host 127.0.0.1, the bundled `models/bert-sst2` (or the
 * folder in `BERTOLOGY_MODEL`), backend `wasm` (our engine). `--backend` lists the backends the API accepts
 * (`wasm`, `ort-wasm`, `ort-webgpu`, `ort-node`), the first being the page's default.
 *
 * It needs only read of the model folder and net of its listen address (the task grants read of the project
 * folder, env of `BERTOLOGY_MODEL` and net of 127.0.0.1, localhost and 0.0.0.0); a missing permission is a
 * one-line message naming the flag, and without env permission `BERTOLOGY_MODEL` is simply not consulted. The
 * `--model` may also be a hub id (`bert-base-uncased`, `org/name@revision`), loaded through the hub cache
 * (`core/checkpoint/hub.ts`); that needs env, read and write of the cache and net to the hub (or
 * `HF_HUB_OFFLINE=1` and a cached copy), which the task does not grant: a missing one is named. The
 * ONNX Runtime backends need more: `ort-wasm` and `ort-webgpu` read onnxruntime-web's files in Deno's npm cache,
 * `ort-node` loads a native library (`--allow-ffi`); `deno task serve:ort` grants both. Where onnxruntime-web's
 * files can be read, the page may also compute in the browser (they are served under `/vendor/onnxruntime-web/`).
 *
 * @example Usage
 * ```sh
 * deno task serve --port 8000 --model tests/fixtures/models/bert-tiny-random
 * deno task serve:ort --backend wasm,ort-wasm,ort-node
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type BackendName, BACKENDS, isBackendName } from "@bertology/core/export/runtime";
import { hubCacheDir, parseHubId, resolveModel } from "@bertology/core/checkpoint/deno";
import { loadModel } from "@bertology/core/models";
import { type RunningServer, serveOverNodeHttp } from "./_node_server.ts";
import { createApp } from "./app.ts";
import { BUNDLED_MODEL_DIR } from "./_model_dir.ts";
import { ortDistDir, withOrtVendorFiles } from "./_ort_vendor.ts";

/** Options of {@linkcode serve}. */
export interface ServeOptions {
  /** The port to listen on (0: any free port). */
  port: number;
  /** The host to listen on. */
  hostname: string;
  /**
   * The model folder (HF layout with a tokenizer), or a hub id (`org/name@revision`, through the cache; see
   * `core/checkpoint/hub.ts`).
   */
  modelDir: string;
  /** Called once listening, with the actual port (useful with port 0). */
  onListen?: (addr: { hostname: string; port: number }) => void;
  /** The listen backlog (default `LISTEN_BACKLOG` of `_node_server.ts`). */
  backlog?: number;
  /** Add `server-timing` to every response (see `NodeServeOptions.serverTiming`; `web/load.ts` reads it). */
  serverTiming?: boolean;
  /** The weights' precision in memory (`f16`: 16-bit, half the memory; default `f32`). */
  dtype?: "f32" | "f16";
  /** The backends the API accepts, the first the page's default (default `["wasm"]`). */
  backends?: readonly BackendName[];
  /**
   * onnxruntime-web's `dist/` folder, to serve under `/vendor/onnxruntime-web/` and offer in-browser compute;
   * absent: the page computes on the server only.
   */
  ortDistDir?: string;
}

/**
 * Loads the model and starts serving, over `node:http` (see `_node_server.ts`: it can close the socket of a
 * client that drips its body, which `Deno.serve` cannot), with compute on a Worker.
 *
 * @param opts port, host, model folder
 * @returns the running server
 * @throws {Error} when the model cannot be loaded (naming the folder and file)
 * @example Usage
 * ```ts ignore
 * const server = await serve({ port: 0, hostname: "127.0.0.1", modelDir: "tests/fixtures/models/bert-tiny-random" });
 * await server.shutdown();
 * ```
 */
export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const { model, tokenizer, files } = await loadModel(resolveModel(opts.modelDir), { dtype: opts.dtype ?? "f32" });
  const name = opts.modelDir.replace(/\/+$/, "").split("/").pop() || opts.modelDir;
  const app = createApp({
    model,
    tokenizer: tokenizer!,
    name,
    files,
    backends: opts.backends ?? ["wasm"],
    browserCompute: opts.ortDistDir !== undefined,
  });
  const fetch = opts.ortDistDir === undefined ? app.fetch : withOrtVendorFiles(app.fetch, opts.ortDistDir);
  const server = await serveOverNodeHttp(fetch, {
    port: opts.port,
    hostname: opts.hostname,
    serverTiming: opts.serverTiming === true,
    ...(opts.backlog !== undefined ? { backlog: opts.backlog } : {}),
    onListen: opts.onListen ?? ((a) => console.log(`bertology analyzer: ${name} on http://${a.hostname}:${a.port}/`)),
  });
  void server.finished.then(() => app.close?.());
  return server;
}

/**
 * The permission a serve run lacks, as a sentence naming the flag, or `undefined` when it has them all.
 * Queried up front so that a missing one is a clear message instead of an uncaught `NotCapable` trace.
 *
 * @param modelDir the model folder (read)
 * @param hostname the listen host (net)
 * @param port the listen port
 * @returns the message, or `undefined`
 * @example Usage
 * ```ts ignore
 * missingPermission("models/bert-sst2", "127.0.0.1", 8000); // undefined under `deno task serve`
 * ```
 */
export function missingPermission(
  modelDir: string,
  hostname: string,
  port: number,
  backends: readonly BackendName[] = ["wasm"],
): string | undefined {
  const host = port === 0 ? hostname : `${hostname}:${port}`;
  const web = backends.find((b) => b === "ort-wasm" || b === "ort-webgpu");
  if (web !== undefined && !mayReadOrtFiles()) {
    return `--backend ${web} reads onnxruntime-web's files: run with --allow-read=.,${ortDistDir()} (or deno task serve:ort)`;
  }
  if (backends.includes("ort-node") && Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return `--backend ort-node loads onnxruntime-node's native library: run with --allow-ffi (or deno task serve:ort)`;
  }
  const hub = hubPermission(modelDir);
  if (hub !== undefined) return hub;
  if (Deno.permissions.querySync({ name: "read", path: modelDir }).state !== "granted") {
    return `No permission to read the model folder "${modelDir}": run with --allow-read=${modelDir}`;
  }
  if (Deno.permissions.querySync({ name: "net", host }).state !== "granted") {
    return `No permission to listen on ${host}: run with --allow-net=${host}`;
  }
  return undefined;
}

/**
 * For a `--model` that is no folder here but a hub id: the permissions the hub cache needs (its variables, the
 * cache folder, the hub's host unless `HF_HUB_OFFLINE=1`) as a sentence, or `undefined` when granted or when
 * `modelDir` is not taken for a hub id.
 */
function hubPermission(modelDir: string): string | undefined {
  try {
    if (Deno.statSync(modelDir).isDirectory) return undefined;
  } catch {
    // no such folder (or not readable): perhaps a hub id
  }
  try {
    parseHubId(modelDir);
  } catch {
    return undefined; // neither: loading says so
  }
  const taken = `"${modelDir}" is no folder here, so it is taken for a hub id, which needs the hub cache`;
  if (Deno.permissions.querySync({ name: "env" }).state !== "granted") {
    return `${taken} and its variables (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, BERTOLOGY_CACHE, HOME): run with --allow-env --allow-read --allow-write --allow-net (or give --model a folder)`;
  }
  const offline = /^(1|true|yes|on)$/i.test(Deno.env.get("HF_HUB_OFFLINE") ?? "");
  const cache = hubCacheDir();
  const host = new URL(Deno.env.get("HF_ENDPOINT") || "https://huggingface.co").host;
  const missing = [
    Deno.permissions.querySync({ name: "read", path: cache }).state === "granted" ? "" : `--allow-read=.,${cache}`,
    Deno.permissions.querySync({ name: "write", path: cache }).state === "granted" ? "" : `--allow-write=${cache}`,
    offline || Deno.permissions.querySync({ name: "net", host }).state === "granted"
      ? ""
      : `--allow-net=${host},127.0.0.1`,
  ].filter((flag) => flag !== "");
  if (missing.length === 0) return undefined;
  return `${taken} (${cache})${offline ? "" : ` and the hub (${host})`}: run with ${
    missing.join(" ")
  } (or give --model a folder)`;
}

/**
 * Whether this run may read onnxruntime-web's `dist/` folder (the server's `ort-wasm` / `ort-webgpu` and the
 * files the page needs for in-browser compute).
 *
 * @returns whether read is granted there
 * @example Usage
 * ```ts ignore
 * mayReadOrtFiles(); // true under `deno task serve:ort`
 * ```
 */
export function mayReadOrtFiles(): boolean {
  try {
    return Deno.permissions.querySync({ name: "read", path: ortDistDir() }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * Checks a `--backend` value: a comma-separated list of backends, the first the page's default.
 *
 * @param value the flag's value (`wasm` when absent)
 * @returns the backends, in order
 * @throws {Error} naming the flag, for an unknown or repeated backend or an empty list
 * @example Usage
 * ```ts
 * import { parseServeBackends } from "./serve.ts";
 * parseServeBackends("ort-wasm,wasm"); // ["ort-wasm", "wasm"]
 * ```
 */
export function parseServeBackends(value: string | undefined): BackendName[] {
  if (value === undefined) return ["wasm"];
  const names = value.split(",").map((s) => s.trim());
  const out: BackendName[] = [];
  for (const n of names) {
    if (!isBackendName(n)) {
      throw new Error(`--backend takes a comma-separated list of ${BACKENDS.join(", ")}, got "${n}"`);
    }
    if (out.includes(n)) throw new Error(`--backend lists "${n}" twice`);
    out.push(n);
  }
  return out;
}

/**
 * `BERTOLOGY_MODEL`, when this run may read it (env permission for that variable) and it is set.
 *
 * @returns the folder, or `undefined`
 * @example Usage
 * ```ts ignore
 * envModelDir() ?? "models/bert-sst2";
 * ```
 */
export function envModelDir(): string | undefined {
  const granted = Deno.permissions.querySync({ name: "env", variable: "BERTOLOGY_MODEL" }).state === "granted";
  return granted ? Deno.env.get("BERTOLOGY_MODEL") || undefined : undefined;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8000" },
      host: { type: "string", default: "127.0.0.1" },
      model: { type: "string" },
      "server-timing": { type: "boolean" },
      backlog: { type: "string" },
      dtype: { type: "string" },
      backend: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno task serve [--port N (8000)] [--host H (127.0.0.1)] [--model DIR|HUB_ID (models/bert-sst2)] [--backlog N] [--dtype f32|f16] [--server-timing] [--backend wasm|ort-wasm|ort-webgpu|ort-node[,…] (wasm)]",
    );
    Deno.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer in 0..65535, got "${values.port}"`);
    Deno.exit(2);
  }
  let backends: BackendName[];
  try {
    backends = parseServeBackends(values.backend);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
  const modelDir = values.model ?? envModelDir() ?? BUNDLED_MODEL_DIR;
  const missing = missingPermission(modelDir, values.host, port, backends);
  if (missing) {
    console.error(`Cannot serve ${modelDir}: ${missing}`);
    Deno.exit(2);
  }
  try {
    const backlog = values.backlog === undefined ? undefined : Number(values.backlog);
    if (backlog !== undefined && !(Number.isInteger(backlog) && backlog >= 1)) {
      console.error(`--backlog must be a positive integer, got "${values.backlog}"`);
      Deno.exit(2);
    }
    const dtype = values.dtype ?? "f32";
    if (dtype !== "f32" && dtype !== "f16") {
      console.error(`--dtype must be f32 or f16, got "${values.dtype}"`);
      Deno.exit(2);
    }
    const browser = mayReadOrtFiles();
    if (!browser) {
      console.error(
        `bertology analyzer: no in-browser compute (to offer it, allow read of onnxruntime-web's files: --allow-read=.,${ortDistDir()}, or deno task serve:ort)`,
      );
    }
    await serve({
      dtype,
      backends,
      ...(browser ? { ortDistDir: ortDistDir() } : {}),
      port,
      hostname: values.host,
      modelDir,
      serverTiming: values["server-timing"] === true,
      ...(backlog !== undefined ? { backlog } : {}),
    });
  } catch (e) {
    console.error(`Cannot serve ${modelDir}: ${(e as Error).message}`);
    if (values.model === undefined) console.error("Try --model tests/fixtures/models/bert-tiny-random");
    Deno.exit(1);
  }
}
