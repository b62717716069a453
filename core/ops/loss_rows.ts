/**
 * The positions whose prediction a loss counts, [batch, pos, C] → [rows, C], when the executor knows them: a
 * next-token or masked-token loss needs its vocabulary head only there, not on padding or on each row's last
 * token. The identity when no loss rows are set, and in the exported graph (which computes every position and
 * weights the loss instead).
 *
 * @module
 */

import type { OpDef } from "./op.ts";
import { gatherRows, requireDense } from "./_wasm.ts";

/** How a family calls the op (one member of `ModelOps`). */
export interface LossRowsOp<T> {
  /**
   * The positions whose prediction a loss counts, [batch, pos, C] → [rows, C], when the executor knows them
   * (a next-token loss needs no LM head on padding or on each row's last token); otherwise `x` unchanged.
   */
  lossRows(x: T): T;
}

/** The op's attributes, as the trace records them. */
export type LossRowsAttrs = Record<string, never>;

/** The loss-rows op. */
export const lossRows: OpDef<"lossRows"> = {
  name: "lossRows",
  wasm(cx, x) {
    const rows = cx.inputs.lmRows;
    if (rows === undefined) return x;
    requireDense(cx.run, x, "lossRows");
    return gatherRows(cx, x, rows.ptr, rows.count, [rows.count]);
  },
  trace: (cx, x) => cx.record("lossRows", [x], [["rows", x.shape[x.shape.length - 1]!]], [], {})[0]!,
  onnx: (_cx, _op, _index, [x]) => [x!],
  onnxBackward: ({ dy }) => [dy[0]],
};
