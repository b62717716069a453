/**
 * A small RFC 4180 CSV parser that keeps track of line numbers for error messages.
 *
 * @module
 */

/** One parsed record and the 1-based line it starts on. */
export interface CsvRecord {
  /** The fields, unquoted. */
  fields: string[];
  /** 1-based line number of the record's first character. */
  line: number;
}

/**
 * Parses CSV text (RFC 4180): fields separated by `delimiter`, records by `\r\n`, `\n` or `\r`. A field
 * that starts with `"` is quoted: it may contain delimiters, line breaks and `""` (one quote). A quote
 * inside an unquoted field is kept as text (like Python's csv module). Blank lines are skipped.
 *
 * @param text The CSV text, without BOM.
 * @param file The file name used in error messages.
 * @param delimiter The field separator, `,` by default.
 * @returns The records, in order.
 * @throws {Error} On an unterminated quoted field or text after a closing quote, naming file, line and column.
 */
export function parseCsv(text: string, file: string, delimiter = ","): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let col = 1;
  let recordLine = 1;
  let i = 0;
  const n = text.length;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === "")) records.push({ fields, line: recordLine });
    fields = [];
    field = "";
  };
  let atFieldStart = true;
  while (i < n) {
    const c = text[i];
    if (atFieldStart && c === '"') {
      const startLine = line;
      const startCol = col;
      i++;
      col++;
      for (;;) {
        if (i >= n) {
          throw new Error(`${file} line ${startLine}, column ${startCol}: quoted field is not closed`);
        }
        const q = text[i];
        if (q === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            col += 2;
            continue;
          }
          i++;
          col++;
          break;
        }
        if (q === "\r" || q === "\n") {
          field += q === "\r" && text[i + 1] === "\n" ? "\r\n" : q;
          i += q === "\r" && text[i + 1] === "\n" ? 2 : 1;
          line++;
          col = 1;
          continue;
        }
        field += q;
        i++;
        col++;
      }
      const next = text[i];
      if (i < n && next !== delimiter && next !== "\n" && next !== "\r") {
        throw new Error(`${file} line ${line}, column ${col}: unexpected "${next}" after a closing quote`);
      }
      atFieldStart = false;
      continue;
    }
    if (c === delimiter) {
      fields.push(field);
      field = "";
      atFieldStart = true;
      i++;
      col++;
      continue;
    }
    if (c === "\n" || c === "\r") {
      endRecord();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
      col = 1;
      recordLine = line;
      atFieldStart = true;
      continue;
    }
    field += c;
    atFieldStart = false;
    i++;
    col++;
  }
  if (!atFieldStart || field !== "" || fields.length > 0) endRecord();
  return records;
}
