/// <reference lib="dom" />
/**
 * Downloads of the page's raw tables — attention maps [layers][heads][T][T], importance and patching [L][H] —
 * as JSON (the numbers as computed), NumPy `.npy` (float32, `NaN` for a pruned head) or CSV (one row per cell
 * with its indices).
 *
 * @module
 */

import { writeNpy } from "@bertology/core/checkpoint";
import { download } from "./export.ts";

/** A nested table of numbers; `null` marks a pruned head. */
export type Table = number | null | Table[];

/** The formats a table downloads as. */
export const TABLE_FORMATS = ["json", "npy", "csv"] as const;

/** One of {@linkcode TABLE_FORMATS}. */
export type TableFormat = typeof TABLE_FORMATS[number];

/**
 * The shape of a nested table: its first entry's lengths at each depth; a `null` sub-table (a pruned head) stands
 * for a block of that shape.
 *
 * @param t the table
 * @returns the shape
 */
export function tableShape(t: Table): number[] {
  const shape: number[] = [];
  let level: Table[] = [t];
  for (;;) {
    const arrays = level.filter((x): x is Table[] => Array.isArray(x));
    if (arrays.length === 0) return shape;
    shape.push(arrays[0]!.length);
    level = arrays.flat();
  }
}

/**
 * The table as float32 values in row-major order, `NaN` for `null` (a pruned head's whole block).
 *
 * @param t the table
 * @param shape its shape ({@linkcode tableShape})
 * @returns the values
 * @throws {Error} when the table is ragged
 */
export function tableValues(t: Table, shape: number[]): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let at = 0;
  const walk = (x: Table, depth: number): void => {
    if (depth === shape.length) {
      out[at++] = x === null ? NaN : (x as number);
      return;
    }
    if (x === null) {
      const n = shape.slice(depth).reduce((a, b) => a * b, 1);
      out.fill(NaN, at, at + n);
      at += n;
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) throw new Error(`The table is ragged at depth ${depth}`);
    for (const y of x) walk(y, depth + 1);
  };
  walk(t, 0);
  return out;
}

/**
 * The table as CSV: a header naming the index columns, then one line per cell (`layer,head,value` for [L][H]).
 *
 * @param t the table
 * @param columns the index columns' names, one per dimension
 * @returns the CSV text
 */
export function tableCsv(t: Table, columns: readonly string[]): string {
  const shape = tableShape(t);
  const values = tableValues(t, shape);
  const lines = [[...columns.slice(0, shape.length), "value"].join(",")];
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    lines.push(`${index.join(",")},${Number.isNaN(v) ? "" : String(v)}`);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * The file of a table in one format.
 *
 * @param t the table
 * @param format JSON, NPY or CSV
 * @param columns the CSV's index columns
 * @returns the file's contents
 */
export function tableBlob(t: Table, format: TableFormat, columns: readonly string[]): Blob {
  if (format === "json") return new Blob([JSON.stringify(t)], { type: "application/json" });
  if (format === "csv") return new Blob([tableCsv(t, columns)], { type: "text/csv" });
  const shape = tableShape(t);
  return new Blob([writeNpy({ shape, data: tableValues(t, shape) }) as Uint8Array<ArrayBuffer>], {
    type: "application/octet-stream",
  });
}

/**
 * A row of download buttons for a table (`data-table`, `data-format` on each), built lazily: `get` is called on
 * click, so the buttons always save what is shown.
 *
 * @param name the file stem and the buttons' id prefix (`importance`)
 * @param label what the table is, for the buttons' labels
 * @param columns the CSV's index columns
 * @param get the table now, or `undefined` when there is none
 * @returns the group element
 */
export function tableDownloads(
  name: string,
  label: string,
  columns: readonly string[],
  get: () => Table | undefined,
): HTMLElement {
  const box = document.createElement("span");
  box.className = "table-downloads";
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", `Download ${label}`);
  const caption = document.createElement("span");
  caption.className = "muted";
  caption.textContent = `${label}:`;
  box.append(caption);
  for (const format of TABLE_FORMATS) {
    const b = document.createElement("button");
    b.type = "button";
    b.id = `download-${name}-${format}`;
    b.dataset.table = name;
    b.dataset.format = format;
    b.textContent = format.toUpperCase();
    b.addEventListener("click", () => {
      const t = get();
      if (t !== undefined) download(tableBlob(t, format, columns), `${name}.${format}`);
    });
    box.append(b);
  }
  return box;
}
