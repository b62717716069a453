/**
 * The bench's command line and the merging of each section's figures into the `--json` object.
 *
 * @module
 */

/** A section's figures: merged into the `--json` object (nested objects merge key by key). */
export type Figures = Record<string, unknown>;

/** Parsed command line. */
export interface BenchArgs {
  /** Where to write the figures as JSON. */
  json: string | undefined;
  /** Sections to run (all when absent). */
  only: Set<string> | undefined;
  /** The study on the first N sentences only. */
  studySubset: number | undefined;
  /** A Python with torch and transformers: runs `bench/pytorch_reference.py` as the PyTorch CPU reference. */
  pytorch: string | undefined;
  /** ONNX Runtime backends to time beside ours (`ort-webgpu,ort-node`): the `backends` section. */
  backend: string | undefined;
}

const USAGE =
  "usage: deno task bench [--only bert-base,matmul,study,memory,recompute] [--json FILE] [--study-subset N] [--pytorch PYTHON] [--backend ort-webgpu,ort-node,ort-wasm]";
const FLAGS = new Set(["--json", "--only", "--study-subset", "--pytorch", "--backend"]);

/**
 * Parses the bench's command line.
 *
 * @param args `Deno.args`
 * @returns the flags
 * @throws {Error} naming the flag for an unknown flag, a missing value or a bad `--study-subset`
 * @example Usage
 * ```ts
 * import { parseBenchArgs } from "./figures.ts";
 * parseBenchArgs(["--json", "out.json"]).json; // "out.json"
 * ```
 */
export function parseBenchArgs(args: string[]): BenchArgs {
  const out: BenchArgs = {
    json: undefined,
    only: undefined,
    studySubset: undefined,
    pytorch: undefined,
    backend: undefined,
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!, value = args[i + 1];
    if (!FLAGS.has(flag)) throw new Error(`${USAGE}: got ${flag}`);
    if (value === undefined || value.startsWith("--")) throw new Error(`${flag} needs a value (${USAGE})`);
    i++;
    if (flag === "--json") out.json = value;
    else if (flag === "--only") out.only = new Set(value.split(","));
    else if (flag === "--pytorch") out.pytorch = value;
    else if (flag === "--backend") out.backend = value;
    else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--study-subset must be a positive integer, got "${value}"`);
      out.studySubset = n;
    }
  }
  return out;
}

/** Whether `v` is a plain object (not an array): only those merge into the figures. */
function isFigures(v: unknown): v is Figures {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Merges `from` into `into`: nested objects key by key, other values replace; `undefined` values, `rows`
 * (a section's printed table) and non-object results (a section returning nothing) are left out.
 *
 * @param into the figures so far (updated)
 * @param from a section's result
 * @returns `into`
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { mergeFigures } from "./figures.ts";
 * deepStrictEqual(mergeFigures({ a: { x: 1 } }, { a: { y: 2 }, b: 3 }), { a: { x: 1, y: 2 }, b: 3 });
 * ```
 */
export function mergeFigures(into: Figures, from: unknown): Figures {
  if (!isFigures(from)) return into;
  for (const [k, v] of Object.entries(from)) {
    if (v === undefined || k === "rows") continue; // rows are the printed table, not figures
    const prev = into[k];
    into[k] = isFigures(prev) && isFigures(v) ? mergeFigures({ ...prev }, v) : v;
  }
  return into;
}
