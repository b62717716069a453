/**
 * Added (special) tokens: matched in the raw text before the model sees it, as Hugging Face's
 * `AddedVocabulary` does (so `[SEP]` typed in a text is the `[SEP]` id, not `[`, `sep`, `]`).
 *
 * @module
 */

import { isWhitespace } from "./_unicode.ts";

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
 * A piece of text: either plain text for the model or one added token, with its place in the text split.
 *
 * @example Usage
 * ```ts
 * const s: Segment[] = [{ text: "a ", start: 0 }, { text: "[SEP]", start: 2, id: 102 }];
 * ```
 */
export type Segment = { text: string; start: number; id?: undefined } | { text: string; start: number; id: number };

/**
 * Leftmost-longest matching of many strings in time linear in the text: an Aho–Corasick automaton over the
 * reversed strings, run from the end of the text, gives at every position the longest string starting there;
 * a left-to-right pass then takes the leftmost match, the longest at that place, and continues after it.
 */
class LongestMatcher {
  readonly #next: Map<number, number>[] = [new Map()];
  readonly #fail: number[] = [0];
  readonly #value: number[] = [-1]; // index of the string ending at this node (reversed), or -1
  readonly #depth: number[] = [0];
  readonly #out: number[]; // longest string that is a suffix of this node's path (node id), or -1

  constructor(strings: readonly string[]) {
    strings.forEach((str, index) => {
      let node = 0;
      for (let i = str.length - 1; i >= 0; i--) {
        const c = str.charCodeAt(i);
        let child = this.#next[node]!.get(c);
        if (child === undefined) {
          child = this.#next.length;
          this.#next.push(new Map());
          this.#fail.push(0);
          this.#value.push(-1);
          this.#depth.push(this.#depth[node]! + 1);
          this.#next[node]!.set(c, child);
        }
        node = child;
      }
      if (this.#value[node]! < 0) this.#value[node] = index;
    });
    // Breadth-first failure links; out[] = the deepest terminal node on the failure chain.
    this.#out = new Array<number>(this.#next.length).fill(-1);
    const queue: number[] = [];
    for (const child of this.#next[0]!.values()) queue.push(child);
    for (let h = 0; h < queue.length; h++) {
      const node = queue[h]!;
      for (const [c, child] of this.#next[node]!) {
        let f = this.#fail[node]!;
        while (f !== 0 && !this.#next[f]!.has(c)) f = this.#fail[f]!;
        const target = this.#next[f]!.get(c);
        this.#fail[child] = target !== undefined && target !== child ? target : 0;
        queue.push(child);
      }
    }
    for (const node of queue) {
      this.#out[node] = this.#value[node]! >= 0 ? node : this.#out[this.#fail[node]!]!;
    }
  }

  /** For every position of `text`, the longest string starting there: `len[i]` (0 when none) and `which[i]`. */
  longestAt(text: string): { len: Int32Array; which: Int32Array } {
    const n = text.length;
    const len = new Int32Array(n);
    const which = new Int32Array(n);
    let node = 0;
    for (let i = n - 1; i >= 0; i--) {
      const c = text.charCodeAt(i);
      for (;;) {
        const child = this.#next[node]!.get(c);
        if (child !== undefined) {
          node = child;
          break;
        }
        if (node === 0) break;
        node = this.#fail[node]!;
      }
      const o = this.#out[node]!;
      if (o >= 0) {
        len[i] = this.#depth[o]!;
        which[i] = this.#value[o]!;
      }
    }
    return { len, which };
  }
}

const WORD_CHAR_RE = /[\p{L}\p{N}_]/u;

function isWordBefore(text: string, at: number): boolean {
  if (at === 0) return false;
  const c = text.charCodeAt(at - 1);
  const ch = c >= 0xdc00 && c <= 0xdfff && at >= 2 ? text.slice(at - 2, at) : text[at - 1]!;
  return WORD_CHAR_RE.test(ch);
}

function isWordAfter(text: string, at: number): boolean {
  if (at >= text.length) return false;
  return WORD_CHAR_RE.test(String.fromCodePoint(text.codePointAt(at)!));
}

function isSpaceUnit(c: number): boolean {
  return isWhitespace(c);
}

/** One set of added tokens (raw or normalized) and its matcher. */
class TokenSet {
  readonly #tokens: AddedToken[];
  readonly #matcher: LongestMatcher | undefined;

  constructor(tokens: AddedToken[], content: (t: AddedToken) => string) {
    const usable = tokens.filter((t) => content(t) !== "");
    this.#tokens = usable;
    this.#matcher = usable.length === 0 ? undefined : new LongestMatcher(usable.map(content));
  }

  /**
   * Hugging Face's `AddedVocabulary::find_matches`: leftmost-longest matches; a single-word token must not touch a
   * word character; `lstrip` / `rstrip` take the whitespace beside the match (never whitespace an earlier match
   * took). Each whitespace unit is looked at a bounded number of times, so this is linear in the text.
   */
  split(text: string): Segment[] {
    if (this.#matcher === undefined || text === "") return [{ text, start: 0 }];
    const { len, which } = this.#matcher.longestAt(text);
    const out: Segment[] = [];
    let last = 0;
    for (let i = 0; i < text.length;) {
      const l = len[i]!;
      if (l === 0) {
        i++;
        continue;
      }
      const token = this.#tokens[which[i]!]!;
      let start = i;
      let stop = i + l;
      i = stop;
      if (token.singleWord && (isWordBefore(text, start) || isWordAfter(text, stop))) continue;
      if (token.lstrip) { while (start > last && isSpaceUnit(text.charCodeAt(start - 1))) start--; }
      if (token.rstrip) { while (stop < text.length && isSpaceUnit(text.charCodeAt(stop))) stop++; }
      if (start > last) out.push({ text: text.slice(last, start), start: last });
      out.push({ text: text.slice(start, stop), start, id: token.id });
      last = stop;
      i = stop;
    }
    if (last < text.length) out.push({ text: text.slice(last), start: last });
    return out;
  }
}

/**
 * Splits text around added tokens (leftmost match, longest first), in time linear in the text however many
 * added tokens there are. Token contents are matched as literal text (no pattern syntax).
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const s = new AddedTokenSplitter([{ id: 102, content: "[SEP]", special: true }]);
 * deepStrictEqual(s.splitRaw("a [SEP] b"), [
 *   { text: "a ", start: 0 },
 *   { text: "[SEP]", start: 2, id: 102 },
 *   { text: " b", start: 7 },
 * ]);
 * ```
 */
export class AddedTokenSplitter {
  /** The tokens, in the order given. */
  readonly tokens: readonly AddedToken[];
  readonly #raw: TokenSet;
  readonly #norm: TokenSet;

  /**
   * Builds the splitter for `tokens`; `normalize` is applied to the content of tokens marked `normalized`.
   *
   * @param tokens The added tokens.
   * @param normalize The normalizer, applied to the content of `normalized` tokens.
   */
  constructor(tokens: readonly AddedToken[], normalize: (s: string) => string = (s) => s) {
    this.tokens = tokens;
    this.#raw = new TokenSet(tokens.filter((t) => !t.normalized), (t) => t.content);
    const norm = tokens.filter((t) => t.normalized);
    const normContent = new Map(norm.map((t) => [t, normalize(t.content)]));
    this.#norm = new TokenSet(norm, (t) => normContent.get(t)!);
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
    return this.#raw.split(text);
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
    return this.#norm.split(text);
  }
}
