/**
 * The optimiser side of training: AdamW over a {@linkcode ParamStore} (the `adamw` kernel), HF's weight-decay
 * exclusions, the linear warm-up/decay schedule and global gradient-norm clipping (the `sumSquares` and
 * `scale` kernels). All float work runs in kernels.
 *
 * @module
 */

import type { Ptr } from "../kernels/types.ts";
import type { Param, ParamStore } from "../models/param_store.ts";

/** AdamW hyper-parameters (torch defaults except weight decay). */
export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  /** Default 1e-8 (HF run_glue's `adam_epsilon`). */
  eps?: number;
  /** Decoupled weight decay for weights that decay (see {@linkcode decays}). Default 0. */
  weightDecay?: number;
}

/**
 * Whether HF's recipe applies weight decay to a parameter: not to biases, nor to LayerNorm weights (BERT's
 * `LayerNorm.*`, GPT's `ln_1`/`ln_2`/`ln_f`).
 *
 * @param name The HF parameter name.
 * @returns true when the weight decays.
 *
 * @example Usage
 * ```ts
 * import { decays } from "./optimizer.ts";
 * decays("bert.encoder.layer.0.output.dense.weight"); // true
 * decays("bert.embeddings.LayerNorm.weight"); // false
 * ```
 */
export function decays(name: string): boolean {
  if (name.endsWith(".bias")) return false;
  return !/LayerNorm\.|(^|\.)ln_(\d+|f)\./.test(name);
}

/**
 * HF `get_linear_schedule_with_warmup`: the multiplier of the base learning rate at optimiser step `step`
 * (0-based): step/warmup during warm-up, then a linear decay to 0 at `total`.
 *
 * @param step The 0-based update index.
 * @param total Total number of updates.
 * @param warmup Warm-up updates.
 * @returns The multiplier in [0, 1].
 *
 * @example Usage
 * ```ts
 * import { linearSchedule } from "./optimizer.ts";
 * linearSchedule(5, 100, 10); // 0.5
 * linearSchedule(55, 100, 10); // 0.5
 * ```
 */
export function linearSchedule(step: number, total: number, warmup: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  return Math.max(0, (total - step) / Math.max(1, total - warmup));
}

/**
 * Scales every gradient so that their global L2 norm is at most `maxNorm` (torch `clip_grad_norm_`:
 * factor maxNorm / (norm + 1e-6) when it is above 1).
 *
 * @param params The weights whose gradients are enabled.
 * @param maxNorm The norm bound; `Infinity` or ≤ 0 only measures.
 * @returns The norm before clipping.
 *
 * @example Usage
 * ```ts ignore
 * const norm = clipGradNorm(model.params, 1.0);
 * ```
 */
export function clipGradNorm(params: ParamStore, maxNorm: number): number {
  const k = params.kernels;
  let sum = 0;
  for (const p of params.all()) if (p.grad !== 0) sum += k.sumSquares(p.grad, p.size);
  const norm = Math.sqrt(sum);
  const coef = maxNorm / (norm + 1e-6);
  if (maxNorm > 0 && Number.isFinite(maxNorm) && coef < 1) {
    for (const p of params.all()) if (p.grad !== 0) k.scale(p.grad, p.grad, coef, p.size);
  }
  return norm;
}

/** AdamW state (first and second moments in kernel memory) for every weight of a store. */
export class AdamW {
  readonly #params: ParamStore;
  readonly #state: { p: Param; m: Ptr; v: Ptr; decay: boolean }[] = [];
  readonly #opts: Required<AdamWOptions>;
  #step = 0;

  /**
   * Allocates zeroed moments for every weight (and enables gradients).
   *
   * @param params The weights to optimise.
   * @param opts Betas, epsilon and weight decay.
   */
  constructor(params: ParamStore, opts: AdamWOptions = {}) {
    this.#params = params;
    this.#opts = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, ...opts };
    params.enableGrads();
    const mem = params.kernels.mem;
    for (const p of params.all()) {
      this.#state.push({ p, m: mem.alloc(p.size * 4), v: mem.alloc(p.size * 4), decay: decays(p.name) });
    }
  }

  /** Updates taken so far. */
  get steps(): number {
    return this.#step;
  }

  /**
   * One update of every weight from its gradient at learning rate `lr`.
   *
   * @param lr The learning rate of this step (after the schedule).
   */
  step(lr: number): void {
    this.#step++;
    const k = this.#params.kernels;
    const { beta1, beta2, eps, weightDecay } = this.#opts;
    for (const s of this.#state) {
      k.adamw(s.p.ptr, s.p.grad, s.m, s.v, s.p.size, lr, beta1, beta2, eps, s.decay ? weightDecay : 0, this.#step);
    }
  }
}
