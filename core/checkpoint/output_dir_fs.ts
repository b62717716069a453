/**
 * Writes the tool's outputs without ever destroying data (the rules are in `output_dir.ts`). Deno only.
 *
 * - {@linkcode writeCheckpointDir} puts a whole checkpoint folder in place. The files go to a hidden sibling
 *   `.NAME.ckpt-ID` and the output becomes a symbolic link to it, so replacing an earlier checkpoint is a
 *   single `rename` of a new link over the old one: a kill at any moment leaves the old or the new complete
 *   checkpoint under the output's name, never a mix. (Turning a real folder — the user's, with `force` —
 *   into a link takes two renames; a kill between them is repaired by the next write, see below.)
 * - {@linkcode openOutputFolder} prepares a folder of report files (`heads --output-dir`, the demo's folder,
 *   `train --output-dir`), each written to a temporary name and renamed into place.
 *
 * Both refuse, with a sentence naming the path and what to do: an output that is one of the command's
 * sources or contains one (writing *inside* a source is allowed: only files the tool wrote are ever
 * replaced, so the source's own files are never touched), an existing file, a symbolic link the tool did not
 * make, and a non-empty folder the tool did not write unless `force`. Even with `force` no file the tool did
 * not write is deleted or overwritten: the user's files are kept (hard-linked into the new checkpoint folder)
 * and a name clash with one of them is refused. Leftovers of killed writes (`.NAME.ckpt-*`, `.NAME.link-*`,
 * `.NAME.tmp-*`) are removed on the next write once their owner process is provably gone: nobody holds the
 * file lock the writer took (the kernel drops a dead process's locks, SIGKILL included). Folders named
 * `.tmp-checkpoint-*` left by versions before this one carry no such proof and are left alone.
 *
 * @example Usage
 * ```ts
 * import { writeCheckpointDir } from "./output_dir_fs.ts";
 * const dir = await Deno.makeTempDir();
 * await writeCheckpointDir(`${dir}/ckpt`, { "config.json": new TextEncoder().encode("{}\n") });
 * await writeCheckpointDir(`${dir}/ckpt`, { "config.json": new TextEncoder().encode('{"a":1}\n') }); // replaces it
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import {
  fileTempName,
  isPlainName,
  isSameOrInside,
  linkTempName,
  OUTPUT_MANIFEST,
  type OutputManifest,
  type OutputOwner,
  OutputRefusedError,
  parseOutputManifest,
  parseSiblingName,
  previousFolderName,
  versionFolderName,
} from "./output_dir.ts";
import { readLocalFile } from "./local_files.ts";

/** How an output may be written. */
export interface OutputOptions {
  /** Write into a non-empty folder the tool did not write, keeping every file in it (default false). */
  force?: boolean | undefined;
  /** Paths the command reads (model folders, data files): an output that is one or contains one is refused. */
  sources?: readonly string[] | undefined;
  /** The flag that named the output, for messages (default "the output"). */
  flag?: string | undefined;
}

/** Test hook: called between the steps of a write, so tests can stop it there as a kill would. */
export type WriteStepHook = (step: WriteStep) => void | Promise<void>;

/** The moments of {@linkcode writeCheckpointDir} a {@linkcode WriteStepHook} sees. */
export type WriteStep =
  | "version-created"
  | "file-written"
  | "files-carried"
  | "complete"
  | "link-made"
  | "old-moved"
  | "swapped"
  | "done";

/** {@linkcode writeCheckpointDir}'s options. */
export interface CheckpointDirOptions extends OutputOptions {
  /** Called between steps (tests only). */
  onStep?: WriteStepHook | undefined;
}

const encoder = new TextEncoder();

function owner(): OutputOwner {
  return { pid: Deno.pid, started: new Date().toISOString() };
}

/**
 * Whether nobody holds the lock on `path` (a version folder or a temporary file): its writer is gone, as
 * the kernel drops the locks of a dead process. A missing path has no writer either.
 */
async function isAbandoned(path: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    return e instanceof Deno.errors.NotFound; // otherwise (a folder Windows will not open) it is not provable
  }
  try {
    return await file.tryLock(true);
  } finally {
    file.close();
  }
}

function uniqueId(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 12);
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function readManifest(folder: string): Promise<OutputManifest | undefined> {
  try {
    const bytes = await readLocalFile(join(folder, OUTPUT_MANIFEST)); // never a pipe or a device
    return bytes === undefined ? undefined : parseOutputManifest(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Writes `folder/name` atomically: to a temporary sibling (`.NAME.tmp-PID-ID`), locked while it exists so
 * that a later run can tell an abandoned one, then renamed into place.
 *
 * @param folder The folder.
 * @param name The file's plain name.
 * @param bytes The contents, or its parts in order (a file past one array's size: ONNX external data).
 * @throws {Error} when it cannot be written; the temporary file is then removed.
 * @example Usage
 * ```ts
 * import { writeFileAtomically } from "./output_dir_fs.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomically(dir, "report.json", new TextEncoder().encode("{}\n"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomically(
  folder: string,
  name: string,
  bytes: Uint8Array | readonly Uint8Array[],
): Promise<void> {
  await removeAbandonedTemps(folder, name);
  const tmp = join(folder, fileTempName(name, Deno.pid, uniqueId()));
  const file = await Deno.open(tmp, { createNew: true, write: true, mode: 0o644 });
  try {
    await file.lock(true);
    for (const part of bytes instanceof Uint8Array ? [bytes] : bytes) {
      let written = 0;
      while (written < part.length) written += await file.write(part.subarray(written));
    }
    await Deno.rename(tmp, join(folder, name)); // still locked: the temporary name never exists unlocked
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  } finally {
    file.close();
  }
}

async function writeManifest(folder: string, manifest: OutputManifest): Promise<void> {
  await writeFileAtomically(folder, OUTPUT_MANIFEST, encoder.encode(JSON.stringify(manifest, null, 2) + "\n"));
}

/** An absolute path with the symbolic links of its existing part resolved (the rest kept as written). */
async function resolvedPath(path: string): Promise<string> {
  const abs = resolve(path);
  let head = abs, tail = "";
  for (;;) {
    try {
      const real = await Deno.realPath(head);
      return tail === "" ? real : join(real, tail);
    } catch {
      const up = dirname(head);
      if (up === head) return abs;
      tail = tail === "" ? basename(head) : join(basename(head), tail);
      head = up;
    }
  }
}

/** Refuses an output that is one of the sources or contains one (as written and with links resolved). */
async function refuseSources(output: string, opts: OutputOptions): Promise<void> {
  const label = opts.flag ?? "the output";
  const out = [resolve(output), await resolvedPath(output)];
  for (const source of opts.sources ?? []) {
    const src = [resolve(source), await resolvedPath(source)];
    if (out.some((o) => src.some((s) => isSameOrInside(s, o)))) {
      const same = out.some((o) => src.some((s) => s === o));
      throw new OutputRefusedError(
        `Refusing to write ${label} ${output}: it ${same ? "is" : "contains"} ${source}, which this command reads ` +
          `and writing there would destroy it; choose another ${label}`,
      );
    }
  }
}

/** The state of an output path before it is written. */
type OutputState =
  | { kind: "missing" }
  | { kind: "link"; version: string; manifest: OutputManifest }
  | { kind: "folder"; entries: string[]; manifest: OutputManifest | undefined };

async function inspectOutput(path: string, opts: OutputOptions, wanted: OutputManifest["kind"]): Promise<OutputState> {
  const label = opts.flag ?? "the output";
  const info = await lstatOrUndefined(path);
  if (!info) return { kind: "missing" };
  if (info.isSymlink) {
    const target = await Deno.readLink(path);
    const sibling = parseSiblingName(target);
    if (wanted === "checkpoint" && sibling?.role === "ckpt" && sibling.name === basename(path)) {
      const manifest = await readManifest(join(dirname(path), target));
      if (manifest?.kind === "checkpoint" && manifest.complete) return { kind: "link", version: target, manifest };
    }
    if (wanted === "checkpoint") {
      throw new OutputRefusedError(
        `Refusing to write ${label} ${path}: it is a symbolic link that bertology did not make; ` +
          `remove it yourself or choose another ${label}`,
      );
    }
  }
  const followed = info.isSymlink ? await Deno.stat(path) : info;
  if (!followed.isDirectory) {
    throw new OutputRefusedError(
      `Refusing to write ${label} ${path}: it is an existing file, and ${label} must name a folder; ` +
        `choose another ${label} (--force never replaces a file bertology did not write)`,
    );
  }
  const entries: string[] = [];
  for await (const e of Deno.readDir(path)) entries.push(e.name);
  const manifest = await readManifest(path);
  return { kind: "folder", entries, manifest: manifest?.kind === wanted ? manifest : undefined };
}

/**
 * The user's entries of an existing output (kept, never deleted), refusing when the folder is not the tool's
 * and `force` is off, or when one of them has the name of a new output.
 */
function userEntries(
  path: string,
  state: OutputState,
  entries: readonly string[],
  newNames: readonly string[],
  opts: OutputOptions,
): string[] {
  const label = opts.flag ?? "the output";
  const ours = new Set(state.kind === "missing" ? [] : state.manifest?.files ?? []);
  const declared = new Set([...ours, ...newNames]);
  // the tool's own siblings of the outputs (`.best.ckpt-…`, `.report.json.tmp-…`) are not the user's
  const user = entries.filter((e) =>
    e !== OUTPUT_MANIFEST && !ours.has(e) && !declared.has(parseSiblingName(e)?.name ?? "")
  );
  if (state.kind === "folder" && state.manifest === undefined && user.length > 0 && !opts.force) {
    throw new OutputRefusedError(
      `Refusing to write ${label} ${path}: the folder is not empty and bertology did not write it ` +
        `(it holds ${quoteList(user)}); choose another ${label}, or pass --force to write there and keep those files`,
    );
  }
  const clash = user.filter((e) => newNames.includes(e));
  if (clash.length > 0) {
    throw new OutputRefusedError(
      `Refusing to write ${label} ${path}: ${quoteList(clash)} ${clash.length > 1 ? "were" : "was"} not written by ` +
        `bertology and would be replaced (--force never replaces such files); move ${
          clash.length > 1 ? "them" : "it"
        } away or choose another ${label}`,
    );
  }
  return user;
}

function quoteList(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((n) => `"${n}"`).join(", ");
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

/** Hard-links `from` (a file or a folder tree) to `to`: the user's files appear in both, at no cost. */
async function linkTree(from: string, to: string): Promise<void> {
  const info = await Deno.lstat(from);
  if (info.isDirectory) {
    await Deno.mkdir(to);
    for await (const e of Deno.readDir(from)) await linkTree(join(from, e.name), join(to, e.name));
  } else if (info.isSymlink) {
    await Deno.symlink(await Deno.readLink(from), to);
  } else {
    await Deno.link(from, to);
  }
}

/**
 * Removes what a retired or abandoned folder holds that is safe to remove: the files its manifest lists,
 * and entries that are hard links of the same entry under `twin` (the user's files carried over); then the
 * folder itself if nothing else is left. Anything else stays where it is.
 */
async function removeOwnFolder(folder: string, twin: string | undefined): Promise<void> {
  const manifest = await readManifest(folder);
  for (const name of manifest?.files ?? []) {
    await Deno.remove(join(folder, name)).catch(() => {});
  }
  if (twin !== undefined) await removeTwins(folder, twin);
  for await (const e of Deno.readDir(folder)) {
    if (e.name.startsWith(`.${OUTPUT_MANIFEST}.tmp-`)) await Deno.remove(join(folder, e.name)); // a killed manifest write
  }
  await Deno.remove(join(folder, OUTPUT_MANIFEST)).catch(() => {});
  await Deno.remove(folder).catch(() => {}); // only when empty: what is left is not provably ours
}

async function removeTwins(folder: string, twin: string): Promise<void> {
  for await (const e of Deno.readDir(folder)) {
    if (e.name === OUTPUT_MANIFEST) continue;
    const here = join(folder, e.name), there = join(twin, e.name);
    const a = await Deno.lstat(here), b = await lstatOrUndefined(there);
    if (!b) continue;
    if (a.isDirectory && b.isDirectory) {
      await removeTwins(here, there);
      await Deno.remove(here).catch(() => {});
    } else if (a.isSymlink && b.isSymlink) {
      if (await Deno.readLink(here) === await Deno.readLink(there)) await Deno.remove(here);
    } else if (a.isFile && b.isFile && a.ino !== null && a.ino === b.ino && a.dev === b.dev) {
      await Deno.remove(here);
    }
  }
}

/**
 * Removes the temporary files (`.NAME.tmp-PID-ID`) of earlier writes of `name` in `folder` whose writer is gone
 * (nobody holds their lock: a killed `export` or `dump`), so that every write cleans up after a dead one.
 */
async function removeAbandonedTemps(folder: string, name: string): Promise<void> {
  let entries: string[];
  try {
    entries = (await Array.fromAsync(Deno.readDir(folder))).map((e) => e.name);
  } catch {
    return; // the write itself says why the folder cannot be used
  }
  for (const entry of entries) {
    const s = parseSiblingName(entry);
    if (s?.role !== "tmp" || s.name !== name) continue;
    if (await isAbandoned(join(folder, entry))) await Deno.remove(join(folder, entry)).catch(() => {});
  }
}

/**
 * Cleans the leftovers of earlier writes of output `name` in `parent` whose writer is provably gone (nobody
 * holds the lock on their version folder), and puts back an old folder a kill left moved aside (see
 * {@linkcode writeCheckpointDir}).
 */
async function cleanLeftovers(parent: string, name: string): Promise<void> {
  const path = join(parent, name);
  const siblings: { entry: string; role: string; id: string }[] = [];
  for await (const e of Deno.readDir(parent)) {
    const s = parseSiblingName(e.name);
    const id = e.name.slice(e.name.lastIndexOf("-") + 1);
    if (s?.name === name && s.role !== "tmp") siblings.push({ entry: e.name, role: s.role, id });
  }
  const abandoned = new Map<string, boolean>();
  for (const s of siblings) {
    if (!abandoned.has(s.id)) abandoned.set(s.id, await isAbandoned(join(parent, versionFolderName(name, s.id))));
  }
  const gone = siblings.filter((s) => abandoned.get(s.id));
  let state = await lstatOrUndefined(path);
  let restored: string | undefined;
  for (const s of gone.filter((s) => s.role === "prev")) {
    if (!state) {
      // a kill fell between moving the old folder aside and linking the new one in: put the old one back
      await Deno.rename(join(parent, s.entry), path);
      state = await Deno.lstat(path);
      restored = s.entry;
    }
  }
  const current = state?.isSymlink ? await Deno.readLink(path) : undefined;
  const twin = state ? path : undefined;
  for (const s of gone) {
    const at = join(parent, s.entry);
    if (s.role === "link") await Deno.remove(at);
    else if (s.role === "ckpt" && s.entry !== current) await removeOwnFolder(at, twin);
    else if (s.role === "prev" && s.entry !== restored) await removeOwnFolder(at, twin);
  }
}

/** Whether this file system makes symbolic links (not so on Windows without the privilege). */
async function trySymlink(target: string, at: string): Promise<boolean> {
  try {
    await Deno.symlink(target, at, { type: "dir" });
    return true;
  } catch (e) {
    if (Deno.build.os === "windows") return false;
    throw e;
  }
}

/**
 * Checks, before any long computation, that {@linkcode writeCheckpointDir} would accept `path` for `names`.
 *
 * @param path The checkpoint folder.
 * @param names The files that will be written.
 * @param opts Force, sources, flag name.
 * @throws {OutputRefusedError} with the same sentence the write would give.
 * @example Usage
 * ```ts
 * import { checkCheckpointDir } from "./output_dir_fs.ts";
 * await checkCheckpointDir("/nonexistent/out/pruned", ["config.json"], { flag: "--out" });
 * ```
 */
export async function checkCheckpointDir(
  path: string,
  names: readonly string[],
  opts: OutputOptions = {},
): Promise<void> {
  await refuseSources(path, opts);
  const state = await inspectOutput(path, opts, "checkpoint");
  const entries = state.kind === "folder" ? state.entries : state.kind === "link" ? await list(join(path)) : [];
  userEntries(path, state, entries, [...names, OUTPUT_MANIFEST], opts);
}

async function list(folder: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(folder)) names.push(e.name);
  return names;
}

/**
 * Writes a checkpoint folder so that `path` is always either the old or the new complete checkpoint.
 *
 * The steps, and what a kill after each leaves at `path`: (1) the files and the user's files (hard links)
 * go into a new hidden sibling `.NAME.ckpt-ID` whose manifest says incomplete — `path` is the old
 * checkpoint; (2) the manifest is marked complete and a link `.NAME.link-…` to it is made — still the old;
 * (3) the link is renamed over `path` (one atomic step) — the new one; (4) the old version folder loses the
 * files the tool wrote and the links of the user's files — still the new one. The next write removes what a
 * kill left over, once its writer is provably gone. When `path` is a real folder (written before links, or
 * not by the tool) step 3 is two renames: the folder moves to `.NAME.prev-ID`, then the link takes its
 * place; a kill between them leaves the old folder there, and the next write puts it back first.
 *
 * @param path The output folder.
 * @param files The files to write, by plain name.
 * @param opts Force, sources, flag name, test hook.
 * @throws {OutputRefusedError} when `path` may not be written (see the module doc); nothing is changed then.
 * @throws {Error} when a write fails; `path` is then as it was.
 * @example Usage
 * ```ts
 * import { writeCheckpointDir } from "./output_dir_fs.ts";
 * const dir = await Deno.makeTempDir();
 * await writeCheckpointDir(`${dir}/ckpt`, { "config.json": new TextEncoder().encode("{}\n") }, { flag: "--out" });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeCheckpointDir(
  path: string,
  files: Readonly<Record<string, Uint8Array>>,
  opts: CheckpointDirOptions = {},
): Promise<void> {
  const names = Object.keys(files);
  for (const name of names) {
    if (!isPlainName(name)) throw new Error(`Refusing to write "${name}" into ${path}: not a plain file name`);
  }
  const out = resolve(path);
  const parent = dirname(out), name = basename(out);
  const step = opts.onStep ?? (() => {});
  await refuseSources(path, opts);
  await Deno.mkdir(parent, { recursive: true });
  await cleanLeftovers(parent, name);
  const state = await inspectOutput(out, opts, "checkpoint");
  const oldFolder = state.kind === "link" ? join(parent, state.version) : state.kind === "folder" ? out : undefined;
  const entries = oldFolder === undefined ? [] : await list(oldFolder);
  const keep = userEntries(path, state, entries, names, opts);

  const id = uniqueId();
  const versionName = versionFolderName(name, id);
  const version = join(parent, versionName);
  const manifest: OutputManifest = { tool: "bertology", kind: "checkpoint", files: names, complete: false, ...owner() };
  await Deno.mkdir(version, { mode: 0o755 });
  // held until the write is over: while it is, no other run takes this folder (or its link) for abandoned
  const lock = Deno.build.os === "windows" ? undefined : await Deno.open(version, { read: true });
  try {
    await lock?.lock(true);
    await replaceWith(out, version, state, oldFolder, keep, files, manifest, step);
  } finally {
    lock?.close();
  }
}

async function replaceWith(
  out: string,
  version: string,
  state: OutputState,
  oldFolder: string | undefined,
  keep: readonly string[],
  files: Readonly<Record<string, Uint8Array>>,
  manifest: OutputManifest,
  step: WriteStepHook,
): Promise<void> {
  const parent = dirname(out), name = basename(out), versionName = basename(version);
  const id = versionName.slice(versionName.lastIndexOf("-") + 1);
  try {
    await writeManifest(version, manifest);
    await step("version-created");
    for (const [file, bytes] of Object.entries(files)) {
      await Deno.writeFile(join(version, file), bytes, { mode: 0o644 });
      await step("file-written");
    }
    for (const entry of keep) await linkTree(join(oldFolder!, entry), join(version, entry));
    await step("files-carried");
    await writeManifest(version, { ...manifest, complete: true });
    await step("complete");
  } catch (e) {
    await removeOwnFolder(version, oldFolder).catch(() => {});
    throw e;
  }

  const link = join(parent, linkTempName(name, Deno.pid, id));
  if (!(await trySymlink(versionName, link))) {
    // no symbolic links here: the old folder moves aside and the new one takes its name (two renames)
    const prev = join(parent, previousFolderName(name, id));
    if (oldFolder !== undefined) await Deno.rename(oldFolder, prev);
    await step("old-moved");
    await Deno.rename(version, out);
    await step("swapped");
    if (oldFolder !== undefined) await removeOwnFolder(prev, out);
    await step("done");
    return;
  }
  await step("link-made");
  if (state.kind === "folder") {
    if (state.entries.length === 0) await Deno.remove(out); // an empty folder: nothing of it to keep
    else {
      const prev = join(parent, previousFolderName(name, id));
      await Deno.rename(out, prev);
      await step("old-moved");
      await Deno.rename(link, out);
      await step("swapped");
      await removeOwnFolder(prev, version);
      await step("done");
      return;
    }
  }
  await Deno.rename(link, out);
  await step("swapped");
  if (oldFolder !== undefined) await removeOwnFolder(oldFolder, version);
  await step("done");
}

async function checkFolder(path: string, names: readonly string[], opts: OutputOptions) {
  for (const name of names) {
    if (!isPlainName(name)) throw new Error(`Refusing to write "${name}" into ${path}: not a plain file name`);
  }
  await refuseSources(path, opts);
  const state = await inspectOutput(path, opts, "files");
  const entries = state.kind === "folder" ? state.entries : [];
  userEntries(path, state, entries, names, opts);
  return { state, entries };
}

/**
 * Checks, without changing anything, that {@linkcode openOutputFolder} would accept `path` for `names`, so a
 * command can refuse before a long computation.
 *
 * @param path The folder.
 * @param names Every entry the command may write there.
 * @param opts Force, sources, flag name.
 * @throws {OutputRefusedError} with the sentence {@linkcode openOutputFolder} would give.
 * @example Usage
 * ```ts
 * import { checkOutputFolder } from "./output_dir_fs.ts";
 * await checkOutputFolder("/nonexistent/report", ["report.json"], { flag: "--output-dir" });
 * ```
 */
export async function checkOutputFolder(
  path: string,
  names: readonly string[],
  opts: OutputOptions = {},
): Promise<void> {
  await checkFolder(path, names, opts);
}

/** A folder of report files opened by {@linkcode openOutputFolder}. */
export interface OutputFolder {
  /** The folder, as given. */
  readonly path: string;
  /** Writes one of the declared files: to a temporary name, then renamed into place. */
  write(name: string, bytes: Uint8Array | string): Promise<void>;
}

/**
 * Opens a folder for report files: refuses it (see the module doc), creates it if missing, cleans abandoned
 * temporary files, and records `names` in its manifest before anything is written, so that the next run
 * recognises them as its own. Checkpoints inside it (e.g. `best`) are declared in `names` too and written
 * with {@linkcode writeCheckpointDir}.
 *
 * @param path The folder.
 * @param names Every entry the command may write there.
 * @param opts Force, sources, flag name.
 * @returns A writer for the declared files.
 * @throws {OutputRefusedError} when the folder may not be written; nothing is changed then.
 * @example Usage
 * ```ts
 * import { openOutputFolder } from "./output_dir_fs.ts";
 * const dir = await Deno.makeTempDir();
 * const out = await openOutputFolder(`${dir}/report`, ["report.json"], { flag: "--output-dir" });
 * await out.write("report.json", "{}\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openOutputFolder(
  path: string,
  names: readonly string[],
  opts: OutputOptions = {},
): Promise<OutputFolder> {
  const { state, entries } = await checkFolder(path, names, opts);
  await Deno.mkdir(path, { recursive: true });
  const previous = state.kind === "folder" ? state.manifest?.files ?? [] : [];
  for (const entry of entries) {
    // a temporary file of one of the tool's outputs whose writer was killed (nobody holds its lock)
    const s = parseSiblingName(entry);
    const own = s?.role === "tmp" && (previous.includes(s.name) || names.includes(s.name));
    if (own && await isAbandoned(join(path, entry))) await Deno.remove(join(path, entry)).catch(() => {});
  }
  const manifest: OutputManifest = {
    tool: "bertology",
    kind: "files",
    files: [...new Set([...previous, ...names])],
    complete: true,
    ...owner(),
  };
  await writeManifest(path, manifest);
  return {
    path,
    write: async (name, bytes) => {
      if (!names.includes(name)) throw new Error(`${name} was not declared as an output of ${path}`);
      try {
        await writeFileAtomically(path, name, typeof bytes === "string" ? encoder.encode(bytes) : bytes);
      } catch (e) {
        throw new Error(`Could not write ${join(path, name)}: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}
