/**
 * Text helpers shared by the dataset readers: UTF-8 decoding with BOM removal, and line splitting.
 *
 * @module
 */

/**
 * Decodes `input` as strict UTF-8 (a string is used as is) and removes a leading byte order mark.
 *
 * @param input The file's bytes or text.
 * @param file The file name used in error messages.
 * @returns The text without a BOM.
 * @throws {Error} When the bytes are not valid UTF-8.
 */
export function decodeText(input: string | Uint8Array, file: string): string {
  let text: string;
  if (typeof input === "string") {
    text = input;
  } else {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch {
      throw new Error(`File "${file}" is not valid UTF-8`);
    }
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Splits text into lines the way Python's universal newlines do (`\n`, `\r\n` or `\r`).
 * A final line terminator does not start an extra empty line.
 *
 * @param text The text to split.
 * @returns The lines, without terminators.
 */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}
