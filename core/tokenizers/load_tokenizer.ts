/**
 * Loads a checkpoint's tokenizer through {@linkcode ModelFiles}.
 *
 * @module
 */

import { type ModelFiles, readText } from "../checkpoint/files.ts";
import { Gpt2BpeTokenizer } from "./gpt2_bpe.ts";
import { OpenAiGptBpeTokenizer } from "./openai_gpt_bpe.ts";
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

const KIND_FILES: Record<TokenizerKind, string> = {
  wordpiece: "WordPiece (vocab.txt)",
  "gpt2-bpe": "GPT-2 byte-level BPE (vocab.json + merges.txt)",
  "openai-gpt-bpe": "OpenAI GPT BPE (vocab.json + merges.txt)",
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

/**
 * Loads the tokenizer of a checkpoint. `tokenizer.json` is preferred when present; otherwise the vocabulary
 * files are read by the tokenizer kind of the model's family (`ModelFamily.tokenizer`): `vocab.txt` for WordPiece (BERT (honouring `tokenizer_config.json`'s `do_lower_case`,
 * `strip_accents`, `tokenize_chinese_chars` and special tokens), `vocab.json` + `merges.txt` for the GPT-2 and
 * OpenAI GPT BPEs.
 *
 * @param files Where the checkpoint's files are.
 * @param kind Which tokenizer the checkpoint's family uses when it ships no `tokenizer.json`.
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
  throw new Error(`Unknown tokenizer kind ${JSON.stringify(kind)} (expected ${Object.keys(KIND_FILES).join(", ")})`);
}
