import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { readNpy } from "@bertology/core/checkpoint";
import { tableBlob, tableCsv, tableShape, tableValues } from "./table_export.ts";

// [layers=2][heads=2][T=2][T=2], head 1 of layer 0 pruned
const attention = [
  [[[0.5, 0.5], [0.25, 0.75]], null],
  [[[1, 0], [0, 1]], [[0.1, 0.9], [0.2, 0.8]]],
];

Deno.test("tableShape() and tableValues() read a nested table, a pruned head as a NaN block", () => {
  deepStrictEqual(tableShape(attention), [2, 2, 2, 2]);
  const v = tableValues(attention, [2, 2, 2, 2]);
  deepStrictEqual(Array.from(v.subarray(0, 4)), [0.5, 0.5, 0.25, 0.75]);
  strictEqual(v.subarray(4, 8).every(Number.isNaN), true);
  strictEqual(v[15], Math.fround(0.8));
  throws(() => tableValues([[1, 2], [3]], [2, 2]), /ragged at depth 1/);
});

Deno.test("tableCsv() writes one line per cell with its indices, empty for a pruned head", () => {
  const lines = tableCsv([[0.5, null], [1, 2]], ["layer", "head"]).trim().split("\n");
  deepStrictEqual(lines, ["layer,head,value", "0,0,0.5", "0,1,", "1,0,1", "1,1,2"]);
});

Deno.test("tableBlob() as NPY holds the table's shape and float32 values", async () => {
  const bytes = new Uint8Array(await tableBlob(attention, "npy", []).arrayBuffer());
  const t = readNpy(bytes, "attention.npy");
  deepStrictEqual(t.shape, [2, 2, 2, 2]);
  strictEqual(t.data[2], 0.25);
  deepStrictEqual(JSON.parse(await tableBlob(attention, "json", []).text()), attention);
});
