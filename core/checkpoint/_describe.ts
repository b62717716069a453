/**
 * Short, safe descriptions of untrusted input for error messages: {@linkcode excerpt} cuts long strings, and
 * {@linkcode describeValue} renders a parsed value (a pickle object, a JSON value) without recursing past a
 * small depth and without `JSON.stringify`, so cyclic or deeply nested input cannot throw an engine error
 * in place of the message. Shared by `core/checkpoint` and `core/tokenizers`; not exported from `mod.ts`.
 *
 * @module
 */

/** Longest quoted input an error message repeats, in UTF-16 code units. */
export const MAX_EXCERPT = 200;

/**
 * `text` itself when short, otherwise its first `max` characters, an ellipsis and the full length.
 *
 * @param text Untrusted text (a tensor name, a line of a file, …).
 * @param max The longest excerpt, in UTF-16 code units.
 * @returns A string of at most about `max + 30` characters.
 *
 * @example Usage
 * ```ts
 * import { excerpt } from "./_describe.ts";
 * excerpt("x".repeat(1000), 5); // "xxxxx… (1000 characters)"
 * ```
 */
export function excerpt(text: string, max = MAX_EXCERPT): string {
  if (text.length <= max) return text;
  // Do not cut a surrogate pair in half.
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}… (${text.length} characters)`;
}

/**
 * A one-line, bounded description of any value: strings quoted and cut, arrays and maps shown to depth 2 with
 * their first few items, class instances by class name. Never recurses further and never throws.
 *
 * @param value Anything an untrusted file produced.
 * @param max The longest result, in UTF-16 code units.
 * @returns The description.
 *
 * @example Usage
 * ```ts
 * import { describeValue } from "./_describe.ts";
 * const cyclic: unknown[] = ["storage"];
 * cyclic.push(cyclic);
 * describeValue(cyclic); // '["storage", ["storage", […2 items]]]'
 * ```
 */
export function describeValue(value: unknown, max = MAX_EXCERPT): string {
  return excerpt(describe(value, 0), max);
}

const MAX_DEPTH = 2;
const MAX_ITEMS = 8;

function describe(value: unknown, depth: number): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  switch (typeof value) {
    case "string":
      return `"${excerpt(value, 60)}"`;
    case "number":
    case "boolean":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
  }
  if (value instanceof Uint8Array) return `bytes(${value.length})`;
  const list = Array.isArray(value) ? value as unknown[] : undefined;
  const map = value instanceof Map ? value as Map<unknown, unknown> : undefined;
  if (list === undefined && map === undefined) {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === "string" && name !== "Object" ? `a ${name}` : "an object";
  }
  const size = list !== undefined ? list.length : map!.size;
  if (depth >= MAX_DEPTH) return list !== undefined ? `[…${size} items]` : `{…${size} items}`;
  const parts: string[] = [];
  if (list !== undefined) {
    for (let i = 0; i < Math.min(size, MAX_ITEMS); i++) parts.push(describe(list[i], depth + 1));
  } else {
    for (const [k, v] of map!) {
      if (parts.length >= MAX_ITEMS) break;
      parts.push(`${describe(k, depth + 1)}: ${describe(v, depth + 1)}`);
    }
  }
  if (size > MAX_ITEMS) parts.push(`… ${size - MAX_ITEMS} more`);
  return list !== undefined ? `[${parts.join(", ")}]` : `{${parts.join(", ")}}`;
}
