/**
 * Loads a checkpoint's tokenizer through {@linkcode ModelFiles}.
 *
 * @module
 */

import { type ModelFiles, readText } from "../checkpoint/files.ts";
import { Gpt2BpeTokenizer } from "./gpt2_bpe.ts";
import { OpenAiGptBpeTokenizer } from "./openai_gpt_bpe.ts";
import { tokenizerFromJson } from "./tokenizer_json.ts";
import type { Tokenizer } from "./types.ts";
import { WordPieceTokenizer } from "./wordpiece.ts";

/**
 * The part of `config.json` the loader reads.
 *
 * @example Usage
 * ```ts
 * const config: TokenizerModelConfig = { model_type: "gpt2", n_layer: 12 };
 * ```
 */
export interface TokenizerModelConfig {
  /** `bert`, `distilbert`, `gpt2`, `openai-gpt`, … */
  model_type: string;
  /** Other config.json fields (ignored). */
  [key: string]: unknown;
}

const WORDPIECE_TYPES = new Set(["bert", "distilbert"]);

/** A special-token entry of `tokenizer_config.json`: a string or `{ "content": … }`. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null && typeof (v as { content?: unknown }).content === "string") {
    return (v as { content: string }).content;
  }
  return undefined;
}

async function required(files: ModelFiles, name: string, modelType: string): Promise<string> {
  const text = await readText(files, name);
  if (text === undefined) {
    throw new Error(
      `Tokenizer file "${name}" is missing in "${files.location}", expected it (or "tokenizer.json") for model_type "${modelType}"`,
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

/**
 * Loads the tokenizer of a checkpoint. `tokenizer.json` is preferred when present; otherwise the vocabulary
 * files are read by `model_type`: `vocab.txt` for BERT (honouring `tokenizer_config.json`'s `do_lower_case`,
 * `strip_accents`, `tokenize_chinese_chars` and special tokens), `vocab.json` + `merges.txt` for GPT-2 and
 * OpenAI GPT.
 *
 * @param files Where the checkpoint's files are.
 * @param config The checkpoint's `config.json` (only `model_type` is read).
 * @returns The tokenizer.
 * @throws {Error} When a needed file is missing (naming `files.location` and the file), malformed, or the
 * model type has no known tokenizer.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { memoryFiles } from "../checkpoint/files.ts";
 * const files = memoryFiles({ "vocab.txt": new TextEncoder().encode("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhi\n") });
 * const tok = await loadTokenizer(files, { model_type: "bert" });
 * strictEqual(tok.encode("Hi").ids.join(), "2,4,3");
 * ```
 */
export async function loadTokenizer(files: ModelFiles, config: TokenizerModelConfig): Promise<Tokenizer> {
  const tcText = await readText(files, "tokenizer_config.json");
  const tc = tcText === undefined ? {} : parseJson(tcText, "tokenizer_config.json", files.location);
  const json = await readText(files, "tokenizer.json");
  if (json !== undefined) {
    return tokenizerFromJson(json, {
      source: `${files.location}/tokenizer.json`,
      padToken: tokenName(tc.pad_token) ?? null,
    });
  }
  const type = config.model_type;
  if (WORDPIECE_TYPES.has(type)) {
    const vocab = await required(files, "vocab.txt", type);
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
  if (type === "gpt2") {
    const vocab = await required(files, "vocab.json", type);
    const merges = await required(files, "merges.txt", type);
    return Gpt2BpeTokenizer.fromFiles(vocab, merges, {
      addPrefixSpace: tc.add_prefix_space === true,
      eosToken: tokenName(tc.eos_token),
      padToken: tokenName(tc.pad_token) ?? null,
    });
  }
  if (type === "openai-gpt") {
    const vocab = await required(files, "vocab.json", type);
    const merges = await required(files, "merges.txt", type);
    return OpenAiGptBpeTokenizer.fromFiles(vocab, merges, { unkToken: tokenName(tc.unk_token) });
  }
  throw new Error(
    `No "tokenizer.json" in "${files.location}" and model_type "${type}" has no vocab-file tokenizer, expected one of bert, distilbert, gpt2, openai-gpt`,
  );
}
