/**
 * `POST /api/importance`: head importance (Michel et al., 2019; the mask-gradient score of HF's
 * `run_bertology.py`) and attention entropy over a small labelled batch, through `core/studies`: each
 * example is read as the CLI reads it (`encodeExample`, the GPT-2 `<|endoftext|>` framing included), the
 * examples run length-bucketed with per-example importance and are scored by the task's own metric, so the
 * page and `bertology heads` give the same numbers at any batch size.
 *
 * @module
 */

import type { LabelledBatch } from "@bertology/core/bertology";
import { makeBatches } from "@bertology/core/data";
import type { TransformerModel } from "@bertology/core/models";
import { encodeExample } from "@bertology/core/studies";
import { type ImportanceStudy, studyHeadImportance, studyHeadImportanceWith } from "@bertology/core/studies";
import { ortImportanceEngine, type OrtModel } from "@bertology/core/export";
import type { Tensor } from "@bertology/core";
import type { Tokenizer } from "@bertology/core/tokenizers";
import { asHttpError, excerpt, HttpError } from "./_errors.ts";
import type { Limits } from "./_limits.ts";
import type { Deadline } from "./_queue.ts";
import { fieldName, requireObject, textField, typeOf } from "./_validate.ts";

/** Examples per forward pass: length-bucketed, so each pass is padded only to its longest example. */
const BATCH_SIZE = 8;

/** The fields an example may have. */
const EXAMPLE_FIELDS = new Set(["text", "text_pair", "label"]);

/** One checked example. */
export interface ImportanceExample {
  text: string;
  text_pair?: string;
  /** Class index (classifiers), target value (regressors); absent for language models (next-token loss). */
  label?: number;
}

/** The `/api/importance` answer (see `web/README.md`). */
export interface ImportanceResponse {
  /** Normalised importance [layers][heads] (per-layer L2, then min-max over all heads); `null` for pruned heads. */
  importance: (number | null)[][];
  /** Importance before normalisation: Σ |∂loss/∂mask| / tokens. */
  importance_raw: (number | null)[][];
  /** Mean attention entropy (nats) per token [layers][heads]. */
  entropy: (number | null)[][];
  /** Non-pad tokens seen. */
  total_tokens: number;
  /** Mean loss over the examples (per next token for a language model). */
  loss: number;
  /** Classifiers: predicted class index per example; regressors: predicted value; else empty. */
  preds: number[];
  /** Classifiers: label index per example; regressors: target value; else empty. */
  labels: number[];
  /** Classifiers: fraction of correct predictions, else `null`. */
  accuracy: number | null;
  /** The metric of `score`: `acc` (classifier), `corr` (regressor), `inv_ppl` (language model). */
  metric: string;
  /** The examples' score by `metric` (`null` when it is undefined, e.g. a correlation of one example). */
  score: number | null;
  /** Compute time in milliseconds (queueing excluded). */
  elapsed_ms: number;
}

/**
 * Checks an `/api/importance` body: 1 to `limits.maxExamples` examples, each with a text, an optional pair
 * and a label: a class index or label name (classifiers), a number (regressors), none (language models).
 *
 * @param body the parsed JSON
 * @param model the model (task kind, labels)
 * @param limits the limits
 * @returns the checked examples
 * @throws {HttpError} 400/413/422 naming the field (`examples[2].label`)
 * @example Usage
 * ```ts ignore
 * parseImportanceRequest({ examples: [{ text: "good", label: 1 }] }, model, limits);
 * ```
 */
export function parseImportanceRequest(body: unknown, model: TransformerModel, limits: Limits): ImportanceExample[] {
  const obj = requireObject(body);
  for (const k of Object.keys(obj)) {
    if (k !== "examples" && k !== "backend") { // the app reads backend
      throw new HttpError(400, "invalid_field", `Unknown field ${excerpt(k)} (expected examples, backend)`, {
        field: fieldName(k),
      });
    }
  }
  const list = obj.examples;
  if (!Array.isArray(list) || list.length === 0) {
    throw new HttpError(400, "invalid_field", `"examples" must be a non-empty array, got ${typeOf(list)}`, {
      field: "examples",
    });
  }
  if (list.length > limits.maxExamples) {
    throw new HttpError(
      413,
      "too_many_examples",
      `"examples" has ${list.length} items; the limit is ${limits.maxExamples}`,
      { field: "examples" },
    );
  }
  const task = model.task;
  if (task === "mlm") {
    throw new HttpError(
      422,
      "invalid_field",
      "Importance in the analyzer is for classifiers and language models; a masked LM's loss needs masked positions (use the library or the CLI)",
      { field: "examples" },
    );
  }
  if (task !== "lm" && !model.hasHead) {
    throw new HttpError(422, "invalid_field", "This model has no classifier head, so it has no loss for labels", {
      field: "examples",
    });
  }
  const labels = model.config.labels;
  return list.map((item, i) => {
    const ex = requireObject(item, `examples[${i}]`);
    for (const k of Object.keys(ex)) {
      if (!EXAMPLE_FIELDS.has(k)) {
        throw new HttpError(
          400,
          "invalid_field",
          `Unknown field ${excerpt(k)} in "examples[${i}]" (expected text, text_pair, label)`,
          { field: `examples[${i}].${fieldName(k)}` },
        );
      }
    }
    const out: ImportanceExample = { text: textField(ex, "text", `examples[${i}].text`, limits, false)! };
    const pair = textField(ex, "text_pair", `examples[${i}].text_pair`, limits, true);
    if (pair !== undefined) out.text_pair = pair;
    const field = `examples[${i}].label`;
    const v = ex.label;
    if (task === "lm") {
      if (v !== undefined && v !== null) {
        throw new HttpError(
          400,
          "invalid_field",
          `"${field}" must be absent: a ${model.config.family} model's loss is next-token prediction`,
          { field },
        );
      }
      return out;
    }
    if (task === "regress") {
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new HttpError(
          400,
          "invalid_field",
          `"${field}" must be a finite number, got ${JSON.stringify(v ?? null)}`,
          {
            field,
          },
        );
      }
      out.label = v;
      return out;
    }
    if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v < labels.length) out.label = v;
    else if (typeof v === "string" && labels.includes(v)) out.label = labels.indexOf(v);
    else {
      throw new HttpError(
        400,
        "invalid_field",
        `"${field}" must be a class index 0..${labels.length - 1} or one of ${JSON.stringify(labels)}, got ${
          excerpt(v ?? null)
        }`,
        { field },
      );
    }
    return out;
  });
}

/**
 * Measures head importance and entropy over the examples, length-bucketed in batches of up to 8, checking
 * the deadline between batches (synchronous compute; call it from the compute queue). Importance is summed
 * per example, so the batching does not change it; predictions come back in the examples' order.
 *
 * @param model the model
 * @param tokenizer its tokenizer
 * @param examples the checked examples
 * @param limits the limits
 * @param deadline checked before each batch
 * @returns the answer
 * @throws {HttpError} 422 for an example with too many tokens, 503 when the deadline passes
 * @example Usage
 * ```ts ignore
 * importance(model, tokenizer, [{ text: "good", label: 1 }], limits, new Deadline(1000)).importance;
 * ```
 */
export function importance(
  model: TransformerModel,
  tokenizer: Tokenizer,
  examples: ImportanceExample[],
  limits: Limits,
  deadline: Deadline,
): ImportanceResponse {
  const t0 = performance.now();
  const batches = checkedBatches(model, tokenizer, examples, limits, deadline);
  return answer(model, studyHeadImportance(model, { batches }), t0);
}

/**
 * {@linkcode importance} through a graph exported with `importanceExportOptions(true)` on ONNX Runtime: the same
 * answer, within the runtime's float error.
 *
 * @param model the model
 * @param onnx the exported graph in a session
 * @param tokenizer its tokenizer
 * @param examples the checked examples
 * @param limits the limits
 * @param deadline checked before each batch
 * @returns the answer
 * @throws {HttpError} 422 for an example with too many tokens, 503 when the deadline passes
 * @example Usage
 * ```ts ignore
 * await importanceOnOrt(model, onnx, tokenizer, [{ text: "good", label: 1 }], limits, new Deadline(1000));
 * ```
 */
export async function importanceOnOrt(
  model: TransformerModel,
  onnx: OrtModel,
  tokenizer: Tokenizer,
  examples: ImportanceExample[],
  limits: Limits,
  deadline: Deadline,
): Promise<ImportanceResponse> {
  const t0 = performance.now();
  const batches = checkedBatches(model, tokenizer, examples, limits, deadline);
  return answer(model, await studyHeadImportanceWith(model, { batches }, ortImportanceEngine(onnx)), t0);
}

/** The examples encoded (every token-limit error before any compute) and batched, the deadline checked per batch. */
function checkedBatches(
  model: TransformerModel,
  tokenizer: Tokenizer,
  examples: ImportanceExample[],
  limits: Limits,
  deadline: Deadline,
): Iterable<LabelledBatch> {
  const task = model.task;
  const encoded = examples.map((ex, i) => {
    const field = `examples[${i}].${ex.text_pair === undefined ? "text" : "text_pair"}`;
    const text = ex.text_pair === undefined ? { textA: ex.text } : { textA: ex.text, textB: ex.text_pair };
    let enc: ReturnType<typeof encodeExample>;
    try {
      enc = encodeExample(task, tokenizer, text);
    } catch (e) {
      throw asHttpError(e, ex.text.isWellFormed() ? field : `examples[${i}].text`) ?? e; // a lone surrogate
    }
    checkLength(enc.ids.length, ex.text_pair !== undefined, limits, field);
    return enc;
  });
  const batches: LabelledBatch[] = makeBatches(encoded, {
    batchSize: BATCH_SIZE,
    padId: tokenizer.padId,
    bucket: true,
    outputMode: task === "regress" ? "regression" : "classification",
    ...(task === "lm" ? {} : { labels: examples.map((ex) => ex.label ?? 0) }),
  }).map((b) => ({ batch: b, labels: task === "lm" || b.labels === undefined ? "lm" : b.labels, rows: b.rows }));
  return {
    *[Symbol.iterator]() {
      for (let i = 0; i < batches.length; i++) {
        deadline.check(`batch ${i}`);
        yield batches[i]!;
      }
    },
  };
}

/** The answer's tables from a study's result. */
function answer(model: TransformerModel, r: ImportanceStudy, t0: number): ImportanceResponse {
  const task = model.task;
  const c = model.config;
  const table = (t: Tensor) =>
    Array.from({ length: c.layers }, (_, l) => {
      const pruned = new Set(c.prunedHeads[l]);
      return Array.from({ length: c.heads }, (_, h) =>
        pruned.has(h) ? null : Number(t.data[l * c.heads + h]!.toPrecision(6)));
    });
  return {
    importance: table(r.importance),
    importance_raw: table(r.importanceRaw),
    entropy: table(r.entropy),
    total_tokens: r.totalTokens,
    loss: Number(r.loss.toPrecision(6)),
    preds: r.preds,
    labels: r.labels,
    accuracy: task === "classify" ? r.metrics.acc ?? null : null,
    metric: r.metric,
    score: Number.isFinite(r.score) ? Number(r.score.toPrecision(6)) : null,
    elapsed_ms: Math.round(performance.now() - t0),
  };
}

/** The `encodeChecked` token-limit errors, for an example encoded by core's `encodeExample`. */
function checkLength(tokens: number, pair: boolean, limits: Limits, field: string): void {
  const where = pair ? `"${field}" with its "text_pair"` : `"${field}"`;
  if (tokens > limits.maxTokens) {
    throw new HttpError(
      422,
      "too_many_tokens",
      `${where} encodes to ${tokens} tokens; the limit is ${limits.maxTokens} (max_position_embeddings or the configured token limit)`,
      { field },
    );
  }
  if (tokens === 0) throw new HttpError(422, "invalid_field", `${where} encodes to no tokens at all`, { field });
}
