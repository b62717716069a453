/**
 * Rows of an embedding table [rows, C] picked by an integer input → [batch, pos, C]: token ids, token types,
 * or position ids numbered by the config's position scheme (`ModelConfig.positions`, computed by the executor).
 * Kernels `embeddingForward` / `embeddingBackward` (a scatter-add, for parameter gradients); an F16/BF16 table is
 * widened one row at a time.
 *
 * @module
 */

import type { OnnxDim } from "../export/onnx_types.ts";
import type { OpDef } from "./op.ts";
import { gatherRows } from "./_wasm.ts";

/** The integer inputs an embedding can look up. */
export type TokenInput = "input_ids" | "position_ids" | "token_type_ids";

/** How a family calls the op (one member of `ModelOps`). */
export interface EmbeddingOp<T> {
  /**
   * Rows of the embedding table `table` [rows, C] picked by an integer input → [batch, pos, C]. Position ids
   * follow the config's position scheme (`ModelConfig.positions`), computed by the executor.
   */
  embedding(table: string, input: TokenInput): T;
}

/** The op's attributes, as the trace records them. */
export type EmbeddingAttrs = { input: TokenInput };

/** The embedding op. */
export const embedding: OpDef<"embedding"> = {
  name: "embedding",
  wasm(cx, table, input) {
    const x = cx.inputs;
    const ids = input === "input_ids" ? x.ids : input === "position_ids" ? x.positions : x.tokenTypes;
    return gatherRows(cx, cx.params.get(table), ids, x.B * x.T, [x.B, x.T]);
  },
  trace(cx, table, input) {
    const C = cx.weightShape(table)[1]!;
    return cx.record("embedding", [], [["batch", "pos", C]], [table], { input })[0]!;
  },
  onnx(cx, op, _index) {
    const table = op.weights[0]!;
    const t = cx.weights.get(table);
    if (t === undefined) throw new Error(`ONNX export: weight "${table}" is missing from the checkpoint`);
    const which = op.attrs.input;
    const positions = which === "position_ids" ? cx.positionIds() : undefined;
    const ids = positions?.name ?? which;
    // positions shared by every row are [T]: their rows broadcast over the batch when added
    const dims: OnnxDim[] = positions && !positions.perRow ? ["seq", t.shape[1]!] : ["batch", "seq", t.shape[1]!];
    return [{ name: cx.g.op("Gather", [cx.weight(table), ids], { axis: { i: 0 } }), dims }];
  },
};
