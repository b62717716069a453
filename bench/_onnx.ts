/**
 * The one-node ONNX graph of the matmul bench, built with the exporter's graph builder
 * (`@bertology/core/export`: protobufjs over the official onnx.proto).
 *
 * @module
 */

import { bytesOf, DataType, OnnxGraph } from "@bertology/core/export";

/**
 * An ONNX model computing y[M, N] = x[M, K] · w[K, N] with one MatMul node, w a constant initializer.
 *
 * @param M Rows of x.
 * @param K Inner dimension.
 * @param N Columns of w.
 * @param w The weight, K·N floats row-major.
 * @returns The serialized ModelProto.
 */
export function matmulModel(M: number, K: number, N: number, w: Float32Array): Uint8Array {
  const g = new OnnxGraph();
  g.input("x", DataType.FLOAT, [M, K]);
  g.initializer("w", DataType.FLOAT, [K, N], bytesOf(w));
  g.node("MatMul", ["x", "w"], {}, ["y"]);
  g.declareOutput("y", DataType.FLOAT, [M, N]);
  return g.encode("matmul_bench");
}
