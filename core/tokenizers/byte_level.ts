/**
 * GPT-2's byte-level alphabet and pre-tokenizer (Hugging Face `ByteLevel`).
 *
 * @module
 */

/**
 * GPT-2's pre-tokenizer pattern. `\s` is spelled out as the Unicode White_Space set, which is what Oniguruma
 * (used by `tokenizers`) matches; JavaScript's `\s` would add U+FEFF and miss U+0085.
 */
const WS = "\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const GPT2_SPLIT_RE = new RegExp(
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`,
  "gu",
);

let byteToChar: string[] | undefined;
let charToByte: Map<string, number> | undefined;

/**
 * GPT-2's reversible map from the 256 byte values to printable characters: printable Latin-1 bytes map to
 * themselves, the rest to U+0100 onwards.
 *
 * @returns The character of each byte, indexed by byte value.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(bytesToUnicode()[0x20], "Ġ");
 * strictEqual(bytesToUnicode()[0x41], "A");
 * ```
 */
export function bytesToUnicode(): readonly string[] {
  if (byteToChar) return byteToChar;
  const table: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  byteToChar = table;
  return table;
}

function unicodeToBytes(): Map<string, number> {
  if (!charToByte) charToByte = new Map(bytesToUnicode().map((c, b) => [c, b]));
  return charToByte;
}

/**
 * Options of {@linkcode byteLevelPreTokenize}, named as in `tokenizer.json`.
 *
 * @example Usage
 * ```ts
 * const roberta: ByteLevelOptions = { addPrefixSpace: true };
 * byteLevelPreTokenize("hi", roberta);
 * ```
 */
export interface ByteLevelOptions {
  /** Prepend a space when the text does not start with one (RoBERTa-style). Default `false`. */
  addPrefixSpace?: boolean;
  /** Split with GPT-2's regex first. Default `true`. */
  useRegex?: boolean;
}

const encoder = new TextEncoder();

/**
 * Splits text with GPT-2's regex and maps each piece's UTF-8 bytes to the byte-level alphabet.
 *
 * @param text The text.
 * @param opts Prefix space and regex options.
 * @returns The byte-level words.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(byteLevelPreTokenize("Hello world's"), ["Hello", "Ġworld", "'s"]);
 * ```
 */
export function byteLevelPreTokenize(text: string, opts: ByteLevelOptions = {}): string[] {
  if ((opts.addPrefixSpace ?? false) && !text.startsWith(" ")) text = " " + text;
  const pieces = (opts.useRegex ?? true) ? text.match(GPT2_SPLIT_RE) ?? [] : (text === "" ? [] : [text]);
  return pieces.map(toByteLevel);
}

/**
 * Maps a string's UTF-8 bytes to byte-level characters.
 *
 * @param text Any text.
 * @returns The same bytes, one alphabet character each.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(toByteLevel(" é"), "ĠÃ©");
 * ```
 */
export function toByteLevel(text: string): string {
  const table = bytesToUnicode();
  if (/^[\x21-\x7e]*$/.test(text)) return text;
  const bytes = encoder.encode(text);
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += table[bytes[i]!];
  return s;
}

/**
 * Turns byte-level tokens back into text (invalid UTF-8 becomes U+FFFD, as with `errors="replace"`).
 * Characters outside the byte alphabet are kept as their own UTF-8.
 *
 * @param tokens Byte-level tokens.
 * @returns The decoded text.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(byteLevelDecode(["Hello", "Ġw", "orld"]), "Hello world");
 * ```
 */
export function byteLevelDecode(tokens: readonly string[]): string {
  const map = unicodeToBytes();
  const bytes: number[] = [];
  for (const t of tokens) {
    for (const ch of t) {
      const b = map.get(ch);
      if (b !== undefined) bytes.push(b);
      else for (const x of encoder.encode(ch)) bytes.push(x);
    }
  }
  return new TextDecoder("utf-8", { fatal: false }).decode(new Uint8Array(bytes));
}
