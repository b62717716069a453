/**
 * A zip archive of stored (uncompressed) entries: how the static analyzer hands over a checkpoint folder as
 * one download. Weights do not deflate much, and a stored entry is a plain copy every unzip tool reads.
 *
 * @module
 */

import { crc32 } from "@bertology/core/checkpoint";

/** Zip without ZIP64 holds entries and archives below 4 GiB. */
const MAX_ZIP32 = 0xffffffff;

/**
 * Builds a zip of stored entries under one folder name.
 *
 * @param files name → bytes
 * @param folder the folder the entries unzip into (e.g. `bert-sst2-pruned`)
 * @returns the archive's parts, in order (pass them to `new Blob(parts)`)
 * @throws {Error} when the archive would pass 4 GiB (no ZIP64)
 * @example Usage
 * ```ts
 * import { zipStored } from "./zip.ts";
 * const blob = new Blob(zipStored({ "config.json": new TextEncoder().encode("{}") }, "model"));
 * ```
 */
export function zipStored(files: Record<string, Uint8Array>, folder: string): Uint8Array<ArrayBuffer>[] {
  const enc = new TextEncoder();
  const parts: Uint8Array<ArrayBuffer>[] = [];
  const central: Uint8Array<ArrayBuffer>[] = [];
  let offset = 0;
  const entries = Object.entries(files);
  for (const [name, data] of entries) {
    const path = enc.encode(`${folder}/${name}`);
    if (offset + 30 + path.length + data.length > MAX_ZIP32) {
      throw new Error(`The archive would pass 4 GiB at ${name}: download the files one by one`);
    }
    const crc = crc32(data);
    const local = new Uint8Array(30 + path.length);
    const l = new DataView(local.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, 20, true); // version needed
    l.setUint16(6, 0x0800, true); // UTF-8 names
    l.setUint32(14, crc, true);
    l.setUint32(18, data.length, true);
    l.setUint32(22, data.length, true);
    l.setUint16(26, path.length, true);
    local.set(path, 30);
    const cd = new Uint8Array(46 + path.length);
    const c = new DataView(cd.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 20, true);
    c.setUint16(6, 20, true);
    c.setUint16(8, 0x0800, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, data.length, true);
    c.setUint32(24, data.length, true);
    c.setUint16(28, path.length, true);
    c.setUint32(42, offset, true);
    cd.set(path, 46);
    parts.push(local, new Uint8Array(data));
    central.push(cd);
    offset += local.length + data.length;
  }
  const cdSize = central.reduce((s, p) => s + p.length, 0);
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, entries.length, true);
  e.setUint16(10, entries.length, true);
  e.setUint32(12, cdSize, true);
  e.setUint32(16, offset, true);
  return [...parts, ...central, end];
}
