/**
 * Head importance, entropy and masking through an exported graph on ONNX Runtime: the engine that
 * `computeHeadImportanceWith` and `maskHeadsIterativelyWith` (`../bertology`) run, built on an
 * {@linkcode OrtModel} exported with the head-mask gradient and, for entropy, every layer's `attentions`.
 *
 * @module
 */

import { attentionEntropyOfProbs } from "../bertology/entropy.ts";
import type { ImportanceEngine } from "../bertology/importance.ts";
import { hookName } from "../hooks.ts";
import { keptHeads } from "../models/config.ts";
import type { ExportOptions } from "./export.ts";
import type { OrtModel } from "./ort_backend.ts";

/**
 * The export options an importance engine needs: the loss and head-mask gradient, the logits (for the
 * predictions), and every layer's attention probabilities when entropy is measured.
 *
 * @param entropy whether entropy will be measured
 * @returns options for `exportOnnx`
 * @example Usage
 * ```ts
 * import { importanceExportOptions } from "./ort_importance.ts";
 * importanceExportOptions(true); // { outputs: ["logits", "attentions"], grad: "head_mask" }
 * ```
 */
export function importanceExportOptions(entropy: boolean): ExportOptions {
  return { outputs: entropy ? ["logits", "attentions"] : ["logits"], grad: "head_mask" };
}

/**
 * An importance engine on an exported graph.
 *
 * @param onnx a model exported with {@linkcode importanceExportOptions}
 * @returns the engine
 * @throws {Error} when the graph has no head-mask gradient (checked now), or no `attentions` output while
 *   entropy is asked for (checked on the first batch)
 * @example Usage
 * ```ts ignore
 * const onnx = await OrtModel.create(ort, exportOnnx(model, importanceExportOptions(true)).bytes, model.config, p);
 * const r = await computeHeadImportanceWith(ortImportanceEngine(onnx), model.config, batches);
 * ```
 */
export function ortImportanceEngine(onnx: OrtModel): ImportanceEngine {
  const c = onnx.config;
  if (!onnx.hasGrad) throw new Error("The ONNX graph has no head_mask_grad: export it with grad head_mask");
  const attentions = Array.from({ length: c.layers }, (_, l) => `attentions.${l}`);
  return async ({ batch, labels, headMask, entropy }) => {
    const r = await onnx.run({
      batch,
      labels,
      names: entropy ? attentions : [],
      ...(headMask !== undefined ? { headMask } : {}),
    });
    const pass = { headMaskGrad: r.headMaskGrad, logits: r.logits, loss: r.loss, lossCount: r.lossCount };
    if (!entropy) return pass;
    const sums = new Float64Array(c.layers * c.heads);
    for (let l = 0; l < c.layers; l++) {
      const probs = r.cache.get(hookName("pattern", l))!;
      const perHead = attentionEntropyOfProbs(probs, batch.attentionMask);
      keptHeads(c, l).forEach((h, i) => (sums[l * c.heads + h] = Math.fround(perHead[i]!)));
    }
    return { ...pass, entropy: sums };
  };
}
