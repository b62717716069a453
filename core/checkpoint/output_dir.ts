/**
 * The rules every output of the tool follows (a checkpoint folder from `prune --out`, `train --output-dir`,
 * the demo or a future `export --out`, and the report folders of `heads` and the demo): how the tool marks a
 * folder as its own, how it names the siblings it writes beside an output, and when a leftover sibling is
 * provably its own and stale. Browser-safe (no file system): the Deno half that applies these rules is
 * `output_dir_fs.ts`.
 *
 * An output folder the tool wrote holds {@linkcode OUTPUT_MANIFEST}, which lists the files it wrote there.
 * Those files, and only those, may be replaced; anything else in the folder (a model card, notes) is the
 * user's and is never deleted. A sibling left by a killed write is provably abandoned when nobody holds the
 * file lock its writer took (the kernel drops a dead process's locks, SIGKILL included).
 *
 * @example Usage
 * ```ts
 * import { parseOutputManifest, versionFolderName } from "./output_dir.ts";
 * versionFolderName("pruned", "1a2b"); // ".pruned.ckpt-1a2b"
 * parseOutputManifest("{}"); // undefined: not a manifest of this tool
 * ```
 *
 * @module
 */

/** Name of the manifest file the tool writes into every output folder it owns. */
export const OUTPUT_MANIFEST = ".bertology-output.json";

/** Who wrote an output (for people reading the manifest; liveness is told by a file lock, not by this). */
export interface OutputOwner {
  /** Process id. */
  pid: number;
  /** When the write started (ISO 8601). */
  started: string;
}

/** The manifest of an output folder written by this tool. */
export interface OutputManifest extends OutputOwner {
  /** Always "bertology": what makes the folder recognisably this tool's. */
  tool: "bertology";
  /** A checkpoint folder (replaced as a whole) or a folder of report files (replaced file by file). */
  kind: "checkpoint" | "files";
  /** The names the tool wrote in the folder (files or, for report folders, sub-checkpoints). */
  files: string[];
  /** False while the folder is being written; a checkpoint is only ever put in place once true. */
  complete: boolean;
}

/**
 * Reads a manifest, or `undefined` when the text is not one this tool wrote.
 *
 * @param text The manifest file's text.
 * @returns The manifest, or `undefined` for anything else (other JSON, broken JSON, unsafe names).
 * @example Usage
 * ```ts
 * import { parseOutputManifest } from "./output_dir.ts";
 * parseOutputManifest('{"tool":"bertology"}'); // undefined: fields missing
 * ```
 */
export function parseOutputManifest(text: string): OutputManifest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const m = value as Record<string, unknown>;
  const files = m.files;
  if (
    m.tool !== "bertology" || (m.kind !== "checkpoint" && m.kind !== "files") || !Array.isArray(files) ||
    !files.every((f) => typeof f === "string" && isPlainName(f)) || typeof m.complete !== "boolean" ||
    typeof m.pid !== "number" || typeof m.started !== "string"
  ) return undefined;
  return {
    tool: "bertology",
    kind: m.kind,
    files: files as string[],
    complete: m.complete,
    pid: m.pid,
    started: m.started,
  };
}

/**
 * Whether `name` is a single plain entry name (no separators, not `.`/`..`, not the manifest, no NUL): the
 * only kind of name a manifest may list, so a crafted manifest can never point the tool outside its folder.
 *
 * @param name The entry name.
 * @returns True for a plain name.
 * @example Usage
 * ```ts
 * import { isPlainName } from "./output_dir.ts";
 * isPlainName("config.json"); // true
 * isPlainName("../thesis.tex"); // false
 * ```
 */
export function isPlainName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && name !== OUTPUT_MANIFEST && !/[/\\\0]/.test(name);
}

/**
 * The hidden sibling a checkpoint `name` is written into (`.NAME.ckpt-ID`); the output itself is a symbolic
 * link to the current one, so replacing it is one rename of the link. Its writer holds a lock on this folder
 * until the write is over; the link and previous-folder siblings of the same ID share that lock.
 *
 * @param name The output's entry name.
 * @param id A unique id.
 * @returns The sibling's entry name.
 * @example Usage
 * ```ts
 * import { versionFolderName } from "./output_dir.ts";
 * versionFolderName("best", "x1"); // ".best.ckpt-x1"
 * ```
 */
export function versionFolderName(name: string, id: string): string {
  return `.${name}.ckpt-${id}`;
}

/**
 * The hidden sibling a symbolic link is made under before it is renamed over the output (`.NAME.link-PID-ID`).
 *
 * @param name The output's entry name.
 * @param pid The writing process.
 * @param id A unique id.
 * @returns The sibling's entry name.
 * @example Usage
 * ```ts
 * import { linkTempName } from "./output_dir.ts";
 * linkTempName("best", 42, "x1"); // ".best.link-42-x1"
 * ```
 */
export function linkTempName(name: string, pid: number, id: string): string {
  return `.${name}.link-${pid}-${id}`;
}

/**
 * Where an old real folder is moved to while it is replaced by a link (`.NAME.prev-ID`): the one step that
 * is two renames, recovered on the next write if a kill falls between them.
 *
 * @param name The output's entry name.
 * @param id A unique id.
 * @returns The sibling's entry name.
 * @example Usage
 * ```ts
 * import { previousFolderName } from "./output_dir.ts";
 * previousFolderName("best", "x1"); // ".best.prev-x1"
 * ```
 */
export function previousFolderName(name: string, id: string): string {
  return `.${name}.prev-${id}`;
}

/**
 * The temporary name a single output file is written under before its rename (`.NAME.tmp-PID-ID`).
 *
 * @param name The file's entry name.
 * @param pid The writing process.
 * @param id A unique id.
 * @returns The temporary entry name.
 * @example Usage
 * ```ts
 * import { fileTempName } from "./output_dir.ts";
 * fileTempName("report.json", 42, "x1"); // ".report.json.tmp-42-x1"
 * ```
 */
export function fileTempName(name: string, pid: number, id: string): string {
  return `.${name}.tmp-${pid}-${id}`;
}

/** A sibling entry the tool makes beside an output, as {@linkcode parseSiblingName} reads it back. */
export interface SiblingName {
  /** The output it belongs to. */
  name: string;
  /** Which kind of sibling. */
  role: "ckpt" | "link" | "prev" | "tmp";
  /** The pid in the name (links and temporary files), else undefined. */
  pid?: number;
}

/**
 * Reads back a sibling name made by {@linkcode versionFolderName}, {@linkcode linkTempName},
 * {@linkcode previousFolderName} or {@linkcode fileTempName}.
 *
 * @param entry An entry name found beside an output.
 * @returns What it is, or `undefined` for any other name.
 * @example Usage
 * ```ts
 * import { parseSiblingName } from "./output_dir.ts";
 * parseSiblingName(".best.link-42-x1"); // { name: "best", role: "link", pid: 42 }
 * parseSiblingName("notes.txt"); // undefined
 * ```
 */
export function parseSiblingName(entry: string): SiblingName | undefined {
  const m = /^\.(.+)\.(ckpt|link|prev|tmp)-(?:(\d+)-)?([0-9a-z]+)$/.exec(entry);
  if (!m) return undefined;
  const name = m[1] ?? "", role = m[2] as SiblingName["role"], pid = m[3];
  const withPid = role === "link" || role === "tmp";
  if (withPid !== (pid !== undefined) || !isPlainName(name)) return undefined;
  return pid === undefined ? { name, role } : { name, role, pid: Number(pid) };
}

/**
 * Whether absolute, normalised path `inner` is `outer` or lies inside it.
 *
 * @param inner A path without `.`/`..` parts or trailing separators.
 * @param outer Likewise.
 * @returns True when `inner` is `outer` or below it.
 * @example Usage
 * ```ts
 * import { isSameOrInside } from "./output_dir.ts";
 * isSameOrInside("/a/b/c", "/a/b"); // true
 * isSameOrInside("/a/bc", "/a/b"); // false
 * ```
 */
export function isSameOrInside(inner: string, outer: string): boolean {
  if (inner === outer) return true;
  const prefix = outer.endsWith("/") ? outer : `${outer}/`;
  return inner.startsWith(prefix);
}

/** An output the tool refuses to write, with a sentence naming the path and what to do. */
export class OutputRefusedError extends Error {
  /** @param message The sentence. */
  constructor(message: string) {
    super(message);
    this.name = "OutputRefusedError";
  }
}
