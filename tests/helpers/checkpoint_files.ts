/**
 * Test helpers (not exported from `mod.ts`): a minimal ZIP writer and a writer for PyTorch-style state-dict
 * pickles, so tests can build valid and corrupt checkpoints without Python.
 *
 * @module
 */

import { crc32 } from "@bertology/core/checkpoint";

/** Options for {@linkcode writeZip}. */
export interface WriteZipOptions {
  /** Deflate entries instead of storing them. */
  deflate?: boolean | undefined;
  /** Add ZIP64 end records (as torch.save does). */
  zip64?: boolean;
}

/** Writes a ZIP archive of the given entries. */
export async function writeZip(entries: Record<string, Uint8Array>, opts: WriteZipOptions = {}): Promise<Uint8Array> {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(entries)) {
    const nameBytes = enc.encode(name);
    const body = opts.deflate ? await deflateRaw(data) : data;
    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, opts.deflate ? 8 : 0, true);
    lv.setUint32(14, crc32(data), true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    const cd = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, opts.deflate ? 8 : 0, true);
    cv.setUint32(16, crc32(data), true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    cd.set(nameBytes, 46);
    parts.push(local, body);
    central.push(cd);
    offset += local.length + body.length;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((a, b) => a + b.length, 0);
  const count = central.length;
  const tail: Uint8Array[] = [];
  if (opts.zip64) {
    const rec = new Uint8Array(56);
    const rv = new DataView(rec.buffer);
    rv.setUint32(0, 0x06064b50, true);
    rv.setBigUint64(4, 44n, true);
    rv.setBigUint64(24, BigInt(count), true);
    rv.setBigUint64(32, BigInt(count), true);
    rv.setBigUint64(40, BigInt(cdSize), true);
    rv.setBigUint64(48, BigInt(cdOffset), true);
    const loc = new Uint8Array(20);
    const locv = new DataView(loc.buffer);
    locv.setUint32(0, 0x07064b50, true);
    locv.setBigUint64(8, BigInt(cdOffset + cdSize), true);
    locv.setUint32(16, 1, true);
    tail.push(rec, loc);
  }
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, opts.zip64 ? 0xffff : count, true);
  ev.setUint16(10, opts.zip64 ? 0xffff : count, true);
  ev.setUint32(12, opts.zip64 ? 0xffffffff : cdSize, true);
  ev.setUint32(16, opts.zip64 ? 0xffffffff : cdOffset, true);
  tail.push(eocd);
  return concat([...parts, ...central, ...tail]);
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

async function deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** One tensor of a hand-written state dict. */
export interface PickledTensor {
  name: string;
  /** Storage key (`data/{key}`). */
  storage: string;
  /** e.g. `FloatStorage`, `HalfStorage`. */
  storageType: string;
  /** Elements in the storage. */
  numel: number;
  offset: number;
  shape: number[];
  stride: number[];
  /** Wrap in `torch._utils._rebuild_parameter` as `nn.Parameter`s are. */
  parameter?: boolean;
}

/** Emits a protocol-2 pickle of an OrderedDict of tensors in the shape torch.save writes. */
export function pickleStateDict(tensors: PickledTensor[], extraGlobal?: [string, string]): Uint8Array {
  const out: number[] = [0x80, 2];
  const enc = new TextEncoder();
  const str = (s: string) => {
    const b = enc.encode(s);
    out.push(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24, ...b);
  };
  const int = (n: number) => out.push(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
  const global = (module: string, name: string) => out.push(0x63, ...enc.encode(`${module}\n${name}\n`));
  const tuple = (items: number[]) => {
    out.push(0x28);
    items.forEach(int);
    out.push(0x74);
  };
  global("collections", "OrderedDict");
  out.push(0x29, 0x52); // EMPTY_TUPLE REDUCE
  out.push(0x28); // MARK
  for (const t of tensors) {
    str(t.name);
    if (t.parameter) (global("torch._utils", "_rebuild_parameter"), out.push(0x28));
    global("torch._utils", "_rebuild_tensor_v2");
    out.push(0x28, 0x28); // MARK (args) MARK (persistent id)
    str("storage");
    global("torch", t.storageType);
    str(t.storage);
    str("cpu");
    int(t.numel);
    out.push(0x74, 0x51); // TUPLE BINPERSID
    int(t.offset);
    tuple(t.shape);
    tuple(t.stride);
    out.push(0x89); // NEWFALSE
    global("collections", "OrderedDict");
    out.push(0x29, 0x52, 0x74, 0x52); // EMPTY_TUPLE REDUCE TUPLE REDUCE
    if (t.parameter) out.push(0x89, 0x7d, 0x74, 0x52); // requires_grad=False, {} hooks, TUPLE, REDUCE
  }
  if (extraGlobal) {
    str("evil");
    global(...extraGlobal);
    out.push(0x28);
    str("echo hi");
    out.push(0x74, 0x52);
  }
  out.push(0x75, 0x2e); // SETITEMS STOP
  return new Uint8Array(out);
}

/** Little-endian float32 bytes of `values`. */
export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/**
 * Rewrites the size an archive declares for entry `name` (central directory and local header) to `size`, as a
 * hostile file would; the entry's bytes stay as they are.
 */
export function patchDeclaredSize(zip: Uint8Array, name: string, size: number): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  const nameBytes = new TextEncoder().encode(name);
  const matches = (at: number, offset: number) =>
    view.getUint16(at + (offset === 46 ? 28 : 26), true) === nameBytes.length &&
    nameBytes.every((b, i) => out[at + offset + i] === b);
  let patched = 0;
  for (let at = 0; at + 46 <= out.length; at++) {
    const sig = view.getUint32(at, true);
    if (sig === 0x02014b50 && matches(at, 46)) (view.setUint32(at + 24, size, true), patched++);
    if (sig === 0x04034b50 && matches(at, 30)) (view.setUint32(at + 22, size, true), patched++);
  }
  if (patched !== 2) throw new Error(`patchDeclaredSize: found ${patched} headers for "${name}", expected 2`);
  return out;
}

/** Deflates `size` zero bytes without holding them all at once (a deflate bomb's payload). */
export async function deflatedZeros(size: number): Promise<Uint8Array> {
  const chunk = new Uint8Array(Math.min(size, 1 << 20));
  let left = size;
  const source = new ReadableStream<BufferSource>({
    pull(controller) {
      if (left <= 0) return controller.close();
      const n = Math.min(left, chunk.length);
      controller.enqueue(chunk.subarray(0, n).slice());
      left -= n;
    },
  });
  return new Uint8Array(await new Response(source.pipeThrough(new CompressionStream("deflate-raw"))).arrayBuffer());
}

/** Writes a ZIP whose entries are given already deflated, with the sizes and CRC-32 they claim. */
export function writeRawZip(entries: { name: string; body: Uint8Array; size: number; crc: number; method: number }[]) {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const nameBytes = enc.encode(e.name);
    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(8, e.method, true);
    lv.setUint32(14, e.crc, true);
    lv.setUint32(18, e.body.length, true);
    lv.setUint32(22, e.size, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    const cd = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(10, e.method, true);
    cv.setUint32(16, e.crc, true);
    cv.setUint32(20, e.body.length, true);
    cv.setUint32(24, e.size, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    cd.set(nameBytes, 46);
    parts.push(local, e.body);
    central.push(cd);
    offset += local.length + e.body.length;
  }
  const cdSize = central.reduce((a, b) => a + b.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return concat([...parts, ...central, eocd]);
}
