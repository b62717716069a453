/**
 * A read-only ZIP reader for in-memory archives, as far as PyTorch checkpoints need: the central directory
 * (ZIP64 included), stored and deflated entries, CRC-32 checks. Deflate goes through the platform's
 * `DecompressionStream("deflate-raw")`, so this runs in Deno and browsers alike.
 *
 * @module
 */

import { excerpt } from "./_describe.ts";

/** One file in a ZIP archive. */
export interface ZipEntry {
  /** Path inside the archive. */
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  /** Bytes of compressed data. */
  compressedSize: number;
  /** Bytes once decompressed. */
  size: number;
  /** CRC-32 of the decompressed bytes. */
  crc32: number;
  /** Offset of the entry's local header. */
  localHeaderOffset: number;
}

/** Options for {@linkcode ZipArchive.read}. */
export interface ZipReadOptions {
  /** Refuse the entry, before inflating anything, when its declared size is larger than this many bytes. */
  maxSize?: number;
}

/** An opened archive. */
export interface ZipArchive {
  /** Entries by name, in central-directory order. */
  entries: Map<string, ZipEntry>;
  /**
   * Reads one entry (stored entries are views into the archive's bytes; deflated ones are new arrays). A
   * deflated entry never grows past its declared size, which is checked against what its compressed bytes
   * can hold before anything is allocated.
   */
  read(name: string, opts?: ZipReadOptions): Promise<Uint8Array>;
}

/**
 * Deflate's densest code turns 258 output bytes into about 2 input bits, so no deflated entry inflates to
 * more than about 1032 bytes per compressed byte; a declared size past that is a lie.
 */
export const MAX_DEFLATE_RATIO = 1032;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * The CRC-32 (ISO-HDLC, as ZIP uses) of `bytes`.
 *
 * @param bytes The data.
 * @returns The checksum as an unsigned 32-bit number.
 *
 * @example Usage
 * ```ts
 * import { crc32 } from "./zip.ts";
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Opens a ZIP archive held in memory, reading its central directory.
 *
 * @param bytes The whole archive.
 * @param fileName Used in error messages.
 * @returns The entries and a reader.
 * @throws {Error} Naming the file when the archive is not a ZIP, is truncated, or uses an unsupported
 * feature (multi-disk, encryption, a method other than stored or deflate).
 *
 * @example Usage
 * ```ts
 * import { openZip } from "./zip.ts";
 * // The smallest valid archive: an empty end-of-central-directory record.
 * const empty = new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]);
 * const zip = openZip(empty, "empty.zip");
 * zip.entries.size; // 0
 * ```
 */
export function openZip(bytes: Uint8Array, fileName: string): ZipArchive {
  const fail = (message: string): never => {
    throw new Error(`Invalid zip archive "${excerpt(fileName)}": ${message}`);
  };
  const quoted = (name: string) => `"${excerpt(name)}"`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => {
    const value = view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
    if (!Number.isSafeInteger(value)) fail(`a 64-bit field at ${at} is too large`);
    return value;
  };
  const need = (at: number, length: number, what: string) => {
    if (at < 0 || at + length > bytes.length) fail(`${what} at ${at} runs past the end (${bytes.length} bytes)`);
  };

  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (u32(at) === EOCD && at + 22 + u16(at + 20) === bytes.length) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) fail("no end-of-central-directory record (not a zip, or truncated)");
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0) fail("multi-disk archives are not supported");
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  if (eocd >= 20 && u32(eocd - 20) === ZIP64_LOCATOR) {
    const at = u64(eocd - 20 + 8);
    need(at, 56, "ZIP64 end-of-central-directory record");
    if (u32(at) !== ZIP64_EOCD) fail(`no ZIP64 end-of-central-directory record at ${at}`);
    count = u64(at + 32);
    cdSize = u64(at + 40);
    cdOffset = u64(at + 48);
  }
  need(cdOffset, cdSize, "central directory");

  const entries = new Map<string, ZipEntry>();
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    need(at, 46, "central directory entry");
    if (u32(at) !== CENTRAL) fail(`bad central directory entry signature at ${at}`);
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    need(at + 46, nameLength + extraLength + commentLength, "central directory entry");
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    if (flags & 1) fail(`entry ${quoted(name)} is encrypted`);
    let size = u32(at + 24);
    let compressedSize = u32(at + 20);
    let localHeaderOffset = u32(at + 42);
    // ZIP64 extended information: only the fields whose 32-bit slot is saturated, in this order.
    for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength;) {
      const id = u16(e);
      const length = u16(e + 2);
      if (id === 0x0001) {
        let p = e + 4;
        if (size === 0xffffffff) (size = u64(p), p += 8);
        if (compressedSize === 0xffffffff) (compressedSize = u64(p), p += 8);
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(p);
      }
      e += 4 + length;
    }
    // Two entries of one name are ambiguous (readers disagree on which wins): refuse rather than pick one.
    if (entries.has(name)) fail(`entry ${quoted(name)} appears twice in the central directory`);
    entries.set(name, { name, method, compressedSize, size, crc32: u32(at + 16), localHeaderOffset });
    at += 46 + nameLength + extraLength + commentLength;
  }

  const read = async (name: string, opts: ZipReadOptions = {}): Promise<Uint8Array> => {
    const entry = entries.get(name);
    if (entry === undefined) return fail(`no entry ${quoted(name)}`);
    const { localHeaderOffset: lh, compressedSize, size, method } = entry;
    if (opts.maxSize !== undefined && size > opts.maxSize) {
      fail(`entry ${quoted(name)} declares ${size} bytes, more than the ${opts.maxSize} allowed for it`);
    }
    need(lh, 30, `local header of ${quoted(name)}`);
    if (u32(lh) !== LOCAL) fail(`bad local header signature for ${quoted(name)} at ${lh}`);
    const start = lh + 30 + u16(lh + 26) + u16(lh + 28);
    need(start, compressedSize, `data of ${quoted(name)}`);
    const raw = bytes.subarray(start, start + compressedSize);
    let data: Uint8Array;
    if (method === 0) {
      if (compressedSize !== size) fail(`stored entry ${quoted(name)} has sizes ${compressedSize} and ${size}`);
      data = raw;
    } else if (method === 8) {
      if (size > compressedSize * MAX_DEFLATE_RATIO + 64) {
        fail(
          `entry ${quoted(name)} declares ${size} bytes, more than its ${compressedSize} deflated bytes can hold`,
        );
      }
      try {
        data = await inflateRaw(raw, size);
      } catch (e) {
        return fail(`entry ${quoted(name)} does not inflate (${excerpt((e as Error).message)})`);
      }
      if (data.length !== size) fail(`entry ${quoted(name)} inflates to ${data.length} bytes, expected ${size}`);
    } else {
      return fail(
        `entry ${quoted(name)} uses compression method ${method}; only stored (0) and deflate (8) are supported`,
      );
    }
    const sum = crc32(data);
    if (sum !== entry.crc32) {
      fail(`entry ${quoted(name)} is corrupt: CRC-32 ${hex(sum)} does not match the directory's ${hex(entry.crc32)}`);
    }
    return data;
  };
  return { entries, read };
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

async function inflateRaw(raw: Uint8Array, size: number): Promise<Uint8Array> {
  const stream = new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("deflate-raw"),
  );
  const out = new Uint8Array(size);
  let length = 0;
  // The output is sized by the declared size (bounded by the caller); a stream that runs past it is cut off.
  for await (const chunk of stream) {
    if (length + chunk.length > size) throw new Error(`more than the ${size} bytes the directory declares`);
    out.set(chunk, length);
    length += chunk.length;
  }
  return out.subarray(0, length);
}
