/**
 * Text generation with any causal language model bertology runs: the prompt is run once into a KV cache, then
 * each step runs only the newest token (its query attends to the cached keys) and picks the next one from its
 * logits — greedy, or sampled with temperature / top-k / top-p from a seeded generator — until `maxNewTokens`
 * or an end-of-sequence token. Without the cache each step runs the whole sequence again: the same logits
 * (within float rounding) and the same tokens, which is what the tests check. Nothing here names a family.
 *
 * @module
 */

import { mulberry32 } from "../rng.ts";
import type { Tokenizer } from "../tokenizers/types.ts";
import type { TransformerModel } from "../models/model.ts";
import { checkSampling, pickToken } from "./sampling.ts";

/** What `generate` falls back on when not told (read from the checkpoint). */
export interface GenerationDefaults {
  /** The end-of-sequence ids (`generation_config.json`'s `eos_token_id`, else `config.json`'s); may be empty. */
  eosTokenIds: number[];
}

/** One generated token, as `onToken` receives it. */
export interface GeneratedToken {
  /** Its id. */
  id: number;
  /** 0 for the first new token. */
  step: number;
  /**
   * The text it adds to the decoded output (with a tokenizer): "" while it ends inside a character that later
   * tokens complete (byte-level BPE splits UTF-8), whose text then comes with them.
   */
  text: string;
  /** Whether it is an end-of-sequence token (the last one `generate` makes, unless `stopAtEos` is false). */
  eos: boolean;
}

/** What to generate (see {@linkcode generate}). */
export interface GenerateRequest {
  /** The prompt: token ids, or text (encoded by `tokenizer`, special tokens as the tokenizer adds them). */
  prompt: string | ArrayLike<number>;
  /** The model's tokenizer: needed for a text prompt, and for `text` in the result. */
  tokenizer?: Tokenizer | undefined;
  /** Tokens to generate at most (default 20). */
  maxNewTokens?: number | undefined;
  /** 0: greedy (default); > 0: sample from softmax(logits / temperature). */
  temperature?: number | undefined;
  /** Sample among the k most likely tokens only (0 or absent: no limit). */
  topK?: number | undefined;
  /** Sample among the most likely tokens whose probabilities reach p (absent or 1: all). */
  topP?: number | undefined;
  /** The sampling generator's seed (default 0): the same seed, the same tokens. */
  seed?: number | undefined;
  /** Stop after an end-of-sequence token (default true). */
  stopAtEos?: boolean | undefined;
  /** The end-of-sequence ids (default the model's: `generation_config.json`, else `config.json`). */
  eosTokenIds?: readonly number[] | undefined;
  /** Called with each new token as soon as it is picked (streaming); awaited. */
  onToken?: ((token: GeneratedToken) => void | Promise<void>) | undefined;
  /** Decode with a KV cache (default true); false runs the whole sequence again at every step. */
  cache?: boolean | undefined;
  /** Also return the logits each token was picked from (one [vocab] array per new token). */
  keepLogits?: boolean | undefined;
}

/** What {@linkcode generate} returns. */
export interface GenerateResult {
  /** The prompt's ids followed by the new ones. */
  ids: number[];
  /** How many of `ids` are the prompt's. */
  promptLength: number;
  /** The decoded text of `ids`, special tokens skipped (with a tokenizer). */
  text?: string;
  /** Why it stopped: an end-of-sequence token, or `maxNewTokens`. */
  stop: "eos" | "max_new_tokens";
  /** Per new token, the logits it was picked from (with `keepLogits`). */
  logits?: Float32Array[];
}

/**
 * Reads the end-of-sequence ids of a `generation_config.json` text; `fallback` when it names none.
 *
 * @param text the file's text
 * @param source its location, for errors
 * @param fallback the defaults it overrides (those of `config.json`)
 * @throws {Error} naming the file, for text that is not a JSON object
 * @example Usage
 * ```ts
 * import { readGenerationDefaults } from "./generate.ts";
 * readGenerationDefaults('{"eos_token_id": [2, 7]}', "generation_config.json", { eosTokenIds: [] }).eosTokenIds; // [2, 7]
 * ```
 */
export function readGenerationDefaults(text: string, source: string, fallback: GenerationDefaults): GenerationDefaults {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error(`${source}: not a JSON object`);
  const eos = (raw as Record<string, unknown>).eos_token_id;
  if (eos === undefined || eos === null) return fallback;
  const ids = Array.isArray(eos) ? eos : [eos];
  if (!ids.every((id) => Number.isInteger(id) && id >= 0)) {
    throw new Error(`${source}: "eos_token_id" must be a token id or a list of them, got ${JSON.stringify(eos)}`);
  }
  return { ...fallback, eosTokenIds: ids as number[] };
}

/**
 * Continues a prompt with a causal language model (see the module doc). `model.generate(req)` calls this, one
 * call at a time per model; calling it directly, do not run two at once on one model (each holds a KV cache on
 * the model's kernel memory, a stack, between its awaits).
 *
 * @param model a causal language model (`task` "lm")
 * @param req the prompt and how to continue it
 * @returns the prompt's and the new ids, their text, why it stopped
 * @throws {Error} naming the option at fault: an empty prompt, an id outside the vocabulary, a text prompt
 *   without a tokenizer, `maxNewTokens` not a positive integer or past the model's positions, bad sampling
 *   options; or for a model that is not a causal language model
 * @example Usage
 * ```ts
 * import { generate } from "./generate.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const greedy = await generate(model, { prompt: [464, 3290, 318], maxNewTokens: 4, stopAtEos: false });
 * greedy.ids.length; // 7
 * ```
 */
export async function generate(model: TransformerModel, req: GenerateRequest): Promise<GenerateResult> {
  const c = model.config;
  if (c.task !== "lm") {
    throw new Error(
      `generate needs a causal language model; this ${model.family.displayName} checkpoint is a ${c.task} model`,
    );
  }
  const tokenizer = req.tokenizer;
  const prompt = promptIds(req.prompt, tokenizer, c.vocabSize);
  const maxNewTokens = req.maxNewTokens ?? 20;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
    throw new Error(`maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  }
  // the last new token is never run: the model sees at most prompt + maxNewTokens − 1 positions
  const positions = prompt.length + maxNewTokens - 1;
  if (positions > c.maxPositions) {
    throw new Error(
      `maxNewTokens ${maxNewTokens} after a prompt of ${prompt.length} tokens passes the model's ` +
        `${c.maxPositions} positions (at most ${c.maxPositions - prompt.length + 1} new tokens)`,
    );
  }
  const sampling = { temperature: req.temperature ?? 0, topK: req.topK ?? 0, topP: req.topP ?? 1 };
  checkSampling(sampling);
  const seed = req.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const random = mulberry32(seed);
  const eos = new Set(req.eosTokenIds ?? model.generationDefaults.eosTokenIds);
  const stopAtEos = req.stopAtEos ?? true;

  const ids = [...prompt];
  const kept: Float32Array[] = [];
  const decoded = tokenizer ? new StreamingText(tokenizer) : undefined;
  decoded?.advance(ids);
  const cache = req.cache === false ? undefined : model.createKvCache({ capacity: positions });
  let stop: GenerateResult["stop"] = "max_new_tokens";
  try {
    let fresh = ids.length; // tokens not yet run through the model (with the cache: all the prompt at first)
    for (let step = 0; step < maxNewTokens; step++) {
      const input = cache ? ids.slice(ids.length - fresh) : ids;
      const batch = { batchSize: 1, seqLen: input.length, inputIds: Int32Array.from(input) };
      const logits = model.run({ batch, kvCache: cache, lastLogits: true }).logits!.data;
      if (req.keepLogits) kept.push(logits);
      const id = pickToken(logits, sampling, random);
      ids.push(id);
      fresh = 1;
      const isEos = eos.has(id);
      await req.onToken?.({ id, step, text: decoded?.advance(ids) ?? "", eos: isEos });
      if (isEos && stopAtEos) {
        stop = "eos";
        break;
      }
    }
  } finally {
    cache?.dispose();
  }
  const result: GenerateResult = { ids, promptLength: prompt.length, stop };
  if (tokenizer) result.text = tokenizer.decode(ids, { skipSpecialTokens: true });
  if (req.keepLogits) result.logits = kept;
  return result;
}

/** The prompt as checked ids: given, or encoded from text by the tokenizer. */
function promptIds(prompt: string | ArrayLike<number>, tokenizer: Tokenizer | undefined, vocab: number): number[] {
  let ids: number[];
  if (typeof prompt === "string") {
    if (tokenizer === undefined) throw new Error("prompt: a text prompt needs the model's tokenizer (`tokenizer`)");
    ids = tokenizer.encode(prompt).ids;
    if (ids.length === 0) throw new Error("prompt: the text encodes to no tokens");
  } else {
    ids = Array.from(prompt);
    if (ids.length === 0) throw new Error("prompt: give at least one token id");
  }
  const bad = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
  if (bad >= 0) throw new Error(`prompt: id ${ids[bad]} (position ${bad}) is outside the vocabulary (0..${vocab - 1})`);
  return ids;
}

/**
 * The decoded text of a growing id sequence, handed out piece by piece: each call returns what the new ids
 * add. A piece that ends in an incomplete character (U+FFFD while byte-level BPE has sent only part of its
 * bytes) waits for the tokens that complete it.
 */
class StreamingText {
  readonly #tokenizer: Tokenizer;
  #sent = "";

  constructor(tokenizer: Tokenizer) {
    this.#tokenizer = tokenizer;
  }

  /** The text `ids` add to what was sent so far. */
  advance(ids: readonly number[]): string {
    const text = this.#tokenizer.decode(ids, { skipSpecialTokens: true });
    if (text.endsWith("\uFFFD") || !text.startsWith(this.#sent)) return "";
    const piece = text.slice(this.#sent.length);
    this.#sent = text;
    return piece;
  }
}
