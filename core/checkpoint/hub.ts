/**
 * {@linkcode ModelFiles} backed by the Hugging Face hub through a local cache. Deno only (file system and
 * environment); import it from `deno.ts`.
 *
 * Files are fetched from `{endpoint}/{repo}/resolve/{revision}/{file}` and kept under
 * `{cache}/{org--name}/{revision}/{file}`. A download goes to a temporary name in the same folder and is
 * renamed only once complete (and, when the server sent a Content-Length, only if every byte arrived), so
 * an interrupted download leaves nothing under the real name. A file answered with 404 is recorded under
 * `{cache}/{org--name}/{revision}/.no_exist/{file}`, which lets offline mode report it as absent.
 *
 * Environment: `HF_ENDPOINT` (default `https://huggingface.co`), `HF_TOKEN` (sent as a bearer token),
 * `BERTOLOGY_CACHE` (default `~/.cache/bertology`), `HF_HUB_OFFLINE=1` (never use the network).
 *
 * @module
 */

import { excerpt } from "./_describe.ts";
import { dirname, join } from "node:path";
import { isSafeFileName, type ModelFiles } from "./files.ts";
import { localFiles, openLocalFile } from "./local_files.ts";

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
 * Files of a hub repository, downloaded on first read and then served from the cache without network.
 *
 * @param id `name`, `org/name` or `org/name@revision`.
 * @param opts Endpoint, token, cache folder, offline mode, fetch and progress callback.
 * @returns Files whose `read` gives `undefined` for a file the hub answers 404 (or, offline, that an earlier
 * 404 recorded), and throws on 401/403 (mentioning `HF_TOKEN`), other HTTP errors (naming the URL and
 * status), interrupted downloads, and, offline, files not in the cache.
 * @throws {Error} When `id` is not a hub id.
 *
 * @example Usage
 * ```ts
 * import { hubFiles } from "./hub.ts";
 * const files = hubFiles("textattack/bert-base-uncased-SST-2@main", { offline: true });
 * files.location; // "hub:textattack/bert-base-uncased-SST-2@main (cache …)"
 * ```
 */
export function hubFiles(id: string, opts: HubOptions = {}): ModelFiles {
  const { repo, revision } = parseHubId(id);
  const endpoint = (opts.endpoint ?? env("HF_ENDPOINT") ?? "https://huggingface.co").replace(/\/+$/, "");
  const token = opts.token ?? env("HF_TOKEN");
  const offline = opts.offline ?? /^(1|true|yes|on)$/i.test(env("HF_HUB_OFFLINE") ?? "");
  const fetchFn = opts.fetch ?? fetch;
  const folder = join(hubCacheDir(opts), repo.replace("/", "--"), revision.replaceAll("/", "--"));
  const location = `hub:${repo}@${revision} (cache ${folder})`;

  const download = async (name: string, path: string, marker: string): Promise<Uint8Array | undefined> => {
    const url = `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${
      name.split("/").map(encodeURIComponent).join("/")
    }`;
    let res: Response;
    try {
      res = await fetchFn(url, { headers: token ? { Authorization: `Bearer ${token}` } : {}, redirect: "follow" });
    } catch (e) {
      throw new Error(`Cannot download "${url}": ${(e as Error).message}`, { cause: e });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      await Deno.mkdir(dirname(marker), { recursive: true });
      await Deno.writeFile(marker, new Uint8Array());
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
    if (!res.ok || res.body === null) {
      await res.body?.cancel();
      throw new Error(`Download of "${url}" failed: ${res.status} ${res.statusText}`);
    }
    const header = res.headers.get("content-length");
    const total = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
    await Deno.mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${crypto.randomUUID()}.incomplete`;
    const file = await Deno.open(temporary, { write: true, createNew: true });
    const chunks: Uint8Array[] = [];
    let done = 0;
    try {
      try {
        for await (const chunk of res.body) {
          if (total !== undefined && done + chunk.length > total) {
            throw new Error(`more bytes than the Content-Length of ${total}`);
          }
          for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
          chunks.push(chunk);
          done += chunk.length;
          opts.onProgress?.(name, done, total);
        }
      } finally {
        file.close();
      }
      if (total !== undefined && done !== total) throw new Error(`received ${done} of ${total} bytes`);
      await Deno.rename(temporary, path);
    } catch (e) {
      await Deno.remove(temporary).catch(() => {});
      throw new Error(`Download of "${url}" was interrupted: ${(e as Error).message}`, { cause: e });
    }
    await Deno.remove(marker).catch(() => {});
    const bytes = new Uint8Array(done);
    let at = 0;
    for (const chunk of chunks) (bytes.set(chunk, at), at += chunk.length);
    return bytes;
  };

  return {
    location,
    async read(name) {
      if (!isSafeFileName(name)) {
        throw new Error(`Refusing to read "${excerpt(name)}" from ${location}: not a plain name`);
      }
      const path = join(folder, name);
      const marker = join(folder, ".no_exist", name);
      try {
        return await Deno.readFile(path);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      if (offline) {
        if (await exists(marker)) return undefined;
        throw new Error(
          `"${name}" of ${repo}@${revision} is not in the cache (${path}) and offline mode is on (--offline or HF_HUB_OFFLINE=1)`,
        );
      }
      return await download(name, path, marker);
    },
    async open(name) {
      if (!isSafeFileName(name)) {
        throw new Error(`Refusing to open "${excerpt(name)}" from ${location}: not a plain name`);
      }
      const cached = await openLocalFile(join(folder, name));
      if (cached !== undefined) return cached;
      // a download (through read) leaves the file in the cache: open that copy for positioned reads
      if (await this.read(name) === undefined) return undefined;
      return await openLocalFile(join(folder, name));
    },
  };
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

/**
 * Files for a model given on a command line: an existing folder ({@linkcode localFiles}), else a hub id
 * ({@linkcode hubFiles}).
 *
 * @param spec A folder path, or `name`, `org/name`, `org/name@revision`.
 * @param opts Passed to {@linkcode hubFiles}.
 * @returns The files.
 * @throws {Error} When `spec` is an existing file, a path-like string whose folder does not exist, or
 * neither a folder nor a hub id.
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
  if (/^(\.{1,2}[/\\]|[/\\~]|[A-Za-z]:[/\\])/.test(spec)) throw new Error(`Model folder "${spec}" does not exist`);
  if (HUB_ID.test(spec) && !spec.includes("..")) return hubFiles(spec, opts);
  throw new Error(
    `"${spec}" is neither an existing folder nor a hub id (like "bert-base-uncased", "org/name" or "org/name@revision")`,
  );
}
