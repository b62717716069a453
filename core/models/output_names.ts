/**
 * Output names, in one place for the WASM engine (`model.resolveName`), the ONNX exporter and `OrtModel`:
 * Hugging Face's names (`logits`, `hidden_states.{i}`, `attentions.{l}`, `head_mask_grad`,
 * `neuron_mask_grad`) map to the stable activation names of `../hooks.ts`; every other name is taken as a stable
 * name already.
 *
 * @example Usage
 * ```ts
 * import { stableOutputName } from "./output_names.ts";
 * import { parseConfig } from "./registry.ts";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 10, n_embd: 8, n_layer: 2, n_head: 2, n_positions: 8 }, "c");
 * stableOutputName("attentions.1", config); // "blocks.1.attn.hook_pattern"
 * stableOutputName("hidden_states.2", config); // "ln_final.hook_out"
 * ```
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { ModelConfig } from "./config.ts";
import { familyOf } from "./registry.ts";

/**
 * The stable name behind an output name.
 *
 * @throws {Error} for an HF name past the model's layers
 */
export function stableOutputName(name: string, config: ModelConfig): string {
  if (name === "logits") return hookName("logits");
  if (name === "head_mask_grad") return hookName("head_mask", undefined, true);
  if (name === "neuron_mask_grad") return hookName("neuron_mask", undefined, true);
  const hf = /^(hidden_states|attentions)\.(\d+)$/.exec(name);
  if (hf === null) return name;
  const family = familyOf(config);
  const i = Number(hf[2]);
  if (hf[1] === "hidden_states" && i <= config.layers) return family.hiddenStateHook(i, config);
  if (hf[1] === "attentions" && i < config.layers) return hookName("pattern", i);
  throw new Error(`"${name}" is not an HF output of a ${config.layers}-layer ${family.displayName} model`);
}
