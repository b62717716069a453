/**
 * Activation patching and ablation per component. A clean and a corrupted input of the same length (one word
 * swapped, say) give logit differences d = logit[target] − logit[other]; re-running the corrupted input with
 * one component's activation taken from the clean run restores the fraction
 * (d_patched − d_corrupted) / (d_clean − d_corrupted) of the difference. Components are a head (its slice of
 * `blocks.{l}.attn.hook_z`, before the output projection), a layer's MLP (`hook_mlp_out`), the embeddings
 * (`embed.hook_out`) and the residual stream at one position entering a layer (`hook_resid_pre`). Every patched
 * variant is one row of a batch, so a whole [L, H] map takes a few passes.
 *
 * Restoring everything: information moves between positions only through attention (embeddings, LayerNorms
 * and MLPs act on each position alone), so patching every head's z restores the clean output exactly when the
 * two inputs agree at the output position (the `[CLS]` a classifier reads, a language model's last token).
 * Where they differ there, the corrupted token's own residual stream carries the corruption: that position's
 * residual stream entering layer 0 (or the embeddings) must be patched too.
 *
 * Ablation replaces a head's z with zeros or with its mean over the positions of reference inputs.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import { keptHeads } from "../models/config.ts";
import type { TransformerModel } from "../models/model.ts";
import type { ActivationPatch } from "../models/run.ts";
import type { Tensor } from "../tensor.ts";
import { argmax, type AttributionInput, outputLogits, repeatedBatch } from "./input.ts";

/** One component whose activation is replaced. Heads are in original numbering. */
export type PatchComponent =
  | { kind: "head"; layer: number; head: number }
  | { kind: "mlp"; layer: number }
  | { kind: "embed" }
  | { kind: "resid"; layer: number; position: number };

/** Which logit difference d = logit[target] − logit[other] is measured. */
export interface LogitDiffOptions {
  /** The class or next-token id; default the clean input's prediction. */
  target?: number;
  /**
   * The logit it is compared with; default the other class of two, else the largest other logit of the
   * corrupted run (for ablation: of the input).
   */
  other?: number;
  /** Patched variants per forward pass (default 32). */
  batchSize?: number;
}

/** Options of {@linkcode patchHeads}. */
export interface PatchHeadsOptions extends LogitDiffOptions {
  /** Also patch the residual stream entering each layer at each position ([L, T] map). */
  positions?: boolean;
}

/** The result of {@linkcode patchHeads}. */
export interface HeadPatching {
  /** The class or next-token id of d. */
  target: number;
  /** The logit d compares with. */
  other: number;
  /** d on the clean input. */
  logitDiffClean: number;
  /** d on the corrupted input. */
  logitDiffCorrupted: number;
  /** [L, H] restored fraction per head (original numbering; NaN for a pruned head). */
  heads: Tensor;
  /** [L] restored fraction per layer's MLP. */
  mlp: Float32Array;
  /** [L, T] restored fraction per residual stream position entering each layer, when asked for. */
  resid?: Tensor;
}

/**
 * Patches every head, every MLP (and, optionally, every residual position) of the corrupted run with the
 * clean run's activation, one at a time.
 *
 * @param model the model
 * @param clean the clean input
 * @param corrupted the corrupted input (same length)
 * @param opts target, other, batch size, positions
 * @throws {Error} for inputs of different lengths, targets outside the logits, or inputs with the same d
 * @example Usage
 * ```ts
 * import { patchHeads } from "./patching.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * const p = patchHeads(model, { inputIds: [2, 45, 67, 3] }, { inputIds: [2, 45, 99, 3] });
 * p.heads.shape; // [layers, heads]
 * ```
 */
export function patchHeads(
  model: TransformerModel,
  clean: AttributionInput,
  corrupted: AttributionInput,
  opts: PatchHeadsOptions = {},
): HeadPatching {
  const c = model.config;
  const T = clean.inputIds.length;
  if (corrupted.inputIds.length !== T) {
    throw new Error(
      `clean and corrupted inputs must have the same number of tokens (${T} vs ${corrupted.inputIds.length})`,
    );
  }
  const cleanLogits = outputLogits(model, repeatedBatch(clean));
  const corruptLogits = outputLogits(model, repeatedBatch(corrupted));
  const { target, other } = logitPair(cleanLogits, corruptLogits.data, opts);
  const d = (row: ArrayLike<number>, r = 0) => diff(row, cleanLogits.width, r, target, other);
  const dClean = d(cleanLogits.data), dCorrupt = d(corruptLogits.data);
  if (dClean === dCorrupt) {
    throw new Error(`The clean and corrupted inputs give the same logit difference (${dClean}): nothing to restore`);
  }

  const components: PatchComponent[] = [];
  for (let l = 0; l < c.layers; l++) {
    for (const h of keptHeads(c, l)) components.push({ kind: "head", layer: l, head: h });
  }
  for (let l = 0; l < c.layers; l++) components.push({ kind: "mlp", layer: l });
  if (opts.positions) {
    for (let l = 0; l < c.layers; l++) {
      for (let t = 0; t < T; t++) components.push({ kind: "resid", layer: l, position: t });
    }
  }
  const source = cleanActivations(model, clean, components);
  const logits = patchedLogits(model, corrupted, components.map((p) => [p]), source, opts.batchSize);
  const restored = components.map((_, r) => (d(logits.data, r) - dCorrupt) / (dClean - dCorrupt));

  const heads = new Float32Array(c.layers * c.heads).fill(NaN);
  const mlp = new Float32Array(c.layers);
  const resid = new Float32Array(c.layers * T);
  components.forEach((p, r) => {
    if (p.kind === "head") heads[p.layer * c.heads + p.head] = restored[r]!;
    else if (p.kind === "mlp") mlp[p.layer] = restored[r]!;
    else if (p.kind === "resid") resid[p.layer * T + p.position] = restored[r]!;
  });
  const result: HeadPatching = {
    target,
    other,
    logitDiffClean: dClean,
    logitDiffCorrupted: dCorrupt,
    heads: { shape: [c.layers, c.heads], data: heads },
    mlp,
  };
  if (opts.positions) result.resid = { shape: [c.layers, T], data: resid };
  return result;
}

/**
 * The output logits of the corrupted input with a set of components patched from the clean run — all at
 * once, in one pass.
 *
 * @param model the model
 * @param clean the input the activations are taken from
 * @param corrupted the input that is run (same length)
 * @param components what to patch
 * @returns the logits the prediction is read from (a classifier's, or a language model's last position's)
 * @throws {Error} for inputs of different lengths or a component the model does not have
 * @example Usage
 * ```ts
 * import { patchComponents } from "./patching.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * // the embeddings carry everything: patching them restores the clean logits
 * patchComponents(model, { inputIds: [2, 45, 3] }, { inputIds: [2, 46, 3] }, [{ kind: "embed" }]);
 * ```
 */
export function patchComponents(
  model: TransformerModel,
  clean: AttributionInput,
  corrupted: AttributionInput,
  components: readonly PatchComponent[],
): Float32Array {
  if (corrupted.inputIds.length !== clean.inputIds.length) {
    throw new Error(
      `clean and corrupted inputs must have the same number of tokens (${clean.inputIds.length} vs ${corrupted.inputIds.length})`,
    );
  }
  const source = cleanActivations(model, clean, components);
  return patchedLogits(model, corrupted, [components], source).data;
}

/** The result of {@linkcode ablateHeads}. */
export interface HeadAblation {
  /** The class or next-token id of d. */
  target: number;
  /** The logit d compares with. */
  other: number;
  /** d on the input, nothing ablated. */
  logitDiff: number;
  /** [L, H] change of d when the head's z is zeroed (NaN for a pruned head). */
  zero: Tensor;
  /** [L, H] change of d when the head's z is replaced by its mean over the reference positions. */
  mean: Tensor;
}

/**
 * Zero and mean ablation of every head, one at a time: the change of d = logit[target] − logit[other] when a
 * head's z is replaced by zeros, or by its mean over every position of the reference inputs.
 *
 * @param model the model
 * @param input the input
 * @param opts target, other (default the second-largest logit), batch size, and `reference` inputs for the mean
 *   (default the input itself)
 * @throws {Error} for an empty reference set or targets outside the logits
 * @example Usage
 * ```ts
 * import { ablateHeads } from "./patching.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * ablateHeads(model, { inputIds: [2, 45, 67, 3] }).zero.shape; // [layers, heads]
 * ```
 */
export function ablateHeads(
  model: TransformerModel,
  input: AttributionInput,
  opts: LogitDiffOptions & { reference?: readonly AttributionInput[] } = {},
): HeadAblation {
  const c = model.config, T = input.inputIds.length;
  const base = outputLogits(model, repeatedBatch(input));
  const { target, other } = logitPair(base, base.data, opts);
  const d = (row: ArrayLike<number>, r = 0) => diff(row, base.width, r, target, other);
  const dBase = d(base.data);
  const reference = opts.reference ?? [input];
  if (reference.length === 0) throw new Error("reference is empty: mean ablation needs at least one input");

  const heads: PatchComponent[] = [];
  for (let l = 0; l < c.layers; l++) for (const h of keptHeads(c, l)) heads.push({ kind: "head", layer: l, head: h });
  const zNames = Array.from({ length: c.layers }, (_, l) => hookName("z", l));
  // the per-head mean over every reference position, broadcast over the input's positions
  const means = new Map<string, Float32Array>();
  for (let l = 0; l < c.layers; l++) {
    const HD = keptHeads(c, l).length * c.headDim;
    const sum = new Float64Array(HD);
    let count = 0;
    for (const ref of reference) {
      const z = model.run({ batch: repeatedBatch(ref), names: [zNames[l]!] }).cache.get(zNames[l]!)!.data;
      const n = ref.inputIds.length;
      for (let t = 0; t < n; t++) for (let i = 0; i < HD; i++) sum[i]! += z[t * HD + i]!;
      count += n;
    }
    const out = new Float32Array(T * HD);
    for (let t = 0; t < T; t++) for (let i = 0; i < HD; i++) out[t * HD + i] = sum[i]! / count;
    means.set(zNames[l]!, out);
  }
  const zeros = (name: string) => new Float32Array(T * (means.get(name)!.length / T));
  const toMap = (logits: { data: Float32Array }) => {
    const out = new Float32Array(c.layers * c.heads).fill(NaN);
    heads.forEach((p, r) => {
      if (p.kind === "head") out[p.layer * c.heads + p.head] = d(logits.data, r) - dBase;
    });
    return { shape: [c.layers, c.heads], data: out };
  };
  const rows = heads.map((p) => [p]);
  return {
    target,
    other,
    logitDiff: dBase,
    zero: toMap(patchedLogits(model, input, rows, zeros, opts.batchSize)),
    mean: toMap(patchedLogits(model, input, rows, (n) => means.get(n)!, opts.batchSize)),
  };
}

/** Where a component's values live: its hook name and, for a head, its index among the layer's kept heads. */
function locate(model: TransformerModel, p: PatchComponent): { name: string; head?: number; position?: number } {
  const c = model.config;
  const layer = (l: number) => {
    if (!Number.isInteger(l) || l < 0 || l >= c.layers) {
      throw new Error(`${p.kind} component: layer ${l} does not exist (layers 0..${c.layers - 1})`);
    }
  };
  if (p.kind === "embed") return { name: hookName("embed") };
  layer(p.layer);
  if (p.kind === "mlp") return { name: hookName("mlp_out", p.layer) };
  if (p.kind === "resid") return { name: hookName("resid_pre", p.layer), position: p.position };
  const index = keptHeads(c, p.layer).indexOf(p.head);
  if (index < 0) throw new Error(`head component: layer ${p.layer} has no head ${p.head} (pruned or out of range)`);
  return { name: hookName("z", p.layer), head: index };
}

/** The clean run's activations [1, T, …] of every hook the components touch, by name. */
function cleanActivations(
  model: TransformerModel,
  clean: AttributionInput,
  components: readonly PatchComponent[],
): (name: string) => Float32Array {
  const names = [...new Set(components.map((p) => locate(model, p).name))];
  const { cache } = model.run({ batch: repeatedBatch(clean), names });
  return (name) => cache.get(name)!.data;
}

/**
 * Runs `input` once per row of `rows`, each row with its components' values replaced by `source`'s (one
 * sequence's activation of that hook), in passes of `batchSize` rows; returns the output logits [rows, width].
 */
function patchedLogits(
  model: TransformerModel,
  input: AttributionInput,
  rows: readonly (readonly PatchComponent[])[],
  source: (name: string) => Float32Array,
  batchSize = 32,
): { data: Float32Array; width: number } {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const T = input.inputIds.length;
  const located = rows.map((ps) => ps.map((p) => locate(model, p)));
  let out: Float32Array | undefined, width = 0;
  for (let first = 0; first < rows.length; first += batchSize) {
    const n = Math.min(batchSize, rows.length - first);
    const patch = new Map<string, ActivationPatch>();
    for (const name of new Set(located.slice(first, first + n).flat().map((x) => x.name))) {
      const src = source(name);
      patch.set(name, (values, shape) => {
        const perRow = values.length / shape[0]!;
        for (let r = 0; r < n; r++) {
          for (const at of located[first + r]!) {
            if (at.name !== name) continue;
            const row = values.subarray(r * perRow, (r + 1) * perRow);
            if (at.head !== undefined) {
              const D = shape[3]!, HD = shape[2]! * D, off = at.head * D;
              for (let t = 0; t < T; t++) row.set(src.subarray(t * HD + off, t * HD + off + D), t * HD + off);
            } else if (at.position !== undefined) {
              const C = perRow / T, t = at.position;
              if (!Number.isInteger(t) || t < 0 || t >= T) {
                throw new Error(`resid component: position ${t} is outside the sequence (0..${T - 1})`);
              }
              row.set(src.subarray(t * C, (t + 1) * C), t * C);
            } else row.set(src.subarray(0, perRow));
          }
        }
      });
    }
    const logits = outputLogits(model, repeatedBatch(input, n), patch);
    width = logits.width;
    out ??= new Float32Array(rows.length * width);
    out.set(logits.data, first * width);
  }
  return { data: out ?? new Float32Array(0), width };
}

/** Resolves target and other: the clean prediction, and the other class of two or the corrupted run's best other. */
function logitPair(
  clean: { data: Float32Array; width: number },
  corrupted: Float32Array,
  opts: LogitDiffOptions,
): { target: number; other: number } {
  const W = clean.width;
  const check = (v: number, field: string) => {
    if (!Number.isInteger(v) || v < 0 || v >= W) {
      throw new Error(`${field} ${v} is outside the ${W} logits (0..${W - 1})`);
    }
    return v;
  };
  if (W < 2) throw new Error("A logit difference needs at least two logits (a regression model has one)");
  const target = check(opts.target ?? argmax(clean.data.subarray(0, W)), "target");
  const other = check(opts.other ?? argmax(corrupted.subarray(0, W), target), "other");
  if (other === target) throw new Error(`other (${other}) must differ from target`);
  return { target, other };
}

/** logit[target] − logit[other] of row r of [rows, W] logits. */
function diff(data: ArrayLike<number>, W: number, r: number, target: number, other: number): number {
  return data[r * W + target]! - data[r * W + other]!;
}
