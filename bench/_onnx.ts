/**
 * A minimal protobuf writer for ONNX models: just enough to build a one-node graph in code (no Python, no
 * onnx package). Field numbers follow onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto).
 *
 * @module
 */

class Writer {
  #bytes: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      this.#bytes.push(b);
    } while (x > 0n);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.#bytes.push(x);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.#bytes);
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
