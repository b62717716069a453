/**
 * `deno task serve [--port N] [--host H] [--model DIR]`: loads a model and serves the analyzer with
 * `Deno.serve`. Defaults: port 8000, host 127.0.0.1, the bundled `models/bert-sst2`.
 *
 * @example Usage
 * ```sh
 * deno task serve --port 8000 --model tests/fixtures/models/bert-tiny-random
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { localFiles } from "../core/checkpoint/deno.ts";
import { loadModel } from "../core/models/load.ts";
import { createApp } from "./app.ts";
import { BUNDLED_MODEL_DIR } from "./_model_dir.ts";

/** Options of {@linkcode serve}. */
export interface ServeOptions {
  port: number;
  hostname: string;
  modelDir: string;
  /** Called once listening, with the actual port (useful with port 0). */
  onListen?: (addr: { hostname: string; port: number }) => void;
}

/**
 * Loads the model and starts serving.
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
export async function serve(opts: ServeOptions): Promise<Deno.HttpServer<Deno.NetAddr>> {
  const { model, tokenizer } = await loadModel(localFiles(opts.modelDir));
  const name = opts.modelDir.replace(/\/+$/, "").split("/").pop() || opts.modelDir;
  const app = createApp({ model, tokenizer: tokenizer!, name });
  return Deno.serve({
    port: opts.port,
    hostname: opts.hostname,
    onListen: opts.onListen ?? ((a) => console.log(`bertology analyzer: ${name} on http://${a.hostname}:${a.port}/`)),
  }, app.fetch);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8000" },
      host: { type: "string", default: "127.0.0.1" },
      model: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log("Usage: deno task serve [--port N (8000)] [--host H (127.0.0.1)] [--model DIR (models/bert-sst2)]");
    Deno.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer in 0..65535, got "${values.port}"`);
    Deno.exit(2);
  }
  const modelDir = values.model ?? Deno.env.get("BERTOLOGY_MODEL") ?? BUNDLED_MODEL_DIR;
  try {
    await serve({ port, hostname: values.host, modelDir });
  } catch (e) {
    console.error(`Cannot serve ${modelDir}: ${(e as Error).message}`);
    if (values.model === undefined) console.error("Try --model tests/fixtures/models/bert-tiny-random");
    Deno.exit(1);
  }
}
