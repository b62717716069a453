/**
 * Dataset readers for BERTology: the nine GLUE tasks exactly as `download_glue_data.py` distributes them
 * (HF `glue_processors` semantics), custom CSV/TSV/JSONL data, label-id conversion and padded batches.
 * Everything here is browser-safe: parsers take text or bytes. To read files from disk in Deno, import
 * `./read_files.ts` (`readGlueExamples`, `readTabularFile`).
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { glueTask, labelIds, parseGlueTsv } from "./mod.ts";
 *
 * const task = glueTask("SST-2");
 * const examples = parseGlueTsv(task, "dev", "sentence\tlabel\nit 's a charming journey . \t1\n");
 * strictEqual(labelIds(examples, task)[0], 1);
 * ```
 *
 * @module
 */

export * from "./batches.ts";
export * from "./glue.ts";
export * from "./input_example.ts";
export * from "./tabular.ts";
