/**
 * Attention entropy per head, measured where the probabilities live: an observer of each layer's
 * `hook_pattern` (HF's `attentions`, the probabilities times the head mask) adds, for every head,
 * Σ over non-pad query tokens of −Σ_keys p ln p — run_bertology.py's definition, before dividing by the
 * token count. Nothing [B, H, T, T]-sized is copied out of kernel memory.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import { keptHeads } from "../models/config.ts";
import type { TransformerModel } from "../models/model.ts";
import type { ActivationObserver } from "../models/run.ts";
import type { Tensor } from "../tensor.ts";

/** Observers for `TransformerModel.run`'s `observe`, and the entropy they summed. */
export interface EntropyMeter {
  /** Pass as `observe` to one or more runs: each run adds to the sums. */
  observe: ReadonlyMap<string, ActivationObserver>;
  /** Summed entropy [layers, heads] (original numbering; pruned heads 0) over every run observed so far. */
  sums(): Tensor;
}

/**
 * Makes an entropy meter for a model.
 *
 * @example Usage
 * ```ts
 * import { attentionEntropyMeter } from "./entropy.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * const meter = attentionEntropyMeter(model);
 * model.run({ batch: { batchSize: 1, seqLen: 3, inputIds: Int32Array.from([2, 45, 3]) }, observe: meter.observe });
 * meter.sums().shape; // [layers, heads]
 * ```
 */
export function attentionEntropyMeter(model: TransformerModel): EntropyMeter {
  const c = model.config;
  const perLayer = Array.from({ length: c.layers }, (_, l) => new Float64Array(keptHeads(c, l).length));
  const observe = new Map<string, ActivationObserver>();
  for (let l = 0; l < c.layers; l++) {
    const acc = perLayer[l]!;
    observe.set(hookName("pattern", l), (probs, run) => {
      const [B, H, T] = probs.shape as [number, number, number];
      if (H === 0) return;
      const out = run.act([H]);
      run.k.attentionEntropy(out.ptr, probs.ptr, run.keyMask, B, H, T);
      const e = run.read(out.ptr, H);
      for (let h = 0; h < H; h++) acc[h]! += e[h]!;
    });
  }
  return { observe, sums: () => model.perOriginalHead((l) => perLayer[l]) };
}

/**
 * Attention entropy of one layer's probabilities held in JS memory (an ONNX Runtime output, HF's
 * `attentions.{l}`): per head, Σ over non-pad query tokens of −Σ_keys p ln p — what the meter above sums
 * inside kernel memory.
 *
 * @param probs [batch, heads, seq, seq]
 * @param attentionMask [batch × seq] 1 = real token; every query counts when absent
 * @returns the sum per head of this layer, [heads]
 * @throws {Error} when `probs` is not [batch, heads, seq, seq] or the mask does not fit it
 * @example Usage
 * ```ts
 * import { attentionEntropyOfProbs } from "./entropy.ts";
 * const probs = { shape: [1, 1, 2, 2], data: Float32Array.from([0.5, 0.5, 1, 0]) };
 * attentionEntropyOfProbs(probs)[0]; // ln 2 (query 0) + 0 (query 1)
 * ```
 */
export function attentionEntropyOfProbs(probs: Tensor, attentionMask?: ArrayLike<number>): Float64Array {
  const [B, H, T, T2] = probs.shape;
  if (probs.shape.length !== 4 || B === undefined || H === undefined || T === undefined || T2 !== T) {
    throw new Error(`attention probabilities must be [batch, heads, seq, seq], got [${probs.shape.join(", ")}]`);
  }
  if (attentionMask !== undefined && attentionMask.length !== B * T) {
    throw new Error(`attention mask has ${attentionMask.length} values for a [${B}, ${T}] batch`);
  }
  const p = probs.data, out = new Float64Array(H);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      let acc = 0;
      for (let i = 0; i < T; i++) {
        if (attentionMask !== undefined && attentionMask[b * T + i] === 0) continue;
        const row = ((b * H + h) * T + i) * T;
        for (let j = 0; j < T; j++) {
          const v = p[row + j]!;
          if (v > 0) acc -= v * Math.log(v);
        }
      }
      out[h]! += acc;
    }
  }
  return out;
}
