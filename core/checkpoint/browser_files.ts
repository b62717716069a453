/**
 * {@linkcode ModelFiles} for a browser: the files of a folder the user picked or dropped (`File`/`Blob` objects,
 * read slice by slice), and a folder served over HTTP — a static host, or the hub's
 * `{endpoint}/{repo}/resolve/{revision}/` — read with `fetch`. No file system, no cache, no Deno API: the static
 * analyzer (`web/static_analyzer/`) loads every model through these.
 *
 * @module
 */

import { excerpt } from "./_describe.ts";
import { bytesFile, isSafeFileName, type ModelFiles, type RandomAccessFile } from "./files.ts";

/** One picked file: its path inside the picked folder (`bert/config.json` or `config.json`) and its contents. */
export interface PickedFile {
  /** The path as the browser gives it (`File.webkitRelativePath`, or the name for a single pick). */
  readonly path: string;
  /** The contents (a `File` is a `Blob`). */
  readonly blob: Blob;
}

/**
 * The checkpoint's files among what the user picked or dropped: the files directly inside the shallowest
 * folder that holds a `config.json` (a picked `bert-sst2/` gives `bert-sst2/config.json` and its siblings; files
 * in sub-folders such as `onnx/` keep their relative names).
 *
 * @param picked the picked files (paths `/`-separated, as `webkitRelativePath`)
 * @param location how error messages name the source (default: the folder's name)
 * @returns files whose `open` reads only the slices asked for
 * @throws {Error} when no picked file is a `config.json`
 * @example Usage
 * ```ts
 * import { pickedFiles } from "./browser_files.ts";
 * const files = pickedFiles([{ path: "m/config.json", blob: new Blob(["{}"]) }]);
 * await files.read("config.json"); // the bytes of "{}"
 * ```
 */
export function pickedFiles(picked: Iterable<PickedFile>, location?: string): ModelFiles {
  const all = [...picked].map((p) => ({ parts: p.path.split("/").filter((s) => s !== ""), blob: p.blob }));
  const configs = all.filter((p) => p.parts.at(-1) === "config.json").sort((a, b) => a.parts.length - b.parts.length);
  const config = configs[0];
  if (config === undefined) {
    const names = all.slice(0, 5).map((p) => p.parts.join("/")).join(", ");
    throw new Error(
      `No config.json among the ${all.length} picked file(s)${names ? ` (${excerpt(names)}…)` : ""}: ` +
        "pick the model's folder (HF layout: config.json, weights, tokenizer files)",
    );
  }
  const root = config.parts.slice(0, -1);
  const byName = new Map<string, Blob>();
  for (const p of all) {
    if (p.parts.length <= root.length || root.some((s, i) => p.parts[i] !== s)) continue;
    byName.set(p.parts.slice(root.length).join("/"), p.blob);
  }
  const where = location ?? (root.length > 0 ? root.join("/") : "the picked files");
  return {
    location: where,
    async read(name) {
      const blob = checkedLookup(byName, name, where);
      return blob === undefined ? undefined : new Uint8Array(await blob.arrayBuffer());
    },
    open(name) {
      const blob = checkedLookup(byName, name, where);
      return Promise.resolve(blob === undefined ? undefined : blobFile(blob, name, where));
    },
  };
}

function checkedLookup(byName: Map<string, Blob>, name: string, where: string): Blob | undefined {
  if (!isSafeFileName(name)) throw new Error(`Refusing to read "${excerpt(name)}" from ${where}: not a plain name`);
  return byName.get(name);
}

/**
 * Positioned reads of a `Blob` (each `readAt` reads one slice: a weight loader never holds the whole file).
 *
 * @param blob the contents
 * @param name the file's name (error messages)
 * @param where the source's name (error messages)
 * @returns the open file
 * @example Usage
 * ```ts
 * import { blobFile } from "./browser_files.ts";
 * const f = blobFile(new Blob([new Uint8Array([1, 2, 3])]), "x.bin", "memory");
 * const into = new Uint8Array(2);
 * await f.readAt(1, into); // into = [2, 3]
 * ```
 */
export function blobFile(blob: Blob, name: string, where: string): RandomAccessFile {
  return {
    size: blob.size,
    async readAt(offset, into) {
      if (offset < 0 || offset + into.length > blob.size) {
        throw new Error(
          `"${name}" in ${where} ends at byte ${blob.size}: cannot read ${into.length} bytes at ${offset}`,
        );
      }
      into.set(new Uint8Array(await blob.slice(offset, offset + into.length).arrayBuffer()));
    },
    close() {},
  };
}

/** Options of {@linkcode urlFiles}. */
export interface UrlFilesOptions {
  /** The fetch to use (tests). */
  fetch?: typeof fetch;
  /** Called as a file's bytes arrive; `total` is its Content-Length when the server sent one. */
  onProgress?: (file: string, done: number, total: number | undefined) => void;
}

/**
 * The files of a folder served over HTTP: `read(name)` fetches `{base}{name}`; a 404 means the file does not
 * exist (as the hub answers for a missing file), any other failure throws naming the URL and the status.
 *
 * @param base the folder's URL; a missing final `/` is added
 * @param opts fetch and progress
 * @returns the files
 * @throws {Error} when `base` is not an http(s) URL
 * @example Usage
 * ```ts ignore
 * const files = urlFiles("https://huggingface.co/bert-base-uncased/resolve/main/");
 * ```
 */
export function urlFiles(base: string, opts: UrlFilesOptions = {}): ModelFiles {
  let url: URL;
  try {
    url = new URL(base.endsWith("/") ? base : `${base}/`);
  } catch {
    throw new Error(`"${excerpt(base)}" is not a URL (expected https://…/{id}/resolve/{revision}/)`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`"${excerpt(base)}" is not an http(s) URL`);
  }
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const files: ModelFiles = {
    location: url.href,
    async read(name) {
      if (!isSafeFileName(name)) throw new Error(`Refusing to read "${excerpt(name)}" from ${url.href}`);
      const fileUrl = new URL(name, url).href;
      let res: Response;
      try {
        res = await doFetch(fileUrl);
      } catch (e) {
        throw new Error(`Cannot fetch ${fileUrl}: ${(e as Error).message}`, { cause: e });
      }
      if (res.status === 404) {
        await res.body?.cancel();
        return undefined;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`Cannot fetch ${fileUrl}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`);
      }
      return await readBody(res, name, opts.onProgress);
    },
    async open(name) {
      const bytes = await files.read(name);
      return bytes === undefined ? undefined : bytesFile(bytes, name);
    },
  };
  return files;
}

async function readBody(
  res: Response,
  name: string,
  onProgress: UrlFilesOptions["onProgress"],
): Promise<Uint8Array> {
  const header = res.headers.get("content-length");
  const total = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  if (res.body === null) return new Uint8Array(await res.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let done = 0;
  const reader = res.body.getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    chunks.push(r.value);
    done += r.value.length;
    onProgress?.(name, done, total);
  }
  if (total !== undefined && done !== total) {
    throw new Error(`${res.url || name}: the download stopped at ${done} of ${total} bytes`);
  }
  const out = new Uint8Array(done);
  let at = 0;
  for (const c of chunks) (out.set(c, at), (at += c.length));
  return out;
}

/** The default hub endpoint of {@linkcode hubUrl}. */
export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

const HUB_SEGMENT = String.raw`[A-Za-z0-9][A-Za-z0-9._-]*`;
const HUB_SPEC = new RegExp(String.raw`^(${HUB_SEGMENT}(?:/${HUB_SEGMENT})?)(?:@([A-Za-z0-9._/-]+))?$`);

/**
 * The folder URL of a hub model: `{endpoint}/{repo}/resolve/{revision}/` for an id such as `bert-base-uncased`,
 * `org/name` or `org/name@v1.0` (revision `main` by default); a full http(s) URL is returned as it is.
 *
 * @param spec a hub id (`org/name[@revision]`) or a folder URL
 * @param endpoint the hub (default {@linkcode DEFAULT_HUB_ENDPOINT}), for a mirror or a local server
 * @returns the folder URL, ending in `/`
 * @throws {Error} for a spec that is neither
 * @example Usage
 * ```ts
 * import { hubUrl } from "./browser_files.ts";
 * hubUrl("org/name@v1"); // "https://huggingface.co/org/name/resolve/v1/"
 * ```
 */
export function hubUrl(spec: string, endpoint: string = DEFAULT_HUB_ENDPOINT): string {
  const s = spec.trim();
  if (/^https?:\/\//i.test(s)) return s.endsWith("/") ? s : `${s}/`;
  const m = HUB_SPEC.exec(s);
  if (!m) {
    throw new Error(`"${excerpt(s)}" is neither a hub id (org/name or org/name@revision) nor an http(s) URL`);
  }
  const revision = m[2] ?? "main";
  if (revision.split("/").some((p) => p === "" || p === "." || p === "..")) {
    throw new Error(`"${excerpt(s)}": the revision "${excerpt(revision)}" is not a branch, tag or commit`);
  }
  return `${endpoint.replace(/\/+$/, "")}/${m[1]}/resolve/${revision}/`;
}
