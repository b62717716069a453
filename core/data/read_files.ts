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

async function readBytes(path: string | URL, what: string, name = String(path)): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`Cannot find ${what} "${name}"`);
    throw new Error(`Cannot read ${what} "${name}": ${(e as Error).message}`);
  }
}

/**
 * Reads one GLUE split from a `glue_data`-style folder: `<dataDir>/<task.dir>/<task.files[split]>`.
 * Needs `--allow-read`.
 *
 * @param dataDir The folder holding `CoLA/`, `SST-2/`, … (e.g. `"data/glue"`), as a path or a `file:` URL.
 * @param task The task or its name, e.g. `"sst-2"`.
 * @param split `"train"`, `"dev"` or `"test"`.
 * @param options Malformed-row handling (the file name is set to the path).
 * @returns The examples, in file order.
 * @throws {Error} When the file is missing (`Cannot find GLUE file "PATH"`) or does not parse.
 *
 * @example Usage
 * ```ts ignore
 * const dev = await readGlueExamples("data/glue", "sst-2", "dev");
 * console.log(dev.length); // 872
 * ```
 */
export async function readGlueExamples(
  dataDir: string | URL,
  task: string | GlueTask,
  split: GlueSplit,
  options: Omit<ParseGlueOptions, "file"> = {},
): Promise<GlueExample[]> {
  const def = typeof task === "string" ? glueTask(task) : task;
  const relative = `${def.dir}/${def.files[split]}`;
  const path = typeof dataDir === "string"
    ? `${dataDir.replace(/[\\/]+$/, "")}/${relative}`
    : new URL(relative, dataDir.href.endsWith("/") ? dataDir : `${dataDir.href}/`);
  const name = typeof path === "string" ? path : decodeURIComponent(path.pathname);
  const bytes = await readBytes(path, "GLUE file", name);
  return parseGlueTsv(def, split, bytes, { ...options, file: name });
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
