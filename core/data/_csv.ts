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
  if (delimiter.length !== 1) throw new Error(`parseCsv: the delimiter must be one character, got "${delimiter}"`);
  // Fields are cut out of the text with slice (a quoted one in as many pieces as it has `""`), never grown a
  // character at a time: a 100 MB field costs its own size, not a string per character.
  const DELIM = delimiter.charCodeAt(0);
  const records: CsvRecord[] = [];
  const n = text.length;
  let fields: string[] = [];
  let line = 1;
  let lineStart = 0; // index of the current line's first character (column = i - lineStart + 1)
  let recordLine = 1;
  let i = 0;
  const endRecord = () => {
    if (!(fields.length === 1 && fields[0] === "")) records.push({ fields, line: recordLine });
    fields = [];
  };
  while (i < n) {
    // at the start of a field
    if (text.charCodeAt(i) === QUOTE) {
      const startLine = line;
      const startCol = i - lineStart + 1;
      i++;
      const pieces: string[] = [];
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) throw new Error(`${file} line ${startLine}, column ${startCol}: quoted field is not closed`);
        for (let k = i; k < close; k++) {
          const c = text.charCodeAt(k);
          // "\r\n" is one line break (counted at its "\n"), a lone "\r" or "\n" one each
          if (c === LF || (c === CR && text.charCodeAt(k + 1) !== LF)) {
            line++;
            lineStart = k + 1;
          }
        }
        pieces.push(text.slice(i, close));
        if (text.charCodeAt(close + 1) === QUOTE) {
          pieces.push('"');
          i = close + 2;
          continue;
        }
        i = close + 1;
        break;
      }
      fields.push(pieces.length === 1 ? pieces[0]! : pieces.join(""));
      const next = text.charCodeAt(i);
      if (i < n && next !== DELIM && next !== LF && next !== CR) {
        throw new Error(
          `${file} line ${line}, column ${i - lineStart + 1}: unexpected "${text[i]}" after a closing quote`,
        );
      }
    } else {
      // unquoted: up to the next delimiter or line break (a quote inside is text, as in Python's csv module)
      let end = i;
      while (end < n) {
        const c = text.charCodeAt(end);
        if (c === DELIM || c === LF || c === CR) break;
        end++;
      }
      fields.push(text.slice(i, end));
      i = end;
    }
    if (i >= n) break;
    const c = text.charCodeAt(i);
    if (c === DELIM) {
      i++;
      if (i === n) fields.push(""); // a delimiter at the very end: an empty last field
      continue;
    }
    endRecord();
    i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
    line++;
    lineStart = i;
    recordLine = line;
  }
  if (fields.length > 0) endRecord();
  return records;
}

const QUOTE = 0x22, LF = 0x0a, CR = 0x0d;
