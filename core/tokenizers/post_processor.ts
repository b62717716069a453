/**
 * Post-processors: how special tokens and segment ids wrap one or two encoded sequences.
 *
 * @module
 */

import type { Encoding } from "./types.ts";

/**
 * One piece of a {@linkcode TemplatePostProcessor} template.
 *
 * @example Usage
 * ```ts
 * const cls: TemplatePiece = { kind: "special", ids: [101], tokens: ["[CLS]"], typeId: 0 };
 * ```
 */
export type TemplatePiece =
  | { kind: "sequence"; which: "A" | "B"; typeId: number }
  | { kind: "special"; ids: number[]; tokens: string[]; typeId: number };

/**
 * A sequence of tokens before post-processing.
 *
 * @example Usage
 * ```ts
 * const run: TokenRun = { ids: [7592], tokens: ["hello"], offsets: [[0, 5]] };
 * ```
 */
export interface TokenRun {
  /** Token ids. */
  ids: number[];
  /** Token strings. */
  tokens: string[];
  /** Each token's `[start, end)` in its text; `[0, 0]` each when absent. */
  offsets?: [number, number][];
}

/**
 * Wraps encoded sequences with special tokens and assigns segment ids.
 *
 * @example Usage
 * ```ts
 * const pp: PostProcessor = bertPostProcessor(101, 102);
 * pp.process({ ids: [7592], tokens: ["hello"] }, undefined, true);
 * ```
 */
export interface PostProcessor {
  /**
   * How many special tokens {@linkcode PostProcessor.process} adds.
   * @param isPair Whether a second sequence is present.
   *
   * @example Usage
   * ```ts
   * bertPostProcessor(101, 102).addedTokens(true); // 3
   * ```
   */
  addedTokens(isPair: boolean): number;
  /**
   * Builds the final encoding.
   * @param a The first sequence.
   * @param b The second sequence, if any.
   * @param addSpecialTokens Whether to insert the special tokens (segment ids are assigned either way).
   *
   * @example Usage
   * ```ts
   * bertPostProcessor(101, 102).process({ ids: [5], tokens: ["a"] }, { ids: [6], tokens: ["b"] }, true);
   * ```
   */
  process(a: TokenRun, b: TokenRun | undefined, addSpecialTokens: boolean): Encoding;
}

/**
 * Hugging Face's `TemplateProcessing` (also used to express `BertProcessing` and `RobertaProcessing`).
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const cls: TemplatePiece = { kind: "special", ids: [101], tokens: ["[CLS]"], typeId: 0 };
 * const sep: TemplatePiece = { kind: "special", ids: [102], tokens: ["[SEP]"], typeId: 0 };
 * const a: TemplatePiece = { kind: "sequence", which: "A", typeId: 0 };
 * const b: TemplatePiece = { kind: "sequence", which: "B", typeId: 1 };
 * const pp = new TemplatePostProcessor([cls, a, sep], [cls, a, sep, b, { ...sep, typeId: 1 }]);
 * deepStrictEqual(pp.process({ ids: [7], tokens: ["x"] }, undefined, true).ids, [101, 7, 102]);
 * ```
 */
export class TemplatePostProcessor implements PostProcessor {
  /** Template for a single sequence. */
  readonly single: readonly TemplatePiece[];
  /** Template for a pair. */
  readonly pair: readonly TemplatePiece[];
  /** Trim whitespace off byte-level tokens' offsets (`trim_offsets`), and whether a prefix space was added. */
  readonly trimOffsets: { addPrefixSpace: boolean } | undefined;

  /**
   * A template for single sequences and one for pairs (HF TemplateProcessing).
   *
   * @param single Template for one sequence.
   * @param pair Template for two sequences.
   * @param trimOffsets Trim byte-level offsets as `RobertaProcessing` / `ByteLevel` with `trim_offsets` do.
   */
  constructor(
    single: readonly TemplatePiece[],
    pair: readonly TemplatePiece[],
    trimOffsets?: { addPrefixSpace: boolean },
  ) {
    this.single = single;
    this.pair = pair;
    this.trimOffsets = trimOffsets;
  }

  /**
   * Counts the special tokens of a template.
   *
   * @param isPair Whether to count the pair template.
   * @returns The number of special token ids.
   *
   * @example Usage
   * ```ts
   * import { strictEqual } from "node:assert";
   * strictEqual(bertPostProcessor(101, 102).addedTokens(true), 3);
   * ```
   */
  addedTokens(isPair: boolean): number {
    let n = 0;
    for (const p of isPair ? this.pair : this.single) if (p.kind === "special") n += p.ids.length;
    return n;
  }

  /**
   * Applies the template.
   *
   * @param a The first sequence.
   * @param b The second sequence, if any.
   * @param addSpecialTokens Whether to insert the special tokens.
   * @returns The encoding.
   *
   * @example Usage
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * const e = bertPostProcessor(101, 102).process({ ids: [5], tokens: ["a"] }, { ids: [6], tokens: ["b"] }, true);
   * deepStrictEqual(e.tokenTypeIds, [0, 0, 0, 1, 1]);
   * ```
   */
  process(a: TokenRun, b: TokenRun | undefined, addSpecialTokens: boolean): Encoding {
    const out: Encoding = { ids: [], tokenTypeIds: [], tokens: [], offsets: [], sequenceIds: [] };
    for (const p of b === undefined ? this.single : this.pair) {
      if (p.kind === "special") {
        if (!addSpecialTokens) continue;
        for (let i = 0; i < p.ids.length; i++) {
          out.ids.push(p.ids[i]!);
          out.tokens.push(p.tokens[i]!);
          out.tokenTypeIds.push(p.typeId);
          out.offsets.push([0, 0]);
          out.sequenceIds.push(null);
        }
      } else {
        const run = p.which === "A" ? a : b;
        if (run === undefined) continue;
        const offsets = this.trimOffsets === undefined
          ? run.offsets
          : trimByteLevelOffsets(run, this.trimOffsets.addPrefixSpace);
        for (let i = 0; i < run.ids.length; i++) {
          out.ids.push(run.ids[i]!);
          out.tokens.push(run.tokens[i]!);
          out.tokenTypeIds.push(p.typeId);
          out.offsets.push(offsets?.[i] ?? [0, 0]);
          out.sequenceIds.push(p.which === "A" ? 0 : 1);
        }
      }
    }
    return out;
  }
}

const SPACE_MARK = "\u0120"; // byte-level "Ġ", a space byte

function isSpaceLike(ch: string): boolean {
  return ch === SPACE_MARK || /^\p{White_Space}$/u.test(ch);
}

/**
 * Hugging Face's `process_offsets` (ByteLevel / RobertaProcessing with `trim_offsets`): a token's offsets lose
 * its leading and trailing spaces (`Ġ` or whitespace), except the leading space of the first token when the
 * pre-tokenizer added it.
 */
function trimByteLevelOffsets(run: TokenRun, addPrefixSpace: boolean): [number, number][] | undefined {
  if (run.offsets === undefined) return undefined;
  return run.offsets.map(([start, end], i) => {
    const chars = Array.from(run.tokens[i]!);
    let lead = 0;
    while (lead < chars.length && isSpaceLike(chars[lead]!)) lead++;
    let trail = 0;
    while (trail < chars.length && isSpaceLike(chars[chars.length - 1 - trail]!)) trail++;
    if (lead > 0) {
      if ((i === 0 || start === 0) && addPrefixSpace) lead = 0;
      start = Math.min(start + lead, end);
    }
    if (trail > 0 && end >= trail) end = Math.max(end - trail, start);
    return [start, end];
  });
}

function special(id: number, token: string, typeId: number): TemplatePiece {
  return { kind: "special", ids: [id], tokens: [token], typeId };
}
const SEQ_A: TemplatePiece = { kind: "sequence", which: "A", typeId: 0 };

/**
 * BERT's `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` with segment ids 0…0 1…1.
 *
 * @param clsId Id of `[CLS]`.
 * @param sepId Id of `[SEP]`.
 * @param clsToken The `[CLS]` string.
 * @param sepToken The `[SEP]` string.
 * @returns The post-processor.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(bertPostProcessor(101, 102).process({ ids: [], tokens: [] }, undefined, true).ids, [101, 102]);
 * ```
 */
export function bertPostProcessor(
  clsId: number,
  sepId: number,
  clsToken = "[CLS]",
  sepToken = "[SEP]",
): TemplatePostProcessor {
  const cls = special(clsId, clsToken, 0);
  return new TemplatePostProcessor(
    [cls, SEQ_A, special(sepId, sepToken, 0)],
    [cls, SEQ_A, special(sepId, sepToken, 0), { kind: "sequence", which: "B", typeId: 1 }, special(sepId, sepToken, 1)],
  );
}

/**
 * RoBERTa's `<s> A </s>` / `<s> A </s></s> B </s>`, all segment ids 0.
 *
 * @param clsId Id of `<s>`.
 * @param sepId Id of `</s>`.
 * @param clsToken The `<s>` string.
 * @param sepToken The `</s>` string.
 * @param trimOffsets Trim spaces off byte-level offsets (`trim_offsets`), knowing whether a prefix space was added.
 * @returns The post-processor.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const e = robertaPostProcessor(0, 2).process({ ids: [9], tokens: ["x"] }, { ids: [8], tokens: ["y"] }, true);
 * deepStrictEqual(e.ids, [0, 9, 2, 2, 8, 2]);
 * ```
 */
export function robertaPostProcessor(
  clsId: number,
  sepId: number,
  clsToken = "<s>",
  sepToken = "</s>",
  trimOffsets: { addPrefixSpace: boolean } | undefined = undefined,
): TemplatePostProcessor {
  const cls = special(clsId, clsToken, 0);
  const sep = special(sepId, sepToken, 0);
  return new TemplatePostProcessor(
    [cls, SEQ_A, sep],
    [cls, SEQ_A, sep, sep, { kind: "sequence", which: "B", typeId: 0 }, sep],
    trimOffsets,
  );
}

/**
 * No special tokens: `A` / `A B`, segment ids 0 for A and 1 for B (GPT-2, OpenAI GPT).
 *
 * @param trimOffsets Trim spaces off byte-level offsets (GPT-2's `ByteLevel` post-processor).
 * @returns The post-processor.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const e = plainPostProcessor().process({ ids: [1], tokens: ["a"] }, { ids: [2], tokens: ["b"] }, true);
 * deepStrictEqual(e.tokenTypeIds, [0, 1]);
 * ```
 */
export function plainPostProcessor(trimOffsets?: { addPrefixSpace: boolean }): TemplatePostProcessor {
  return new TemplatePostProcessor([SEQ_A], [SEQ_A, { kind: "sequence", which: "B", typeId: 1 }], trimOffsets);
}
