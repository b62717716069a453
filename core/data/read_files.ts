/**
 * Deno-only helpers that read GLUE and custom data files from disk and hand the bytes to the
 * browser-safe parsers ({@linkcode parseGlueTsv}, {@linkcode parseTabular}). This file is not exported
 * from `mod.ts`, so browser bundles never reference `Deno`; import it directly.
 *
 * @module
 */

import {
  type GlueExample,
  type GlueSplit,
  type GlueTask,
  glueTask,
  type ParseGlueOptions,
  parseGlueTsv,
} from "./glue.ts";
import { parseTabular, type TabularData, type TabularOptions } from "./tabular.ts";
import { fileURLToPath as fromFileUrl } from "node:url";
import { readLocalFile } from "../checkpoint/local_files.ts";

async function readBytes(path: string | URL, what: string, name = String(path)): Promise<Uint8Array> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readLocalFile(path instanceof URL ? fromFileUrl(path) : path);
  } catch (e) {
    throw new Error(`Cannot read ${what} "${name}": ${(e as Error).message}`);
  }
  if (bytes === undefined) throw new Error(`Cannot find ${what} "${name}"`);
  return bytes;
}

/**
 * Reads one GLUE split from a `glue_data`-style folder, `<dataDir>/<task.dir>/<task.files[split]>`, or from the
 * task's own folder, `<dataDir>/<task.files[split]>` (HF's `--data_dir glue_data/SST-2`). Needs `--allow-read`.
 *
 * @param dataDir The folder holding `CoLA/`, `SST-2/`, … (e.g. `"data/glue"`), or a task folder itself
 *   (e.g. `"data/glue/SST-2"`), as a path or a `file:` URL.
 * @param task The task or its name, e.g. `"sst-2"`.
 * @param split `"train"`, `"dev"` or `"test"`.
 * @param options Malformed-row handling (the file name is set to the path).
 * @returns The examples, in file order.
 * @throws {Error} When the file is in neither place (`Cannot find GLUE file "PATH" (nor "PATH")`) or does not
 *   parse.
 *
 * @example Usage
 * ```ts ignore
 * const dev = await readGlueExamples("data/glue", "sst-2", "dev");
 * const same = await readGlueExamples("data/glue/SST-2", "sst-2", "dev");
 * console.log(dev.length, same.length); // 872 872
 * ```
 */
export async function readGlueExamples(
  dataDir: string | URL,
  task: string | GlueTask,
  split: GlueSplit,
  options: Omit<ParseGlueOptions, "file"> = {},
): Promise<GlueExample[]> {
  const def = typeof task === "string" ? glueTask(task) : task;
  const file = def.files[split];
  const inParent = inFolder(dataDir, `${def.dir}/${file}`);
  const inTask = inFolder(dataDir, file);
  const path = await exists(inParent.path) || !await exists(inTask.path) ? inParent : inTask;
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(path.path, "GLUE file", path.name);
  } catch (e) {
    if (path !== inParent || !(e as Error).message.startsWith("Cannot find")) throw e;
    throw new Error(`${(e as Error).message} (nor "${inTask.name}", for a folder that is the task's own)`);
  }
  return parseGlueTsv(def, split, bytes, { ...options, file: path.name });
}

/** `relative` inside `dir`, as a path or URL to read and a name for messages. */
function inFolder(dir: string | URL, relative: string): { path: string | URL; name: string } {
  if (typeof dir === "string") {
    const path = `${dir.replace(/[\\/]+$/, "")}/${relative}`;
    return { path, name: path };
  }
  const url = new URL(relative, dir.href.endsWith("/") ? dir : `${dir.href}/`);
  return { path: url, name: decodeURIComponent(url.pathname) };
}

async function exists(path: string | URL): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads a CSV, TSV or JSONL file and parses it with {@linkcode parseTabular}. Needs `--allow-read`.
 *
 * @param path The file path.
 * @param options Parsing options; `file` defaults to `path`.
 * @returns The examples, label list and output mode.
 * @throws {Error} When the file is missing (`Cannot find data file "PATH"`) or does not parse.
 *
 * @example Usage
 * ```ts ignore
 * const data = await readTabularFile("reviews.csv", { format: "csv", textColumn: "text", labelColumn: "label" });
 * console.log(data.labels);
 * ```
 */
export async function readTabularFile(path: string, options: TabularOptions): Promise<TabularData> {
  const bytes = await readBytes(path, "data file");
  return parseTabular(bytes, { ...options, file: options.file ?? path });
}
