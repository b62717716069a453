/**
 * `GET /api/onnx?outputs=logits,attentions`: the app's model exported to ONNX (the exporter's graph contract:
 * inputs `input_ids`, `attention_mask`, `token_type_ids` for BERT, `head_mask`; the outputs asked for), for a
 * page that runs it in the browser through onnxruntime-web. Exported once per outputs set and kept.
 *
 * @module
 */

import type { TransformerModel } from "@bertology/core/models";
import { excerpt, HttpError } from "./_errors.ts";
import type { Limits } from "./_limits.ts";
import type { OnnxExports } from "./_ort_sessions.ts";

/** The output groups `outputs` may name (HF's names; each group is every layer's). */
export const ONNX_OUTPUT_GROUPS = ["logits", "attentions", "hidden_states"] as const;

/** What `outputs` is when absent. */
const DEFAULT_OUTPUTS = ["logits", "attentions"];

/**
 * Checks the `outputs` query parameter.
 *
 * @param param its value (`null` when absent)
 * @returns the groups, sorted, without repeats
 * @throws {HttpError} 400 `invalid_field` (field `outputs`) for a name that is not a group
 * @example Usage
 * ```ts
 * import { parseOnnxOutputs } from "./onnx_route.ts";
 * parseOnnxOutputs("attentions,logits"); // ["attentions", "logits"]
 * ```
 */
export function parseOnnxOutputs(param: string | null): string[] {
  if (param === null) return DEFAULT_OUTPUTS;
  const names = param.split(",").map((s) => s.trim());
  for (const n of names) {
    if (!(ONNX_OUTPUT_GROUPS as readonly string[]).includes(n)) {
      throw new HttpError(
        400,
        "invalid_field",
        `"outputs" lists ${excerpt(n)}; it takes a comma-separated list of ${ONNX_OUTPUT_GROUPS.join(", ")}`,
        { field: "outputs" },
      );
    }
  }
  return [...new Set(names)].sort();
}

/**
 * The exported model as an `application/octet-stream` response.
 *
 * @param exports the app's export cache
 * @param outputsParam the `outputs` query parameter
 * @param model the model (refused: logits of a model without an output head)
 * @param limits `maxOnnxBytes`
 * @returns the response
 * @throws {HttpError} 400 for bad `outputs`, 422 for an output the model lacks, 413 `model_too_large`
 * @example Usage
 * ```ts ignore
 * const res = onnxResponse(exports, "logits,attentions", model, limits);
 * ```
 */
export function onnxResponse(
  exports: OnnxExports,
  outputsParam: string | null,
  model: TransformerModel,
  limits: Limits,
): Response {
  const outputs = parseOnnxOutputs(outputsParam);
  if (outputs.includes("logits") && model.task !== "lm" && !model.hasHead) {
    throw new HttpError(422, "invalid_field", `"outputs" asks for logits, but this checkpoint has no output head`, {
      field: "outputs",
    });
  }
  const bytes = exports.bytes({ outputs });
  if (bytes.byteLength > limits.maxOnnxBytes) {
    throw new HttpError(
      413,
      "model_too_large",
      `The exported model has ${bytes.byteLength} bytes; this server hands out at most ${limits.maxOnnxBytes} (maxOnnxBytes)`,
      { field: "outputs" },
    );
  }
  return new Response(bytes as Uint8Array<ArrayBuffer>, {
    headers: {
      "content-type": "application/octet-stream",
      "content-length": String(bytes.byteLength),
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
    },
  });
}
