/**
 * A minimal protobuf writer for ONNX models: just enough to build a one-node graph in code (no Python, no
 * onnx package). Field numbers follow onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto).
 *
 * @module
 */

/** Protobuf writer that keeps large payloads as chunks (a BERT-base graph is ~400 MB of weights). */
export class Writer {
  #chunks: Uint8Array[] = [];
  #small: number[] = [];
  #length = 0;
  #flush(): void {
    if (this.#small.length === 0) return;
    this.#chunks.push(Uint8Array.from(this.#small));
    this.#small = [];
  }
  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }
  varint(v: number | bigint): this {
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      this.#small.push(b);
      this.#length++;
    } while (x > 0n);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return this.raw(b);
  }
  raw(b: Uint8Array): this {
    this.#flush();
    this.#chunks.push(b);
    this.#length += b.length;
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    return this.raw(b);
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, w: Writer): this {
    this.tag(field, 2).varint(w.length);
    w.#flush();
    this.#flush();
    for (const c of w.#chunks) this.#chunks.push(c);
    this.#length += w.length;
    return this;
  }
  finish(): Uint8Array {
    this.#flush();
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

const FLOAT = 1;

function valueInfo(name: string, shape: number[]): Writer {
  const dims = new Writer();
  for (const d of shape) dims.message(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, FLOAT).message(2, dims);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

function tensor(name: string, shape: number[], data: Float32Array): Writer {
  const w = new Writer();
  for (const d of shape) w.int(1, d);
  w.int(2, FLOAT).string(8, name);
  return w.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * An ONNX model computing y[M, N] = x[M, K] · w[K, N] with one MatMul node, w a constant initializer.
 *
 * @param M Rows of x.
 * @param K Inner dimension.
 * @param N Columns of w.
 * @param w The weight, K·N floats row-major.
 * @returns The serialized ModelProto (opset 13).
 */
export function matmulModel(M: number, K: number, N: number, w: Float32Array): Uint8Array {
  const node = new Writer().string(1, "x").string(1, "w").string(2, "y").string(3, "matmul").string(4, "MatMul");
  const graph = new Writer()
    .message(1, node)
    .string(2, "matmul_bench")
    .message(5, tensor("w", [K, N], w))
    .message(11, valueInfo("x", [M, K]))
    .message(12, valueInfo("y", [M, N]));
  return new Writer()
    .int(1, 8)
    .string(2, "bertology-bench")
    .message(7, graph)
    .message(8, new Writer().string(1, "").int(2, 13))
    .finish();
}
