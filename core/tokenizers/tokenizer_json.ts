/**
 * Loads Hugging Face's `tokenizer.json` (the fast-tokenizer serialization) into a {@linkcode Tokenizer}.
 *
 * Supported components — models: `WordPiece`, `BPE`; normalizers: `BertNormalizer`, `Lowercase`, `NFC`, `NFD`,
 * `NFKC`, `NFKD`, `StripAccents`, `Strip`, `Sequence`; pre-tokenizers: `BertPreTokenizer`, `ByteLevel`,
 * `Whitespace`, `WhitespaceSplit`, `Sequence`; post-processors: `TemplateProcessing`, `BertProcessing`,
 * `RobertaProcessing`, `ByteLevel`, `Sequence`; decoders: `WordPiece`, `ByteLevel`, `BPEDecoder`. Anything else
 * raises an error naming the file and the JSON field.
 *
 * @module
 */

import { describeValue, excerpt } from "../checkpoint/_describe.ts";
import type { AddedToken } from "./added_tokens.ts";
import { bertNormalize } from "./bert_normalizer.ts";
import { bertPreTokenize } from "./bert_pre_tokenizer.ts";
import { BpeModel } from "./bpe_model.ts";
import { byteLevelDecode, byteLevelPreTokenize } from "./byte_level.ts";
import { bpeSuffixDecode, wordPieceDecode } from "./decoders.ts";
import { PipelineTokenizer, type TokenModel } from "./pipeline_tokenizer.ts";
import {
  bertPostProcessor,
  plainPostProcessor,
  type PostProcessor,
  robertaPostProcessor,
  type TemplatePiece,
  TemplatePostProcessor,
} from "./post_processor.ts";
import type { TokenizerKind } from "./types.ts";
import { lowercaseChars } from "./_unicode.ts";
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

const WHITESPACE_RE = /\w+|[^\w\s]+/gu;

function buildNormalizer(c: Ctx, j: unknown, field: string): ((s: string) => string) | undefined {
  if (j === null || j === undefined) return undefined;
  const n = c.obj(j, field);
  switch (n.type) {
    case "BertNormalizer": {
      const opts = {
        cleanText: (n.clean_text as boolean | undefined) ?? true,
        handleChineseChars: (n.handle_chinese_chars as boolean | undefined) ?? true,
        stripAccents: (n.strip_accents as boolean | null | undefined) ?? null,
        lowercase: (n.lowercase as boolean | undefined) ?? true,
      };
      return (s) => bertNormalize(s, opts);
    }
    case "Lowercase":
      return lowercaseChars;
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = n.type;
      return (s) => s.normalize(form);
    }
    case "StripAccents":
      // Hugging Face's StripAccents only removes marks; it is used after an NFD normalizer.
      return (s) => s.replace(/\p{Mn}/gu, "");
    case "Strip": {
      const left = (n.strip_left as boolean | undefined) ?? true;
      const right = (n.strip_right as boolean | undefined) ?? true;
      return (s) => left && right ? s.trim() : left ? s.trimStart() : right ? s.trimEnd() : s;
    }
    case "Sequence": {
      const list = c.arr(n.normalizers, `${field}.normalizers`).map((x, i) =>
        buildNormalizer(c, x, `${field}.normalizers[${i}]`)!
      );
      return (s) => list.reduce((acc, f) => f(acc), s);
    }
    default:
      c.unsupported(field, n.type);
  }
}

interface PreTok {
  fn: (s: string) => string[];
  byteLevel: boolean;
}

function buildPreTokenizer(c: Ctx, j: unknown, field: string): PreTok {
  if (j === null || j === undefined) return { fn: (s) => s === "" ? [] : [s], byteLevel: false };
  const p = c.obj(j, field);
  switch (p.type) {
    case "BertPreTokenizer":
      return { fn: bertPreTokenize, byteLevel: false };
    case "ByteLevel": {
      const opts = {
        addPrefixSpace: (p.add_prefix_space as boolean | undefined) ?? true,
        useRegex: (p.use_regex as boolean | undefined) ?? true,
      };
      return { fn: (s) => byteLevelPreTokenize(s, opts), byteLevel: true };
    }
    case "Whitespace":
      return { fn: (s) => s.match(WHITESPACE_RE) ?? [], byteLevel: false };
    case "WhitespaceSplit":
      return { fn: (s) => s.split(/\s+/u).filter((w) => w !== ""), byteLevel: false };
    case "Sequence": {
      const list = c.arr(p.pretokenizers, `${field}.pretokenizers`).map((x, i) =>
        buildPreTokenizer(c, x, `${field}.pretokenizers[${i}]`)
      );
      return {
        fn: (s) => list.reduce<string[]>((words, pt) => words.flatMap(pt.fn), [s]),
        byteLevel: list.some((pt) => pt.byteLevel),
      };
    }
    default:
      c.unsupported(field, p.type);
  }
}

function vocabMap(c: Ctx, j: unknown, field: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const [t, id] of Object.entries(c.obj(j, field))) m.set(t, c.int(id, `${field}["${t}"]`));
  return m;
}

interface BuiltModel {
  model: TokenModel;
  vocab: Map<string, number>;
  unkId: number | undefined;
  type: "WordPiece" | "BPE";
  suffix: string;
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
    return { model, vocab, unkId: model.unkId, type: "WordPiece", suffix: "" };
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
    return { model, vocab, unkId: model.unkId, type: "BPE", suffix };
  }
  c.unsupported("model", m.type);
}

function specialPair(c: Ctx, v: unknown, field: string): [string, number] {
  const a = c.arr(v, field);
  return [c.str(a[0], `${field}[0]`), c.int(a[1], `${field}[1]`)];
}

function buildPostProcessor(c: Ctx, j: unknown, field: string): PostProcessor | undefined {
  if (j === null || j === undefined) return undefined;
  const p = c.obj(j, field);
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
      return new TemplatePostProcessor(template("single"), template("pair"));
    }
    case "BertProcessing": {
      const [sepT, sepId] = specialPair(c, p.sep, `${field}.sep`);
      const [clsT, clsId] = specialPair(c, p.cls, `${field}.cls`);
      return bertPostProcessor(clsId, sepId, clsT, sepT);
    }
    case "RobertaProcessing": {
      const [sepT, sepId] = specialPair(c, p.sep, `${field}.sep`);
      const [clsT, clsId] = specialPair(c, p.cls, `${field}.cls`);
      return robertaPostProcessor(clsId, sepId, clsT, sepT);
    }
    case "ByteLevel":
      return undefined; // only trims offsets, which we do not track
    case "Sequence": {
      const list = c.arr(p.processors, `${field}.processors`)
        .map((x, i) => buildPostProcessor(c, x, `${field}.processors[${i}]`))
        .filter((x) => x !== undefined);
      if (list.length > 1) c.fail(`${field}.processors`, "more than one processor that adds special tokens");
      return list[0];
    }
    default:
      c.unsupported(field, p.type);
  }
}

function buildDecoder(c: Ctx, j: unknown, field: string): (tokens: string[]) => string {
  if (j === null || j === undefined) return (t) => t.join(" ");
  const d = c.obj(j, field);
  switch (d.type) {
    case "WordPiece": {
      const prefix = c.str(d.prefix ?? "##", `${field}.prefix`);
      const cleanup = (d.cleanup as boolean | undefined) ?? true;
      return (t) => wordPieceDecode(t, prefix, cleanup);
    }
    case "ByteLevel":
      return byteLevelDecode;
    case "BPEDecoder": {
      const suffix = c.str(d.suffix ?? "</w>", `${field}.suffix`);
      return (t) => bpeSuffixDecode(t, suffix);
    }
    default:
      c.unsupported(field, d.type);
  }
}

/** The deepest nesting of objects a tokenizer.json field may have (HF's own files use under 10). */
const MAX_NESTING = 64;

/**
 * How deep `value` nests objects (the components the builders recurse into; arrays between them do not count),
 * counted without recursion and up to `limit` (then it stops).
 */
function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, above] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    const depth = Array.isArray(v) ? above : above + 1;
    if (depth > deepest) deepest = depth;
    if (deepest >= limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth]);
    }
  }
  return deepest;
}

/**
 * Builds a tokenizer from the contents of a `tokenizer.json`.
 *
 * The kind is `"wordpiece"` for a WordPiece model, `"gpt2-bpe"` for a BPE model with a ByteLevel
 * pre-tokenizer (GPT-2, RoBERTa) and `"openai-gpt-bpe"` for any other BPE model.
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
  // components nest (Sequence in Sequence) and are built recursively: bound the depth before building
  for (const [field, value] of Object.entries(root)) {
    const depth = nestingDepth(value, MAX_NESTING + 1);
    if (depth > MAX_NESTING) {
      c.fail(field, `objects nested more than ${MAX_NESTING} levels deep (a tokenizer needs far fewer)`);
    }
  }
  const built = buildModel(c, root.model);
  const normalize = buildNormalizer(c, root.normalizer, "normalizer");
  const pre = buildPreTokenizer(c, root.pre_tokenizer, "pre_tokenizer");
  const postProcessor = buildPostProcessor(c, root.post_processor, "post_processor") ?? plainPostProcessor();
  const decode = buildDecoder(c, root.decoder, "decoder");

  const tokenToId = new Map(built.vocab);
  const added: AddedToken[] = [];
  const addedList = root.added_tokens === undefined || root.added_tokens === null
    ? []
    : c.arr(root.added_tokens, "added_tokens");
  addedList.forEach((x, i) => {
    const f = `added_tokens[${i}]`;
    const t = c.obj(x, f);
    const tok: AddedToken = {
      id: c.int(t.id, `${f}.id`),
      content: c.str(t.content, `${f}.content`),
      special: t.special === true,
      normalized: t.normalized === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      singleWord: t.single_word === true,
    };
    added.push(tok);
    tokenToId.set(tok.content, tok.id);
  });
  const idToToken: string[] = [];
  for (const [t, id] of built.vocab) idToToken[id] = t;
  for (const t of added) idToToken[t.id] ??= t.content;

  let padId: number | undefined;
  const padding = root.padding;
  if (padding !== null && padding !== undefined) padId = c.int(c.obj(padding, "padding").pad_id ?? 0, "padding.pad_id");
  if (padId === undefined && opts.padToken != null) padId = tokenToId.get(opts.padToken);
  padId ??= tokenToId.get("[PAD]") ?? tokenToId.get("<pad>") ?? 0;

  const kind: TokenizerKind = built.type === "WordPiece" ? "wordpiece" : pre.byteLevel ? "gpt2-bpe" : "openai-gpt-bpe";
  return new PipelineTokenizer({
    kind,
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
