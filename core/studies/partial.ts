/**
 * The partial-results file a shard of a study writes (`shard-I-of-N/partial.json`) and `bertology merge`
 * reads. Version 1, one JSON object:
 *
 * ```
 * { "format": "bertology-partial", "version": 1,
 *   "study": "heads" | "heads-masking" | "attention-stats" | "syntax" | …,
 *   "fingerprint": "<sha-256 hex of inputs>",
 *   "inputs": { "settings": {…the command's flags, shard and output flags left out…},
 *               "model": "<sha-256 of every parameter's name, dtype, shape and bytes>",
 *               "data": "<sha-256 of the encoded units the study runs over>",
 *               "previous"?: "<sha-256 of the merged previous round>" },
 *   "shard": { "index": I, "count": N }, "round"?: K,
 *   "units": { "total": U, "covered": [u, …] },   // the units (batches, sentences) this shard ran
 *   "seconds": S,                                   // how long its passes took
 *   "context": {…what merge needs to finish the study: sizes, options, names for the report…},
 *   "sums": {…the study's own sums and counts…} }
 * ```
 *
 * Sums and counts only, never averages: what a single run divides at its end, merge divides after adding the
 * shards' sums. Floating-point sums are float64, written as JSON numbers (JavaScript prints the shortest
 * decimal that reads back to the same double, so they round-trip exactly); NaN and ±Infinity, which JSON
 * lacks, are the strings "NaN", "Infinity" and "-Infinity". Shards of different runs — another command line,
 * model or dataset — have different fingerprints and are refused by {@linkcode checkShardSet}.
 *
 * @module
 */

import type { TransformerModel } from "../models/model.ts";
import type { Shard } from "./shard.ts";

/** The `format` field of every partial-results file. */
export const PARTIAL_FORMAT = "bertology-partial";
/** The version this code writes and reads. */
export const PARTIAL_VERSION = 1;
/** The file name of a shard's partial results. */
export const PARTIAL_FILE = "partial.json";

/** What a shard's results depend on; equal inputs give equal fingerprints. */
export interface PartialInputs {
  /** The study's settings: its flags, less those that only say where to write or which shard to run. */
  settings: Record<string, unknown>;
  /** {@linkcode modelFingerprint} of the model. */
  model: string;
  /** A digest of the units the study runs over (see {@linkcode digestParts}). */
  data: string;
  /** The digest of the merged previous round the shard started from (rounds of masking). */
  previous?: string | undefined;
}

/** One shard's partial results (see the module doc for the file). */
export interface PartialResult<S = Record<string, unknown>> {
  /** Always {@linkcode PARTIAL_FORMAT}. */
  format: typeof PARTIAL_FORMAT;
  /** Always {@linkcode PARTIAL_VERSION}. */
  version: number;
  /** Which study's sums these are. */
  study: string;
  /** SHA-256 hex of `inputs` (canonical JSON). */
  fingerprint: string;
  /** What the results depend on. */
  inputs: PartialInputs;
  /** Which shard. */
  shard: Shard;
  /** The round, for a study that runs in rounds (masking). */
  round?: number | undefined;
  /** The study's units: how many in all, and which this shard ran. */
  units: { total: number; covered: number[] };
  /** Seconds this shard's passes took. */
  seconds: number;
  /** What merge needs to finish the study (sizes, options, names for the report); the same in every shard. */
  context: Record<string, unknown>;
  /** The study's sums and counts. */
  sums: S;
}

const encoder = new TextEncoder();

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The bytes of a typed array, copied out of shared or kernel memory (digest wants its own buffer). */
function ownBytes(a: ArrayBufferView): Uint8Array<ArrayBuffer> {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
}

/**
 * SHA-256 of a sequence of parts, each prefixed by its length (so ["ab", "c"] and ["a", "bc"] differ).
 *
 * @param parts Strings (UTF-8) or typed arrays (their bytes).
 * @returns The hex digest.
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { digestParts } from "./partial.ts";
 * strictEqual((await digestParts(["a", Int32Array.of(1, 2)])).length, 64);
 * ```
 */
export async function digestParts(parts: Iterable<string | ArrayBufferView>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (const p of parts) {
    const bytes = typeof p === "string" ? encoder.encode(p) : new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(bytes.length), true);
    chunks.push(len, bytes);
    size += 8 + bytes.length;
  }
  const all = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) (all.set(c, o), o += c.length);
  return hex(await crypto.subtle.digest("SHA-256", all));
}

/**
 * The model's fingerprint: SHA-256 over every parameter's name, dtype, shape and stored bytes, in the order
 * the model holds them (family-independent: it reads the parameter store, not the files).
 *
 * @param model The loaded model.
 * @returns The hex digest.
 * @example Usage
 * ```ts ignore
 * const id = await modelFingerprint(model); // "3f2a…", 64 hex digits
 * ```
 */
export async function modelFingerprint(model: TransformerModel): Promise<string> {
  const parts: string[] = [JSON.stringify({ config: model.config })];
  for (const p of model.params.all()) {
    const digest = hex(await crypto.subtle.digest("SHA-256", ownBytes(model.params.bytes(p))));
    parts.push(`${p.name} ${p.dtype} [${p.shape.join(",")}] ${digest}`);
  }
  return await digestParts(parts);
}

/** JSON with object keys sorted at every level (undefined entries dropped), so equal values print equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0
      ),
    );
  });
}

/**
 * Builds a shard's partial results, fingerprinting its inputs.
 *
 * @param fields Everything but format, version and fingerprint.
 * @returns The partial results, ready for {@linkcode partialToJson}.
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { makePartial } from "./partial.ts";
 * const p = await makePartial({
 *   study: "demo", inputs: { settings: {}, model: "m", data: "d" }, shard: { index: 0, count: 1 },
 *   units: { total: 1, covered: [0] }, seconds: 0, context: {}, sums: {},
 * });
 * strictEqual(p.fingerprint.length, 64);
 * ```
 */
export async function makePartial<S>(
  fields: Omit<PartialResult<S>, "format" | "version" | "fingerprint">,
): Promise<PartialResult<S>> {
  const fingerprint = await digestParts([fields.study, canonicalJson(fields.inputs)]);
  return { format: PARTIAL_FORMAT, version: PARTIAL_VERSION, fingerprint, ...fields };
}

/**
 * Float64 values as JSON: numbers, exactly (shortest round-trip decimals), non-finite ones as strings.
 *
 * @param values The values.
 * @returns A JSON-ready array.
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { encodeFloats } from "./partial.ts";
 * deepStrictEqual(encodeFloats([0.1, NaN]), [0.1, "NaN"]);
 * ```
 */
export function encodeFloats(values: ArrayLike<number>): (number | string)[] {
  return Array.from(values, (v) => (Number.isFinite(v) ? v : String(v)));
}

/**
 * Reads an array written by {@linkcode encodeFloats}.
 *
 * @param value The JSON value.
 * @param where The file and field, for the message.
 * @param length The length it must have, when known.
 * @returns The values.
 * @throws {Error} naming `where` when it is not such an array (or not `length` long)
 * @example Usage
 * ```ts
 * import { decodeFloats } from "./partial.ts";
 * decodeFloats([0.5, "-Infinity"], "p.json sums.raw"); // Float64Array [0.5, -Infinity]
 * ```
 */
export function decodeFloats(value: unknown, where: string, length?: number): Float64Array {
  if (!Array.isArray(value)) throw new Error(`${where} must be an array of numbers`);
  if (length !== undefined && value.length !== length) {
    throw new Error(`${where} has ${value.length} values, expected ${length}`);
  }
  return Float64Array.from(value, (v, i) => {
    if (typeof v === "number") return v;
    if (v === "NaN" || v === "Infinity" || v === "-Infinity") return Number(v);
    throw new Error(`${where}[${i}] must be a number, got ${JSON.stringify(v)}`);
  });
}

/**
 * Reads a count (a non-negative integer) from a partial's sums.
 *
 * @param value The JSON value.
 * @param where The file and field, for the message.
 * @returns The count.
 * @throws {Error} naming `where` unless it is a non-negative integer
 * @example Usage
 * ```ts
 * import { decodeCount } from "./partial.ts";
 * decodeCount(3, "p.json sums.tokens"); // 3
 * ```
 */
export function decodeCount(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${where} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * The JSON text of a partial-results file.
 *
 * @param partial The partial results.
 * @returns The file's text.
 * @example Usage
 * ```ts ignore
 * await out.write(PARTIAL_FILE, partialToJson(partial));
 * ```
 */
export function partialToJson(partial: PartialResult<unknown>): string {
  return JSON.stringify(partial) + "\n";
}

/**
 * Parses and checks a partial-results file's header (the study checks its own sums).
 *
 * @param text The file's text.
 * @param file Its path, for messages.
 * @returns The partial results.
 * @throws {Error} naming the file and the field when it is not a partial-results file of this version
 * @example Usage
 * ```ts ignore
 * const p = parsePartial(await Deno.readTextFile("out/shard-0-of-4/partial.json"), "out/shard-0-of-4/partial.json");
 * ```
 */
export function parsePartial(text: string, file: string): PartialResult {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const o = v as Record<string, unknown>;
  if (typeof v !== "object" || v === null || o.format !== PARTIAL_FORMAT) {
    throw new Error(`${file} is not a bertology partial-results file (its "format" is not "${PARTIAL_FORMAT}")`);
  }
  if (o.version !== PARTIAL_VERSION) {
    throw new Error(
      `${file} has partial-results version ${JSON.stringify(o.version)}; this bertology reads version ` +
        `${PARTIAL_VERSION}: merge it with the bertology that wrote it, or rerun the shard`,
    );
  }
  const field = (name: string, ok: boolean) => {
    if (!ok) throw new Error(`${file}: field "${name}" is missing or malformed`);
  };
  field("study", typeof o.study === "string");
  field("fingerprint", typeof o.fingerprint === "string");
  const inputs = o.inputs as Record<string, unknown> | undefined;
  field("inputs", typeof inputs === "object" && inputs !== null && typeof inputs.model === "string");
  const shard = o.shard as Record<string, unknown> | undefined;
  field(
    "shard",
    typeof shard === "object" && shard !== null && Number.isInteger(shard.index) && Number.isInteger(shard.count) &&
      (shard.index as number) >= 0 && (shard.index as number) < (shard.count as number),
  );
  field("round", o.round === undefined || (Number.isInteger(o.round) && (o.round as number) >= 0));
  const units = o.units as Record<string, unknown> | undefined;
  field(
    "units",
    typeof units === "object" && units !== null && Number.isInteger(units.total) && Array.isArray(units.covered) &&
      units.covered.every((u) => Number.isInteger(u) && u >= 0 && u < (units.total as number)),
  );
  field("seconds", typeof o.seconds === "number");
  field("context", typeof o.context === "object" && o.context !== null);
  field("sums", typeof o.sums === "object" && o.sums !== null);
  return v as PartialResult;
}

/** A partial-results file and where it was read from. */
export interface ShardFile<S = Record<string, unknown>> {
  /** The file's path. */
  file: string;
  /** Its contents. */
  partial: PartialResult<S>;
}

/**
 * Checks that `shards` are the N shards of one run, each once, and returns them in shard order. Refused,
 * with a sentence: shards of different studies, rounds or runs (a different fingerprint: another command
 * line, model or dataset — the message says which), different shard counts, a shard twice, a missing shard,
 * or units that do not add up to the study's.
 *
 * @param shards The files read.
 * @returns The same files in shard order.
 * @throws {Error} as above
 * @example Usage
 * ```ts ignore
 * const ordered = checkShardSet(files.map((file) => ({ file, partial: parsePartial(text, file) })));
 * ```
 */
export function checkShardSet<S>(shards: readonly ShardFile<S>[]): ShardFile<S>[] {
  if (shards.length === 0) throw new Error("No partial results to merge");
  const first = shards[0]!;
  const p0 = first.partial;
  for (const s of shards.slice(1)) {
    const p = s.partial;
    const refuse = (why: string) => {
      throw new Error(
        `Refusing to merge ${s.file} with ${first.file}: ${why}; shards of one run share the study, the command ` +
          `line, the model and the data — rerun the odd shard with the others' command`,
      );
    };
    if (p.study !== p0.study) refuse(`one is a "${p.study}" study, the other "${p0.study}"`);
    if (p.round !== p0.round) refuse(`they are rounds ${p.round} and ${p0.round}`);
    if (p.fingerprint !== p0.fingerprint) refuse(`they come from different runs (${fingerprintDifference(p, p0)})`);
    if (p.shard.count !== p0.shard.count) {
      refuse(`one was split into ${p.shard.count} shards, the other into ${p0.shard.count}`);
    }
  }
  const N = p0.shard.count;
  const byIndex = new Map<number, ShardFile<S>>();
  for (const s of shards) {
    const twice = byIndex.get(s.partial.shard.index);
    if (twice) {
      throw new Error(`Shard ${s.partial.shard.index} of ${N} is given twice (${twice.file} and ${s.file})`);
    }
    byIndex.set(s.partial.shard.index, s);
  }
  const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    throw new Error(
      `Cannot merge: ${missing.length} of the ${N} shards ${missing.length === 1 ? "is" : "are"} missing (` +
        `${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", …" : ""}); run ${
          missing.length === 1 ? "it" : "them"
        } (--shard I/${N}) and merge again`,
    );
  }
  const ordered = Array.from({ length: N }, (_, i) => byIndex.get(i)!);
  const seen = new Uint8Array(p0.units.total);
  for (const s of ordered) {
    if (s.partial.units.total !== p0.units.total) {
      throw new Error(`${s.file} covers ${s.partial.units.total} units in all, ${first.file} ${p0.units.total}`);
    }
    for (const u of s.partial.units.covered) {
      if (seen[u]) throw new Error(`${s.file}: unit ${u} was already run by another shard`);
      seen[u] = 1;
    }
  }
  const notRun = seen.indexOf(0);
  if (notRun >= 0) throw new Error(`The shards leave unit ${notRun} of ${p0.units.total} unrun`);
  return ordered;
}

/** Which of the inputs differ, in words. */
function fingerprintDifference(a: PartialResult<unknown>, b: PartialResult<unknown>): string {
  const out: string[] = [];
  if (a.inputs.model !== b.inputs.model) out.push("the model differs");
  if (a.inputs.data !== b.inputs.data) out.push("the data differs");
  if (a.inputs.previous !== b.inputs.previous) out.push("they start from different previous rounds");
  const keys = new Set([...Object.keys(a.inputs.settings ?? {}), ...Object.keys(b.inputs.settings ?? {})]);
  for (const k of [...keys].sort()) {
    const x = canonicalJson(a.inputs.settings?.[k]), y = canonicalJson(b.inputs.settings?.[k]);
    if (x !== y) out.push(`--${k} is ${x ?? "not given"} in one and ${y ?? "not given"} in the other`);
  }
  return out.length > 0 ? out.join(", ") : "their fingerprints differ";
}
