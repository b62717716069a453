/**
 * Loads Hugging Face's `tokenizer.json` (the fast-tokenizer serialization) into a {@linkcode Tokenizer}.
 *
 * Supported components — models: `WordPiece`, `BPE`, `Unigram`; normalizers: `BertNormalizer`, `Lowercase`,
 * `NFC`, `NFD`, `NFKC`, `NFKD`, `StripAccents`, `Strip`, `Replace`, `Prepend`, `Precompiled`, `Sequence`;
 * pre-tokenizers: `BertPreTokenizer`, `ByteLevel`, `Whitespace`, `WhitespaceSplit`, `Metaspace`, `Split`,
 * `Sequence`; post-processors: `TemplateProcessing`, `BertProcessing`, `RobertaProcessing`, `ByteLevel`,
 * `Sequence`; decoders: `WordPiece`, `ByteLevel`, `BPEDecoder`, `Metaspace`, `ByteFallback`, `Fuse`, `Strip`,
 * `Replace`, `Sequence`. Anything else raises an error naming the file and the JSON field.
 *
 * @module
 */

import { describeValue, excerpt } from "../checkpoint/_describe.ts";
import type { AddedToken } from "./added_tokens.ts";
import { BpeModel } from "./bpe_model.ts";
import { byteLevelDecode } from "./byte_level.ts";
import {
  byteFallbackStep,
  cleanupTokenizationSpaces,
  type DecodeStep,
  fuseStep,
  metaspaceStep,
  replaceStep,
  stripStep,
  wordPieceDecode,
} from "./decoders.ts";
import {
  bertNormalizer,
  lowercaseNormalizer,
  type Normalizer,
  precompiledNormalizer,
  prependNormalizer,
  replaceNormalizer,
  sequenceNormalizer,
  stripAccentsNormalizer,
  stripNormalizer,
  unicodeNormalizer,
} from "./normalizers.ts";
import { PipelineTokenizer, type TokenModel } from "./pipeline_tokenizer.ts";
import {
  bertPostProcessor,
  plainPostProcessor,
  type PostProcessor,
  robertaPostProcessor,
  type TemplatePiece,
  TemplatePostProcessor,
} from "./post_processor.ts";
import { PrecompiledCharsmap } from "./precompiled_charsmap.ts";
import {
  bertPreTokenizer,
  byteLevelPreTokenizer,
  metaspacePreTokenizer,
  type PrependScheme,
  type PreTokenizer,
  sequencePreTokenizer,
  type SplitBehavior,
  splitPreTokenizer,
  whitespacePreTokenizer,
  whitespaceSplitPreTokenizer,
} from "./pre_tokenizers.ts";
import type { TokenizerKind } from "./types.ts";
import { UnigramModel } from "./unigram_model.ts";
import { WordPieceModel } from "./wordpiece_model.ts";

/**
 * Options of {@linkcode tokenizerFromJson}.
 *
 * @example Usage
 * ```ts
 * const opts: TokenizerJsonOptions = { source: "hub:gpt2/tokenizer.json", padToken: null };
 * ```
 */
export interface TokenizerJsonOptions {
  /** Where the JSON came from, for error messages. Default `"tokenizer.json"`. */
  source?: string;
  /** Pad token named by `tokenizer_config.json`, used when the JSON has no `padding.pad_id`. */
  padToken?: string | null;
}

type Json = Record<string, unknown>;

class Ctx {
  constructor(readonly source: string) {}
  fail(field: string, what: string): never {
    throw new Error(`Tokenizer file "${this.source}" has ${what} at field "${excerpt(field)}"`);
  }
  unsupported(field: string, value: unknown): never {
    this.fail(`${field}.type`, `unsupported type ${describeValue(value)}`);
  }
  obj(v: unknown, field: string): Json {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(field, "no JSON object");
    return v as Json;
  }
  arr(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) this.fail(field, "no JSON array");
    return v;
  }
  str(v: unknown, field: string): string {
    if (typeof v !== "string") this.fail(field, `${describeValue(v)} where a string was expected`);
    return v;
  }
  int(v: unknown, field: string): number {
    if (!Number.isInteger(v)) this.fail(field, `${describeValue(v)} where an integer was expected`);
    return v as number;
  }
}

/** A `Replace` / `Split` pattern: `{ "String": … }` (literal) or `{ "Regex": … }`. */
function pattern(c: Ctx, j: unknown, field: string): string | RegExp {
  const p = c.obj(j, field);
  if (typeof p.String === "string") return p.String;
  if (typeof p.Regex === "string") {
    try {
      return new RegExp(p.Regex, "gu");
    } catch (e) {
      c.fail(`${field}.Regex`, `a regular expression JavaScript cannot compile (${excerpt((e as Error).message)})`);
    }
  }
  c.fail(field, 'a pattern that is neither {"String": …} nor {"Regex": …}');
}

function prependScheme(c: Ctx, j: Json, field: string): PrependScheme {
  if (j.prepend_scheme === undefined) return j.add_prefix_space === false ? "never" : "always";
  const v = c.str(j.prepend_scheme, `${field}.prepend_scheme`);
  if (v !== "always" && v !== "first" && v !== "never") {
    c.fail(`${field}.prepend_scheme`, `"${excerpt(v)}" where "always", "first" or "never" was expected`);
  }
  return v;
}

/** A `Precompiled` normalizer from its base64 charsmap; an empty map rewrites nothing. */
function precompiled(c: Ctx, b64: unknown, field: string): Normalizer | undefined {
  if (b64 === null || b64 === undefined || b64 === "") return undefined;
  const text = c.str(b64, field);
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  } catch {
    c.fail(field, "text that is not base64");
  }
  try {
    return precompiledNormalizer(PrecompiledCharsmap.parse(bytes, `"${c.source}"`));
  } catch (e) {
    c.fail(field, `a malformed charsmap (${(e as Error).message})`);
  }
}

/** Nesting deeper than this is refused with a sentence (rather than overflowing the stack). */
const MAX_DEPTH = 64;

function buildNormalizer(c: Ctx, j: unknown, field: string, depth = 0): Normalizer | undefined {
  if (j === null || j === undefined) return undefined;
  if (depth > MAX_DEPTH) c.fail(field, `components nested more than ${MAX_DEPTH} deep`);
  const n = c.obj(j, field);
  switch (n.type) {
    case "BertNormalizer":
      return bertNormalizer({
        cleanText: (n.clean_text as boolean | undefined) ?? true,
        handleChineseChars: (n.handle_chinese_chars as boolean | undefined) ?? true,
        stripAccents: (n.strip_accents as boolean | null | undefined) ?? null,
        lowercase: (n.lowercase as boolean | undefined) ?? true,
      });
    case "Lowercase":
      return lowercaseNormalizer;
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      return unicodeNormalizer(n.type);
    case "StripAccents":
      // Hugging Face's StripAccents only removes marks; it is used after an NFD normalizer.
      return stripAccentsNormalizer;
    case "Strip":
      return stripNormalizer(
        (n.strip_left as boolean | undefined) ?? true,
        (n.strip_right as boolean | undefined) ?? true,
      );
    case "Replace":
      return replaceNormalizer(pattern(c, n.pattern, `${field}.pattern`), c.str(n.content, `${field}.content`));
    case "Prepend":
      return prependNormalizer(c.str(n.prepend, `${field}.prepend`));
    case "Precompiled":
      return precompiled(c, n.precompiled_charsmap, `${field}.precompiled_charsmap`);
    case "Sequence": {
      const list = c.arr(n.normalizers, `${field}.normalizers`).map((x, i) =>
        buildNormalizer(c, x, `${field}.normalizers[${i}]`, depth + 1)
      ).filter((x) => x !== undefined);
      return sequenceNormalizer(list);
    }
    default:
      c.unsupported(field, n.type);
  }
}

interface PreTok {
  fn: PreTokenizer;
  byteLevel: boolean;
}

const SPLIT_BEHAVIORS = ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"];

function buildPreTokenizer(c: Ctx, j: unknown, field: string, depth = 0): PreTok {
  if (j === null || j === undefined) return { fn: (t) => t.text === "" ? [] : [t], byteLevel: false };
  if (depth > MAX_DEPTH) c.fail(field, `components nested more than ${MAX_DEPTH} deep`);
  const p = c.obj(j, field);
  switch (p.type) {
    case "BertPreTokenizer":
      return { fn: bertPreTokenizer, byteLevel: false };
    case "ByteLevel":
      return {
        fn: byteLevelPreTokenizer(
          (p.add_prefix_space as boolean | undefined) ?? true,
          (p.use_regex as boolean | undefined) ?? true,
        ),
        byteLevel: true,
      };
    case "Whitespace":
      return { fn: whitespacePreTokenizer, byteLevel: false };
    case "WhitespaceSplit":
      return { fn: whitespaceSplitPreTokenizer, byteLevel: false };
    case "Metaspace": {
      const replacement = c.str(p.replacement ?? "\u2581", `${field}.replacement`);
      if (Array.from(replacement).length !== 1) {
        c.fail(`${field}.replacement`, `"${excerpt(replacement)}" where one character was expected`);
      }
      const split = (p.split as boolean | undefined) ?? true;
      return { fn: metaspacePreTokenizer(replacement, prependScheme(c, p, field), split), byteLevel: false };
    }
    case "Split": {
      const behavior = c.str(p.behavior, `${field}.behavior`);
      if (!SPLIT_BEHAVIORS.includes(behavior)) {
        c.fail(`${field}.behavior`, `"${excerpt(behavior)}" where one of ${SPLIT_BEHAVIORS.join(", ")} was expected`);
      }
      return {
        fn: splitPreTokenizer(pattern(c, p.pattern, `${field}.pattern`), behavior as SplitBehavior, p.invert === true),
        byteLevel: false,
      };
    }
    case "Sequence": {
      const list = c.arr(p.pretokenizers, `${field}.pretokenizers`).map((x, i) =>
        buildPreTokenizer(c, x, `${field}.pretokenizers[${i}]`, depth + 1)
      );
      return { fn: sequencePreTokenizer(list.map((pt) => pt.fn)), byteLevel: list.some((pt) => pt.byteLevel) };
    }
    default:
      c.unsupported(field, p.type);
  }
}

function vocabMap(c: Ctx, j: unknown, field: string): Map<string, number> {
  const m = new Map<string, number>();
  const entries = Object.entries(c.obj(j, field));
  for (const [t, id] of entries) {
    const f = `${field}["${excerpt(t)}"]`;
    const v = c.int(id, f);
    // Ids index the embedding matrix, so the largest id sizes it: bound it by the file's own size. HF's
    // vocabularies are dense (a vocab.txt with repeated lines leaves a few holes), so 2n covers every real one.
    if (v < 0 || v >= 2 * entries.length) {
      c.fail(
        f,
        `id ${v}, outside what a vocabulary of ${entries.length} tokens can use (0 to ${2 * entries.length - 1})`,
      );
    }
    m.set(t, v);
  }
  return m;
}

function inverse(vocab: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [t, id] of vocab) out[id] = t;
  return out;
}

interface BuiltModel {
  model: TokenModel;
  vocab: Map<string, number>;
  /** Number of model ids (the model's ids are below it). */
  size: number;
  /** Id → token of the model (holes allowed). */
  idToToken: string[];
  unkId: number | undefined;
  type: "WordPiece" | "BPE" | "Unigram";
}

function buildModel(c: Ctx, j: unknown): BuiltModel {
  const m = c.obj(j, "model");
  if (m.type === "WordPiece") {
    const vocab = vocabMap(c, m.vocab, "model.vocab");
    const unkToken = c.str(m.unk_token ?? "[UNK]", "model.unk_token");
    if (!vocab.has(unkToken)) c.fail("model.unk_token", `"${excerpt(unkToken)}", which is not in "model.vocab"`);
    const model = new WordPieceModel(vocab, {
      unkToken,
      continuingSubwordPrefix: c.str(m.continuing_subword_prefix ?? "##", "model.continuing_subword_prefix"),
      maxInputCharsPerWord: c.int(m.max_input_chars_per_word ?? 100, "model.max_input_chars_per_word"),
    });
    return { model, vocab, size: vocab.size, idToToken: inverse(vocab), unkId: model.unkId, type: "WordPiece" };
  }
  if (m.type === "BPE" || (m.type === undefined && m.merges !== undefined)) {
    if (m.dropout !== null && m.dropout !== undefined && m.dropout !== 0) {
      c.fail("model.dropout", `${describeValue(m.dropout)} (BPE dropout is random and not supported)`);
    }
    const vocab = vocabMap(c, m.vocab, "model.vocab");
    const merges = c.arr(m.merges, "model.merges").map((x, i): [string, string] => {
      if (Array.isArray(x) && x.length === 2) {
        return [c.str(x[0], `model.merges[${i}][0]`), c.str(x[1], `model.merges[${i}][1]`)];
      }
      const parts = c.str(x, `model.merges[${i}]`).split(" ");
      if (parts.length !== 2) c.fail(`model.merges[${i}]`, `${describeValue(x)} where "left right" was expected`);
      return [parts[0]!, parts[1]!];
    });
    const unkToken = m.unk_token == null ? null : c.str(m.unk_token, "model.unk_token");
    const suffix = m.end_of_word_suffix == null ? "" : c.str(m.end_of_word_suffix, "model.end_of_word_suffix");
    const size = vocab.size;
    let model: BpeModel;
    try {
      model = new BpeModel(vocab, merges, {
        unkToken,
        endOfWordSuffix: suffix,
        continuingSubwordPrefix: m.continuing_subword_prefix == null
          ? ""
          : c.str(m.continuing_subword_prefix, "model.continuing_subword_prefix"),
        fuseUnk: m.fuse_unk === true,
        byteFallback: m.byte_fallback === true,
        ignoreMerges: m.ignore_merges === true,
      });
    } catch (e) {
      c.fail("model", `an invalid BPE model (${(e as Error).message})`);
    }
    return { model, vocab, size, idToToken: inverse(vocab), unkId: model.unkId, type: "BPE" };
  }
  if (m.type === "Unigram") {
    const pieces = c.arr(m.vocab, "model.vocab").map((x, i): [string, number] => {
      const f = `model.vocab[${i}]`;
      const pair = c.arr(x, f);
      const score = pair[1];
      if (typeof score !== "number" || !Number.isFinite(score)) {
        c.fail(`${f}[1]`, `${describeValue(score)} where a finite score was expected`);
      }
      return [c.str(pair[0], `${f}[0]`), score];
    });
    const unkId = m.unk_id == null ? null : c.int(m.unk_id, "model.unk_id");
    if (unkId !== null && (unkId < 0 || unkId >= pieces.length)) {
      c.fail("model.unk_id", `id ${unkId}, outside the ${pieces.length} pieces of "model.vocab"`);
    }
    const model = new UnigramModel(pieces, { unkId, byteFallback: m.byte_fallback === true });
    return {
      model,
      vocab: model.vocab,
      size: pieces.length,
      idToToken: pieces.map((x) => x[0]),
      unkId: model.unkId,
      type: "Unigram",
    };
  }
  c.unsupported("model", m.type);
}

function specialPair(c: Ctx, v: unknown, field: string): [string, number] {
  const a = c.arr(v, field);
  return [c.str(a[0], `${field}[0]`), c.int(a[1], `${field}[1]`)];
}

/** What a post-processor (or a sequence of them) does: a template, and whether it trims byte-level offsets. */
interface BuiltPost {
  template?: TemplatePostProcessor;
  trim?: { addPrefixSpace: boolean };
}

function buildPostProcessor(c: Ctx, j: unknown, field: string, depth = 0): BuiltPost {
  if (j === null || j === undefined) return {};
  if (depth > MAX_DEPTH) c.fail(field, `components nested more than ${MAX_DEPTH} deep`);
  const p = c.obj(j, field);
  const trim = (dflt: boolean) =>
    ((p.trim_offsets as boolean | undefined) ?? dflt)
      ? { addPrefixSpace: (p.add_prefix_space as boolean | undefined) ?? true }
      : undefined;
  const built = (template: TemplatePostProcessor | undefined, t: BuiltPost["trim"]): BuiltPost => {
    const out: BuiltPost = {};
    if (template !== undefined) out.template = template;
    if (t !== undefined) out.trim = t;
    return out;
  };
  switch (p.type) {
    case "TemplateProcessing": {
      const specials = c.obj(p.special_tokens ?? {}, `${field}.special_tokens`);
      const template = (key: "single" | "pair") =>
        c.arr(p[key], `${field}.${key}`).map((x, i): TemplatePiece => {
          const f = `${field}.${key}[${i}]`;
          const piece = c.obj(x, f);
          if (piece.Sequence !== undefined) {
            const s = c.obj(piece.Sequence, `${f}.Sequence`);
            const which = c.str(s.id, `${f}.Sequence.id`);
            if (which !== "A" && which !== "B") {
              c.fail(`${f}.Sequence.id`, `"${excerpt(which)}" where "A" or "B" was expected`);
            }
            return { kind: "sequence", which, typeId: c.int(s.type_id ?? 0, `${f}.Sequence.type_id`) };
          }
          if (piece.SpecialToken !== undefined) {
            const s = c.obj(piece.SpecialToken, `${f}.SpecialToken`);
            const name = c.str(s.id, `${f}.SpecialToken.id`);
            const def = c.obj(specials[name], `${field}.special_tokens["${name}"]`);
            const ids = c.arr(def.ids, `${field}.special_tokens["${name}"].ids`).map((v, k) =>
              c.int(v, `${field}.special_tokens["${name}"].ids[${k}]`)
            );
            const tokens = c.arr(def.tokens, `${field}.special_tokens["${name}"].tokens`).map((v, k) =>
              c.str(v, `${field}.special_tokens["${name}"].tokens[${k}]`)
            );
            return { kind: "special", ids, tokens, typeId: c.int(s.type_id ?? 0, `${f}.SpecialToken.type_id`) };
          }
          c.fail(f, "a template piece that is neither Sequence nor SpecialToken");
        });
      return built(new TemplatePostProcessor(template("single"), template("pair")), undefined);
    }
    case "BertProcessing": {
      const [sepT, sepId] = specialPair(c, p.sep, `${field}.sep`);
      const [clsT, clsId] = specialPair(c, p.cls, `${field}.cls`);
      return built(bertPostProcessor(clsId, sepId, clsT, sepT), undefined);
    }
    case "RobertaProcessing": {
      const [sepT, sepId] = specialPair(c, p.sep, `${field}.sep`);
      const [clsT, clsId] = specialPair(c, p.cls, `${field}.cls`);
      return built(robertaPostProcessor(clsId, sepId, clsT, sepT), trim(true));
    }
    case "ByteLevel":
      return built(undefined, trim(true)); // adds nothing; trims byte-level offsets
    case "Sequence": {
      const list = c.arr(p.processors, `${field}.processors`)
        .map((x, i) => buildPostProcessor(c, x, `${field}.processors[${i}]`, depth + 1));
      const templates = list.filter((x) => x.template !== undefined);
      if (templates.length > 1) c.fail(`${field}.processors`, "more than one processor that adds special tokens");
      return built(templates[0]?.template, list.find((x) => x.trim !== undefined)?.trim);
    }
    default:
      c.unsupported(field, p.type);
  }
}

function decodeStep(c: Ctx, j: unknown, field: string, depth: number): DecodeStep {
  if (depth > MAX_DEPTH) c.fail(field, `components nested more than ${MAX_DEPTH} deep`);
  const d = c.obj(j, field);
  switch (d.type) {
    case "WordPiece": {
      const prefix = c.str(d.prefix ?? "##", `${field}.prefix`);
      const cleanup = (d.cleanup as boolean | undefined) ?? true;
      return (t) =>
        t.map((tok, i) => {
          const s = i === 0 ? tok : tok.startsWith(prefix) ? tok.slice(prefix.length) : " " + tok;
          return cleanup ? cleanupTokenizationSpaces(s) : s;
        });
    }
    case "ByteLevel":
      return (t) => [byteLevelDecode(t)];
    case "BPEDecoder": {
      const suffix = c.str(d.suffix ?? "</w>", `${field}.suffix`);
      return (t) => t.map((tok, i) => tok.replaceAll(suffix, i === t.length - 1 ? "" : " "));
    }
    case "Metaspace": {
      const replacement = c.str(d.replacement ?? "\u2581", `${field}.replacement`);
      return metaspaceStep(replacement, prependScheme(c, d, field));
    }
    case "ByteFallback":
      return byteFallbackStep;
    case "Fuse":
      return fuseStep;
    case "Strip":
      return stripStep(
        c.str(d.content ?? " ", `${field}.content`),
        c.int(d.start ?? 0, `${field}.start`),
        c.int(d.stop ?? 0, `${field}.stop`),
      );
    case "Replace":
      return replaceStep(pattern(c, d.pattern, `${field}.pattern`), c.str(d.content, `${field}.content`));
    case "Sequence": {
      const steps = c.arr(d.decoders, `${field}.decoders`).map((x, i) =>
        decodeStep(c, x, `${field}.decoders[${i}]`, depth + 1)
      );
      return (t) => steps.reduce((acc, step) => step(acc), t);
    }
    default:
      c.unsupported(field, d.type);
  }
}

function buildDecoder(c: Ctx, j: unknown, field: string): (tokens: string[]) => string {
  if (j === null || j === undefined) return (t) => t.join(" ");
  const d = c.obj(j, field);
  // transformers also cleans up the joined text of a WordPiece decoder (clean_up_tokenization_spaces).
  if (d.type === "WordPiece") {
    const prefix = c.str(d.prefix ?? "##", `${field}.prefix`);
    const cleanup = (d.cleanup as boolean | undefined) ?? true;
    return (t) => wordPieceDecode(t, prefix, cleanup);
  }
  const step = decodeStep(c, d, field, 0);
  return (t) => step(t).join("");
}

/** The kind, read off the pipeline: the model, qualified by a byte-level alphabet. */
function pipelineKind(model: BuiltModel["type"], byteLevel: boolean): TokenizerKind {
  const name = model === "WordPiece" ? "wordpiece" : model === "BPE" ? "bpe" : "unigram";
  return byteLevel ? `byte-level-${name}` : name;
}

/**
 * Builds a tokenizer from the contents of a `tokenizer.json`.
 *
 * The kind is read off the pipeline: `"wordpiece"`, `"unigram"`, `"bpe"`, or `"byte-level-bpe"` for a BPE
 * model behind a ByteLevel pre-tokenizer (GPT-2, RoBERTa). Added-token ids must be non-negative integers below
 * the model's ids plus the number of added tokens (a larger id would size the embedding matrix from a typo).
 *
 * @param json The file's text, or its parsed JSON.
 * @param opts Source name for errors and a fallback pad token.
 * @returns The tokenizer.
 * @throws {Error} On malformed JSON or an unsupported component, naming the file and the JSON field.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const tok = tokenizerFromJson({
 *   model: { type: "WordPiece", unk_token: "[UNK]", vocab: { "[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "hi": 3 } },
 *   normalizer: { type: "BertNormalizer", lowercase: true },
 *   pre_tokenizer: { type: "BertPreTokenizer" },
 *   post_processor: { type: "BertProcessing", sep: ["[SEP]", 2], cls: ["[CLS]", 1] },
 * });
 * deepStrictEqual(tok.encode("HI").ids, [1, 3, 2]);
 * ```
 */
export function tokenizerFromJson(
  json: string | Record<string, unknown>,
  opts: TokenizerJsonOptions = {},
): PipelineTokenizer {
  const c = new Ctx(opts.source ?? "tokenizer.json");
  let root: Json;
  if (typeof json === "string") {
    try {
      root = c.obj(JSON.parse(json), "(root)");
    } catch (e) {
      if (e instanceof SyntaxError) c.fail("(root)", `invalid JSON (${excerpt(e.message)})`);
      throw e;
    }
  } else {
    root = c.obj(json, "(root)");
  }
  const built = buildModel(c, root.model);
  const normalize = buildNormalizer(c, root.normalizer, "normalizer");
  const pre = buildPreTokenizer(c, root.pre_tokenizer, "pre_tokenizer");
  const post = buildPostProcessor(c, root.post_processor, "post_processor");
  let postProcessor: PostProcessor = post.template ?? plainPostProcessor(post.trim);
  if (post.template !== undefined && post.trim !== undefined) {
    postProcessor = new TemplatePostProcessor(post.template.single, post.template.pair, post.trim);
  }
  const decode = buildDecoder(c, root.decoder, "decoder");

  const tokenToId = new Map(built.vocab);
  const added: AddedToken[] = [];
  const addedList = root.added_tokens === undefined || root.added_tokens === null
    ? []
    : c.arr(root.added_tokens, "added_tokens");
  const idBound = built.size + addedList.length;
  addedList.forEach((x, i) => {
    const f = `added_tokens[${i}]`;
    const t = c.obj(x, f);
    const content = c.str(t.content, `${f}.content`);
    const id = t.id;
    if (!Number.isSafeInteger(id) || (id as number) < 0 || (id as number) >= idBound) {
      c.fail(
        `${f}.id`,
        `${describeValue(id)} for added token "${excerpt(content)}", expected an integer from 0 to ${
          idBound - 1
        } (the model's ${built.size} ids and ${addedList.length} added tokens)`,
      );
    }
    const tok: AddedToken = {
      id: id as number,
      content,
      special: t.special === true,
      normalized: t.normalized === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      singleWord: t.single_word === true,
    };
    added.push(tok);
    tokenToId.set(tok.content, tok.id);
  });
  const idToToken = built.idToToken.slice();
  for (const t of added) idToToken[t.id] ??= t.content;

  let padId: number | undefined;
  const padding = root.padding;
  if (padding !== null && padding !== undefined) padId = c.int(c.obj(padding, "padding").pad_id ?? 0, "padding.pad_id");
  if (padId === undefined && opts.padToken != null) padId = tokenToId.get(opts.padToken);
  padId ??= tokenToId.get("[PAD]") ?? tokenToId.get("<pad>") ?? 0;

  return new PipelineTokenizer({
    kind: pipelineKind(built.type, pre.byteLevel),
    idToToken,
    tokenToId,
    normalize,
    preTokenize: pre.fn,
    model: built.model,
    postProcessor,
    decode,
    addedTokens: added,
    padId,
    unkId: built.unkId,
  });
}
