/**
 * Custom classification or regression data from CSV (RFC 4180 quoting), TSV (tabs only, no quoting,
 * like GLUE) or JSONL (one JSON object, or array, per line).
 *
 * @module
 */

import { describeValue, excerpt } from "../checkpoint/_describe.ts";
import { parseCsv } from "./_csv.ts";
import { decodeText, splitLines } from "./_text.ts";
import type { InputExample, OutputMode } from "./input_example.ts";

/** The file formats {@linkcode parseTabular} reads. */
export type TabularFormat = "csv" | "tsv" | "jsonl";

/** A column: a header name (or JSON key), or a 0-based index. */
export type ColumnRef = string | number;

/** Options for {@linkcode parseTabular}. */
export interface TabularOptions {
  /** `"csv"`, `"tsv"` or `"jsonl"`. */
  format: TabularFormat;
  /** Column holding the text (text A). */
  textColumn: ColumnRef;
  /** Column holding the second text of a pair (text B). */
  textPairColumn?: ColumnRef | undefined;
  /** Column holding the label. Without it examples are unlabeled (`label: undefined`). */
  labelColumn?: ColumnRef | undefined;
  /**
   * CSV/TSV: whether the first line holds column names. Default `true`. Column names need a header;
   * with a header, numeric indices still work (the header line is skipped). Ignored for JSONL.
   */
  header?: boolean | undefined;
  /**
   * Classification label list, in class-id order. Labels outside it are errors. When absent it is
   * inferred: the sorted unique labels (numerically when all look like numbers, else by code unit).
   */
  labels?: readonly string[] | undefined;
  /** `"classification"` (default) keeps labels as strings; `"regression"` parses them as numbers. */
  outputMode?: OutputMode | undefined;
  /** Name used in error messages. Default `"input"`. */
  file?: string | undefined;
  /** Prefix of each example's guid (`<prefix>-<n>`, n from 0). Default `"row"`. */
  guidPrefix?: string | undefined;
}

/** What {@linkcode parseTabular} returns: the examples plus the label list and output mode to use with them. */
export interface TabularData {
  /** The examples, in file order. */
  examples: InputExample[];
  /** The label list (given or inferred); empty for regression. */
  labels: string[];
  /** The output mode the labels were read with. */
  outputMode: OutputMode;
}

interface Row {
  line: number;
  get(ref: ColumnRef, role: string): unknown;
}

function describe(ref: ColumnRef): string {
  return typeof ref === "number" ? `column ${ref}` : `column "${ref}"`;
}

function tableRows(text: string, options: TabularOptions, file: string): Row[] {
  const records = options.format === "csv"
    ? parseCsv(text, file, ",")
    : splitLines(text).map((l, i) => ({ fields: l.split("\t"), line: i + 1 })).filter((r) =>
      !(r.fields.length === 1 && r.fields[0]!.trim() === "")
    );
  const header = options.header ?? true;
  let names: string[] | undefined;
  let body = records;
  if (header) {
    if (records.length === 0) throw new Error(`no examples in ${file}`);
    names = records[0]!.fields;
    body = records.slice(1);
  }
  const resolve = (ref: ColumnRef, role: string): number => {
    if (typeof ref === "number") {
      if (!Number.isInteger(ref) || ref < 0) {
        throw new Error(`Invalid ${role} column ${ref}: expected a 0-based column index`);
      }
      return ref;
    }
    if (names === undefined) {
      throw new Error(
        `Cannot find ${role} column "${ref}" in ${file}: column names need a header line (header is false)`,
      );
    }
    const idx = names.indexOf(ref);
    if (idx < 0) {
      const list = names.map((n) => `"${n}"`).join(", ");
      throw new Error(
        `${file} line ${records[0]!.line}: ${role} column "${ref}" is not in the header; columns are ${list}`,
      );
    }
    return idx;
  };
  const cache = new Map<ColumnRef, number>();
  const width = names?.length;
  return body.map((r) => ({
    line: r.line,
    get(ref: ColumnRef, role: string) {
      let idx = cache.get(ref);
      if (idx === undefined) {
        idx = resolve(ref, role);
        cache.set(ref, idx);
      }
      if (width !== undefined && r.fields.length !== width) {
        throw new Error(`${file} line ${r.line}: expected ${width} columns (as in the header), got ${r.fields.length}`);
      }
      if (idx >= r.fields.length) {
        throw new Error(
          `${file} line ${r.line}: ${role} ${describe(ref)} is missing (row has ${r.fields.length} columns)`,
        );
      }
      return r.fields[idx];
    },
  }));
}

function jsonRows(text: string, file: string): Row[] {
  const rows: Row[] = [];
  splitLines(text).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new Error(`${file} line ${line}: invalid JSON (${(e as Error).message})`);
    }
    if (value === null || typeof value !== "object") {
      throw new Error(`${file} line ${line}: expected a JSON object or array, got ${JSON.stringify(value)}`);
    }
    const record = value as Record<string, unknown>;
    rows.push({
      line,
      get(ref: ColumnRef, role: string) {
        if (Array.isArray(record) !== (typeof ref === "number")) {
          const want = typeof ref === "number" ? "an array (numeric column)" : "an object (named column)";
          throw new Error(`${file} line ${line}: ${role} ${describe(ref)} needs each line to be ${want}`);
        }
        const key = String(ref);
        if (!Object.hasOwn(record, key)) {
          throw new Error(`${file} line ${line}: ${role} ${describe(ref)} is missing`);
        }
        return record[key];
      },
    });
  });
  return rows;
}

function compareLabels(all: string[]): string[] {
  const numeric = all.every((l) => l.trim() !== "" && Number.isFinite(Number(l)));
  return numeric ? all.sort((x, y) => Number(x) - Number(y) || (x < y ? -1 : x > y ? 1 : 0)) : all.sort();
}

/**
 * Parses custom data into {@linkcode InputExample}s. Columns are picked by header name (CSV/TSV with a
 * header, JSONL objects) or by 0-based index. Classification labels are strings (JSON numbers and booleans
 * are turned into strings); regression labels are numbers.
 *
 * @param input The file's text or bytes (UTF-8; a BOM is removed).
 * @param options Format, columns, label handling and file name for errors.
 * @returns The examples and the label list (given or inferred) and output mode.
 * @throws {Error} On malformed CSV/JSON, a missing column, a wrong column count, a non-string text,
 * an unknown label, a non-numeric regression label or no examples. Messages name the file, line and column.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 *
 * const csv = 'review,stars\n"Great, really great",pos\nMeh,neg\n';
 * const data = parseTabular(csv, { format: "csv", textColumn: "review", labelColumn: "stars" });
 * deepStrictEqual(data.labels, ["neg", "pos"]);
 * deepStrictEqual(data.examples[0], { guid: "row-0", textA: "Great, really great", label: "pos" });
 * ```
 */
export function parseTabular(input: string | Uint8Array, options: TabularOptions): TabularData {
  const file = options.file ?? "input";
  const outputMode = options.outputMode ?? "classification";
  if (!["csv", "tsv", "jsonl"].includes(options.format)) {
    throw new Error(`Unknown format "${options.format}": expected "csv", "tsv" or "jsonl"`);
  }
  const text = decodeText(input, file);
  const rows = options.format === "jsonl" ? jsonRows(text, file) : tableRows(text, options, file);
  if (rows.length === 0) throw new Error(`no examples in ${file}`);
  const prefix = options.guidPrefix ?? "row";
  const given = options.labels === undefined ? undefined : new Set(options.labels);
  const seen = new Set<string>();
  const str = (row: Row, ref: ColumnRef, role: string): string => {
    const v = row.get(ref, role);
    if (typeof v !== "string") {
      throw new Error(`${file} line ${row.line}, ${describe(ref)}: ${role} must be a string, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const examples = rows.map((row, n): InputExample => {
    const example: InputExample = {
      guid: `${prefix}-${n}`,
      textA: str(row, options.textColumn, "text"),
      label: undefined,
    };
    if (options.textPairColumn !== undefined) example.textB = str(row, options.textPairColumn, "text pair");
    if (options.labelColumn !== undefined) {
      const where = `${file} line ${row.line}, ${describe(options.labelColumn)}`;
      const raw = row.get(options.labelColumn, "label");
      if (outputMode === "regression") {
        const value = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
        if (!Number.isFinite(value)) throw new Error(`${where}: label ${describeValue(raw)} is not a number`);
        example.label = value;
      } else {
        if (typeof raw !== "string" && typeof raw !== "number" && typeof raw !== "boolean") {
          throw new Error(`${where}: label must be a string, number or boolean, got ${describeValue(raw)}`);
        }
        const label = String(raw);
        if (given !== undefined && !given.has(label)) {
          const list = excerpt(options.labels!.map((l) => `"${l}"`).join(", "), 200);
          throw new Error(`${where}: unknown label "${excerpt(label)}", expected one of ${list}`);
        }
        seen.add(label);
        example.label = label;
      }
    }
    return example;
  });
  const labels = outputMode === "regression"
    ? []
    : options.labels !== undefined
    ? [...options.labels]
    : compareLabels([...seen]);
  return { examples, labels, outputMode };
}
