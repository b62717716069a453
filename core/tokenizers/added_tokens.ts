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
 *
 * The trie's edges (node, UTF-16 unit) → child live in one open-addressing hash table over typed arrays, sized
 * up front from the strings' total length (at most one node a unit), so building is linear too.
 */
class LongestMatcher {
  readonly #keyNode: Int32Array;
  readonly #keyUnit: Uint16Array;
  readonly #child: Int32Array;
  readonly #mask: number;
  readonly #fail: Int32Array;
  readonly #value: Int32Array; // index of the string ending at this node (reversed), or -1
  readonly #depth: Int32Array;
  readonly #out: Int32Array; // deepest node on the failure chain that ends a string, or -1

  constructor(strings: readonly string[]) {
    let total = 1;
    for (const s of strings) total += s.length;
    let capacity = 1024;
    while (capacity < 2 * total) capacity *= 2;
    const keyNode = this.#keyNode = new Int32Array(capacity).fill(-1);
    const keyUnit = this.#keyUnit = new Uint16Array(capacity);
    const childOf = this.#child = new Int32Array(capacity);
    const mask = this.#mask = capacity - 1;
    const value = this.#value = new Int32Array(total).fill(-1);
    const depth = this.#depth = new Int32Array(total);
    const unitOf = new Uint16Array(total); // the unit on the edge into each node
    const firstChild = new Int32Array(total).fill(-1);
    const nextSibling = new Int32Array(total).fill(-1);
    let nodes = 1;
    for (let index = 0; index < strings.length; index++) {
      const str = strings[index]!;
      let node = 0;
      for (let i = str.length - 1; i >= 0; i--) {
        const c = str.charCodeAt(i);
        let slot = (Math.imul(node, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b)) & mask;
        while (keyNode[slot] !== -1 && (keyNode[slot] !== node || keyUnit[slot] !== c)) slot = (slot + 1) & mask;
        if (keyNode[slot] === -1) {
          const child = nodes++;
          keyNode[slot] = node, keyUnit[slot] = c, childOf[slot] = child;
          depth[child] = depth[node]! + 1;
          unitOf[child] = c;
          nextSibling[child] = firstChild[node]!;
          firstChild[node] = child;
          node = child;
        } else node = childOf[slot]!;
      }
      if (value[node]! < 0) value[node] = index;
    }
    const fail = this.#fail = new Int32Array(nodes);
    const out = this.#out = new Int32Array(nodes).fill(-1);
    // Breadth-first: a node's failure link is the longest proper suffix of its path that is in the trie.
    const queue = new Int32Array(nodes);
    let tail = 0;
    for (let c = firstChild[0]!; c >= 0; c = nextSibling[c]!) queue[tail++] = c;
    for (let h = 0; h < tail; h++) {
      const node = queue[h]!;
      for (let child = firstChild[node]!; child >= 0; child = nextSibling[child]!) {
        const c = unitOf[child]!;
        let f = fail[node]!;
        let target = this.#edge(f, c);
        while (target < 0 && f !== 0) {
          f = fail[f]!;
          target = this.#edge(f, c);
        }
        fail[child] = target >= 0 && target !== child ? target : 0;
        queue[tail++] = child;
      }
    }
    for (let h = 0; h < tail; h++) {
      const node = queue[h]!;
      out[node] = value[node]! >= 0 ? node : out[fail[node]!]!;
    }
  }

  #edge(node: number, c: number): number {
    const keyNode = this.#keyNode, keyUnit = this.#keyUnit, mask = this.#mask;
    let slot = (Math.imul(node, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b)) & mask;
    for (;;) {
      const k = keyNode[slot]!;
      if (k === -1) return -1;
      if (k === node && keyUnit[slot] === c) return this.#child[slot]!;
      slot = (slot + 1) & mask;
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
        const child = this.#edge(node, c);
        if (child >= 0) {
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
