/**
 * A loaded transformer (BERT, GPT-2 or OpenAI GPT) ready to run: config, weights in kernel memory, and one
 * `run()` that does a forward pass, optionally a loss and a backward pass, and hands back exactly the
 * activations and gradients that were asked for, by their stable names (see `../hooks.ts`).
 *
 * @module
 */

import { hfToHook, hookName, parseHookName } from "../hooks.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Tensor } from "../tensor.ts";
import { bertForward, bertHeadShapes, bertRenameKey, bertShapes } from "./bert.ts";
import { keptHeads, type ModelConfig, taskKind, type TaskKind } from "./config.ts";
import { type Act, type DropoutOptions, ParamStore, Run } from "./graph.ts";
import { gpt2Forward, gpt2RenameKey, gpt2Shapes } from "./gpt2.ts";
import { type ArenaInputs, type Batch, checkBatch, checkHeadMask, type HeadMask, placeInputs } from "./inputs.ts";
import { openaiGptForward, openaiGptRenameKey, openaiGptShapes } from "./openai_gpt.ts";

/** Labels for a loss: class indices (classification), floats (regression), or "lm" (next-token, GPT). */
export type Labels = Int32Array | Float32Array | number[] | "lm";

/** What to compute in one {@linkcode TransformerModel.run}. */
export interface RunRequest {
  /** The padded batch. */
  batch: Batch;
  /**
   * Activation names to keep (`blocks.0.attn.hook_pattern`, `embed.hook_out`, …) and gradients
   * (`…_grad`, `hook_head_mask_grad`). Nothing else is kept. HF names (`hidden_states.1`, `attentions.0`,
   * `logits`, `head_mask_grad`) are accepted too.
   */
  names?: Iterable<string>;
  /** [layers][heads] multipliers on the attention probabilities (original head numbering). */
  headMask?: HeadMask;
  /** Labels for the loss; required for any gradient. */
  labels?: Labels;
  /** Accumulate weight gradients (the caller zeroes them; see {@linkcode TransformerModel.params}). */
  paramGrads?: boolean;
  /**
   * Measure attention entropy: for each head, Σ over non-pad query tokens of −Σ_keys p ln p, where p are
   * the probabilities times the head mask (HF run_bertology.py's definition, before dividing by tokens).
   */
  entropy?: boolean;
  /** Training dropout at HF's dropout sites (embeddings, block outputs, classifier input); off when absent. */
  dropout?: DropoutOptions;
}

/** What a run returns. */
export interface RunResult {
  /** The kept activations and gradients, by our names. */
  cache: Map<string, Tensor>;
  /** The logits: a classifier's always; a language model's [B, T, vocab] only when `logits` was asked for. */
  logits?: Tensor;
  /** The mean loss, when labels were given. */
  loss?: number;
  /** How many predictions `loss` is the mean of: rows (classification, regression) or next-token targets (LM). */
  lossCount?: number;
  /** dL/dhead_mask [layers, heads] (original numbering; pruned heads 0), when asked for. */
  headMaskGrad?: Tensor;
  /** Summed attention entropy [layers, heads] (original numbering; pruned heads 0), when asked for. */
  entropy?: Tensor;
}

const FORWARD = { bert: bertForward, gpt2: gpt2Forward, "openai-gpt": openaiGptForward } as const;

/** A model in kernel memory. One instance per kernel backend; not shared across concurrent runs. */
export class TransformerModel {
  /** The checked config. */
  readonly config: ModelConfig;
  /** The backend it runs on. */
  readonly kernels: Kernels;
  /** The weights (and, when enabled, their gradients) in kernel memory. */
  readonly params: ParamStore;

  /**
   * Places checked weights in kernel memory. Use `loadModel` to read a checkpoint.
   *
   * @param config the checked config
   * @param weights tensors by (normalised) HF name; checked with {@linkcode checkWeights} first
   * @param kernels the backend to run on
   */
  constructor(config: ModelConfig, weights: Map<string, Tensor>, kernels: Kernels) {
    this.config = config;
    this.kernels = kernels;
    this.params = new ParamStore(kernels, weights);
  }

  /** Heads remaining in each layer (after pruning). */
  get headsPerLayer(): number[] {
    return this.config.prunedHeads.map((p) => this.config.heads - p.length);
  }

  /** What the model's head computes: `classify`, `regress` or `lm` (see {@linkcode TaskKind}). */
  get task(): TaskKind {
    return taskKind(this.config);
  }

  /** Whether the model produces logits (a BERT encoder without pooler/classifier does not). */
  get hasHead(): boolean {
    return this.config.family !== "bert" ||
      (this.params.has("classifier.weight") && this.params.has("bert.pooler.dense.weight"));
  }

  /**
   * Runs the model on a batch.
   *
   * @throws {Error} for a bad batch or head mask, unknown activation names, or gradients without labels
   * @example Usage
   * ```ts ignore
   * const { cache, logits } = model.run({ batch, names: ["blocks.0.attn.hook_pattern"] });
   * ```
   */
  run(req: RunRequest): RunResult {
    const c = this.config;
    checkBatch(req.batch, c);
    if (req.headMask) checkHeadMask(req.headMask, c);
    const names = new Set<string>();
    for (const n of req.names ?? []) names.add(this.#resolveName(n));
    const headGradName = hookName("head_mask", undefined, true);
    const wantsGrad = req.paramGrads === true || [...names].some((n) => n.endsWith("_grad"));
    if (wantsGrad && req.labels === undefined) throw new Error("Gradients need labels (a loss to differentiate)");
    if (req.labels !== undefined && !this.hasHead) {
      throw new Error("This checkpoint has no classifier head: a loss needs one");
    }
    const recording = wantsGrad;

    const run = new Run(this.kernels, {
      keep: names,
      backward: recording,
      paramGrads: req.paramGrads === true,
      entropy: req.entropy === true,
      dropout: req.dropout,
    });
    try {
      const x = placeInputs(run, req.batch, c, req.headMask, names.has(headGradName));
      // a next-token loss needs logits only where a target exists: skip the [B·T, vocab] head elsewhere
      const lm = req.labels === "lm" && c.family !== "bert" ? nextTokenTargets(req.batch) : undefined;
      const fullLogits = names.has(hookName("logits")) || names.has(hookName("logits", undefined, true));
      if (lm && !fullLogits) x.lmRows = { ptr: run.ints(lm.rows), count: lm.rows.length };
      const logitsAct = FORWARD[c.family](run, c, this.params, x);
      const result: RunResult = { cache: run.cache };
      if (logitsAct) {
        const logitsShape = c.family === "bert"
          ? [x.B, c.labels.length]
          : x.lmRows
          ? [x.lmRows.count, c.vocabSize]
          : [x.B, x.T, c.vocabSize];
        run.hook(hookName("logits"), logitsAct, logitsShape);
        // a classifier's logits are tiny; an LM's are [B, T, vocab], copied out only when asked for
        if (c.family === "bert" || names.has(hookName("logits"))) {
          result.logits = run.cache.get(hookName("logits")) ??
            { shape: logitsShape, data: run.read(logitsAct.ptr, logitsAct.size) };
        }
        if (req.labels !== undefined) {
          result.loss = this.#loss(run, logitsAct, x, req, lm);
          result.lossCount = lm ? lm.rows.length : x.B;
        }
      } else if (names.has(hookName("logits"))) {
        throw new Error("This checkpoint has no classifier (bert.pooler / classifier weights): it gives no logits");
      }
      if (recording) run.backward();
      if (run.entropy) result.entropy = this.#perOriginalHead((l) => run.entropy!.get(l));
      if (names.has(headGradName)) {
        result.headMaskGrad = this.#perOriginalHead((l) =>
          x.headMaskGrad[l] === 0 ? undefined : run.read(x.headMaskGrad[l], keptHeads(c, l).length)
        );
        run.cache.set(headGradName, result.headMaskGrad);
      }
      return result;
    } finally {
      run.dispose();
    }
  }

  /** Spreads per-layer values of kept heads over [layers, heads] in original numbering (pruned heads 0). */
  #perOriginalHead(values: (layer: number) => ArrayLike<number> | undefined): Tensor {
    const c = this.config;
    const out = new Float32Array(c.layers * c.heads);
    for (let l = 0; l < c.layers; l++) {
      const v = values(l);
      if (v) keptHeads(c, l).forEach((h, i) => (out[l * c.heads + h] = v[i]));
    }
    return { shape: [c.layers, c.heads], data: out };
  }

  #resolveName(name: string): string {
    if (/^(hidden_states|attentions)\.\d+$|^logits$|^head_mask_grad$/.test(name)) {
      return hfToHook(name, this.config.layers, this.config.family);
    }
    const parsed = parseHookName(name);
    if (!parsed || (parsed.layer !== undefined && parsed.layer >= this.config.layers)) {
      throw new Error(
        `Unknown activation name "${name}" for a ${this.config.layers}-layer ${this.config.family} model`,
      );
    }
    return name;
  }

  #loss(
    run: Run,
    logits: Act,
    x: ArenaInputs,
    req: RunRequest,
    lm: { rows: Int32Array; targets: Int32Array } | undefined,
  ): number {
    const c = this.config;
    const { B, T } = x;
    const labels = req.labels!;
    if (labels === "lm") {
      if (lm === undefined) throw new Error(`labels "lm" are for GPT models; BERT needs class labels`);
      if (x.lmRows) return run.crossEntropy(logits, run.ints(lm.targets), lm.rows.length, c.vocabSize, lm.rows.length);
      // full [B·T] logits (they were asked for): every other position is ignored
      const targets = new Int32Array(B * T).fill(-1);
      lm.rows.forEach((r, i) => (targets[r] = lm.targets[i]));
      return run.crossEntropy(logits, run.ints(targets), B * T, c.vocabSize, lm.rows.length);
    }
    if (labels.length !== B) throw new Error(`labels has ${labels.length} values for a batch of ${B}`);
    if (c.family !== "bert") throw new Error(`GPT models take labels "lm"`);
    if (c.problemType === "regression") {
      if (c.labels.length !== 1) throw new Error("A regression model must have exactly one output (num_labels = 1)");
      return run.mse(logits, labels);
    }
    const L = c.labels.length;
    const targets = Int32Array.from(labels as ArrayLike<number>);
    targets.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= L) {
        throw new Error(`labels[${i}] = ${labels[i]} is outside the model's ${L} classes (0..${L - 1})`);
      }
    });
    return run.crossEntropy(logits, run.ints(targets), B, L, B);
  }
}

/**
 * Normalises checkpoint names (old prefixes and spellings) and checks every tensor the config implies:
 * present, and of the right shape. Unused tensors (pre-training heads, attention buffers) are dropped.
 *
 * @param config the checked config
 * @param weights tensors as read
 * @param source the checkpoint location, for error messages
 * @throws {Error} naming the tensor and both shapes
 */
export function checkWeights(config: ModelConfig, weights: Map<string, Tensor>, source: string): Map<string, Tensor> {
  const rename = { bert: bertRenameKey, gpt2: gpt2RenameKey, "openai-gpt": openaiGptRenameKey }[config.family];
  const byName = new Map<string, Tensor>();
  for (const [k, v] of weights) byName.set(rename(k), v);
  const required = { bert: bertShapes, gpt2: gpt2Shapes, "openai-gpt": openaiGptShapes }[config.family](config);
  const optional = config.family === "bert"
    ? bertHeadShapes(config)
    : new Map([["lm_head.weight", [config.vocabSize, config.hidden]]]);
  const out = new Map<string, Tensor>();
  const check = (name: string, shape: number[], t: Tensor) => {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(
        `${source}: tensor "${name}" has shape [${t.shape.join(", ")}] but config.json implies [${shape.join(", ")}]`,
      );
    }
    out.set(name, t);
  };
  for (const [name, shape] of required) {
    const t = byName.get(name);
    if (t === undefined) {
      throw new Error(`${source}: tensor "${name}" is missing (expected shape [${shape.join(", ")}])`);
    }
    check(name, shape, t);
  }
  // tied LM heads: HF ties lm_head to the token embedding unless tie_word_embeddings is false
  if (config.family !== "bert" && config.raw.tie_word_embeddings !== false) optional.delete("lm_head.weight");
  const presentOptional = [...optional.keys()].filter((n) => byName.has(n));
  if (config.family === "bert" && presentOptional.length > 0 && presentOptional.length < optional.size) {
    const missing = [...optional.keys()].filter((n) => !byName.has(n));
    throw new Error(`${source}: classification head is incomplete: missing ${missing.map((m) => `"${m}"`).join(", ")}`);
  }
  for (const name of presentOptional) check(name, optional.get(name)!, byName.get(name)!);
  return out;
}

/**
 * Next-token targets of a batch: position t of a row predicts token t+1 when that token is real (padding and
 * each row's last position predict nothing). Returns the flattened positions that predict, and their targets.
 */
function nextTokenTargets(batch: Batch): { rows: Int32Array; targets: Int32Array } {
  const { batchSize: B, seqLen: T, inputIds: ids, attentionMask: mask } = batch;
  const rows: number[] = [], targets: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const j = b * T + t + 1;
      if (!mask || mask[j] === 1) {
        rows.push(b * T + t);
        targets.push(ids[j]);
      }
    }
  }
  return { rows: Int32Array.from(rows), targets: Int32Array.from(targets) };
}
