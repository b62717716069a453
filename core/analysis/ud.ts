/**
 * Universal Dependencies sentences as analysis inputs: encoded word by word for the model, their
 * dependencies for the syntactic-head scores, and probe sets for UPOS and dependency labels. The syntactic
 * heads keep UD's relation subtypes apart by default (`nmod:poss`, `aux:pass`, `nsubj:pass` are relations of
 * their own, as Clark et al.'s `poss`, `auxpass`, `nsubjpass` are; see {@linkcode RelationView}); the
 * dependency-label probes take a relation by its universal part (`nmod:poss` → `nmod`, see `universalRelation`).
 *
 * @module
 */

import type { Tokenizer } from "../tokenizers/types.ts";
import { type ConlluSentence, universalRelation } from "./conllu.ts";
import type { ProbeSet } from "./probe.ts";
import type { SentenceUnits } from "./syntactic_heads.ts";
import { encodeWords, type WordEncoding } from "./word_alignment.ts";
import type { WordFeatures } from "./word_features.ts";

/** Sentences that fit the model, encoded, and how many did not. */
export interface EncodedTreebank {
  /** The sentences kept, in order. */
  sentences: ConlluSentence[];
  /** Their encodings. */
  encodings: WordEncoding[];
  /** Sentences left out: longer than `maxLength` pieces, or with a word the tokenizer drops entirely. */
  skipped: number;
}

/**
 * Encodes UD sentences word by word (syntactic words, so multiword tokens appear as their parts).
 *
 * @param tokenizer The model's tokenizer.
 * @param sentences The sentences.
 * @param maxLength The longest encoding, special tokens included.
 * @returns The sentences kept and their encodings.
 *
 * @example Usage
 * ```ts
 * import { encodeTreebank } from "./ud.ts";
 * import { WordPieceTokenizer } from "../tokenizers/wordpiece.ts";
 * const tok = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhi\n");
 * const s = { id: "1", words: [{ id: 1, form: "hi", lemma: "hi", upos: "INTJ", xpos: "UH", head: 0, deprel: "root" }], multiwords: [] };
 * encodeTreebank(tok, [s], 8).encodings[0]!.ids; // [2, 4, 3]
 * ```
 */
export function encodeTreebank(
  tokenizer: Tokenizer,
  sentences: readonly ConlluSentence[],
  maxLength: number,
): EncodedTreebank {
  const out: EncodedTreebank = { sentences: [], encodings: [], skipped: 0 };
  for (const s of sentences) {
    const e = encodeWords(tokenizer, s.words.map((w) => w.form), undefined, { maxLength });
    if (e === undefined) out.skipped++;
    else {
      out.sentences.push(s);
      out.encodings.push(e);
    }
  }
  return out;
}

/**
 * How a dependency's relation is labelled: `"subtypes"` keeps UD's full DEPREL, so `nmod:poss`, `aux:pass`,
 * `nsubj:pass`, `compound:prt`, `obl:tmod` … are relations of their own (as Clark et al. 2019's `poss`,
 * `auxpass`, `nsubjpass` are: they scored the Stanford Dependencies of the Penn Treebank, which split them);
 * `"merged"` counts each under its universal part (`nmod:poss` → `nmod`).
 */
export type RelationView = "subtypes" | "merged";

/**
 * A DEPREL as the view labels it.
 *
 * @param deprel A DEPREL value (`nmod:poss`).
 * @param view {@linkcode RelationView}.
 * @returns `deprel` itself (`"subtypes"`) or its universal part (`"merged"`).
 *
 * @example Usage
 * ```ts
 * import { relationLabel } from "./ud.ts";
 * relationLabel("aux:pass", "subtypes"); // "aux:pass"
 * relationLabel("aux:pass", "merged"); // "aux"
 * ```
 */
export function relationLabel(deprel: string, view: RelationView): string {
  return view === "merged" ? universalRelation(deprel) : deprel;
}

/**
 * A sentence's units and dependencies for `SyntacticHeadsMeter.add`.
 *
 * @param sentence The UD sentence.
 * @param encoding Its word-by-word encoding.
 * @param view How relations are labelled (default `"subtypes"`: `nmod:poss` apart from `nmod`).
 * @returns Where each word sits among the units, which units are words, and every non-root dependency.
 *
 * @example Usage
 * ```ts
 * import { sentenceUnits } from "./ud.ts";
 * const words = [{ start: 0, end: 1, source: -1, form: "[CLS]" }, { start: 1, end: 2, source: 0, form: "a" }, { start: 2, end: 3, source: 1, form: "b" }];
 * const s = { id: "1", multiwords: [], words: [
 *   { id: 1, form: "a", lemma: "a", upos: "DET", xpos: "DT", head: 2, deprel: "det" },
 *   { id: 2, form: "b", lemma: "b", upos: "NOUN", xpos: "NN", head: 0, deprel: "root" }] };
 * sentenceUnits(s, { ids: [2, 4, 5], tokenTypeIds: [0, 0, 0], words, pieceWord: Int32Array.of(0, 1, 2) }).dependencies;
 * // [{ dep: 0, head: 1, relation: "det" }]
 * ```
 */
export function sentenceUnits(
  sentence: ConlluSentence,
  encoding: WordEncoding,
  view: RelationView = "subtypes",
): SentenceUnits {
  const unitOfWord = new Int32Array(sentence.words.length);
  const candidate = new Uint8Array(encoding.words.length);
  encoding.words.forEach((w, u) => {
    if (w.source >= 0) {
      unitOfWord[w.source] = u;
      candidate[u] = 1;
    }
  });
  const dependencies = sentence.words.filter((w) => w.head > 0).map((w) => ({
    dep: w.id - 1,
    head: w.head - 1,
    relation: relationLabel(w.deprel, view),
  }));
  return { unitOfWord, candidate, dependencies };
}

/** The two probing tasks: part-of-speech of a word, and the relation of a (dependent, parent) pair. */
export type ProbeTaskName = "upos" | "deprel";

/**
 * A probe set over UD sentences: one example per word (UPOS) or per non-root word with its parent
 * (deprel: input = dependent ⊕ parent).
 *
 * @param sentences The sentences behind `features`, in the same order.
 * @param features Their word features.
 * @param task `upos` or `deprel`.
 * @param labels Label → class; new labels are added when `grow` is true, otherwise they get class -1.
 * @param grow Whether unseen labels get new classes (training) or not (test).
 * @returns The probe set.
 * @throws {Error} when the features do not match the sentences
 *
 * @example Usage
 * ```ts ignore
 * const labels = new Map<string, number>();
 * const train = udProbeSet(dev.sentences, devFeatures, "upos", labels, true);
 * const test = udProbeSet(test.sentences, testFeatures, "upos", labels, false);
 * ```
 */
export function udProbeSet(
  sentences: readonly ConlluSentence[],
  features: WordFeatures,
  task: ProbeTaskName,
  labels: Map<string, number>,
  grow: boolean,
): ProbeSet {
  if (features.sentenceStart.length !== sentences.length) {
    throw new Error(`Word features cover ${features.sentenceStart.length} sentences, not ${sentences.length}`);
  }
  const dep: number[] = [], parent: number[] = [], ys: number[] = [];
  const classOf = (label: string) => {
    let c = labels.get(label);
    if (c === undefined && grow) labels.set(label, c = labels.size);
    return c ?? -1;
  };
  sentences.forEach((s, i) => {
    const start = features.sentenceStart[i]!;
    for (const w of s.words) {
      if (task === "upos") {
        dep.push(start + w.id - 1);
        ys.push(classOf(w.upos));
      } else if (w.head > 0) {
        dep.push(start + w.id - 1);
        parent.push(start + w.head - 1);
        ys.push(classOf(universalRelation(w.deprel)));
      }
    }
  });
  const parts = task === "upos" ? [Int32Array.from(dep)] : [Int32Array.from(dep), Int32Array.from(parent)];
  return { layers: features.layers, dim: features.dim, parts, labels: Int32Array.from(ys) };
}
