/**
 * `POST /api/importance`: head importance (Michel et al., 2019; the mask-gradient score of HF's
 * `run_bertology.py`) and attention entropy over a small labelled batch, through `core/bertology`.
 *
 * @module
 */

import { computeHeadImportance, type LabelledBatch } from "../core/bertology/importance.ts";
import type { TransformerModel } from "../core/models/model.ts";
import type { Tensor } from "../core/tensor.ts";
import type { Tokenizer } from "../core/tokenizers/types.ts";
import { excerpt, HttpError } from "./_errors.ts";
import type { Limits } from "./_limits.ts";
import type { Deadline } from "./_queue.ts";
import { fieldName, requireObject, textField, typeOf } from "./_validate.ts";
import { encodeChecked, encodingBatch } from "./analyze.ts";

/** The fields an example may have. */
const EXAMPLE_FIELDS = new Set(["text", "text_pair", "label"]);

/** One checked example. */
export interface ImportanceExample {
  text: string;
  text_pair?: string;
  /** Class index (BERT classifiers); absent for GPT language models (next-token loss). */
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
  /** Mean loss over the examples. */
  loss: number;
  /** Classifiers: predicted class index per example, else empty. */
  preds: number[];
  /** Classifiers: label index per example, else empty. */
  labels: number[];
  /** Classifiers: fraction of correct predictions, else `null`. */
  accuracy: number | null;
  /** Compute time in milliseconds (queueing excluded). */
  elapsed_ms: number;
}

/**
 * Checks an `/api/importance` body: 1 to `limits.maxExamples` examples, each with a text, an optional pair
 * and (classifiers) a label given as an index or a label name.
 *
 * @param body the parsed JSON
 * @param model the model (labels, family)
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
    if (k !== "examples") {
      throw new HttpError(400, "invalid_field", `Unknown field ${excerpt(k)} (expected examples)`, {
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
  const classifier = model.config.family === "bert";
  if (classifier && !model.hasHead) {
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
    if (!classifier) {
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
 * Measures head importance and entropy over the examples, one example per batch, checking the deadline
 * between batches (synchronous compute; call it from the compute queue).
 *
 * @param model the model
 * @param tokenizer its tokenizer
 * @param examples the checked examples
 * @param limits the limits
 * @param deadline checked before each example
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
  // encode everything first so that a token-limit error comes before any compute
  const batches: LabelledBatch[] = examples.map((ex, i) => {
    const field = `examples[${i}].${ex.text_pair === undefined ? "text" : "text_pair"}`;
    const batch = encodingBatch(encodeChecked(tokenizer, ex.text, ex.text_pair, limits, field));
    return { batch, labels: ex.label === undefined ? "lm" : new Int32Array([ex.label]) };
  });
  function* checked(): Generator<LabelledBatch> {
    for (let i = 0; i < batches.length; i++) {
      deadline.check(`example ${i}`);
      yield batches[i]!;
    }
  }
  const r = computeHeadImportance(model, checked());
  const c = model.config;
  const table = (t: Tensor) =>
    Array.from({ length: c.layers }, (_, l) => {
      const pruned = new Set(c.prunedHeads[l]);
      return Array.from({ length: c.heads }, (_, h) =>
        pruned.has(h) ? null : Number(t.data[l * c.heads + h]!.toPrecision(6)));
    });
  const correct = r.preds.filter((p, i) => p === r.labels[i]).length;
  return {
    importance: table(r.importance),
    importance_raw: table(r.importanceRaw),
    entropy: table(r.entropy),
    total_tokens: r.totalTokens,
    loss: Number(r.loss.toPrecision(6)),
    preds: r.preds,
    labels: r.labels,
    accuracy: r.labels.length > 0 ? correct / r.labels.length : null,
    elapsed_ms: Math.round(performance.now() - t0),
  };
}
