/**
 * `POST /api/patch`: activation patching per head. The corrupted sentence (same token count as the clean one)
 * is re-run once per head with that head's `hook_z` taken from the clean run, and once per layer with its MLP
 * output; the answer is the restored fraction (d_patched − d_corrupted) / (d_clean − d_corrupted) of
 * d = logit[target] − logit[other], through `core/attribution`'s `patchHeads`, as `bertology patch --json`.
 *
 * @module
 */

import { patchHeads } from "@bertology/core/attribution";
import type { TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import { HttpError } from "./_errors.ts";
import type { Limits } from "./_limits.ts";
import type { Deadline } from "./_queue.ts";
import { encodeChecked } from "./analyze.ts";
import { refuseUnknown, requireHead, resolveTargetField, targetField, targetName } from "./attribute.ts";
import { requireObject, textField } from "./_validate.ts";

/** A checked `/api/patch` request. */
export interface PatchRequest {
  clean: string;
  corrupted: string;
  /** A class index or label name (classifiers), a token id or token (language models); default the clean prediction. */
  target?: number | string;
}

/** The `/api/patch` answer (see `web/README.md`); the fields of `bertology patch --json`. */
export interface PatchResponse {
  /** [L][H] restored fraction per head (original numbering); `null` for a pruned head. */
  effect: (number | null)[][];
  /** d on the clean sentence. */
  logit_diff_clean: number;
  /** d on the corrupted sentence. */
  logit_diff_corrupted: number;
  /** The class index or next-token id of d. */
  target: number;
  /** The logit d compares with. */
  other: number;
  /** The class name or token of `target`. */
  target_name: string;
  /** The class name or token of `other`. */
  other_name: string;
  /** [L] restored fraction per layer's MLP. */
  mlp: number[];
  /** The clean sentence's tokens. */
  tokens_clean: string[];
  /** The corrupted sentence's tokens (as many as the clean one's). */
  tokens_corrupted: string[];
  /** Compute time in milliseconds (queueing excluded). */
  elapsed_ms: number;
}

/**
 * Checks an `/api/patch` body.
 *
 * @param body the parsed JSON
 * @param model the model (it must have a head)
 * @param limits the limits
 * @returns the checked request
 * @throws {HttpError} 400/413/422 naming the field
 * @example Usage
 * ```ts ignore
 * parsePatchRequest({ clean: "a fine film", corrupted: "a dull film" }, model, limits);
 * ```
 */
export function parsePatchRequest(body: unknown, model: TransformerModel, limits: Limits): PatchRequest {
  const obj = requireObject(body);
  refuseUnknown(obj, ["clean", "corrupted", "target"]);
  const req: PatchRequest = {
    clean: textField(obj, "clean", "clean", limits, false)!,
    corrupted: textField(obj, "corrupted", "corrupted", limits, false)!,
  };
  const target = targetField(obj);
  if (target !== undefined) req.target = target;
  requireHead(model, "clean");
  return req;
}

/**
 * Runs one patching sweep (synchronous compute; call it from the compute queue).
 *
 * @param model the model
 * @param tokenizer its tokenizer
 * @param req the checked request
 * @param limits the limits
 * @param deadline checked before the compute
 * @returns the answer
 * @throws {HttpError} 422 for too many tokens, sentences of different token counts or equal logit differences;
 *   503 when the deadline passes
 * @example Usage
 * ```ts ignore
 * patch(model, tokenizer, { clean: "a fine film", corrupted: "a dull film" }, limits, new Deadline(5000)).effect;
 * ```
 */
export function patch(
  model: TransformerModel,
  tokenizer: Tokenizer,
  req: PatchRequest,
  limits: Limits,
  deadline: Deadline,
): PatchResponse {
  const t0 = performance.now();
  const clean = encodeChecked(tokenizer, req.clean, undefined, limits, "clean");
  const corrupted = encodeChecked(tokenizer, req.corrupted, undefined, limits, "corrupted");
  if (corrupted.ids.length !== clean.ids.length) {
    throw new HttpError(
      422,
      "invalid_field",
      `"corrupted" must encode to as many tokens as "clean" (${clean.ids.length}), got ${corrupted.ids.length}`,
      { field: "corrupted" },
    );
  }
  if (corrupted.ids.every((id, i) => id === clean.ids[i])) {
    throw new HttpError(422, "invalid_field", `"corrupted" encodes to the same tokens as "clean": nothing to restore`, {
      field: "corrupted",
    });
  }
  const target = resolveTargetField(model, tokenizer, req.target);
  deadline.check("patching");
  let p;
  try {
    p = patchHeads(
      model,
      { inputIds: clean.ids, tokenTypeIds: clean.tokenTypeIds },
      { inputIds: corrupted.ids, tokenTypeIds: corrupted.tokenTypeIds },
      target === undefined ? {} : { target },
    );
  } catch (e) {
    // the one input-dependent refusal of patchHeads: both sentences give the same d
    if (e instanceof Error && e.message.includes("same logit difference")) {
      throw new HttpError(422, "invalid_field", `"corrupted": ${e.message}`, { field: "corrupted" });
    }
    throw e;
  }
  const H = model.config.heads;
  const num = (v: number) => (Number.isNaN(v) ? null : v);
  return {
    effect: Array.from(
      { length: model.config.layers },
      (_, l) => Array.from(p.heads.data.subarray(l * H, (l + 1) * H), num),
    ),
    logit_diff_clean: p.logitDiffClean,
    logit_diff_corrupted: p.logitDiffCorrupted,
    target: p.target,
    other: p.other,
    target_name: targetName(model, tokenizer, p.target),
    other_name: targetName(model, tokenizer, p.other),
    mlp: Array.from(p.mlp),
    tokens_clean: clean.tokens,
    tokens_corrupted: corrupted.tokens,
    elapsed_ms: Math.round(performance.now() - t0),
  };
}
