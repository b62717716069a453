/**
 * `POST /api/analyze`: one text (or pair) through the model, with every attention map asked for, per-head
 * entropy, hidden-state norms per layer, and the model's output (label probabilities for a classifier, the
 * next-token distribution's top entries for a GPT language model).
 *
 * The text is read as `bertology dump` and the demo's attention figures read it: the tokenizer's own encoding,
 * without the `<|endoftext|>` framing that studies give a language model (`/api/importance` uses that one, through
 * `core/studies`), so the maps show the sentence's tokens and `next_token` follows its last word.
 *
 * @module
 */

import { ATTENTION_STATS, type AttentionStatName, AttentionStatsMeter, separatorIds } from "@bertology/core/analysis";
import { type AlignedWord, wordLevelAttention } from "@bertology/core/analysis";
import { wordSpans } from "@bertology/core/attribution";
import { hookName } from "@bertology/core/hooks";
import { attentionEntropyMeter } from "@bertology/core/bertology";
import type { ExportOptions, OrtModel } from "@bertology/core/export";
import { keptHeads } from "@bertology/core/models";
import type { Batch, RunResult } from "@bertology/core/models";
import type { TransformerModel } from "@bertology/core/models";
import type { Encoding, Tokenizer } from "@bertology/core/tokenizers";
import { asHttpError, excerpt, HttpError } from "./_errors.ts";
import type { Limits } from "./_limits.ts";
import type { Deadline } from "./_queue.ts";
import { fieldName, indexListField, requireObject, textField } from "./_validate.ts";
import { type AnalysisTables, analysisTables, entropySumsOfPatterns, round4 } from "./page/analysis_tables.ts";

/** A checked `/api/analyze` request. */
export interface AnalyzeRequest {
  text: string;
  text_pair?: string;
  /** Layers whose attention maps to return (default all). */
  layers?: number[];
  /** Heads (original numbering) whose attention maps to return (default all). */
  heads?: number[];
  /** Also word-level maps and per-head statistics (`stats`, `word_level`). */
  word_level?: boolean;
}

/** Per-head attention statistics of one sentence: each [L][H], `null` for a pruned head. */
export type HeadStats = Record<AttentionStatName, (number | null)[][]>;

/** The word-level part of an `/api/analyze` answer (`word_level: true`). */
export interface WordLevelAttention {
  /** The words: a split word's token range `[start, end)`; each special token is a word of its own. */
  words: { text: string; start: number; end: number }[];
  /**
   * [layers.length][heads.length][W][W] (Clark et al.: attention *to* a split word is the sum over its pieces,
   * *from* it the mean), 4 decimals; `null` for a pruned head.
   */
  attention: (number[][] | null)[][];
  /** The per-head statistics over the words. */
  stats: HeadStats;
}

export type { LabelProbability, TokenProbability } from "./page/analysis_tables.ts";

/**
 * The `/api/analyze` answer (see `web/README.md`): the tables the page draws (attention, entropy, hidden-state
 * norms, logits/probabilities or next tokens — built by the same code the in-browser compute uses), and more.
 */
export interface AnalyzeResponse extends AnalysisTables {
  tokens: string[];
  input_ids: number[];
  token_type_ids: number[];
  /** The layers of `attention`, ascending. */
  layers: number[];
  /** The heads of `attention`, ascending, original numbering. */
  heads: number[];
  /** Compute time in milliseconds (queueing excluded). */
  elapsed_ms: number;
  /** With `word_level: true`: per-head statistics over the tokens (Clark et al., for this one sentence). */
  stats?: HeadStats;
  /** With `word_level: true`: word-level maps and statistics. */
  word_level?: WordLevelAttention;
}

/**
 * Checks an `/api/analyze` body.
 *
 * @param body the parsed JSON
 * @param model the model (for layer and head ranges)
 * @param limits the limits
 * @returns the checked request
 * @throws {HttpError} 400/413 naming the field
 * @example Usage
 * ```ts ignore
 * parseAnalyzeRequest({ text: "hello", layers: [0] }, model, limits);
 * ```
 */
export function parseAnalyzeRequest(body: unknown, model: TransformerModel, limits: Limits): AnalyzeRequest {
  const obj = requireObject(body);
  const known = new Set(["text", "text_pair", "layers", "heads", "word_level", "backend"]); // the app reads backend
  for (const k of Object.keys(obj)) {
    if (!known.has(k)) {
      throw new HttpError(
        400,
        "invalid_field",
        `Unknown field ${excerpt(k)} (expected text, text_pair, layers, heads, word_level, backend)`,
        {
          field: fieldName(k),
        },
      );
    }
  }
  const req: AnalyzeRequest = { text: textField(obj, "text", "text", limits, false)! };
  const pair = textField(obj, "text_pair", "text_pair", limits, true);
  if (pair !== undefined) req.text_pair = pair;
  const layers = indexListField(obj, "layers", model.config.layers);
  if (layers) req.layers = layers;
  const heads = indexListField(obj, "heads", model.config.heads);
  if (heads) req.heads = heads;
  const wl = obj.word_level;
  if (wl !== undefined && wl !== null) {
    if (typeof wl !== "boolean") {
      throw new HttpError(400, "invalid_field", `"word_level" must be true or false, got ${excerpt(wl)}`, {
        field: "word_level",
      });
    }
    if (wl) req.word_level = true;
  }
  return req;
}

/**
 * Encodes a text (or pair) and checks its length against `limits.maxTokens`.
 *
 * @param tokenizer the model's tokenizer
 * @param text the text
 * @param textPair the optional second text
 * @param limits the limits (`maxTokens` is already capped at `max_position_embeddings`)
 * @param field the field name for messages (`text`, `examples[3].text`)
 * @returns the encoding
 * @throws {HttpError} 422 `too_many_tokens` or `invalid_field` (no tokens at all; a lone surrogate, naming its field)
 * @example Usage
 * ```ts ignore
 * encodeChecked(tokenizer, "hello", undefined, limits, "text").tokens;
 * ```
 */
export function encodeChecked(
  tokenizer: Tokenizer,
  text: string,
  textPair: string | undefined,
  limits: Limits,
  field: string,
): Encoding {
  let enc: Encoding;
  try {
    enc = tokenizer.encode(text, textPair);
  } catch (e) {
    // a lone surrogate: name the field that holds it (`field` is the pair's when there is a pair)
    throw asHttpError(
      e,
      textPair !== undefined && !text.isWellFormed() ? field.replace(/text_pair$/, "text") : field,
    ) ??
      e;
  }
  const where = textPair === undefined ? `"${field}"` : `"${field}" with its "text_pair"`;
  if (enc.ids.length > limits.maxTokens) {
    throw new HttpError(
      422,
      "too_many_tokens",
      `${where} encodes to ${enc.ids.length} tokens; the limit is ${limits.maxTokens} (max_position_embeddings or the configured token limit)`,
      { field },
    );
  }
  if (enc.ids.length === 0) {
    throw new HttpError(422, "invalid_field", `${where} encodes to no tokens at all`, { field });
  }
  return enc;
}

/**
 * Turns an encoding into a one-row batch.
 *
 * @param enc the encoding
 * @returns the batch
 * @example Usage
 * ```ts
 * import { encodingBatch } from "./analyze.ts";
 * encodingBatch({ ids: [101, 102], tokenTypeIds: [0, 0] }).seqLen; // 2
 * ```
 */
export function encodingBatch(enc: Pick<Encoding, "ids" | "tokenTypeIds">): Batch {
  return {
    batchSize: 1,
    seqLen: enc.ids.length,
    inputIds: Int32Array.from(enc.ids),
    tokenTypeIds: Int32Array.from(enc.tokenTypeIds),
  };
}

/**
 * The graph outputs an ONNX Runtime backend computes an analysis from: every layer's attention (entropy needs
 * them all), every hidden state, and the logits when the model has an output head.
 *
 * @param model the model
 * @returns options for `exportOnnx`
 * @example Usage
 * ```ts ignore
 * analysisExportOptions(model); // { outputs: ["hidden_states", "attentions", "logits"] }
 * ```
 */
export function analysisExportOptions(model: TransformerModel): ExportOptions {
  const outputs = ["hidden_states", "attentions"];
  if (model.task === "lm" || model.hasHead) outputs.push("logits");
  return { outputs };
}

/**
 * Runs one analysis on our engine (synchronous compute; call it from the compute queue).
 *
 * @param model the model
 * @param tokenizer its tokenizer
 * @param req the checked request
 * @param limits the limits
 * @param deadline checked between the steps
 * @returns the answer
 * @throws {HttpError} 422 for too many tokens, 503 when the deadline passes
 * @example Usage
 * ```ts ignore
 * const out = analyze(model, tokenizer, { text: "hello" }, limits, new Deadline(1000));
 * out.attention.length; // model.config.layers
 * ```
 */
export function analyze(
  model: TransformerModel,
  tokenizer: Tokenizer,
  req: AnalyzeRequest,
  limits: Limits,
  deadline: Deadline,
): AnalyzeResponse {
  const t0 = performance.now();
  const c = model.config;
  const enc = encodeRequest(tokenizer, req, limits);
  const layers = req.layers ?? Array.from({ length: c.layers }, (_, l) => l);
  const hidden = Array.from({ length: c.layers + 1 }, (_, i) => model.family.hiddenStateHook(i, c));
  // the logits too: a language model's next-token candidates come from them
  // word level: every layer's maps, for the statistics
  const patternLayers = req.word_level ? Array.from({ length: c.layers }, (_, l) => l) : layers;
  const names = [...patternLayers.map((l) => hookName("pattern", l)), ...hidden, hookName("logits")];
  deadline.check("forward pass");
  const meter = attentionEntropyMeter(model);
  const r = model.run({ batch: encodingBatch(enc), names, observe: meter.observe });
  return answer(model, tokenizer, req, enc, r, meter.sums().data, deadline, t0);
}

/**
 * Analyses exact token ids (a generated sequence, which decoding and re-encoding need not reproduce): the same
 * answer as {@linkcode analyze} gives for a text that encodes to `ids`, without word-level views.
 *
 * @param model the model
 * @param tokenizer its tokenizer (for the tokens' names)
 * @param ids the token ids (checked by the caller: in the vocabulary, at most `limits.maxTokens`)
 * @param limits the limits
 * @param deadline checked before the forward pass
 * @returns the answer
 * @throws {HttpError} 503 when the deadline passes
 * @example Usage
 * ```ts ignore
 * analyzeIds(model, tokenizer, [1, 403, 411], limits, new Deadline(1000)).tokens;
 * ```
 */
export function analyzeIds(
  model: TransformerModel,
  tokenizer: Tokenizer,
  ids: readonly number[],
  limits: Limits,
  deadline: Deadline,
): AnalyzeResponse {
  const t0 = performance.now();
  const c = model.config;
  const enc: Encoding = {
    ids: [...ids],
    tokenTypeIds: ids.map(() => 0),
    tokens: ids.map((id) => tokenizer.idToToken(id)),
    offsets: ids.map(() => [0, 0]),
    sequenceIds: ids.map(() => 0),
  };
  if (enc.ids.length > limits.maxTokens) {
    throw new HttpError(422, "too_many_tokens", `${ids.length} tokens is more than the limit of ${limits.maxTokens}`);
  }
  const layers = Array.from({ length: c.layers }, (_, l) => l);
  const hidden = Array.from({ length: c.layers + 1 }, (_, i) => model.family.hiddenStateHook(i, c));
  const names = [...layers.map((l) => hookName("pattern", l)), ...hidden, hookName("logits")];
  deadline.check("forward pass");
  const meter = attentionEntropyMeter(model);
  const r = model.run({ batch: encodingBatch(enc), names, observe: meter.observe });
  return answer(model, tokenizer, { text: "" }, enc, r, meter.sums().data, deadline, t0);
}

/**
 * Runs one analysis through a graph exported with {@linkcode analysisExportOptions} on ONNX Runtime: the same
 * answer as {@linkcode analyze}, within the runtime's float error.
 *
 * @param model the model (its config and tokenizer-facing parts)
 * @param onnx the exported graph in a session
 * @param tokenizer its tokenizer
 * @param req the checked request
 * @param limits the limits
 * @param deadline checked between the steps
 * @returns the answer
 * @throws {HttpError} 422 for too many tokens, 503 when the deadline passes
 * @example Usage
 * ```ts ignore
 * const out = await analyzeOnOrt(model, onnx, tokenizer, { text: "hello" }, limits, new Deadline(1000));
 * ```
 */
export async function analyzeOnOrt(
  model: TransformerModel,
  onnx: OrtModel,
  tokenizer: Tokenizer,
  req: AnalyzeRequest,
  limits: Limits,
  deadline: Deadline,
): Promise<AnalyzeResponse> {
  const t0 = performance.now();
  const c = model.config;
  const enc = encodeRequest(tokenizer, req, limits);
  deadline.check("forward pass");
  const r = await onnx.run({ batch: encodingBatch(enc) });
  const T = enc.ids.length;
  const entropy = entropySumsOfPatterns(c, T, (l) => r.cache.get(hookName("pattern", l))!.data);
  return answer(model, tokenizer, req, enc, r, entropy, deadline, t0);
}

function encodeRequest(tokenizer: Tokenizer, req: AnalyzeRequest, limits: Limits): Encoding {
  const field = req.text_pair === undefined ? "text" : "text_pair";
  return encodeChecked(tokenizer, req.text, req.text_pair, limits, field);
}

/** The answer from one pass's cache (hook names as `TransformerModel.run` and `OrtModel.run` give them). */
function answer(
  model: TransformerModel,
  tokenizer: Tokenizer,
  req: AnalyzeRequest,
  enc: Encoding,
  r: RunResult,
  entropySums: ArrayLike<number>,
  deadline: Deadline,
  t0: number,
): AnalyzeResponse {
  const c = model.config;
  const layers = req.layers ?? Array.from({ length: c.layers }, (_, l) => l);
  const heads = req.heads ?? Array.from({ length: c.heads }, (_, h) => h);
  deadline.check("attention maps");
  const pattern = (l: number) => r.cache.get(hookName("pattern", l))!.data;
  const tables = analysisTables(
    { ...c, task: model.task },
    enc.ids.length,
    layers,
    heads,
    {
      pattern,
      hidden: (i) => r.cache.get(model.family.hiddenStateHook(i, c))!.data,
      logits: r.logits?.data,
      entropySums,
    },
    (id) => tokenizer.idToToken(id),
  );
  let extra: { stats: HeadStats; word_level: WordLevelAttention } | undefined;
  if (req.word_level) {
    deadline.check("word-level attention");
    extra = wordLevel(model, tokenizer, enc, layers, heads, pattern, req.text, req.text_pair);
  }
  return {
    tokens: enc.tokens,
    input_ids: enc.ids,
    token_type_ids: enc.tokenTypeIds,
    layers,
    heads,
    ...tables,
    elapsed_ms: Math.round(performance.now() - t0),
    ...(extra ?? {}),
  };
}

/**
 * The word-level maps of the asked-for heads and the per-head statistics of every head, over tokens and over
 * words. The words are the encoding's tokens grouped back into words (`core/attribution`'s `wordSpans`), so the
 * word-level maps are those of the token maps the same answer carries.
 */
function wordLevel(
  model: TransformerModel,
  tokenizer: Tokenizer,
  enc: Encoding,
  layers: readonly number[],
  heads: readonly number[],
  pattern: (layer: number) => Float32Array,
  text: string,
  textPair: string | undefined,
): { stats: HeadStats; word_level: WordLevelAttention } {
  const c = model.config, T = enc.ids.length;
  const spans = wordSpans(enc, text, textPair);
  const words: AlignedWord[] = spans.map((w, i) => ({ start: w.start, end: w.end, source: i, form: w.text }));
  const W = words.length;
  const sep = separatorIds(tokenizer);
  const punct = (s: string) => s === "." || s === ",";
  const tokenFlags = {
    sep: Uint8Array.from(enc.ids, (id) => (sep.has(id) ? 1 : 0)),
    punct: Uint8Array.from(enc.ids, (id) => (punct(tokenizer.decode([id]).trim()) ? 1 : 0)),
  };
  const wordFlags = {
    sep: Uint8Array.from(words, (w) => (w.end - w.start === 1 && sep.has(enc.ids[w.start]!) ? 1 : 0)),
    punct: Uint8Array.from(words, (w) => (punct(w.form) ? 1 : 0)),
  };
  // [L·H, n, n] maps, a pruned head left at zero (its statistics are reported as null)
  const LH = c.layers * c.heads;
  const tokenMaps = new Float64Array(LH * T * T), wordMaps = new Float64Array(LH * W * W);
  for (let l = 0; l < c.layers; l++) {
    const p = pattern(l);
    keptHeads(c, l).forEach((h, k) => {
      const map = p.subarray(k * T * T, (k + 1) * T * T);
      tokenMaps.set(map, (l * c.heads + h) * T * T);
      wordMaps.set(wordLevelAttention(map, T, words), (l * c.heads + h) * W * W);
    });
  }
  const statsOf = (maps: Float64Array, n: number, flags: { sep: Uint8Array; punct: Uint8Array }): HeadStats => {
    const meter = new AttentionStatsMeter(LH);
    meter.add({ n, maps }, flags);
    const r = meter.result();
    const out = {} as HeadStats;
    for (const k of ATTENTION_STATS) {
      out[k] = Array.from({ length: c.layers }, (_, l) => {
        const pruned = new Set(c.prunedHeads[l]);
        return Array.from({ length: c.heads }, (_, h) => (pruned.has(h) ? null : round4(r[k][l * c.heads + h]!)));
      });
    }
    return out;
  };
  const attention = layers.map((l) => {
    const pruned = new Set(c.prunedHeads[l]);
    return heads.map((h) => {
      if (pruned.has(h)) return null;
      const o = (l * c.heads + h) * W * W;
      return Array.from({ length: W }, (_, a) => Array.from(wordMaps.subarray(o + a * W, o + (a + 1) * W), round4));
    });
  });
  return {
    stats: statsOf(tokenMaps, T, tokenFlags),
    word_level: {
      words: spans.map((w) => ({ text: w.text, start: w.start, end: w.end })),
      attention,
      stats: statsOf(wordMaps, W, wordFlags),
    },
  };
}
