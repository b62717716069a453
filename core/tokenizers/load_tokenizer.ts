/**
 * Loads a checkpoint's tokenizer through {@linkcode ModelFiles}.
 *
 * @module
 */

import { type ModelFiles, readText } from "../checkpoint/files.ts";
import { Gpt2BpeTokenizer, parseVocabJson } from "./gpt2_bpe.ts";
import { OpenAiGptBpeTokenizer } from "./openai_gpt_bpe.ts";
import { parseMergesText } from "./bpe_model.ts";
import { robertaBpeTokenizer } from "./roberta_bpe.ts";
import { parseSentencePieceModel, type SentencePieceLayout, sentencePieceTokenizer } from "./sentencepiece.ts";
import { tokenizerFromJson } from "./tokenizer_json.ts";
import type { Tokenizer, TokenizerKind } from "./types.ts";
import { WordPieceTokenizer } from "./wordpiece.ts";

/** A special-token entry of `tokenizer_config.json`: a string or `{ "content": … }`. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null && typeof (v as { content?: unknown }).content === "string") {
    return (v as { content: string }).content;
  }
  return undefined;
}

const KIND_FILES: Record<string, string> = {
  wordpiece: "WordPiece (vocab.txt)",
  "gpt2-bpe": "GPT-2 byte-level BPE (vocab.json + merges.txt)",
  "openai-gpt-bpe": "OpenAI GPT BPE (vocab.json + merges.txt)",
  "roberta-vocab": "RoBERTa (vocab.json + merges.txt, or XLM-R's sentencepiece.bpe.model)",
  "albert-sentencepiece": "ALBERT sentencepiece (spiece.model)",
  "xlm-roberta-sentencepiece": "XLM-R sentencepiece (sentencepiece.bpe.model)",
  "tokenizer-json": "tokenizer.json only (no fallback from vocabulary files)",
};

async function required(files: ModelFiles, name: string, kind: TokenizerKind): Promise<string> {
  const text = await readText(files, name);
  if (text === undefined) {
    throw new Error(
      `Tokenizer file "${name}" is missing in "${files.location}", expected it (or "tokenizer.json") for a ${
        KIND_FILES[kind]
      } tokenizer`,
    );
  }
  return text;
}

function parseJson(text: string, name: string, location: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new Error(`Tokenizer file "${name}" in "${location}" is not a JSON object`);
}

async function sentencePiece(
  files: ModelFiles,
  name: string,
  layout: SentencePieceLayout,
  kind: TokenizerKind,
  tc: Record<string, unknown>,
): Promise<Tokenizer> {
  const bytes = await files.read(name);
  if (bytes === undefined) {
    throw new Error(
      `Tokenizer file "${name}" is missing in "${files.location}", expected it (or "tokenizer.json") for a ${
        KIND_FILES[kind]
      } tokenizer`,
    );
  }
  if (typeof tc.tokenizer_class === "string" && /camembert/i.test(tc.tokenizer_class)) {
    throw new Error(
      `Tokenizer "${files.location}" is a ${tc.tokenizer_class}, whose sentencepiece ids are not XLM-R's: ship its tokenizer.json`,
    );
  }
  const source = `${files.location}/${name}`;
  const opts: { doLowerCase?: boolean; keepAccents?: boolean; addPrefixSpace?: boolean } = {};
  if (typeof tc.do_lower_case === "boolean") opts.doLowerCase = tc.do_lower_case;
  if (typeof tc.keep_accents === "boolean") opts.keepAccents = tc.keep_accents;
  if (typeof tc.add_prefix_space === "boolean") opts.addPrefixSpace = tc.add_prefix_space;
  return sentencePieceTokenizer(parseSentencePieceModel(bytes, source), layout, source, opts);
}

/**
 * Loads the tokenizer of a checkpoint. `tokenizer.json` is preferred when present; otherwise the vocabulary
 * files are read by the fallback the model's family names (`ModelFamily.tokenizer`): `"wordpiece"` reads
 * `vocab.txt` (BERT, honouring `tokenizer_config.json`'s `do_lower_case`, `strip_accents`,
 * `tokenize_chinese_chars` and special tokens); `"gpt2-bpe"` and `"openai-gpt-bpe"` read `vocab.json` +
 * `merges.txt`; `"roberta-vocab"` reads XLM-R's `sentencepiece.bpe.model` when there is one, else RoBERTa's
 * `vocab.json` + `merges.txt`; `"albert-sentencepiece"` reads `spiece.model` and `"xlm-roberta-sentencepiece"`
 * `sentencepiece.bpe.model` (sentencepiece Unigram models, with the pipeline transformers builds for them;
 * see `sentencepiece.ts`).
 *
 * @param files Where the checkpoint's files are.
 * @param kind How to read the checkpoint's vocabulary when it ships no `tokenizer.json`.
 * @returns The tokenizer.
 * @throws {Error} When a needed file is missing (naming `files.location` and the file) or malformed.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { memoryFiles } from "../checkpoint/files.ts";
 * const files = memoryFiles({ "vocab.txt": new TextEncoder().encode("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhi\n") });
 * const tok = await loadTokenizer(files, "wordpiece");
 * strictEqual(tok.encode("Hi").ids.join(), "2,4,3");
 * ```
 */
export async function loadTokenizer(files: ModelFiles, kind: TokenizerKind): Promise<Tokenizer> {
  const tcText = await readText(files, "tokenizer_config.json");
  const tc = tcText === undefined ? {} : parseJson(tcText, "tokenizer_config.json", files.location);
  const json = await readText(files, "tokenizer.json");
  if (json !== undefined) {
    return tokenizerFromJson(json, {
      source: `${files.location}/tokenizer.json`,
      padToken: tokenName(tc.pad_token) ?? null,
    });
  }
  if (kind === "wordpiece") {
    const vocab = await required(files, "vocab.txt", kind);
    return WordPieceTokenizer.fromVocabText(vocab, {
      doLowerCase: typeof tc.do_lower_case === "boolean" ? tc.do_lower_case : true,
      stripAccents: typeof tc.strip_accents === "boolean" ? tc.strip_accents : null,
      tokenizeChineseChars: typeof tc.tokenize_chinese_chars === "boolean" ? tc.tokenize_chinese_chars : true,
      unkToken: tokenName(tc.unk_token),
      clsToken: tokenName(tc.cls_token),
      sepToken: tokenName(tc.sep_token),
      padToken: tokenName(tc.pad_token),
      maskToken: tokenName(tc.mask_token),
    });
  }
  if (kind === "gpt2-bpe") {
    const vocab = await required(files, "vocab.json", kind);
    const merges = await required(files, "merges.txt", kind);
    return Gpt2BpeTokenizer.fromFiles(vocab, merges, {
      addPrefixSpace: tc.add_prefix_space === true,
      eosToken: tokenName(tc.eos_token),
      padToken: tokenName(tc.pad_token) ?? null,
    });
  }
  if (kind === "openai-gpt-bpe") {
    const vocab = await required(files, "vocab.json", kind);
    const merges = await required(files, "merges.txt", kind);
    return OpenAiGptBpeTokenizer.fromFiles(vocab, merges, { unkToken: tokenName(tc.unk_token) });
  }
  if (kind === "albert-sentencepiece") return sentencePiece(files, "spiece.model", "albert-converter", kind, tc);
  if (kind === "xlm-roberta-sentencepiece") {
    return sentencePiece(files, "sentencepiece.bpe.model", "xlm-roberta-converter", kind, tc);
  }
  if (kind === "roberta-vocab") {
    if (await files.read("sentencepiece.bpe.model") !== undefined) {
      return sentencePiece(files, "sentencepiece.bpe.model", "xlm-roberta-converter", kind, tc);
    }
    const vocab = await required(files, "vocab.json", kind);
    const merges = await required(files, "merges.txt", kind);
    return robertaBpeTokenizer(parseVocabJson(vocab), parseMergesText(merges), {
      addPrefixSpace: tc.add_prefix_space === true,
    });
  }
  if (kind === "tokenizer-json") {
    throw new Error(
      `Tokenizer file "tokenizer.json" is missing in "${files.location}": this model's tokenizer is read from it only ` +
        `(its vocabulary files alone do not say how it splits text)`,
    );
  }
  throw new Error(`Unknown tokenizer kind ${JSON.stringify(kind)} (expected ${Object.keys(KIND_FILES).join(", ")})`);
}
