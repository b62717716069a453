/**
 * sentencepiece models (`spiece.model`, `sentencepiece.bpe.model`) read directly, without a `tokenizer.json`:
 * the `ModelProto` protobuf is parsed by a small wire-format reader, and the pipeline is the one transformers
 * builds for such a folder (its sentencepiece extractor, the converter's vocabulary, the tokenizer class's
 * normalizer, pre-tokenizer and template):
 *
 * - ALBERT (`AlbertConverter`): ids are sentencepiece's; a piece ending in a digit and a comma loses 100 from
 *   its score; normalizer `Replace("``", '"')`, `Replace("''", '"')`, then (unless `keep_accents`) NFKD and
 *   `StripAccents`, (with `do_lower_case`) `Lowercase`, then the model's precompiled charsmap; `[CLS] A [SEP]`
 *   and `[CLS] A [SEP] B [SEP]` with segment ids 0 / 1; `[MASK]` strips the space on its left.
 * - XLM-R (`XLMRobertaConverter`): fairseq's ids — `<s>`=0 `<pad>`=1 `</s>`=2 `<unk>`=3, sentencepiece piece
 *   i ≥ 3 at i + 1, `<mask>` last; normalizer the precompiled charsmap; `<s> A </s>` and `<s> A </s></s> B </s>`.
 *
 * Both pre-tokenize with `WhitespaceSplit` then `Metaspace` (`▁`, prepended always), use a Unigram model and
 * decode with `Metaspace`.
 *
 * @module
 */

import { excerpt } from "../checkpoint/_describe.ts";
import type { AddedToken } from "./added_tokens.ts";
import { metaspaceStep } from "./decoders.ts";
import {
  lowercaseNormalizer,
  type Normalizer,
  precompiledNormalizer,
  replaceNormalizer,
  sequenceNormalizer,
  stripAccentsNormalizer,
  unicodeNormalizer,
} from "./normalizers.ts";
import { PipelineTokenizer } from "./pipeline_tokenizer.ts";
import { type TemplatePiece, TemplatePostProcessor } from "./post_processor.ts";
import { PrecompiledCharsmap } from "./precompiled_charsmap.ts";
import {
  metaspacePreTokenizer,
  type PrependScheme,
  sequencePreTokenizer,
  whitespaceSplitPreTokenizer,
} from "./pre_tokenizers.ts";
import { UnigramModel } from "./unigram_model.ts";

/**
 * One piece of a sentencepiece model.
 *
 * @example Usage
 * ```ts
 * const p: SentencePiece = { piece: "▁the", score: -3.2, type: 1 };
 * ```
 */
export interface SentencePiece {
  /** The piece's text (`▁` for a space). */
  piece: string;
  /** Its log-probability (Unigram) or merge priority (BPE). */
  score: number;
  /** sentencepiece's type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. */
  type: number;
}

/**
 * What bertology reads of a sentencepiece `ModelProto`.
 *
 * @example Usage
 * ```ts
 * const m: SentencePieceModel = {
 *   pieces: [], modelType: 1, unkId: 0, byteFallback: false, precompiledCharsmap: new Uint8Array(4),
 *   addDummyPrefix: true,
 * };
 * ```
 */
export interface SentencePieceModel {
  /** The pieces, in id order. */
  pieces: SentencePiece[];
  /** `trainer_spec.model_type`: 1 Unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  /** `trainer_spec.unk_id`. */
  unkId: number;
  /** `trainer_spec.byte_fallback`. */
  byteFallback: boolean;
  /** `normalizer_spec.precompiled_charsmap` (empty when the model has none). */
  precompiledCharsmap: Uint8Array;
  /** `normalizer_spec.add_dummy_prefix`. */
  addDummyPrefix: boolean;
}

/** Protobuf wire format: varints, fixed 32/64-bit values and length-delimited fields, with bounds checked. */
class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, readonly source: string, start = 0, readonly end = bytes.length) {
    this.pos = start;
  }
  fail(what: string): never {
    throw new Error(`Sentencepiece model "${this.source}" is not a valid ModelProto: ${what} at byte ${this.pos}`);
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail("a varint cut short");
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    this.fail("a varint longer than 10 bytes");
  }
  /** A length-delimited field: its [start, end). */
  span(): [number, number] {
    const len = this.varint();
    if (len > this.end - this.pos) this.fail(`a field of ${len} bytes with ${this.end - this.pos} left`);
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }
  float32(): number {
    if (this.end - this.pos < 4) this.fail("a 32-bit value cut short");
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) {
      if (this.end - this.pos < 8) this.fail("a 64-bit value cut short");
      this.pos += 8;
    } else if (wire === 2) this.span();
    else if (wire === 5) {
      if (this.end - this.pos < 4) this.fail("a 32-bit value cut short");
      this.pos += 4;
    } else this.fail(`wire type ${wire}, which protobuf does not have`);
  }
  /** Visits each field of the message in [pos, end). */
  fields(visit: (field: number, wire: number) => boolean): void {
    while (this.pos < this.end) {
      const key = this.varint();
      const field = Math.floor(key / 8), wire = key & 7;
      if (!visit(field, wire)) this.skip(wire);
    }
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses a sentencepiece `.model` file (a `ModelProto`).
 *
 * @param bytes The file's bytes.
 * @param source Its name, for errors.
 * @returns The pieces and the specs bertology uses.
 * @throws {Error} When the bytes are not a `ModelProto` or hold no pieces.
 *
 * @example Usage
 * ```ts
 * import { throws } from "node:assert";
 * throws(() => parseSentencePieceModel(new Uint8Array([0x0a, 0x09]), "x.model"), /not a valid ModelProto/);
 * ```
 */
export function parseSentencePieceModel(bytes: Uint8Array, source: string): SentencePieceModel {
  const r = new Reader(bytes, source);
  const out: SentencePieceModel = {
    pieces: [],
    modelType: 1,
    unkId: 0,
    byteFallback: false,
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
  };
  const text = (s: number, e: number, what: string): string => {
    try {
      return utf8.decode(bytes.subarray(s, e));
    } catch {
      return r.fail(`${what} that is not UTF-8`);
    }
  };
  r.fields((field, wire) => {
    if (wire !== 2 || field < 1 || field > 3) return false;
    const [s, e] = r.span();
    const sub = new Reader(bytes, source, s, e);
    if (field === 1) {
      const p: SentencePiece = { piece: "", score: 0, type: 1 };
      sub.fields((f, w) => {
        if (f === 1 && w === 2) {
          const [a, b] = sub.span();
          p.piece = text(a, b, "a piece");
        } else if (f === 2 && w === 5) p.score = sub.float32();
        else if (f === 3 && w === 0) p.type = sub.varint();
        else return false;
        return true;
      });
      out.pieces.push(p);
    } else if (field === 2) {
      sub.fields((f, w) => {
        if (w !== 0) return false;
        const v = sub.varint();
        // int32 fields are sign-extended varints: -1 arrives as 2^64 - 1
        const int32 = v >= 2 ** 63 ? v - 2 ** 64 : v;
        if (f === 3) out.modelType = int32;
        else if (f === 35) out.byteFallback = v !== 0;
        else if (f === 40) out.unkId = int32;
        return true;
      });
    } else {
      sub.fields((f, w) => {
        if (f === 2 && w === 2) {
          const [a, b] = sub.span();
          out.precompiledCharsmap = bytes.slice(a, b);
        } else if (f === 3 && w === 0) out.addDummyPrefix = sub.varint() !== 0;
        else return false;
        return true;
      });
    }
    return true;
  });
  if (out.pieces.length === 0) throw new Error(`Sentencepiece model "${source}" holds no pieces`);
  if (out.unkId < 0 || out.unkId >= out.pieces.length) {
    throw new Error(`Sentencepiece model "${source}" has unk_id ${out.unkId}, outside its ${out.pieces.length} pieces`);
  }
  return out;
}

/**
 * How a sentencepiece folder is turned into a tokenizer: which converter's vocabulary and which class's pipeline.
 *
 * @example Usage
 * ```ts
 * const layout: SentencePieceLayout = "albert-converter";
 * ```
 */
export type SentencePieceLayout = "albert-converter" | "xlm-roberta-converter";

/**
 * Options of {@linkcode sentencePieceTokenizer}, as `tokenizer_config.json` gives them.
 *
 * @example Usage
 * ```ts
 * const o: SentencePieceOptions = { doLowerCase: true, keepAccents: false };
 * ```
 */
export interface SentencePieceOptions {
  /** ALBERT: lower-case (default `true`). */
  doLowerCase?: boolean;
  /** ALBERT: keep accents (default `false`: NFKD and strip them). */
  keepAccents?: boolean;
  /** Prepend `▁` to the text (default `true`; `false` is Metaspace's `never`). */
  addPrefixSpace?: boolean;
}

const REPLACEMENT = "\u2581";

function special(id: number, token: string, typeId: number): TemplatePiece {
  return { kind: "special", ids: [id], tokens: [token], typeId };
}

/**
 * Builds the tokenizer transformers builds for a folder holding only a sentencepiece Unigram model.
 *
 * @param model The parsed model.
 * @param layout ALBERT's or XLM-R's vocabulary and pipeline.
 * @param source The file's name, for errors.
 * @param opts `tokenizer_config.json` options.
 * @returns The tokenizer.
 * @throws {Error} When the model is not a Unigram model or lacks a token the layout needs.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const pieces = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]", "▁a", "▁b"].map((piece, i) => ({
 *   piece, score: i > 4 ? -1 : 0, type: i === 1 ? 2 : i > 4 ? 1 : 3,
 * }));
 * const model = { pieces, modelType: 1, unkId: 1, byteFallback: false, precompiledCharsmap: new Uint8Array(0), addDummyPrefix: true };
 * const tok = sentencePieceTokenizer(model, "albert-converter", "spiece.model");
 * deepStrictEqual(tok.encode("A b").ids, [2, 5, 6, 3]);
 * ```
 */
export function sentencePieceTokenizer(
  model: SentencePieceModel,
  layout: SentencePieceLayout,
  source: string,
  opts: SentencePieceOptions = {},
): PipelineTokenizer {
  if (model.modelType !== 1) {
    const names: Record<number, string> = { 2: "BPE", 3: "word", 4: "char" };
    throw new Error(
      `Sentencepiece model "${source}" is a ${
        names[model.modelType] ?? `type ${model.modelType}`
      } model; only Unigram models are read without a tokenizer.json (ship the tokenizer.json transformers writes)`,
    );
  }
  let vocab: [string, number][];
  let unkId: number;
  if (layout === "albert-converter") {
    // AlbertConverter: "1," and the like must not win over "1" ","
    vocab = model.pieces.map((p) => {
      const s = p.piece;
      const digitComma = s.length >= 2 && s.endsWith(",") && /\p{Nd}/u.test(s.at(-2)!);
      return [s, digitComma ? p.score - 100 : p.score];
    });
    unkId = model.unkId;
  } else {
    vocab = [["<s>", 0], ["<pad>", 0], ["</s>", 0], ["<unk>", 0]];
    for (const p of model.pieces.slice(3)) vocab.push([p.piece, p.score]);
    vocab.push(["<mask>", 0]);
    unkId = 3;
  }
  const unigram = new UnigramModel(vocab, { unkId, byteFallback: model.byteFallback });
  const idToToken = vocab.map((v) => v[0]);
  const tokenToId = new Map(unigram.vocab);
  const idOf = (token: string) => {
    const id = unigram.vocab.get(token);
    if (id === undefined) {
      throw new Error(`Sentencepiece model "${source}" has no piece "${excerpt(token)}", which ${layout} needs`);
    }
    return id;
  };

  const steps: Normalizer[] = [];
  if (layout === "albert-converter") {
    steps.push(replaceNormalizer("``", '"'), replaceNormalizer("''", '"'));
    if (!(opts.keepAccents ?? false)) steps.push(unicodeNormalizer("NFKD"), stripAccentsNormalizer);
    if (opts.doLowerCase ?? true) steps.push(lowercaseNormalizer);
  }
  if (model.precompiledCharsmap.length > 0) {
    steps.push(precompiledNormalizer(PrecompiledCharsmap.parse(model.precompiledCharsmap, `"${source}"`)));
  }
  const scheme: PrependScheme = (opts.addPrefixSpace ?? true) ? "always" : "never";

  let added: AddedToken[];
  let template: TemplatePostProcessor;
  let padId: number;
  if (layout === "albert-converter") {
    const [cls, sep] = [idOf("[CLS]"), idOf("[SEP]")];
    added = [
      { id: idOf("<pad>"), content: "<pad>", special: true },
      { id: unkId, content: idToToken[unkId]!, special: true },
      { id: cls, content: "[CLS]", special: true },
      { id: sep, content: "[SEP]", special: true },
      { id: idOf("[MASK]"), content: "[MASK]", special: true, lstrip: true },
    ];
    const A: TemplatePiece = { kind: "sequence", which: "A", typeId: 0 };
    const B: TemplatePiece = { kind: "sequence", which: "B", typeId: 1 };
    template = new TemplatePostProcessor(
      [special(cls, "[CLS]", 0), A, special(sep, "[SEP]", 0)],
      [special(cls, "[CLS]", 0), A, special(sep, "[SEP]", 0), B, special(sep, "[SEP]", 1)],
    );
    padId = idOf("<pad>");
  } else {
    // A sentencepiece-only folder gets a plain <mask> (not normalized, no lstrip), as transformers gives it.
    added = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"].map((content) => ({
      id: idOf(content),
      content,
      special: true,
    }));
    const A: TemplatePiece = { kind: "sequence", which: "A", typeId: 0 };
    const B: TemplatePiece = { kind: "sequence", which: "B", typeId: 0 };
    const s = special(0, "<s>", 0), e = special(2, "</s>", 0);
    template = new TemplatePostProcessor([s, A, e], [s, A, e, e, B, e]);
    padId = 1;
  }
  for (const t of added) tokenToId.set(t.content, t.id);

  return new PipelineTokenizer({
    kind: "unigram",
    idToToken,
    tokenToId,
    normalize: steps.length === 0 ? undefined : sequenceNormalizer(steps),
    preTokenize: sequencePreTokenizer([whitespaceSplitPreTokenizer, metaspacePreTokenizer(REPLACEMENT, scheme, true)]),
    model: unigram,
    postProcessor: template,
    decode: (t) => metaspaceStep(REPLACEMENT, scheme)(t).join(""),
    addedTokens: added,
    padId,
    unkId,
  });
}
