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

/** Trie edges (node, UTF-16 unit) → child in an open-addressing hash table over typed arrays. */
class EdgeTable {
  #node = new Int32Array(1024).fill(-1);
  #unit = new Uint16Array(1024);
  #child = new Int32Array(1024);
  #size = 0;

  #slot(node: number, unit: number): number {
    const mask = this.#node.length - 1;
    let i = (Math.imul(node, 0x9e3779b1) ^ Math.imul(unit, 0x85ebca6b)) & mask;
    while (this.#node[i] !== -1 && (this.#node[i] !== node || this.#unit[i] !== unit)) i = (i + 1) & mask;
    return i;
  }

  get(node: number, unit: number): number {
    const i = this.#slot(node, unit);
    return this.#node[i] === -1 ? -1 : this.#child[i]!;
  }

  set(node: number, unit: number, child: number): void {
    if (2 * (this.#size + 1) > this.#node.length) this.#grow();
    const i = this.#slot(node, unit);
    if (this.#node[i] === -1) this.#size++;
    this.#node[i] = node;
    this.#unit[i] = unit;
    this.#child[i] = child;
  }

  #grow(): void {
    const [node, unit, child] = [this.#node, this.#unit, this.#child];
    this.#node = new Int32Array(node.length * 2).fill(-1);
    this.#unit = new Uint16Array(node.length * 2);
    this.#child = new Int32Array(node.length * 2);
    this.#size = 0;
    for (let i = 0; i < node.length; i++) if (node[i] !== -1) this.set(node[i]!, unit[i]!, child[i]!);
  }
}

/**
 * Leftmost-longest matching of many strings in time linear in the text: an Aho–Corasick automaton over the
 * reversed strings, run from the end of the text, gives at every position the longest string starting there;
 * a left-to-right pass then takes the leftmost match, the longest at that place, and continues after it.
 */
class LongestMatcher {
  readonly #edges = new EdgeTable();
  readonly #fail: Int32Array;
  readonly #value: number[] = [-1]; // index of the string ending at this node (reversed), or -1
  readonly #depth: number[] = [0];
  readonly #out: Int32Array; // deepest node on the failure chain that ends a string, or -1

  constructor(strings: readonly string[]) {
    const unitOf: number[] = [0]; // the unit on the edge into each node
    const firstChild: number[] = [-1];
    const nextSibling: number[] = [-1];
    strings.forEach((str, index) => {
      let node = 0;
      for (let i = str.length - 1; i >= 0; i--) {
        const c = str.charCodeAt(i);
        let child = this.#edges.get(node, c);
        if (child < 0) {
          child = this.#value.length;
          this.#value.push(-1);
          this.#depth.push(this.#depth[node]! + 1);
          unitOf.push(c);
          firstChild.push(-1);
          nextSibling.push(firstChild[node]!);
          firstChild[node] = child;
          this.#edges.set(node, c, child);
        }
        node = child;
      }
      if (this.#value[node]! < 0) this.#value[node] = index;
    });
    const nodes = this.#value.length;
    const fail = new Int32Array(nodes);
    const out = new Int32Array(nodes).fill(-1);
    // Breadth-first: a node's failure link is the longest proper suffix of its path that is in the trie.
    const queue = new Int32Array(nodes);
    let tail = 0;
    for (let c = firstChild[0]!; c >= 0; c = nextSibling[c]!) queue[tail++] = c;
    for (let h = 0; h < tail; h++) {
      const node = queue[h]!;
      for (let child = firstChild[node]!; child >= 0; child = nextSibling[child]!) {
        const c = unitOf[child]!;
        let f = fail[node]!;
        let target = this.#edges.get(f, c);
        while (target < 0 && f !== 0) {
          f = fail[f]!;
          target = this.#edges.get(f, c);
        }
        fail[child] = target >= 0 && target !== child ? target : 0;
        queue[tail++] = child;
      }
    }
    for (let h = 0; h < tail; h++) {
      const node = queue[h]!;
      out[node] = this.#value[node]! >= 0 ? node : out[fail[node]!]!;
    }
    this.#fail = fail;
    this.#out = out;
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
        const child = this.#edges.get(node, c);
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
