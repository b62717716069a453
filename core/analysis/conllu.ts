/**
 * A CoNLL-U reader (Universal Dependencies, https://universaldependencies.org/format.html): sentences of
 * syntactic words with their UPOS tag, head and dependency relation. Multiword-token lines (`3-4`) are kept
 * as surface spans beside the words they cover; empty nodes (`8.1`, enhanced graphs only) are skipped, as
 * the basic tree does not contain them. Every error names `source:line`.
 *
 * @module
 */

import { excerpt } from "../checkpoint/_describe.ts";

/** One syntactic word of a sentence (a CoNLL-U line with an integer ID). */
export interface ConlluWord {
  /** 1-based index in the sentence (the ID column). */
  id: number;
  /** Word form (FORM). */
  form: string;
  /** Lemma (LEMMA). */
  lemma: string;
  /** Universal part-of-speech tag (UPOS). */
  upos: string;
  /** Language-specific tag (XPOS), `_` when absent. */
  xpos: string;
  /** ID of the head word, 0 for the root (HEAD). */
  head: number;
  /** Dependency relation to the head, subtype included (`nmod:poss`) (DEPREL). */
  deprel: string;
}

/** A multiword token: one surface form (`don't`) spanning several syntactic words (`do`, `n't`). */
export interface ConlluMultiword {
  /** First word ID covered. */
  first: number;
  /** Last word ID covered. */
  last: number;
  /** The surface form. */
  form: string;
}

/** One sentence: its comments' `sent_id` and `text`, its words, its multiword tokens. */
export interface ConlluSentence {
  /** The `# sent_id = …` comment, or `source:line` of its first line when absent. */
  id: string;
  /** The `# text = …` comment, when present. */
  text?: string;
  /** The syntactic words, in order (IDs 1…n). */
  words: ConlluWord[];
  /** Multiword tokens, in order. */
  multiwords: ConlluMultiword[];
}

/**
 * The universal part of a relation: `nmod:poss` → `nmod`.
 *
 * @param deprel A DEPREL value.
 * @returns The relation without its language-specific subtype.
 *
 * @example Usage
 * ```ts
 * import { universalRelation } from "./conllu.ts";
 * universalRelation("nmod:poss"); // "nmod"
 * ```
 */
export function universalRelation(deprel: string): string {
  const i = deprel.indexOf(":");
  return i < 0 ? deprel : deprel.slice(0, i);
}

/**
 * Parses CoNLL-U text into sentences.
 *
 * @param text The file's text.
 * @param source A name for errors (the file path).
 * @returns The sentences in file order.
 * @throws {Error} naming `source:line` for a line without 10 tab-separated fields, a bad ID, HEAD or range,
 *   words out of order, a head outside the sentence, or a multiword token over missing words
 *
 * @example Usage
 * ```ts
 * import { parseConllu } from "./conllu.ts";
 * const s = parseConllu("1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n", "x.conllu");
 * s[0]!.words[0]!.upos; // "INTJ"
 * ```
 */
export function parseConllu(text: string, source: string): ConlluSentence[] {
  const sentences: ConlluSentence[] = [];
  let words: ConlluWord[] = [];
  let multiwords: ConlluMultiword[] = [];
  let comments: { id?: string; text?: string } = {};
  let startLine = 0; // first line of the current block, 0 between blocks
  // a byte-order mark (a file saved by some editors) is not part of the first line
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r?\n/);
  const finish = (endLine: number) => {
    if (words.length === 0) {
      if (multiwords.length > 0) throw new Error(`${source}:${endLine}: a sentence has multiword tokens but no words`);
      comments = {};
      startLine = 0;
      return;
    }
    for (const w of words) {
      if (w.head > words.length) {
        throw new Error(
          `${source}: sentence at line ${startLine}: word ${w.id} has HEAD ${w.head} but the sentence has ${words.length} words`,
        );
      }
    }
    for (const m of multiwords) {
      if (m.last > words.length) {
        throw new Error(
          `${source}: sentence at line ${startLine}: multiword token ${m.first}-${m.last} covers missing words`,
        );
      }
    }
    const s: ConlluSentence = { id: comments.id ?? `${source}:${startLine}`, words, multiwords };
    if (comments.text !== undefined) s.text = comments.text;
    sentences.push(s);
    startLine = 0;
    words = [];
    multiwords = [];
    comments = {};
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const at = `${source}:${i + 1}`;
    if (line.trim() === "") {
      finish(i + 1);
      continue;
    }
    if (startLine === 0) startLine = i + 1;
    if (line.startsWith("#")) {
      const m = /^#\s*(sent_id|text)\s*=\s?(.*)$/.exec(line);
      if (m) comments[m[1] === "sent_id" ? "id" : "text"] = m[2]!;
      continue;
    }
    const f = line.split("\t");
    if (f.length !== 10) throw new Error(`${at}: expected 10 tab-separated fields, found ${f.length}`);
    const [id, form, lemma, upos, xpos, , head, deprel] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (/^\d+\.\d+$/.test(id)) continue; // an empty node: enhanced dependencies only
    const range = /^(\d+)-(\d+)$/.exec(id);
    if (range) {
      const first = Number(range[1]), last = Number(range[2]);
      if (first < 1 || last <= first) throw new Error(`${at}: bad multiword range "${excerpt(id)}"`);
      if (first !== words.length + 1) {
        throw new Error(`${at}: multiword token "${excerpt(id)}" must come just before word ${first}`);
      }
      multiwords.push({ first, last, form });
      continue;
    }
    if (!/^\d+$/.test(id)) {
      throw new Error(`${at}: bad ID "${excerpt(id)}" (expected an integer, a range a-b or a decimal a.b)`);
    }
    const n = Number(id);
    if (n !== words.length + 1) {
      throw new Error(`${at}: word ID ${excerpt(id)} out of order (expected ${words.length + 1})`);
    }
    if (!/^\d+$/.test(head)) throw new Error(`${at}: bad HEAD "${excerpt(head)}" for word ${n} (expected an integer)`);
    const h = Number(head);
    if (h === n) throw new Error(`${at}: word ${n} is its own head`);
    if (deprel === "_" || deprel === "") throw new Error(`${at}: word ${n} has no DEPREL`);
    words.push({ id: n, form, lemma, upos, xpos, head: h, deprel });
  }
  finish(lines.length);
  return sentences;
}
