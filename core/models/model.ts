/**
 * A loaded transformer ready to run: config, family, weights in kernel memory, and one `run()` that does a
 * forward pass, optionally a loss and a backward pass, and hands back exactly the activations and gradients
 * that were asked for, by their stable names (see `../hooks.ts`). Nothing here knows a family: the family
 * object describes the model (`family.ts`), the WASM executor runs it (`wasm_ops.ts`).
 *
 * @module
 */

import { hookName, parseHookName } from "../hooks.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Tensor } from "../tensor.ts";
import { keptHeads, type ModelConfig, type TaskKind } from "./config.ts";
import type { ModelFamily, WeightSpec } from "./family.ts";
import {
  type ArenaInputs,
  type Batch,
  checkBatch,
  checkHeadMask,
  checkNeuronMask,
  type HeadMask,
  type NeuronMask,
  placeInputs,
  placeNeuronMask,
} from "./inputs.ts";
import { checkLabels } from "./losses.ts";
import { stableOutputName } from "./output_names.ts";
import { ParamStore } from "./param_store.ts";
import { familyOf } from "./registry.ts";
import {
  type Act,
  type ActivationObserver,
  type ActivationPatch,
  type DropoutOptions,
  type RecomputeMode,
  Run,
} from "./run.ts";
import { checkMemoryBudget, checkRecompute, defaultMemoryBudget } from "./memory_budget.ts";
import { KvCache } from "./kv_cache.ts";
import { generate, type GenerateRequest, type GenerateResult, type GenerationDefaults } from "../generate/generate.ts";
import { traceModel } from "./trace_ops.ts";
import { WasmOps } from "./wasm_ops.ts";
import type { ModelOps } from "./ops.ts";

/**
 * Labels for a loss: class indices (classification), floats (regression), "lm" (next-token), or for a masked LM
 * one token id per position of the flattened [B·T] batch, -100 where nothing is predicted (HF's ignore index).
 */
export type Labels = Int32Array | Float32Array | number[] | "lm";

/**
 * A logit to differentiate instead of a loss (saliency, integrated gradients): row b's backward is seeded
 * with 1 on `logit[b]` — a class index (classifier, regression: 0) or a vocabulary id (language model, read
 * at `position[b]`, default each row's last position; only those positions' logits are computed). The
 * cross-entropy gradient is softmax − onehot, not the logit's: this is the objective whose gradient is ∂logit.
 */
export interface LogitObjective {
  /** Per batch row: the class or vocabulary id whose logit is the objective. */
  logit: ArrayLike<number>;
  /** Per batch row (language models only): the position whose next-token logits are read. */
  position?: ArrayLike<number>;
  /**
   * Per batch row: a second logit of the same row subtracted from the objective (seeded with −1), so that the
   * objective is a logit difference logit[target] − logit[distractor] (the circuit metric of `core/circuits/`).
   */
  minus?: ArrayLike<number>;
}

/** What to compute in one {@linkcode TransformerModel.run}. */
export interface RunRequest {
  /** The padded batch. */
  batch: Batch;
  /**
   * Activation names to keep (`blocks.0.attn.hook_pattern`, `embed.hook_out`, …) and gradients
   * (`…_grad`, `hook_head_mask_grad`). Nothing else is kept. HF names (`hidden_states.1`, `attentions.0`,
   * `logits`, `head_mask_grad`) are accepted too. A name the model cannot produce is an error.
   */
  names?: Iterable<string> | undefined;
  /**
   * Observers by activation name, called with the activation in kernel memory during the pass (see
   * `Run`'s {@linkcode ActivationObserver}); `core/bertology/entropy.ts` measures attention entropy so.
   */
  observe?: ReadonlyMap<string, ActivationObserver> | undefined;
  /**
   * Patches by activation name: each replaces that activation's values for the rest of the pass (see `Run`'s
   * {@linkcode ActivationPatch}) — activation patching, head ablation, interpolated input embeddings. Any
   * activation but `hook_pattern`, `hook_logits` and `hook_head_mask` can be patched (use `headMask` for those).
   */
  patch?: ReadonlyMap<string, ActivationPatch> | undefined;
  /** [layers][heads] multipliers on the attention probabilities (original head numbering). */
  headMask?: HeadMask | undefined;
  /**
   * Per layer, multipliers on the MLP activation's neurons (layer l: `intermediateSizes[l]` values), applied
   * before the MLP's output projection; its gradient is `neuron_mask_grad` (`hook_neuron_mask_grad`).
   */
  neuronMask?: NeuronMask | undefined;
  /** Labels for the loss; any gradient needs these or an `objective`. */
  labels?: Labels | undefined;
  /** A logit to differentiate instead of a loss (see {@linkcode LogitObjective}); excludes `labels`. */
  objective?: LogitObjective | undefined;
  /** Accumulate weight gradients (the caller zeroes them; see {@linkcode TransformerModel.params}). */
  paramGrads?: boolean | undefined;
  /**
   * Wraps the executor the family's forward is written against (`core/circuits/` runs each receiver on its own
   * residual copy so). The wrapper must delegate every op to the executor it is given; recomputation is off.
   */
  wrapOps?: ((ops: WasmOps) => ModelOps<Act>) | undefined;
  /** Training dropout at HF's dropout sites (embeddings, block outputs, classifier input); off when absent. */
  dropout?: DropoutOptions | undefined;
  /**
   * With `hook_head_mask_grad` and labels: also give each row's own mask gradient, `headMaskGradPerExample` —
   * the gradient of that row's mean loss, what a batch of that row alone gives (Michel et al.'s per-example
   * |∂L(x)/∂ξ| needs it, and it does not depend on which rows share a batch).
   */
  perExampleHeadMaskGrad?: boolean | undefined;
  /**
   * Whether a backward pass recomputes each block's activations from its input instead of keeping them:
   * `on`, `off`, or `auto` (choose under `memoryBudgetMB`). Default: the model's {@linkcode TransformerModel.recompute}.
   * Results are bit-identical either way.
   */
  recompute?: RecomputeMode | undefined;
  /** For `auto`: the kernel memory in MB (weights included) a backward pass may plan for. Default: the model's. */
  memoryBudgetMB?: number | undefined;
  /**
   * Incremental decoding (language models, forward only): the batch holds the positions after those the cache
   * holds — their position ids start at `kvCache.length` and their queries attend to every cached key — and the
   * run appends their keys and values to it. Hooks see the new positions (patterns [B, H, T, length + T]).
   * See {@linkcode TransformerModel.createKvCache}.
   */
  kvCache?: KvCache | undefined;
  /**
   * Language models: compute the logits only at each row's last real token (the next-token prediction
   * generation reads), returned as `logits` [B, vocab]. Excludes labels, an objective and the `logits` name.
   */
  lastLogits?: boolean | undefined;
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
  /** Per row, the gradient of that row's own mean loss w.r.t. the head mask [B, layers, heads], when asked for. */
  headMaskGradPerExample?: Tensor;
  /** dL/d(neuron mask) per layer (layer l: `intermediateSizes[l]` values), when asked for. */
  neuronMaskGrad?: Float32Array[];
  /** Per batch row: the objective's logit, when an `objective` was given. */
  objective?: Float32Array;
  /** With a backward pass: how many blocks it recomputed instead of keeping their activations (0: none). */
  recomputedBlocks?: number;
}

/** A model in kernel memory. One instance per kernel backend; not shared across concurrent runs. */
export class TransformerModel {
  /** The checked config. */
  readonly config: ModelConfig;
  /** The family object that describes this model. */
  readonly family: ModelFamily;
  /** The backend it runs on. */
  readonly kernels: Kernels;
  /** The weights (and, when enabled, their gradients) in kernel memory. */
  readonly params: ParamStore;
  /**
   * Whether backward passes recompute each block's activations from its input (`on`), keep them (`off`), or
   * choose under {@linkcode TransformerModel.memoryBudgetMB} (`auto`, the default) — see `RunRequest.recompute`.
   */
  recompute: RecomputeMode = "auto";
  /**
   * The kernel memory in MB (weights included) an `auto` backward pass may plan for; `undefined`: the runtime's
   * (`defaultMemoryBudget()` — Deno Deploy's 512 MB, the machine's memory, at most the wasm32 4 GiB).
   */
  memoryBudgetMB: number | undefined = undefined;
  /**
   * What `generate` falls back on when not told: the end-of-sequence ids of `generation_config.json` (set by
   * `loadModel` when the checkpoint has one) or else of `config.json`'s `eos_token_id`.
   */
  generationDefaults: GenerationDefaults;
  #producible: Set<string> | undefined;
  readonly #hasHead: boolean;
  // the caches this model made: a run takes no other (their layers' widths are this model's)
  readonly #caches = new WeakSet<KvCache>();
  #generation: Promise<unknown> = Promise.resolve();

  /**
   * Places checked weights in kernel memory. Use `loadModel` to read a checkpoint.
   *
   * @param config the checked config
   * @param weights tensors by (normalised) HF name, checked with {@linkcode checkWeights} first; or a store
   *   already in `kernels`' memory (a loader's, names normalised and checked), which this seals
   * @param kernels the backend to run on
   */
  constructor(config: ModelConfig, weights: Map<string, Tensor> | ParamStore, kernels: Kernels) {
    this.config = config;
    this.family = familyOf(config);
    this.kernels = kernels;
    if (weights instanceof ParamStore && weights.kernels !== kernels) {
      throw new Error("TransformerModel: the weight store lives in another kernel instance's memory");
    }
    this.params = weights instanceof ParamStore ? weights : new ParamStore(kernels, weights);
    // 16-bit weights are widened before use: the scratch need only fit those a kernel reads whole
    this.params.seal(this.params.hasHalfWeights() ? this.#widenedWeights() : undefined);
    // the weights never change their names: whether the head is there is known once, not per run
    const spec = this.family.weights(config);
    this.#hasHead = !spec.optionalIsHead || [...spec.optional.keys()].every((n) => this.params.has(n));
    this.generationDefaults = { eosTokenIds: eosIds(config.raw.eos_token_id) };
  }

  /**
   * A KV cache for incremental decoding with this model: per attention layer, room for `capacity` positions of
   * `batchSize` rows (each layer as wide as its kv heads × d_head, pruned layers included), in the model's
   * kernel memory until {@linkcode KvCache.dispose}. Size it for the prompt and every token to be generated.
   *
   * @param opts `capacity` positions per row (at most the model's max positions), `batchSize` rows (default 1)
   * @throws {Error} for a capacity past the model's positions, or a model that is not a language model
   * @example Usage
   * ```ts
   * import { loadModel } from "./load.ts";
   * import { localFiles } from "../checkpoint/local_files.ts";
   * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
   * const cache = model.createKvCache({ capacity: 16 });
   * cache.capacity; // 16
   * cache.dispose();
   * ```
   */
  createKvCache(opts: { capacity: number; batchSize?: number }): KvCache {
    const c = this.config;
    if (c.task !== "lm") {
      throw new Error(`A KV cache is for causal language models; this ${c.family} checkpoint is a ${c.task} model`);
    }
    if (opts.capacity > c.maxPositions) {
      throw new Error(`KV cache: capacity ${opts.capacity} is past the model's max positions (${c.maxPositions})`);
    }
    // each layer's kv width, read off the family's own description (the attention ops it calls)
    const trace = traceModel(this.family, c, (n) => (this.params.has(n) ? this.params.get(n).shape : undefined));
    const widths = new Map<number, number>();
    for (const op of trace.ops) {
      if (op.op === "attention") widths.set(op.attrs.layer, (op.attrs.kvHeads ?? op.attrs.heads) * op.attrs.headDim);
    }
    const cache = new KvCache(this.kernels.mem, widths, opts.batchSize ?? 1, opts.capacity);
    this.#caches.add(cache);
    return cache;
  }

  /**
   * Continues a prompt token by token (a causal language model): greedy at temperature 0, otherwise sampled
   * with top-k / top-p from a seeded generator (the same seed, the same tokens), through a KV cache unless
   * `cache: false` (each step then runs the whole sequence again: the same tokens, for checking). Calls on one
   * model run one after another (see `core/generate`'s `generate`).
   *
   * @throws {Error} naming the option at fault, or for a model that is not a causal language model
   * @example Greedy continuation
   * ```ts
   * import { loadModel } from "./load.ts";
   * import { localFiles } from "../checkpoint/local_files.ts";
   * const { model, tokenizer } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"));
   * const out = await model.generate({ prompt: "Hello", tokenizer, maxNewTokens: 5, stopAtEos: false });
   * out.ids.length; // the prompt's ids and 5 new ones
   * out.text; // their decoded text
   * ```
   */
  generate(req: GenerateRequest): Promise<GenerateResult> {
    // generations on one model take turns: each holds a KV cache on the kernel memory's stack until it ends
    const next = this.#generation.then(() => generate(this, req));
    this.#generation = next.catch(() => undefined);
    return next;
  }

  /** The weights the forward reads whole (every op's but the row-gathering embedding lookups'). */
  #widenedWeights(): Set<string> {
    const shapeOf = (n: string) => (this.params.has(n) ? this.params.get(n).shape : undefined);
    const trace = traceModel(this.family, this.config, shapeOf);
    return new Set(trace.ops.filter((op) => op.op !== "embedding").flatMap((op) => op.weights));
  }

  /** What the model's head computes: `classify`, `regress` or `lm` (see {@linkcode TaskKind}). */
  get task(): TaskKind {
    return this.config.task;
  }

  /** Heads remaining in each layer (after pruning). */
  get headsPerLayer(): number[] {
    return this.config.prunedHeads.map((p) => this.config.heads - p.length);
  }

  /** Whether the model produces logits (a bare encoder without pooler/classifier does not). */
  get hasHead(): boolean {
    return this.#hasHead;
  }

  /**
   * Every activation name this model produces (forward values; append `_grad` for gradients), in forward
   * order — recorded from the family's own description, so it is exactly what `run` can hand back.
   */
  hookNames(): string[] {
    return [...this.#hooks()].filter((n) => !n.endsWith("_grad"));
  }

  #hooks(): Set<string> {
    if (this.#producible === undefined) {
      const trace = traceModel(
        this.family,
        this.config,
        (n) => (this.params.has(n) ? this.params.get(n).shape : undefined),
      );
      const names = [...trace.hooks.keys()];
      if (trace.logits !== undefined) names.push(hookName("logits"));
      names.push(hookName("head_mask"), hookName("neuron_mask"));
      this.#producible = new Set([...names, ...names.map((n) => `${n}_grad`)]);
    }
    return this.#producible;
  }

  /**
   * Maps an HF output name (`logits`, `hidden_states.{i}`, `attentions.{l}`, `head_mask_grad`) or one of ours
   * to ours, checking that this model produces it.
   *
   * @throws {Error} for a name the model does not produce, saying why
   */
  resolveName(name: string): string {
    const c = this.config;
    const ours = stableOutputName(name, c);
    if (this.#hooks().has(ours)) return ours;
    const parsed = parseHookName(ours);
    if (parsed?.kind === "logits") {
      throw new Error("This checkpoint has no classifier (bert.pooler / classifier weights): it gives no logits");
    }
    const why = parsed === undefined
      ? "not an activation name (see core/hooks.ts)"
      : parsed.layer !== undefined && parsed.layer >= c.layers
      ? `layer ${parsed.layer} does not exist (layers 0..${c.layers - 1})`
      : `${this.family.displayName} has no such activation`;
    throw new Error(
      `Unknown activation name "${name}" for a ${c.layers}-layer ${this.family.displayName} model: ${why}`,
    );
  }

  /**
   * Runs the model on a batch.
   *
   * @throws {Error} for a bad batch or head mask, unknown activation names, or gradients without labels
   * @example Usage
   * ```ts
   * import { loadModel } from "./load.ts";
   * import { localFiles } from "../checkpoint/local_files.ts";
   * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
   * const batch = { batchSize: 1, seqLen: 3, inputIds: Int32Array.from([2, 45, 3]) };
   * const { cache, logits } = model.run({ batch, names: ["blocks.0.attn.hook_pattern"] });
   * cache.get("blocks.0.attn.hook_pattern")!.shape; // [1, heads, 3, 3]
   * logits!.shape; // [1, labels]
   * ```
   */
  run(req: RunRequest): RunResult {
    const c = this.config;
    checkBatch(req.batch, c);
    if (req.headMask) checkHeadMask(req.headMask, c);
    if (req.neuronMask) checkNeuronMask(req.neuronMask, c);
    const names = new Set<string>();
    for (const n of req.names ?? []) names.add(this.resolveName(n));
    const observe = new Map([...(req.observe ?? [])].map(([n, f]) => [this.resolveName(n), f]));
    const patch = new Map([...(req.patch ?? [])].map(([n, f]) => [this.resolveName(n), f]));
    for (const n of patch.keys()) {
      const kind = parseHookName(n)?.kind;
      if (
        kind === "pattern" || kind === "logits" || kind === "head_mask" || kind === "neuron_mask" ||
        n.endsWith("_grad")
      ) {
        throw new Error(
          `"${n}" cannot be patched (patch the values it is computed from, or use headMask / neuronMask)`,
        );
      }
    }
    const headGradName = hookName("head_mask", undefined, true);
    const neuronGradName = hookName("neuron_mask", undefined, true);
    const recording = req.paramGrads === true || [...names].some((n) => n.endsWith("_grad"));
    const obj = req.objective;
    if (obj !== undefined && req.labels !== undefined) throw new Error("Pass labels or an objective, not both");
    if (recording && req.labels === undefined && obj === undefined) {
      throw new Error("Gradients need labels (a loss to differentiate) or an objective");
    }
    const perExample = req.perExampleHeadMaskGrad === true;
    if (perExample && (!names.has(headGradName) || req.labels === undefined)) {
      throw new Error("perExampleHeadMaskGrad needs hook_head_mask_grad in names and labels");
    }
    if ((req.labels !== undefined || obj !== undefined) && !this.hasHead) {
      throw new Error("This checkpoint has no classifier head: a loss needs one");
    }

    const cache = req.kvCache;
    const past = cache?.length ?? 0;
    if (cache !== undefined) this.#checkKvCache(cache, req.batch, recording);
    const last = req.lastLogits === true;
    if (last && (c.task !== "lm" || req.labels !== undefined || obj !== undefined || names.has(hookName("logits")))) {
      throw new Error("lastLogits is for a language model's forward pass, without labels, objective or logits");
    }
    // a wrapped executor may keep state across the forward: a block must not run twice
    const recompute = req.wrapOps ? "off" : checkRecompute(req.recompute ?? this.recompute, "recompute");
    const budgetMB = recording && recompute === "auto"
      ? checkMemoryBudget(req.memoryBudgetMB ?? this.memoryBudgetMB ?? defaultMemoryBudget().mb, "memoryBudgetMB")
      : undefined;
    const run = new Run(this.kernels, {
      keep: names,
      backward: recording,
      paramGrads: req.paramGrads === true,
      observe,
      patch,
      ...(req.dropout ? { dropout: req.dropout } : {}),
      recompute,
      ...(budgetMB !== undefined ? { memoryBudget: budgetMB * 2 ** 20 } : {}),
      blocks: c.layers,
    });
    try {
      const x = placeInputs(run, req.batch, c, req.headMask, names.has(headGradName), perExample, past);
      placeNeuronMask(run, x, c, req.neuronMask, names.has(neuronGradName));
      if (cache !== undefined) placeKeyMask(cache, req.batch, this.kernels), x.kvCache = cache;
      // a next-token or masked-token loss needs logits only where a target exists: skip the [B·T, vocab] head elsewhere
      if (req.labels !== undefined) checkLabels(c, req.batch, req.labels);
      const vocabLogits = c.task === "lm" || c.task === "mlm";
      const lm = req.labels === "lm" && c.task === "lm"
        ? nextTokenTargets(req.batch)
        : c.task === "mlm" && req.labels !== undefined && req.labels !== "lm"
        ? maskedTargets(req.labels, req.batch, c.vocabSize)
        : undefined;
      const fullLogits = names.has(hookName("logits")) || names.has(hookName("logits", undefined, true));
      if (lm && !fullLogits) x.lmRows = { ptr: run.ints(lm.rows), count: lm.rows.length };
      const objRows = obj === undefined ? undefined : objectiveRows(obj, req.batch, c.task);
      if (objRows && !fullLogits && vocabLogits) x.lmRows = { ptr: run.ints(objRows), count: objRows.length };
      const lastRows = last ? lastTokenRows(req.batch) : undefined;
      if (lastRows) x.lmRows = { ptr: run.ints(lastRows), count: lastRows.length };
      // a vocabulary head's logits, softmax and logits' gradient ([rows, vocab] f32 each) come on top of the blocks'
      // activations: for SmolLM2-135M, 150 MB a row of 256 tokens beside its 30 blocks' 416 MB
      if (recording && vocabLogits) run.reserve(3 * 4 * c.vocabSize * (x.lmRows?.count ?? x.B * x.T));
      const wasmOps = new WasmOps(run, this.params, x);
      const logitsAct = this.family.forward(req.wrapOps ? req.wrapOps(wasmOps) : wasmOps, c);
      if (cache !== undefined) cache.length = past + x.T;
      const result: RunResult = { cache: run.cache };
      if (logitsAct && lastRows) result.logits = readRows(run, logitsAct, lastRows, c.vocabSize);
      if (logitsAct) {
        run.hook(hookName("logits"), logitsAct);
        // a classifier's logits are tiny; an LM's are [B, T, vocab], copied out only when asked for
        if (!vocabLogits || names.has(hookName("logits"))) {
          result.logits = run.cache.get(hookName("logits")) ??
            { shape: [...logitsAct.shape], data: run.read(logitsAct.ptr, logitsAct.size) };
        }
        if (req.labels !== undefined) {
          result.loss = this.#loss(run, logitsAct, x, req.labels, lm);
          result.lossCount = lm ? lm.rows.length : x.B;
        }
        if (obj !== undefined) {
          result.objective = seedObjective(run, logitsAct, obj, x.lmRows || !vocabLogits ? undefined : objRows!);
        }
      }
      if (names.has(hookName("head_mask"))) {
        const m = req.headMask;
        run.cache.set(hookName("head_mask"), {
          shape: [c.layers, c.heads],
          data: Float32Array.from(
            { length: c.layers * c.heads },
            (_, i) => (m ? m[Math.floor(i / c.heads)]![i % c.heads]! : 1),
          ),
        });
      }
      if (names.has(hookName("neuron_mask"))) {
        const m = req.neuronMask;
        run.cache.set(hookName("neuron_mask"), this.#perLayerNeurons((l) => (m ? m[l]! : undefined), 1));
      }
      if (recording) {
        run.backward();
        result.recomputedBlocks = run.recomputedBlocks;
      }
      if (names.has(neuronGradName)) {
        const grads = c.intermediateSizes.map((I, l) => {
          const g = x.neuronMaskGrad?.[l] ?? 0;
          return g === 0 ? new Float32Array(I) : run.read(g, I);
        });
        result.neuronMaskGrad = grads;
        run.cache.set(neuronGradName, this.#perLayerNeurons((l) => grads[l], 0));
      }
      if (names.has(headGradName)) {
        const B = x.B;
        const shares = Array.from({ length: c.layers }, (_, l) => {
          const g = x.headMaskGrad[l]!;
          return g === 0 ? undefined : run.read(g, (perExample ? B : 1) * keptHeads(c, l).length);
        });
        // the batch's gradient is the sum of its rows' shares
        result.headMaskGrad = this.perOriginalHead((l) => {
          const g = shares[l];
          if (g === undefined || !perExample) return g;
          const H = g.length / B, sum = new Float32Array(H);
          for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) sum[h]! += g[b * H + h]!;
          return sum;
        });
        run.cache.set(headGradName, result.headMaskGrad);
        if (perExample) {
          // a row's share is of the batch's mean loss: scale it to the row's own mean loss
          const share = rowLossShares(req.batch, lm);
          const data = new Float32Array(B * c.layers * c.heads);
          for (let b = 0; b < B; b++) {
            const row = this.perOriginalHead((l) => {
              const g = shares[l];
              if (g === undefined) return undefined;
              const H = g.length / B;
              return Array.from({ length: H }, (_, h) => share[b]! === 0 ? 0 : g[b * H + h]! / share[b]!);
            });
            data.set(row.data, b * c.layers * c.heads);
          }
          result.headMaskGradPerExample = { shape: [B, c.layers, c.heads], data };
        }
      }
      return result;
    } finally {
      run.dispose();
    }
  }

  /**
   * Checks that a run can take `cache`: made by this model, not freed, as many rows as the batch, room for its
   * tokens within the model's positions, and no backward pass.
   *
   * @throws {Error} naming what does not fit
   */
  #checkKvCache(cache: KvCache, batch: Batch, recording: boolean): void {
    if (!this.#caches.has(cache)) throw new Error("kvCache: this cache was made by another model");
    if (cache.disposed) throw new Error("kvCache: the cache was disposed");
    if (recording) throw new Error("kvCache: a KV cache serves forward passes only (no gradients)");
    if (batch.batchSize !== cache.batchSize) {
      throw new Error(`kvCache: the cache has ${cache.batchSize} rows, the batch ${batch.batchSize}`);
    }
    const end = cache.length + batch.seqLen;
    if (end > cache.capacity) {
      throw new Error(
        `kvCache: ${cache.length} cached positions and ${batch.seqLen} new ones pass its capacity (${cache.capacity})`,
      );
    }
    if (end > this.config.maxPositions) {
      throw new Error(
        `Sequence length ${end} is longer than the model's max_position_embeddings (${this.config.maxPositions})`,
      );
    }
  }

  /**
   * The logit lens: the model's own readout (final LayerNorm, when the family has one, and the unembedding)
   * applied to a residual stream — e.g. `blocks.{l}.hook_resid_post` from a run — giving logits [.., vocab].
   * Applied to the last block's output it gives the model's own logits.
   *
   * @param residual activations [..., d_model]
   * @throws {Error} for a model without a language-model readout, or a residual of the wrong width
   */
  unembed(residual: Tensor): Tensor {
    const c = this.config;
    const unembed = this.family.unembed;
    if (unembed === undefined) {
      throw new Error(
        `A ${this.family.displayName} ${c.task} model has no unembedding (logit lens is for language models)`,
      );
    }
    if (residual.shape[residual.shape.length - 1] !== c.hidden) {
      throw new Error(
        `unembed: the residual must end in d_model = ${c.hidden}, got shape [${residual.shape.join(", ")}]`,
      );
    }
    const run = new Run(this.kernels);
    try {
      const x = run.act(residual.shape);
      this.kernels.mem.f32(x.ptr, x.size).set(residual.data);
      const inputs = placeInputs(run, { batchSize: 1, seqLen: 1, inputIds: new Int32Array(1) }, c, undefined, false);
      const y = unembed(new WasmOps(run, this.params, inputs), c, x);
      return { shape: [...y.shape], data: run.read(y.ptr, y.size) };
    } finally {
      run.dispose();
    }
  }

  /**
   * Spreads per-layer values of kept heads over [layers, heads] in original numbering (pruned heads 0).
   *
   * @param values layer → one value per kept head (or `undefined` for none)
   */
  perOriginalHead(values: (layer: number) => ArrayLike<number> | undefined): Tensor {
    const c = this.config;
    const out = new Float32Array(c.layers * c.heads);
    for (let l = 0; l < c.layers; l++) {
      const v = values(l);
      if (v) keptHeads(c, l).forEach((h, i) => (out[l * c.heads + h] = v[i]!));
    }
    return { shape: [c.layers, c.heads], data: out };
  }

  /** Per-layer neuron values as [layers, intermediate]: layer l's in its first I_l entries (`fill` for none). */
  #perLayerNeurons(values: (layer: number) => ArrayLike<number> | undefined, fill: number): Tensor {
    const c = this.config, W = c.intermediate;
    const out = new Float32Array(c.layers * W);
    for (let l = 0; l < c.layers; l++) {
      const I = c.intermediateSizes[l]!, v = values(l);
      for (let j = 0; j < I; j++) out[l * W + j] = v ? v[j]! : fill;
    }
    return { shape: [c.layers, W], data: out };
  }

  #loss(
    run: Run,
    logits: Act,
    x: ArenaInputs,
    labels: Labels,
    lm: { rows: Int32Array; targets: Int32Array } | undefined,
  ): number {
    const c = this.config;
    const { B, T } = x;
    if (labels === "lm" || c.task === "mlm") {
      if (lm === undefined) {
        throw new Error(`labels "lm" are for language models; a ${c.task} model needs per-row labels`);
      }
      if (x.lmRows) return crossEntropy(run, logits, run.ints(lm.targets), lm.rows.length, c.vocabSize, lm.rows.length);
      // full [B·T] logits (they were asked for): every other position is ignored
      const targets = new Int32Array(B * T).fill(-1);
      lm.rows.forEach((r, i) => (targets[r] = lm.targets[i]!));
      return crossEntropy(run, logits, run.ints(targets), B * T, c.vocabSize, lm.rows.length);
    }
    if (c.task === "lm") throw new Error(`A language model takes labels "lm" (next-token prediction)`);
    if (labels.length !== B) throw new Error(`labels has ${labels.length} values for a batch of ${B}`);
    if (c.task === "regress") {
      if (c.labels.length !== 1) throw new Error("A regression model must have exactly one output (num_labels = 1)");
      return mse(run, logits, labels);
    }
    const L = c.labels.length;
    const targets = Int32Array.from(labels as ArrayLike<number>);
    targets.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= L) {
        throw new Error(`labels[${i}] = ${labels[i]} is outside the model's ${L} classes (0..${L - 1})`);
      }
    });
    return crossEntropy(run, logits, run.ints(targets), B, L, B);
  }
}

/** HF's `eos_token_id`: one id, a list of ids, or none. */
export function eosIds(value: unknown): number[] {
  const ids = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return ids.filter((id): id is number => Number.isInteger(id) && id >= 0);
}

/** The flattened position of each row's last real token (its last position when it has none). */
function lastTokenRows(batch: Batch): Int32Array {
  const { batchSize: B, seqLen: T, attentionMask: mask } = batch;
  return Int32Array.from({ length: B }, (_, b) => {
    let t = T - 1;
    while (mask && t > 0 && mask[b * T + t] === 0) t--;
    return b * T + t;
  });
}

/**
 * Logit rows [rows.length, V]: the activation as it is when the head ran on those rows only (`lossRows`), else
 * those rows of its [B·T, V].
 */
function readRows(run: Run, logits: Act, rows: Int32Array, V: number): Tensor {
  if (logits.size === rows.length * V) return { shape: [rows.length, V], data: run.read(logits.ptr, logits.size) };
  const data = new Float32Array(rows.length * V);
  rows.forEach((r, i) => data.set(run.read(logits.ptr + 4 * r * V, V), i * V));
  return { shape: [rows.length, V], data };
}

/** Writes the batch's attention mask into the cache's key mask, at the positions the batch's tokens take. */
function placeKeyMask(cache: KvCache, batch: Batch, kernels: Kernels): void {
  const { batchSize: B, seqLen: T, attentionMask: mask } = batch;
  for (let b = 0; b < B; b++) {
    const row = kernels.mem.f32(cache.keyMask + 4 * (b * cache.capacity + cache.length), T);
    if (mask) row.set(mask.subarray(b * T, (b + 1) * T));
    else row.fill(1);
  }
}

/**
 * Mean softmax cross-entropy of logits [rows, V] against i32 targets (negative = ignored) over `counted`
 * predictions; seeds the logits' gradient when recording.
 */
function crossEntropy(run: Run, logits: Act, targets: number, rows: number, V: number, counted: number): number {
  const losses = run.act([rows]);
  const probs = run.act([rows, V]);
  run.k.crossEntropyForward(losses.ptr, probs.ptr, logits.ptr, targets, rows, V);
  let sum = 0;
  for (const l of run.k.mem.f32(losses.ptr, rows)) sum += l;
  const n = Math.max(1, counted);
  if (run.recording) run.k.crossEntropyBackward(run.gradOf(logits), probs.ptr, targets, rows, V, 1 / n);
  return sum / n;
}

/** Mean squared error of predictions [rows] against `targets`; seeds the gradient when recording. */
function mse(run: Run, pred: Act, targets: ArrayLike<number>): number {
  const p = run.k.mem.f32(pred.ptr, pred.size);
  const diff = new Float32Array(pred.size);
  let sum = 0;
  for (let i = 0; i < pred.size; i++) {
    diff[i] = p[i]! - targets[i]!;
    sum += diff[i]! * diff[i]!;
  }
  if (run.recording) {
    const view = run.k.mem.f32(run.gradOf(pred), pred.size);
    for (let i = 0; i < pred.size; i++) view[i]! += (2 * diff[i]!) / pred.size;
  }
  return sum / pred.size;
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
  const family = familyOf(config);
  const byName = new Map<string, Tensor>();
  for (const [k, v] of weights) byName.set(family.renameKey(k), v);
  const spec = checkWeightShapes(config, new Map([...byName].map(([k, t]) => [k, t.shape])), source);
  const out = new Map<string, Tensor>();
  for (const name of [...spec.required.keys(), ...spec.optional.keys()]) {
    const t = byName.get(name);
    if (t !== undefined) out.set(name, t);
  }
  return out;
}

/**
 * Checks tensor names and shapes (already renamed) against what the config implies, before any tensor data
 * is needed: a config that disagrees with its weights (a hostile `num_hidden_layers`) fails here.
 *
 * @returns the family's weight spec for the config, which the shapes satisfy
 * @throws {Error} naming the tensor and both shapes, or the missing tensor
 */
export function checkWeightShapes(
  config: ModelConfig,
  shapes: ReadonlyMap<string, readonly number[]>,
  source: string,
): WeightSpec {
  const spec = familyOf(config).weights(config);
  const check = (name: string, shape: number[], actual: readonly number[]) => {
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      throw new Error(
        `${source}: tensor "${name}" has shape [${actual.join(", ")}] but config.json implies [${shape.join(", ")}]`,
      );
    }
  };
  for (const [name, shape] of spec.required) {
    const t = shapes.get(name);
    if (t === undefined) {
      throw new Error(`${source}: tensor "${name}" is missing (expected shape [${shape.join(", ")}])`);
    }
    check(name, shape, t);
  }
  const present = [...spec.optional.keys()].filter((n) => shapes.has(n));
  if (spec.optionalIsHead && present.length > 0 && present.length < spec.optional.size) {
    const missing = [...spec.optional.keys()].filter((n) => !shapes.has(n));
    throw new Error(`${source}: classification head is incomplete: missing ${missing.map((m) => `"${m}"`).join(", ")}`);
  }
  for (const name of present) check(name, spec.optional.get(name)!, shapes.get(name)!);
  return spec;
}

/**
 * The logit rows an objective reads: for a language model, the flattened position b·T + position[b] of each
 * row (default its last); for a classifier, row b.
 *
 * @throws {Error} naming the field, for a length other than the batch's or a position outside a row
 */
function objectiveRows(obj: LogitObjective, batch: Batch, task: TaskKind): Int32Array {
  const { batchSize: B, seqLen: T } = batch;
  if (obj.logit.length !== B) throw new Error(`objective.logit has ${obj.logit.length} values for a batch of ${B}`);
  if (obj.minus !== undefined && obj.minus.length !== B) {
    throw new Error(`objective.minus has ${obj.minus.length} values for a batch of ${B}`);
  }
  if (task !== "lm" && task !== "mlm") {
    if (obj.position !== undefined) throw new Error(`objective.position is for language models, not ${task}`);
    return Int32Array.from({ length: B }, (_, b) => b);
  }
  const pos = obj.position;
  if (task === "mlm" && pos === undefined) throw new Error("objective.position is required for a masked LM");
  if (pos !== undefined && pos.length !== B) {
    throw new Error(`objective.position has ${pos.length} values for a batch of ${B}`);
  }
  return Int32Array.from({ length: B }, (_, b) => {
    const p = pos === undefined ? T - 1 : pos[b]!;
    if (!Number.isInteger(p) || p < 0 || p >= T) {
      throw new Error(`objective.position[${b}] = ${p} is outside the sequence (0..${T - 1})`);
    }
    return b * T + p;
  });
}

/**
 * Reads each row's objective logit and, when recording, seeds its gradient with 1. `rows` maps batch rows to
 * logit rows when the logits cover every position; otherwise logit row b is batch row b.
 *
 * @throws {Error} naming the field, for a class or vocabulary id outside the logits
 */
function seedObjective(run: Run, logits: Act, obj: LogitObjective, rows: Int32Array | undefined): Float32Array {
  const W = logits.shape[logits.shape.length - 1]!;
  const gradPtr = run.recording ? run.gradOf(logits) : undefined; // allocate before taking views of memory
  const values = run.k.mem.f32(logits.ptr, logits.size);
  const grad = gradPtr === undefined ? undefined : run.k.mem.f32(gradPtr, logits.size);
  return Float32Array.from({ length: obj.logit.length }, (_, b) => {
    const j = obj.logit[b]!;
    if (!Number.isInteger(j) || j < 0 || j >= W) {
      throw new Error(`objective.logit[${b}] = ${j} is outside the model's ${W} logits (0..${W - 1})`);
    }
    const i = (rows === undefined ? b : rows[b]!) * W + j;
    if (grad !== undefined) grad[i]! += 1;
    if (obj.minus === undefined) return values[i]!;
    const d = obj.minus[b]!;
    if (!Number.isInteger(d) || d < 0 || d >= W) {
      throw new Error(`objective.minus[${b}] = ${d} is outside the model's ${W} logits (0..${W - 1})`);
    }
    const id = i - j + d;
    if (grad !== undefined) grad[id]! -= 1;
    return values[i]! - values[id]!;
  });
}

/**
 * A masked LM's targets: the flattened positions whose label is a token id (not -100), and those ids.
 *
 * @throws {Error} naming the field, for a length other than B·T, an id outside the vocabulary, or no target
 */
function maskedTargets(
  labels: Exclude<Labels, "lm">,
  batch: Batch,
  vocabSize: number,
): { rows: Int32Array; targets: Int32Array } {
  const n = batch.batchSize * batch.seqLen;
  if (labels.length !== n) {
    throw new Error(`labels has ${labels.length} values; a masked LM needs one per position (B·T = ${n})`);
  }
  const rows: number[] = [], targets: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = labels[i]!;
    if (t === -100) continue;
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new Error(`labels[${i}] = ${t} is neither -100 nor a token id (0..${vocabSize - 1})`);
    }
    rows.push(i);
    targets.push(t);
  }
  if (rows.length === 0) throw new Error("labels mark no position to predict (every value is -100)");
  return { rows: Int32Array.from(rows), targets: Int32Array.from(targets) };
}

/**
 * Next-token targets of a batch: position t of a row predicts token t+1 when that token is real (padding and
 * each row's last position predict nothing). Returns the flattened positions that predict, and their targets.
 */
/**
 * Each row's weight in the batch's mean loss: 1/B per row, or for a next-token loss the row's share of the
 * batch's targets (a row without targets weighs 0).
 */
function rowLossShares(batch: Batch, lm: { rows: Int32Array } | undefined): number[] {
  const B = batch.batchSize, T = batch.seqLen;
  if (lm === undefined) return new Array<number>(B).fill(1 / B);
  const counts = new Array<number>(B).fill(0);
  for (const r of lm.rows) counts[Math.floor(r / T)]!++;
  return counts.map((n) => n / lm.rows.length);
}

function nextTokenTargets(batch: Batch): { rows: Int32Array; targets: Int32Array } {
  const { batchSize: B, seqLen: T, inputIds: ids, attentionMask: mask } = batch;
  const rows: number[] = [], targets: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const j = b * T + t + 1;
      if (!mask || mask[j] === 1) {
        rows.push(b * T + t);
        targets.push(ids[j]!);
      }
    }
  }
  return { rows: Int32Array.from(rows), targets: Int32Array.from(targets) };
}
