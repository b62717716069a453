/**
 * {@linkcode ModelFiles} backed by the Hugging Face hub through a local cache. Deno only (file system and
 * environment); import it from `deno.ts`.
 *
 * Files are fetched from `{endpoint}/{repo}/resolve/{revision}/{file}` and kept under `{cache}/{org--name}/`:
 *
 * - `refs/{revision}`: the commit the revision last resolved to (the hub's `X-Repo-Commit`);
 * - `snapshots/{commit}/{file}`: the files of that commit, each checked before it joined (below). Once a
 *   command has resolved `main` to a commit, it reads every further file of that commit (`resolve/{commit}/…`),
 *   so files of different revisions never mix, and `main` is resolved again by the next command that is
 *   online, so it is never cached for ever. A server that names no commit (a plain mirror) gets
 *   `snapshots/{revision}/`, each file revalidated by its ETag;
 * - `.no_exist/{commit}/{file}`: files the hub answered 404 (so offline mode knows them absent);
 * - `.meta/{commit}/{file}.json`: where each file came from, its ETag, size and sha256;
 * - `.incomplete/`: downloads in progress, each locked by its writer; a dead writer's are removed by the next
 *   download.
 *
 * A download streams to a file under `.incomplete/` (never held in memory), hashing as it goes, and joins the
 * snapshot only when its length is the Content-Length and the hub's `X-Linked-Size`, its sha256 is the hub's
 * ETag where that is a sha256, it is not an HTML page, a `.json` file parses and a `.safetensors` file's header
 * parses and spans the file exactly. Slow or silent servers are abandoned (see {@linkcode TransferLimits}).
 * When the network fails (or the hub answers 5xx) before anything came from it, a cached copy of the revision
 * stands in, with a notice; offline mode (`HF_HUB_OFFLINE=1`, `--offline`) uses only the cache, and there a
 * file a cached copy lacks reads as absent (as HF does), so a BERT cached with only `vocab.txt` loads.
 *
 * Environment: `HF_ENDPOINT` (default `https://huggingface.co`), `HF_TOKEN` (sent as a bearer token to the hub
 * only, never to the CDN it redirects to), `BERTOLOGY_CACHE` (default `~/.cache/bertology`), `HF_HUB_OFFLINE=1`
 * (never use the network), and the limits' variables (`BERTOLOGY_HUB_CONNECT_TIMEOUT`, …).
 *
 * @module
 */

import { excerpt } from "./_describe.ts";
import { basename, dirname, join } from "node:path";
import { isSafeFileName, type ModelFiles } from "./files.ts";
import { localFiles, openLocalFile } from "./local_files.ts";
import { writeFileAtomically } from "./output_dir_fs.ts";
import { readSafetensorsHeader } from "./safetensors.ts";
import {
  type HubAnswer,
  NetworkError,
  requestFile,
  type Streamed,
  streamToFile,
  type TransferLimits,
  transferLimits,
} from "./_hub_transfer.ts";

export { DEFAULT_TRANSFER_LIMITS, TRANSFER_LIMIT_VARIABLES, type TransferLimits } from "./_hub_transfer.ts";

/** Options for {@linkcode hubFiles} and {@linkcode resolveModel}; each overrides its environment variable. */
export interface HubOptions {
  /** Hub base URL (env `HF_ENDPOINT`, default `https://huggingface.co`). */
  endpoint?: string;
  /** Access token for private or gated repositories (env `HF_TOKEN`). */
  token?: string;
  /** Cache folder (env `BERTOLOGY_CACHE`, default `~/.cache/bertology`). */
  cacheDir?: string;
  /** Use only the cache (env `HF_HUB_OFFLINE=1`, CLI `--offline`). */
  offline?: boolean;
  /** The fetch to use (tests, proxies). */
  fetch?: typeof fetch;
  /** Called as bytes arrive; `total` is the Content-Length when the server sent one. */
  onProgress?: (file: string, done: number, total: number | undefined) => void;
  /**
   * Time limits of a download; each one given overrides its variable (`BERTOLOGY_HUB_CONNECT_TIMEOUT`,
   * `BERTOLOGY_HUB_FIRST_BYTE_TIMEOUT` in seconds, `BERTOLOGY_HUB_MIN_RATE` in bytes/s,
   * `BERTOLOGY_HUB_RATE_WINDOW` in seconds; defaults 30 s, 30 s, 1024 bytes/s over 30 s).
   */
  limits?: Partial<TransferLimits>;
  /** Where a notice goes when the cache stands in for a failed network (default: stderr). */
  onNotice?: (message: string) => void;
}

/** A hub repository and revision. */
export interface HubRepo {
  /** `name` or `org/name`. */
  repo: string;
  /** Branch, tag or commit (default `main`). */
  revision: string;
}

const SEGMENT = String.raw`[A-Za-z0-9][A-Za-z0-9._-]*`;
const HUB_ID = new RegExp(String.raw`^(${SEGMENT}(?:/${SEGMENT})?)(?:@([A-Za-z0-9._/-]+))?$`);

/**
 * Splits a hub id such as `bert-base-uncased`, `textattack/bert-base-uncased-SST-2` or `org/name@v1.0`.
 *
 * @param id The id, with an optional `@revision`.
 * @returns The repository and revision (`main` when none is given).
 * @throws {Error} When `id` is not of that form.
 *
 * @example Usage
 * ```ts
 * import { parseHubId } from "./hub.ts";
 * parseHubId("openai-community/gpt2@main"); // { repo: "openai-community/gpt2", revision: "main" }
 * ```
 */
export function parseHubId(id: string): HubRepo {
  const match = HUB_ID.exec(id);
  const revision = match?.[2] ?? "main";
  if (match === null || id.includes("..") || !isSafeFileName(revision)) {
    throw new Error(`"${id}" is not a hub id (expected "name", "org/name" or "org/name@revision")`);
  }
  return { repo: match[1]!, revision };
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: behave as if unset
  }
}

/**
 * The cache folder {@linkcode hubFiles} uses: `opts.cacheDir`, else `BERTOLOGY_CACHE`, else
 * `~/.cache/bertology`.
 *
 * @param opts Options that may name the folder.
 * @returns The folder path.
 * @throws {Error} When no option, no `BERTOLOGY_CACHE` and no home folder is known.
 *
 * @example Usage
 * ```ts
 * import { hubCacheDir } from "./hub.ts";
 * hubCacheDir({ cacheDir: "/tmp/models" }); // "/tmp/models"
 * ```
 */
export function hubCacheDir(opts: Pick<HubOptions, "cacheDir"> = {}): string {
  const dir = opts.cacheDir ?? env("BERTOLOGY_CACHE");
  if (dir !== undefined && dir !== "") return dir;
  const home = env("HOME") ?? env("USERPROFILE");
  if (home === undefined) throw new Error("No cache folder: set BERTOLOGY_CACHE (or HOME)");
  return join(home, ".cache", "bertology");
}

/**
 * Files of a hub repository, downloaded on first read and kept in the cache (layout and checks in the module
 * documentation).
 *
 * @param id `name`, `org/name` or `org/name@revision`.
 * @param opts Endpoint, token, cache folder, offline mode, fetch, progress callback, time limits and notices.
 * @returns Files whose `read` gives `undefined` for a file the hub answers 404 (or, offline, that a cached copy
 * lacks), and throws on 401/403 (mentioning `HF_TOKEN`), a missing repository or revision, other HTTP errors
 * (naming the URL and status), interrupted, slow or failed downloads, downloads that fail a check (naming the
 * URL and the cached path), and network failures or offline mode with no cached copy (naming the cache folder).
 * @throws {Error} When `id` is not a hub id, or a limit's variable is not a number.
 *
 * @example Usage
 * ```ts
 * import { hubFiles } from "./hub.ts";
 * const files = hubFiles("textattack/bert-base-uncased-SST-2@main", { offline: true });
 * files.location; // "hub:textattack/bert-base-uncased-SST-2@main (offline, cache …)"
 * ```
 */
export function hubFiles(id: string, opts: HubOptions = {}): ModelFiles {
  const { repo, revision } = parseHubId(id);
  const endpoint = (opts.endpoint ?? env("HF_ENDPOINT") ?? "https://huggingface.co").replace(/\/+$/, "");
  const token = opts.token ?? env("HF_TOKEN");
  const offline = opts.offline ?? /^(1|true|yes|on)$/i.test(env("HF_HUB_OFFLINE") ?? "");
  const fetchFn = opts.fetch ?? fetch;
  const limits = transferLimits(opts.limits ?? {}, env);
  const notice = opts.onNotice ?? ((message: string) => console.error(message));
  const repoDir = join(hubCacheDir(opts), repo.replace("/", "--"));
  const revisionKey = revision.replaceAll("/", "--");
  const snapshotDir = (key: string) => join(repoDir, "snapshots", key);
  const absentMarker = (key: string, name: string) => join(repoDir, ".no_exist", key, name);
  const metaPath = (key: string, name: string) => join(repoDir, ".meta", key, `${name}.json`);
  const refPath = join(repoDir, "refs", revisionKey);
  const partialDir = join(repoDir, ".incomplete");
  const label = `${repo}@${revision}`;

  /** The snapshot this instance reads from, once known: the resolved commit (or the revision's own folder). */
  let pinned: string | undefined = COMMIT.test(revision) ? revision : undefined;
  /** Set when the cache stands in for the network: "offline mode", or why the network failed. */
  let cacheOnly: string | undefined = offline ? "offline mode" : undefined;
  /** The snapshot a file already came from over the network (a fallback must not mix in another). */
  let servedKey: string | undefined;
  let partialsCleaned = false;
  const known = new Map<string, string | undefined>();

  /** The snapshot the cache alone offers: the ref's commit, else the revision's folder. */
  const cachedKey = (): string => {
    if (pinned !== undefined) return pinned;
    try {
      const commit = Deno.readTextFileSync(refPath).trim();
      if (isSafeKey(commit)) return commit;
    } catch {
      // no ref: the revision's own folder (a commit, or a server that names no commit)
    }
    return revisionKey;
  };

  const fromCache = async (name: string): Promise<string | undefined> => {
    const key = cachedKey();
    const dir = snapshotDir(key);
    if (await exists(absentMarker(key, name))) return undefined;
    if (!(await exists(dir)) && !(await exists(dirname(absentMarker(key, "x"))))) {
      throw new Error(
        offline
          ? `${label} is not in the cache (${dir}) and offline mode is on (--offline or HF_HUB_OFFLINE=1); run once without it to download "${name}"`
          : `${cacheOnly}; and ${label} has no cached copy to fall back on (${dir}). Check the network or HF_ENDPOINT; once the model is cached, --offline (HF_HUB_OFFLINE=1) uses the cache alone`,
      );
    }
    const path = join(dir, name);
    return (await exists(path)) ? path : undefined;
  };

  const fallBack = async (error: NetworkError, name: string): Promise<string | undefined> => {
    if (servedKey !== undefined) {
      // files of this run came from the hub: no other snapshot may stand in for the rest
      const path = join(snapshotDir(servedKey), name);
      if (await exists(path)) return path;
      throw new Error(
        `${error.message}; other files of ${label} came from the hub into ${
          snapshotDir(servedKey)
        } in this run, and "${name}" is not there, so no cached copy can stand in without mixing revisions`,
        { cause: error },
      );
    }
    pinned = COMMIT.test(revision) ? revision : undefined; // forget a commit that only the failed answer named
    cacheOnly = error.message;
    const dir = snapshotDir(cachedKey());
    if (await exists(dir)) {
      notice(
        `${error.message}; using the cached copy of ${label} in ${dir} (--offline or HF_HUB_OFFLINE=1 skips the network)`,
      );
    }
    return await fromCache(name);
  };

  const fileUrl = (rev: string, name: string) =>
    `${endpoint}/${repo}/resolve/${encodeURIComponent(rev)}/${name.split("/").map(encodeURIComponent).join("/")}`;

  const fromHub = async (name: string): Promise<string | undefined> => {
    if (pinned !== undefined) {
      // a resolved commit's files never change: a cached one needs no network
      const path = join(snapshotDir(pinned), name);
      const present = await exists(path);
      if (present || await exists(absentMarker(pinned, name))) {
        await served(pinned);
        return present ? path : undefined;
      }
    }
    const url = fileUrl(pinned ?? revision, name);
    let answer: HubAnswer;
    try {
      answer = await requestFile(url, {
        fetch: fetchFn,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        limits,
      });
    } catch (e) {
      if (e instanceof NetworkError) return await fallBack(e, name);
      throw e;
    }
    const res = answer.response;
    if (res.status >= 500) {
      await res.body?.cancel();
      return await fallBack(new NetworkError(`"${url}" answered ${res.status} ${res.statusText}`), name);
    }
    if (answer.commit !== undefined && !isSafeKey(answer.commit)) {
      await res.body?.cancel();
      throw new Error(`"${url}" names the commit "${excerpt(answer.commit)}", which is not a commit id`);
    }
    const key = answer.commit ?? pinned ?? revisionKey;
    if (pinned !== undefined && key !== pinned) {
      await res.body?.cancel();
      throw new Error(`"${url}" answered for commit "${key}" instead of "${pinned}"; refusing to mix revisions`);
    }
    pinned = answer.commit ?? pinned;
    if (res.status === 404) {
      await res.body?.cancel();
      if (answer.errorCode === "RepoNotFound") {
        throw new Error(`"${url}" answered 404: ${endpoint} has no repository "${repo}"`);
      }
      if (answer.errorCode === "RevisionNotFound") {
        throw new Error(`"${url}" answered 404: ${repo} has no revision "${revision}"`);
      }
      await Deno.mkdir(dirname(absentMarker(key, name)), { recursive: true });
      await Deno.writeFile(absentMarker(key, name), new Uint8Array());
      await served(key);
      return undefined;
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new Error(
        `"${url}" answered ${res.status} ${res.statusText}: the repository is private, gated or missing; ${
          token ? "the token in HF_TOKEN has no access to it" : "set HF_TOKEN to a token with access"
        }`,
      );
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`Download of "${url}" failed: ${res.status} ${res.statusText}`);
    }
    const path = join(snapshotDir(key), name);
    if (await exists(path) && (answer.commit !== undefined || await sameEtag(metaPath(key, name), answer.etag))) {
      await res.body?.cancel();
      await served(key);
      return path;
    }
    try {
      await download(answer, name, key, path);
    } catch (e) {
      if (e instanceof NetworkError) return await fallBack(e, name);
      throw e;
    }
    await served(key);
    return path;
  };

  /** Records that `key` served a file: the revision now resolves there. */
  const served = async (key: string): Promise<void> => {
    servedKey = key;
    if (key === revisionKey) return;
    let current: string | undefined;
    try {
      current = (await Deno.readTextFile(refPath)).trim();
    } catch {
      current = undefined;
    }
    if (current !== key) {
      await Deno.mkdir(dirname(refPath), { recursive: true });
      await writeFileAtomically(dirname(refPath), basename(refPath), new TextEncoder().encode(key));
    }
  };

  const download = async (answer: HubAnswer, name: string, key: string, path: string): Promise<void> => {
    await Deno.mkdir(partialDir, { recursive: true });
    if (!partialsCleaned) {
      partialsCleaned = true;
      await removeAbandonedPartials(partialDir);
    }
    const header = answer.response.headers.get("content-length");
    const total = answer.linkedSize ?? (header !== null && /^\d+$/.test(header) ? Number(header) : undefined);
    const partial = join(partialDir, `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}-${basename(name)}.incomplete`);
    const file = await Deno.open(partial, { write: true, createNew: true });
    try {
      // locked while it exists, so that another process can tell a live download from a dead writer's leftover
      await file.lock(true);
      const got = await streamToFile(answer, file, limits, (done) => opts.onProgress?.(name, done, total));
      const problem = await checkDownload(partial, name, answer, got);
      if (problem !== undefined) {
        throw new Error(`Refusing to cache "${answer.url}" as "${path}": ${problem}; nothing was cached`);
      }
      const meta = {
        url: answer.url,
        commit: answer.commit ?? null,
        etag: answer.etag ?? null,
        size: got.size,
        sha256: got.sha256,
      };
      await Deno.mkdir(dirname(metaPath(key, name)), { recursive: true });
      await writeFileAtomically(
        dirname(metaPath(key, name)),
        basename(metaPath(key, name)),
        new TextEncoder().encode(JSON.stringify(meta) + "\n"),
      );
      await Deno.mkdir(dirname(path), { recursive: true });
      await Deno.rename(partial, path); // still locked: the partial name never exists unlocked
      await Deno.remove(absentMarker(key, name)).catch(() => {});
    } catch (e) {
      await Deno.remove(partial).catch(() => {});
      if (e instanceof NetworkError) throw new NetworkError(`${e.message} (nothing was cached)`, { cause: e });
      throw e;
    } finally {
      file.close();
    }
  };

  const ensure = async (name: string): Promise<string | undefined> => {
    if (known.has(name)) return known.get(name);
    const path = cacheOnly !== undefined ? await fromCache(name) : await fromHub(name);
    known.set(name, path);
    return path;
  };

  const checkName = (name: string, verb: string) => {
    if (!isSafeFileName(name)) {
      throw new Error(`Refusing to ${verb} "${excerpt(name)}" from ${files.location}: not a plain name`);
    }
  };

  const files: ModelFiles = {
    get location() {
      const key = pinned ?? servedKey ?? (cacheOnly !== undefined ? cachedKey() : undefined);
      const where = key === undefined ? repoDir : snapshotDir(key);
      return `hub:${label} (${cacheOnly === undefined ? "" : "offline, "}cache ${where})`;
    },
    async read(name) {
      checkName(name, "read");
      const path = await ensure(name);
      if (path === undefined) return undefined;
      try {
        return await Deno.readFile(path);
      } catch (e) {
        throw new Error(`Cannot read the cached "${path}" of ${label}: ${(e as Error).message}`, { cause: e });
      }
    },
    async open(name) {
      checkName(name, "open");
      const path = await ensure(name);
      return path === undefined ? undefined : await openLocalFile(path);
    },
  };
  return files;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** A full commit id: immutable, so its cached files need no network. */
const COMMIT = /^[0-9a-f]{40}$/;

/** A commit id (or a mirror's revision id) usable as one folder name. */
function isSafeKey(key: string): boolean {
  return /^[A-Za-z0-9._-]{1,128}$/.test(key) && key !== "." && key !== "..";
}

async function sameEtag(metaFile: string, etag: string | undefined): Promise<boolean> {
  if (etag === undefined) return false; // nothing to compare: download again rather than trust a stale copy
  try {
    return (JSON.parse(await Deno.readTextFile(metaFile)) as { etag?: unknown }).etag === etag;
  } catch {
    return false;
  }
}

/** The largest `.json` file checked by parsing before it is cached. */
const MAX_CHECKED_JSON_BYTES = 64 * 2 ** 20;

/**
 * Why a finished download must not be cached, or `undefined`: an HTML page, a length other than the one
 * announced, a sha256 other than the hub's, a `.json` that does not parse, a `.safetensors` whose header does
 * not parse or does not span the file.
 */
async function checkDownload(
  partial: string,
  name: string,
  answer: HubAnswer,
  got: Streamed,
): Promise<string | undefined> {
  const headers = answer.response.headers;
  const type = headers.get("content-type") ?? "";
  if (!/\.html?$/i.test(name) && (/^\s*text\/html/i.test(type) || looksLikeHtml(got.head))) {
    return `the server answered an HTML page${
      type ? ` (Content-Type "${excerpt(type)}")` : ""
    }, not the file (a login page, a proxy, or a wrong HF_ENDPOINT?)`;
  }
  const length = headers.get("content-length");
  const encoding = headers.get("content-encoding");
  if ((encoding === null || encoding === "identity") && length !== null && /^\d+$/.test(length)) {
    if (Number(length) !== got.size) return `received ${got.size} of the ${length} bytes its Content-Length announced`;
  }
  if (answer.linkedSize !== undefined && answer.linkedSize !== got.size) {
    return `received ${got.size} bytes where the hub's X-Linked-Size says ${answer.linkedSize}`;
  }
  if (answer.etag !== undefined && /^[0-9a-f]{64}$/i.test(answer.etag) && answer.etag.toLowerCase() !== got.sha256) {
    return `its sha256 is ${got.sha256}, not the hub's ${answer.etag.toLowerCase()} (ETag)`;
  }
  if (name.endsWith(".json") && got.size <= MAX_CHECKED_JSON_BYTES) {
    try {
      JSON.parse(await Deno.readTextFile(partial));
    } catch (e) {
      return `it is not valid JSON (${excerpt((e as Error).message)})`;
    }
  }
  if (name.endsWith(".safetensors")) {
    const file = await openLocalFile(partial);
    try {
      await readSafetensorsHeader(file!, name);
    } catch (e) {
      return `its safetensors header does not parse (${(e as Error).message})`;
    } finally {
      file?.close();
    }
  }
  return undefined;
}

/** Whether a body starts like an HTML page (after a byte-order mark and white space). */
function looksLikeHtml(head: Uint8Array): boolean {
  const text = new TextDecoder().decode(head).replace(/^\uFEFF?\s*/, "").slice(0, 15).toLowerCase();
  return text.startsWith("<!doctype html") || text.startsWith("<html");
}

/**
 * Removes the partial downloads in `dir` whose writer is gone: nobody holds the lock a writer takes (the
 * kernel drops a dead process's locks, SIGKILL included). Live downloads, in this process or another, stay.
 */
async function removeAbandonedPartials(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".incomplete")) continue;
    const path = join(dir, entry.name);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch {
      continue; // gone already
    }
    try {
      if (await file.tryLock(true)) await Deno.remove(path).catch(() => {});
    } finally {
      file.close();
    }
  }
}

/**
 * Files for a model given on a command line: an existing folder ({@linkcode localFiles}), else a hub id
 * ({@linkcode hubFiles}). When a hub id could also be a mistyped folder (its parent folder exists here, or a
 * folder here has a near name), an error from the hub says that the folder was tried first and names the
 * nearest folder ("did you mean …").
 *
 * @param spec A folder path, or `name`, `org/name`, `org/name@revision`.
 * @param opts Passed to {@linkcode hubFiles}.
 * @returns The files.
 * @throws {Error} When `spec` is an existing file, a path-like string whose folder does not exist (with the
 * nearest folder name), or neither a folder nor a hub id.
 *
 * @example Usage
 * ```ts
 * import { resolveModel } from "./hub.ts";
 * const local = resolveModel("tests/fixtures/models/gpt2-tiny-random");
 * const remote = resolveModel("gpt2", { offline: true });
 * ```
 */
export function resolveModel(spec: string, opts: HubOptions = {}): ModelFiles {
  let stat: Deno.FileInfo | undefined;
  try {
    stat = Deno.statSync(spec);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (stat?.isDirectory) return localFiles(spec);
  if (stat !== undefined) throw new Error(`"${spec}" is a file; expected a model folder or a hub id`);
  if (/^(\.{1,2}[/\\]|[/\\~]|[A-Za-z]:[/\\])/.test(spec)) {
    const near = nearestFolder(spec);
    throw new Error(`Model folder "${spec}" does not exist${near === undefined ? "" : `; did you mean "${near}"?`}`);
  }
  if (HUB_ID.test(spec) && !spec.includes("..")) {
    const hint = localFolderHint(spec);
    const files = hubFiles(spec, opts);
    return hint === undefined ? files : explainHubErrors(files, spec, hint);
  }
  const near = nearestFolder(spec);
  throw new Error(
    `"${spec}" is neither an existing folder nor a hub id (like "bert-base-uncased", "org/name" or "org/name@revision")${
      near === undefined ? "" : `; did you mean "${near}"?`
    }`,
  );
}

/** Prefixes the hub's errors with what was tried before it: the local folder `spec` names. */
function explainHubErrors(files: ModelFiles, spec: string, hint: string): ModelFiles {
  const explain = (e: unknown): never => {
    throw new Error(`There is no folder "${spec}"${hint}, so it was tried as a hub id: ${(e as Error).message}`, {
      cause: e,
    });
  };
  return {
    get location() {
      return files.location;
    },
    read: (name) => files.read(name).catch(explain),
    open: (name) => files.open!(name).catch(explain), // hubFiles always has open
  };
}

/**
 * What to say about `spec` as a local folder when it is taken for a hub id: `undefined` when it cannot have
 * been meant as one (its parent folder does not exist here and no folder here has a near name).
 */
function localFolderHint(spec: string): string | undefined {
  const path = spec.replace(/@.*$/, "");
  const near = nearestFolder(path);
  if (near !== undefined) return ` (did you mean "${near}"?)`;
  const parent = dirname(path);
  return parent !== "." && isFolder(parent)
    ? ` (the folder "${parent}" exists but has no "${basename(path)}")`
    : undefined;
}

/** The folder beside `path` (same parent) whose name is nearest to `path`'s, if one is near enough. */
function nearestFolder(path: string): string | undefined {
  const parent = dirname(path), name = basename(path);
  let best: { name: string; distance: number } | undefined;
  try {
    for (const entry of Deno.readDirSync(parent)) {
      if (!entry.isDirectory || entry.name.startsWith(".")) continue;
      const distance = editDistance(name.toLowerCase(), entry.name.toLowerCase());
      if (best === undefined || distance < best.distance) best = { name: entry.name, distance };
    }
  } catch {
    return undefined; // no such parent, or not readable
  }
  if (best === undefined || best.distance > Math.max(2, Math.floor(name.length / 4))) return undefined;
  return parent === "." && !path.startsWith("./") ? best.name : join(parent, best.name);
}

function isFolder(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** Levenshtein distance (the names compared are short: folder names). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
