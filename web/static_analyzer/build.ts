/**
 * `deno task build:static`: writes the static analyzer to `dist/analyzer/` — plain files any static host serves,
 * with no bertology server and no onnxruntime:
 *
 * - `index.html`, `app.css` (the page's stylesheet and this folder's),
 * - `app.js`: the page (`web/page/`) and the loader, dataset and pruning panels (`main.ts`), one browser IIFE,
 * - `worker.js`: the compute worker (core, our WASM kernels embedded), an ES module worker,
 * - `kernel_worker.js`: core's kernel-pool worker (threads, where the page is cross-origin isolated),
 * - `examples/NAME/`: the bundled models (`config.json`, weights, tokenizer files) and `examples/index.json`,
 * - `_headers`: the COOP/COEP headers that make the page cross-origin isolated (threads) on hosts that read
 *   this file (Netlify, Cloudflare Pages); elsewhere the analyzer runs on one thread.
 *
 * Bundled with `deno bundle` (esbuild), as `web/build_assets.ts` bundles the server's page.
 *
 * @example Usage
 * ```sh
 * deno run --allow-read --allow-write --allow-run --allow-env web/static_analyzer/build.ts [--out DIR] [--examples models/bert-sst2,models/gpt2-sst2]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";

const HERE = new URL("./", import.meta.url);
const ROOT = new URL("../../", import.meta.url);
const PAGE = new URL("../page/", import.meta.url);

/** The bundled examples: folder → one line for the picker. */
export const DEFAULT_EXAMPLES: Record<string, string> = {
  "models/bert-sst2": "BERT (4 layers × 8 heads) fine-tuned on SST-2",
  "models/gpt2-sst2": "GPT-2 language model (4 layers × 4 heads) trained on SST-2 text",
};

/** The files of a checkpoint an example keeps (weights in safetensors only). */
const EXAMPLE_FILES = [
  "config.json",
  "model.safetensors",
  "model.safetensors.index.json",
  "vocab.txt",
  "vocab.json",
  "merges.txt",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
];

/**
 * Bundles one entry with `deno bundle`.
 *
 * @param entry the module
 * @param format `iife` (a classic script) or `esm` (a module worker: keeps `import.meta.url`)
 * @returns the JavaScript
 * @throws {Error} with the bundler's output when it fails
 */
export async function bundle(entry: URL, format: "iife" | "esm"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "bertology-static-" });
  try {
    const out = `${dir}/out.js`;
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "browser", "--format", format, "-o", out, entry.pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!r.success) throw new Error(`deno bundle ${entry.pathname} failed:\n${new TextDecoder().decode(r.stderr)}`);
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Points the bundled worker pool at `kernel_worker.js`: core starts its kernel workers from
 * `new URL("./_kernel_worker.ts", import.meta.url)`, and a static host serves the bundle, not the TypeScript.
 *
 * @param workerJs the bundled compute worker
 * @returns it, with the one reference replaced
 * @throws {Error} when the bundle does not hold exactly one such reference (core changed how it starts workers)
 */
export function relinkKernelWorker(workerJs: string): string {
  const ref = `new URL("./_kernel_worker.ts", import.meta.url)`;
  const n = workerJs.split(ref).length - 1;
  if (n !== 1) throw new Error(`worker.js: expected one ${ref}, found ${n}; see core/kernels/worker_pool.ts`);
  return workerJs.replace(ref, `new URL("./kernel_worker.js", import.meta.url)`);
}

/**
 * Copies an example's checkpoint files (those present) into `out/examples/NAME/`.
 *
 * @param dir the checkpoint folder
 * @param out the build folder
 * @returns the example's name (the folder's base name)
 * @throws {Error} naming the folder when it has no config.json or no safetensors weights
 */
async function copyExample(dir: string, out: URL): Promise<string> {
  const name = dir.replace(/\/+$/, "").split("/").pop()!;
  const src = new URL(`${dir.replace(/\/+$/, "")}/`, ROOT);
  const dest = new URL(`examples/${name}/`, out);
  await Deno.mkdir(dest, { recursive: true });
  let copied = 0;
  for (const f of EXAMPLE_FILES) {
    try {
      await Deno.copyFile(new URL(f, src), new URL(f, dest));
      copied++;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  const has = async (f: string) => await Deno.stat(new URL(f, dest)).then(() => true, () => false);
  if (!(await has("config.json")) || !(await has("model.safetensors") || await has("model.safetensors.index.json"))) {
    throw new Error(`${dir}: an example needs config.json and safetensors weights (copied ${copied} files)`);
  }
  return name;
}

/**
 * Builds the static analyzer.
 *
 * @param out the folder to (re)write
 * @param examples checkpoint folders (relative to the repository) → description
 * @returns the files written, relative to `out`, with their sizes
 */
export async function buildStatic(out: URL, examples: Record<string, string>): Promise<Record<string, number>> {
  const [app, worker, kernelWorker] = await Promise.all([
    bundle(new URL("main.ts", HERE), "iife"),
    bundle(new URL("worker.ts", HERE), "esm"),
    bundle(new URL("./_kernel_worker.ts", import.meta.resolve("@bertology/core/kernels")), "esm"),
  ]);
  await Deno.remove(out, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.mkdir(out, { recursive: true });
  const css = (await Deno.readTextFile(new URL("style.css", PAGE))) + "\n" +
    (await Deno.readTextFile(new URL("style.css", HERE)));
  await Deno.writeTextFile(new URL("index.html", out), await Deno.readTextFile(new URL("index.html", HERE)));
  await Deno.writeTextFile(new URL("app.css", out), css);
  await Deno.writeTextFile(new URL("app.js", out), app);
  await Deno.writeTextFile(new URL("worker.js", out), relinkKernelWorker(worker));
  await Deno.writeTextFile(new URL("kernel_worker.js", out), kernelWorker);
  await Deno.writeTextFile(
    new URL("_headers", out),
    "/*\n  Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Embedder-Policy: require-corp\n",
  );
  const index: { name: string; description: string }[] = [];
  for (const [dir, description] of Object.entries(examples)) {
    index.push({ name: await copyExample(dir, out), description });
  }
  await Deno.mkdir(new URL("examples/", out), { recursive: true });
  await Deno.writeTextFile(new URL("examples/index.json", out), JSON.stringify(index, null, 2) + "\n");
  const sizes: Record<string, number> = {};
  const walk = async (dir: URL, prefix: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(new URL(`${e.name}/`, dir), `${prefix}${e.name}/`);
      else sizes[`${prefix}${e.name}`] = (await Deno.stat(new URL(e.name, dir))).size;
    }
  };
  await walk(out, "");
  return sizes;
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { out: { type: "string" }, examples: { type: "string" } } });
  const out = new URL(`${(values.out ?? "dist/analyzer").replace(/\/+$/, "")}/`, `file://${Deno.cwd()}/`);
  const examples = values.examples === undefined ? DEFAULT_EXAMPLES : Object.fromEntries(
    values.examples.split(",").filter((d) => d !== "").map((d) => [d, DEFAULT_EXAMPLES[d] ?? d]),
  );
  const sizes = await buildStatic(out, examples);
  for (const [f, n] of Object.entries(sizes).sort()) console.log(`${String(n).padStart(10)}  ${f}`);
  console.log(`wrote ${out.pathname}`);
}
