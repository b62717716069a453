/**
 * Added (special) tokens: matched in the raw text before the model sees it, as Hugging Face's
 * `AddedVocabulary` does (so `[SEP]` typed in a text is the `[SEP]` id, not `[`, `sep`, `]`).
 *
 * @module
 */

/**
 * An added token, with the flags of `tokenizer.json`'s `added_tokens`.
 *
 * @example Usage
 * ```ts
 * const t: AddedToken = { id: 102, content: "[SEP]", special: true };
 * ```
 */
export interface AddedToken {
  /** Its id. */
  id: number;
  /** Its text. */
  content: string;
  /** Whether it is a special token (skipped by `decode(…, { skipSpecialTokens: true })`). */
  special: boolean;
  /** Match it in the normalized text rather than the raw text. Default `false`. */
  normalized?: boolean;
  /** Swallow whitespace on its left. */
  lstrip?: boolean;
  /** Swallow whitespace on its right. */
  rstrip?: boolean;
  /** Match only as a whole word. */
  singleWord?: boolean;
}

/**
 * A piece of text: either plain text for the model or one added token.
 *
 * @example Usage
 * ```ts
 * const s: Segment[] = [{ text: "a " }, { text: "[SEP]", id: 102 }];
 * ```
 */
export type Segment = { text: string; id?: undefined } | { text: string; id: number };

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\\/-]/g, "\\$&");
}

function buildRegex(tokens: readonly AddedToken[], content: (t: AddedToken) => string): RegExp | undefined {
  const list = tokens.filter((t) => content(t) !== "").slice().sort((x, y) => content(y).length - content(x).length);
  if (list.length === 0) return undefined;
  const alts = list.map((t) => {
    let p = escape(content(t));
    if (t.singleWord) p = `(?<![\\p{L}\\p{N}_])${p}(?![\\p{L}\\p{N}_])`;
    if (t.lstrip) p = `\\s*${p}`;
    if (t.rstrip) p = `${p}\\s*`;
    return `(${p})`;
  });
  return new RegExp(alts.join("|"), "gu");
}

/**
 * Splits text around added tokens (leftmost match, longest first).
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const s = new AddedTokenSplitter([{ id: 102, content: "[SEP]", special: true }]);
 * deepStrictEqual(s.splitRaw("a [SEP] b"), [{ text: "a " }, { text: "[SEP]", id: 102 }, { text: " b" }]);
 * ```
 */
export class AddedTokenSplitter {
  /** The tokens, in the order given. */
  readonly tokens: readonly AddedToken[];
  readonly #raw: RegExp | undefined;
  readonly #rawIds: number[];
  readonly #norm: RegExp | undefined;
  readonly #normIds: number[];

  /**
   * @param tokens The added tokens.
   * @param normalize The normalizer, applied to the content of `normalized` tokens.
   */
  /** Builds the splitter for `tokens`; `normalize` is applied to tokens marked `normalized`. */
  constructor(tokens: readonly AddedToken[], normalize: (s: string) => string = (s) => s) {
    this.tokens = tokens;
    const raw = tokens.filter((t) => !t.normalized);
    const norm = tokens.filter((t) => t.normalized);
    const byLen = (c: (t: AddedToken) => string) => (x: AddedToken, y: AddedToken) => c(y).length - c(x).length;
    const rawC = (t: AddedToken) => t.content;
    const normC = (t: AddedToken) => normalize(t.content);
    this.#raw = buildRegex(raw, rawC);
    this.#rawIds = raw.filter((t) => rawC(t) !== "").sort(byLen(rawC)).map((t) => t.id);
    this.#norm = buildRegex(norm, normC);
    this.#normIds = norm.filter((t) => normC(t) !== "").sort(byLen(normC)).map((t) => t.id);
  }

  /**
   * Splits raw text around the non-normalized added tokens.
   *
   * @param text Raw text.
   * @returns Segments in order.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * strictEqual(new AddedTokenSplitter([]).splitRaw("abc").length, 1);
   * ```
   */
  splitRaw(text: string): Segment[] {
    return split(text, this.#raw, this.#rawIds);
  }

  /**
   * Splits normalized text around the `normalized` added tokens.
   *
   * @param text Normalized text.
   * @returns Segments in order.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * strictEqual(new AddedTokenSplitter([]).splitNormalized("abc").length, 1);
   * ```
   */
  splitNormalized(text: string): Segment[] {
    return split(text, this.#norm, this.#normIds);
  }
}

function split(text: string, re: RegExp | undefined, ids: number[]): Segment[] {
  if (re === undefined || text === "") return [{ text }];
  const out: Segment[] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m[0] === "") continue;
    const group = m.findIndex((g, i) => i > 0 && g !== undefined);
    if (m.index > last) out.push({ text: text.slice(last, m.index) });
    out.push({ text: m[0], id: ids[group - 1] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}
