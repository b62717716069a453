/**
 * Real head and neuron pruning: removes heads' rows and columns from the attention weights — the tensors and
 * axes each family names in its `headSlices` (BERT's query/key/value and output dense; GPT's fused `c_attn`
 * and `c_proj`) — and records them in `config.pruned_heads` (original numbering, accumulated over successive
 * prunings), as HF's `prune_heads` does. A layer may lose every head; it then contributes only its
 * output-projection bias, exactly as masking all its heads does. MLP neurons are removed the same way (the
 * family's `neuronSlices`: rows of the MLP's input projection and its bias, columns of its output projection)
 * and each layer's remaining width is recorded in `config.intermediate_sizes` — a bertology field that HF
 * does not read (write `dense` zeroed weights for HF instead, see {@linkcode zeroUnits}). Mask values other
 * than 0/1 (Kwon et al.'s tuned masks) fold into the output projections ({@linkcode foldMasks}).
 *
 * Grouped-query attention (Llama's `num_key_value_heads` < heads): heads are query heads, and a query head is
 * removed alone (its rows of `q_proj`, its columns of `o_proj`); a key/value head (its rows of `k_proj` and
 * `v_proj`, the slices marked `kv`) is removed only when every query head it serves is pruned. The pruned
 * model's attention then reads, for each kept query head, the kv head of its original group.
 *
 * @module
 */

import { keptHeads, keptKvHeads, type ModelConfig, prunedHeadsField } from "../models/config.ts";
import type { HeadSlice } from "../models/family.ts";
import type { HeadMask, NeuronMask } from "../models/inputs.ts";
import { familyOf, parseConfig } from "../models/registry.ts";
import { TransformerModel } from "../models/model.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Tensor } from "../tensor.ts";

/**
 * The layers whose units live in the same tensors, for each layer (sorted, itself included): layers are joined
 * when their slices name a common tensor — ALBERT's layers that run one shared block. Without sharing, each
 * layer's group is itself.
 *
 * @example Usage
 * ```ts
 * import { sharingGroups } from "./prune.ts";
 * sharingGroups(3, () => [{ name: "shared.weight", axis: 0, groups: 1 }]); // [[0, 1, 2], [0, 1, 2], [0, 1, 2]]
 * ```
 */
export function sharingGroups(layers: number, slicesOf: (layer: number) => readonly HeadSlice[]): number[][] {
  const parent = Array.from({ length: layers }, (_, l) => l);
  const find = (l: number): number => (parent[l] === l ? l : (parent[l] = find(parent[l]!)));
  const owner = new Map<string, number>();
  for (let l = 0; l < layers; l++) {
    for (const { name } of slicesOf(l)) {
      const o = owner.get(name);
      if (o === undefined) owner.set(name, l);
      else parent[find(l)] = find(o);
    }
  }
  const members = new Map<number, number[]>();
  for (let l = 0; l < layers; l++) {
    const root = find(l);
    if (!members.has(root)) members.set(root, []);
    members.get(root)!.push(l);
  }
  return Array.from({ length: layers }, (_, l) => members.get(find(l))!);
}

/**
 * Per sharing group (see {@linkcode sharingGroups}), the units listed for every one of its layers — the only
 * ones that can leave a shared tensor — and a sentence for units listed in only some of them (empty when none).
 */
function unitsInEveryLayer(
  groups: readonly number[][],
  units: Record<string | number, readonly number[]>,
  what: string,
): { common: Map<number, number[]>; note: string } {
  const common = new Map<number, number[]>();
  const partial: string[] = [];
  for (const group of new Set(groups)) {
    const lists = group.map((l) => new Set(units[l] ?? units[String(l)] ?? []));
    const all = [...new Set(lists.flatMap((x) => [...x]))].sort((a, b) => a - b);
    const every = all.filter((u) => lists.every((x) => x.has(u)));
    common.set(group[0]!, every);
    if (group.length > 1 && every.length < all.length) {
      partial.push(`${what} ${all.filter((u) => !every.includes(u)).join(", ")} of layers ${group.join(", ")}`);
    }
  }
  const note = partial.length === 0 ? "" : `Kept ${partial.join("; ")}: those layers share one set of weights, ` +
    `so a unit is removed only where it is pruned in every layer that shares it.`;
  return { common, note };
}

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
): { config: ModelConfig; weights: Map<string, Tensor>; note: string } {
  const D = config.headDim;
  const family = familyOf(config);
  const out = new Map(weights);
  const pruned = config.prunedHeads.map((p) => [...p]);
  const groups = sharingGroups(config.layers, (l) => family.headSlices(config, l));
  const { common, note } = unitsInEveryLayer(groups, heads, "heads");
  const kvKept: string[] = [];
  for (const [l, list] of common) {
    const kept = keptHeads(config, l);
    const removing = new Set(list.filter((h) => kept.includes(h)));
    if (removing.size === 0) continue;
    // positions (in the current weights) of the heads that stay, each a run of D (or unitSize) rows/columns
    const stay = kept.flatMap((h, i) => (removing.has(h) ? [] : [i]));
    // key/value heads: those still serving a query head after this pruning stay
    const after = { ...config, prunedHeads: config.prunedHeads.map((p, m) => (m === l ? [...p, ...removing] : p)) };
    const kv = keptKvHeads(config, l), kvAfter = keptKvHeads(after, l);
    const stayKv = kv.flatMap((g, i) => (kvAfter.includes(g) ? [i] : []));
    const group = config.heads / config.kvHeads;
    const served = [...new Set([...removing].map((h) => Math.floor(h / group)))].filter((g) => kvAfter.includes(g));
    if (config.kvHeads < config.heads && served.length > 0) kvKept.push(`${served.join(", ")} of layer ${l}`);
    for (const slice of family.headSlices(config, l)) {
      const t = weightOf(out, slice.name, "prune");
      const [positions, n] = slice.kv ? [stayKv, kv.length] : [stay, kept.length];
      const keep = unitIndices(positions, n, slice.unitSize ?? D, slice.groups);
      out.set(slice.name, slice.axis === 0 ? selectRows(t, keep) : selectCols(t, keep));
    }
    // every layer that shares the tensors has lost the same heads
    for (const m of groups[l]!) pruned[m] = [...new Set([...(pruned[m] ?? []), ...removing])].sort((a, b) => a - b);
  }
  const kvNote = kvKept.length === 0 ? "" : `Kept key/value heads ${kvKept.join("; ")}: with grouped-query ` +
    `attention a query head is removed alone, and a key/value head only when every query head it serves is pruned.`;
  const raw = { ...config.raw, pruned_heads: prunedHeadsField(config, pruned) };
  return {
    config: parseConfig(raw, "pruned config"),
    weights: out,
    note: [note, kvNote].filter((n) => n !== "").join(" "),
  };
}

/**
 * Prunes a loaded model and returns a new model on `kernels` (default: the same backend kind, a fresh
 * instance, so the old model's memory is not kept alive by the new one). `onNote` hears the sentence about
 * heads that stayed because other layers sharing their weights still use them.
 */
export function pruneModel(
  model: TransformerModel,
  heads: HeadsToPrune,
  kernels: Kernels,
  onNote?: (sentence: string) => void,
): TransformerModel {
  const { config, weights, note } = pruneWeights(model.config, model.params.toTensors(), heads);
  if (note !== "") onNote?.(note);
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

/** Neurons to remove per layer, in the layer's current numbering: `{ "0": [5, 17] }`. */
export type NeuronsToPrune = Record<string | number, readonly number[]>;

/**
 * The neurons a neuron mask switches off (entry 0), per layer; layers with nothing to prune are left out.
 *
 * @example Usage
 * ```ts
 * import { neuronsFromMask } from "./prune.ts";
 * neuronsFromMask([[1, 0, 0.5], [1, 1, 1]]); // { "0": [1] }
 * ```
 */
export function neuronsFromMask(mask: ArrayLike<ArrayLike<number>>): Record<string, number[]> {
  return headsFromMask(mask);
}

/** Index of `w` consecutive rows/columns per unit `i` (of `n` per group) in each of `groups` groups. */
function unitIndices(units: readonly number[], n: number, w: number, groups: number): number[] {
  const out: number[] = [];
  for (let g = 0; g < groups; g++) {
    for (const i of units) for (let d = 0; d < w; d++) out.push(g * n * w + i * w + d);
  }
  return out;
}

function weightOf(weights: Map<string, Tensor>, name: string, what: string): Tensor {
  const t = weights.get(name);
  if (!t) throw new Error(`Cannot ${what}: weight "${name}" is missing`);
  return t;
}

/**
 * Removes MLP neurons (current numbering) from a set of weights and records each layer's remaining width in
 * `intermediate_sizes` (dropped again when every layer has its full width).
 *
 * @param config the model's current config
 * @param weights the current weights by HF name
 * @param neurons neurons to remove per layer
 * @returns the new config and weights; inputs are not modified
 * @throws {Error} naming the layer or neuron that is out of range
 */
export function pruneNeuronWeights(
  config: ModelConfig,
  weights: Map<string, Tensor>,
  neurons: NeuronsToPrune,
): { config: ModelConfig; weights: Map<string, Tensor>; note: string } {
  const out = new Map(weights);
  const sizes = [...config.intermediateSizes];
  const family = familyOf(config);
  for (const [key, list] of Object.entries(neurons)) {
    const l = Number(key);
    if (!Number.isInteger(l) || l < 0 || l >= config.layers) {
      throw new Error(`neurons to prune: layer ${JSON.stringify(key)} is outside 0..${config.layers - 1}`);
    }
    const I = sizes[l]!;
    const bad = list.find((j) => !Number.isInteger(j) || j < 0 || j >= I);
    if (bad !== undefined) throw new Error(`neurons to prune: layer ${l} has no neuron ${bad} (0..${I - 1})`);
  }
  const groups = sharingGroups(config.layers, (l) => family.neuronSlices(config, l));
  const { common, note } = unitsInEveryLayer(groups, neurons, "neurons");
  for (const [l, list] of common) {
    const removing = new Set(list);
    if (removing.size === 0) continue;
    const I = sizes[l]!;
    const stay = Array.from({ length: I }, (_, j) => j).filter((j) => !removing.has(j));
    for (const slice of family.neuronSlices(config, l)) {
      const t = weightOf(out, slice.name, "prune");
      const keep = unitIndices(stay, I, 1, slice.groups);
      out.set(slice.name, slice.axis === 0 ? selectRows(t, keep) : selectCols(t, keep));
    }
    for (const m of groups[l]!) sizes[m] = stay.length;
  }
  const raw: Record<string, unknown> = { ...config.raw };
  if (sizes.every((s) => s === config.intermediate)) delete raw.intermediate_sizes;
  else raw.intermediate_sizes = sizes;
  return { config: parseConfig(raw, "pruned config"), weights: out, note };
}

/** Multiplies (`scale`) or zeroes the rows/columns of one unit in the slices given; returns new tensors. */
function editUnit(
  weights: Map<string, Tensor>,
  slices: readonly HeadSlice[],
  unit: number,
  n: number,
  w: number,
  scale: number,
): void {
  for (const slice of slices) {
    const t = weightOf(weights, slice.name, "edit");
    const data = t.data.slice();
    const idx = unitIndices([unit], n, slice.unitSize ?? w, slice.groups);
    const width = t.shape.length === 1 ? 1 : t.shape[1]!;
    if (slice.axis === 0) {
      for (const r of idx) for (let c = 0; c < width; c++) data[r * width + c]! *= scale;
    } else {
      const rows = t.shape[0]!;
      for (let r = 0; r < rows; r++) for (const c of idx) data[r * width + c]! *= scale;
    }
    weights.set(slice.name, { shape: [...t.shape], data });
  }
}

/**
 * Folds mask values into the weights: each kept head's (original numbering) and neuron's (current numbering)
 * rows/columns of its layer's output projection are multiplied by its mask value, so that the unmasked model
 * computes what the masked one did. A 0 entry zeroes the output side only (see {@linkcode zeroUnits}).
 *
 * @returns new weights (inputs are not modified)
 */
export function foldMasks(
  config: ModelConfig,
  weights: Map<string, Tensor>,
  masks: { headMask?: HeadMask | undefined; neuronMask?: NeuronMask | undefined },
): Map<string, Tensor> {
  const out = new Map(weights);
  const family = familyOf(config);
  const headGroups = sharingGroups(config.layers, (l) => family.headSlices(config, l));
  const neuronGroups = sharingGroups(config.layers, (l) => family.neuronSlices(config, l));
  for (let l = 0; l < config.layers; l++) {
    const kept = keptHeads(config, l);
    const headOut = family.headSlices(config, l).filter((s) => s.output);
    // a tensor several layers share folds once, from the first of them
    if (masks.headMask && headGroups[l]![0] === l) {
      const hm = foldValues(headGroups[l]!, masks.headMask, "head");
      kept.forEach((h, i) => hm[h] !== 1 && editUnit(out, headOut, i, kept.length, config.headDim, hm[h]!));
    }
    const I = config.intermediateSizes[l]!;
    const neuronOut = family.neuronSlices(config, l).filter((s) => s.output);
    if (masks.neuronMask && neuronGroups[l]![0] === l) {
      const nm = foldValues(neuronGroups[l]!, masks.neuronMask, "neuron");
      for (let j = 0; j < I; j++) if (nm[j] !== 1) editUnit(out, neuronOut, j, I, 1, nm[j]!);
    }
  }
  return out;
}

/**
 * The value each unit of layer `l` folds with: its mask value, or — for a tensor that several layers share —
 * the value they all agree on; a unit the layers disagree on stays as it is (1) when every value is 0 or 1 (it
 * is still in use where it is 1), and cannot fold otherwise.
 */
function foldValues(group: readonly number[], mask: ArrayLike<ArrayLike<number>>, what: string): number[] {
  const row = mask[group[0]!]!;
  return Array.from({ length: row.length }, (_, j) => {
    const values = group.map((l) => mask[l]![j]!);
    if (values.every((v) => v === values[0])) return values[0]!;
    if (values.every((v) => v === 0 || v === 1)) return 1;
    throw new Error(
      `Cannot fold the ${what} mask: layers ${group.join(", ")} share one set of weights but their values for ` +
        `${what} ${j} differ (${values.join(", ")})`,
    );
  });
}

/**
 * Zeroes the weights of heads (original numbering) and neurons (current numbering) in place of removing them,
 * keeping every shape — the `dense` format any Hugging Face release loads. All of a unit's slices are zeroed
 * (its q/k/v rows and their biases, its output-projection columns; its MLP input row and bias and output
 * column). Zeroing the output projection's rows/columns alone already makes the unit contribute exactly 0;
 * the shared output bias must stay. Zeroing only the input side would not be exact: a head's value bias
 * still reaches the output through the attention average, and a neuron's GELU(bias) ≠ 0.
 *
 * @returns new weights (inputs are not modified)
 */
export function zeroUnits(
  config: ModelConfig,
  weights: Map<string, Tensor>,
  units: { heads?: HeadsToPrune | undefined; neurons?: NeuronsToPrune | undefined },
): Map<string, Tensor> {
  const out = new Map(weights);
  const family = familyOf(config);
  // a unit of a tensor several layers share is zeroed only where every one of them lists it
  const heads = unitsInEveryLayer(
    sharingGroups(config.layers, (l) => family.headSlices(config, l)),
    units.heads ?? {},
    "heads",
  );
  for (const [l, list] of heads.common) {
    const kept = keptHeads(config, l);
    const slices = family.headSlices(config, l);
    const query = slices.filter((s) => !s.kv), kv = slices.filter((s) => s.kv);
    for (const h of list) {
      const i = kept.indexOf(h);
      if (i >= 0) editUnit(out, query, i, kept.length, config.headDim, 0);
    }
    // a key/value head is zeroed only when every query head it serves is zeroed (or already pruned)
    const after = { ...config, prunedHeads: config.prunedHeads.map((p, m) => (m === l ? [...p, ...list] : p)) };
    const kvBefore = keptKvHeads(config, l), kvAfter = keptKvHeads(after, l);
    kvBefore.forEach((g, i) => {
      if (!kvAfter.includes(g)) editUnit(out, kv, i, kvBefore.length, config.headDim, 0);
    });
  }
  const neurons = unitsInEveryLayer(
    sharingGroups(config.layers, (l) => family.neuronSlices(config, l)),
    units.neurons ?? {},
    "neurons",
  );
  for (const [l, list] of neurons.common) {
    const I = config.intermediateSizes[l]!;
    for (const j of list) editUnit(out, family.neuronSlices(config, l), j, I, 1, 0);
  }
  return out;
}
