/**
 * Real head pruning: removes heads' rows and columns from the attention weights — the tensors and axes each
 * family names in its `headSlices` (BERT's query/key/value and output dense; GPT's fused `c_attn` and
 * `c_proj`) — and records them in `config.pruned_heads` (original
 * numbering, accumulated over successive prunings), as HF's `prune_heads` does. A layer may lose every head;
 * it then contributes only its output-projection bias, exactly as masking all its heads does.
 *
 * @module
 */

import { keptHeads, type ModelConfig } from "../models/config.ts";
import { familyOf, parseConfig } from "../models/registry.ts";
import { TransformerModel } from "../models/model.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Tensor } from "../tensor.ts";

/** Heads to remove per layer, original numbering: `{ "0": [1, 3], "2": [0] }`. */
export type HeadsToPrune = Record<string | number, readonly number[]>;

/**
 * The heads a 0/1 head mask switches off (mask entry 0), as `run_bertology.py` turns its mask into a prune
 * list. Layers with nothing to prune are left out.
 *
 * @example Usage
 * ```ts
 * import { headsFromMask } from "./prune.ts";
 * headsFromMask([[1, 0], [1, 1]]); // { "0": [1] }
 * ```
 */
export function headsFromMask(mask: ArrayLike<ArrayLike<number>>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (let l = 0; l < mask.length; l++) {
    const heads: number[] = [];
    const row = mask[l]!;
    for (let h = 0; h < row.length; h++) if (row[h] === 0) heads.push(h);
    if (heads.length > 0) out[String(l)] = heads;
  }
  return out;
}

/**
 * Parses a prune list such as `{"0":[1,3],"2":[0]}`, checking layers and heads against the config.
 *
 * @throws {Error} naming the layer or head that is out of range
 */
export function parseHeadsToPrune(value: unknown, config: ModelConfig, source = "heads"): Record<string, number[]> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${source}: expected an object {layer: [heads]}, e.g. {"0": [1, 3]}`);
  }
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const l = Number(k);
    if (!Number.isInteger(l) || l < 0 || l >= config.layers) {
      throw new Error(`${source}: layer ${JSON.stringify(k)} is outside 0..${config.layers - 1}`);
    }
    if (!Array.isArray(v) || v.some((h) => !Number.isInteger(h) || h < 0 || h >= config.heads)) {
      throw new Error(
        `${source}: layer ${k} must list head indices in 0..${config.heads - 1}, got ${JSON.stringify(v)}`,
      );
    }
    out[String(l)] = v as number[];
  }
  return out;
}

/**
 * Prunes heads from a set of weights. Heads already pruned are ignored (as HF does).
 *
 * @param config the model's current config (its `prunedHeads` say which heads the weights still hold)
 * @param weights the current weights by HF name
 * @param heads heads to remove, original numbering
 * @returns the new config (with `pruned_heads` accumulated) and weights; inputs are not modified
 * @example Usage
 * ```ts
 * import { pruneWeights } from "./prune.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * const { config } = pruneWeights(model.config, model.params.toTensors(), { 0: [1, 3] });
 * config.prunedHeads[0]; // [1, 3]
 * ```
 */
export function pruneWeights(
  config: ModelConfig,
  weights: Map<string, Tensor>,
  heads: HeadsToPrune,
): { config: ModelConfig; weights: Map<string, Tensor> } {
  const D = config.headDim;
  const out = new Map(weights);
  const pruned = config.prunedHeads.map((p) => [...p]);
  for (const [key, list] of Object.entries(heads)) {
    const l = Number(key);
    const kept = keptHeads(config, l);
    const removing = new Set(list.filter((h) => kept.includes(h)));
    if (removing.size === 0) continue;
    // positions (in the current weights) of the heads that stay, each a run of D rows/columns
    const stay = kept.flatMap((h, i) => (removing.has(h) ? [] : [i]));
    const HD = kept.length * D;
    const idx = (offset: number) => stay.flatMap((i) => Array.from({ length: D }, (_, d) => offset + i * D + d));
    const get = (name: string) => {
      const t = out.get(name);
      if (!t) throw new Error(`Cannot prune: weight "${name}" is missing`);
      return t;
    };
    for (const slice of familyOf(config).headSlices(config, l)) {
      const t = get(slice.name);
      const keep = Array.from({ length: slice.groups }, (_, g) => idx(g * HD)).flat();
      out.set(slice.name, slice.axis === 0 ? selectRows(t, keep) : selectCols(t, keep));
    }
    pruned[l] = [...new Set([...(pruned[l] ?? []), ...removing])].sort((a, b) => a - b);
  }
  const prunedHeadsJson: Record<string, number[]> = {};
  pruned.forEach((p, l) => p.length > 0 && (prunedHeadsJson[String(l)] = p));
  const raw = { ...config.raw, pruned_heads: prunedHeadsJson };
  return { config: parseConfig(raw, "pruned config"), weights: out };
}

/**
 * Prunes a loaded model and returns a new model on `kernels` (default: the same backend kind, a fresh
 * instance, so the old model's memory is not kept alive by the new one).
 */
export function pruneModel(model: TransformerModel, heads: HeadsToPrune, kernels: Kernels): TransformerModel {
  const { config, weights } = pruneWeights(model.config, model.params.toTensors(), heads);
  return new TransformerModel(config, weights, kernels);
}

/** Rows of a tensor (axis 0) by index; a 1-D tensor is treated as a column. */
function selectRows(t: Tensor, rows: number[]): Tensor {
  const width = t.shape.length === 1 ? 1 : t.shape[1]!;
  const data = new Float32Array(rows.length * width);
  rows.forEach((r, i) => data.set(t.data.subarray(r * width, (r + 1) * width), i * width));
  return { shape: t.shape.length === 1 ? [rows.length] : [rows.length, width], data };
}

/** Columns of a 2-D tensor by index. */
function selectCols(t: Tensor, cols: number[]): Tensor {
  const [R, C] = t.shape as [number, number];
  const data = new Float32Array(R * cols.length);
  for (let r = 0; r < R; r++) {
    const src = t.data.subarray(r * C, (r + 1) * C);
    const dst = data.subarray(r * cols.length, (r + 1) * cols.length);
    cols.forEach((c, j) => (dst[j] = src[c]!));
  }
  return { shape: [R, cols.length], data };
}
