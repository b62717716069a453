/**
 * `bertology probe`: Tenney et al. (2019)'s layer probing on a CoNLL-U treebank — a linear softmax probe on
 * each layer's word representations (UPOS, or the dependency label from dependent ⊕ parent), cumulative
 * scalar-mix probes for Δ(ℓ) and E_Δ, and the full scalar mix's weights, γ and centre of gravity →
 * `OUT/probe.json`.
 *
 * @module
 */

import { type LayerProbing, layerProbing } from "@bertology/core/analysis";
import { readConllu } from "@bertology/core/analysis/read-conllu";
import { encodeTreebank, type ProbeTaskName, udProbeSet } from "@bertology/core/analysis";
import { wordFeatures } from "@bertology/core/analysis";
import type { TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import {
  DTYPE_OPTION,
  dtypeFlag,
  numberFlag,
  openModel,
  parseFlags,
  UsageError,
  withProgress,
  writeFileAtomic,
} from "../_common.ts";

/** Probe epochs when not given: the demo's, so that the README's command reproduces the report's figures. */
export const PROBE_EPOCHS = 6;

/**
 * Whether E_Δ = Σ ℓ·Δ(ℓ) / Σ Δ(ℓ) means an expected layer: only when no Δ(ℓ) is negative (Tenney et al. read Δ
 * as a distribution over layers; a layer that loses accuracy makes the weights negative and the quotient
 * unbounded, e.g. −11.75 for a 4-layer model).
 */
export function expectedLayerIsMeaningful(delta: readonly number[]): boolean {
  return delta.every((d) => d >= 0);
}

/** Help text. */
export const PROBE_HELP =
  `bertology probe --model DIR --train FILE.conllu --test FILE.conllu --task upos|deprel --output-dir OUT
                [--max-sentences N] [--max-seq-length 128] [--epochs ${PROBE_EPOCHS}] [--lr 0.005] [--batch-size 64]
                [--seed 0] [--json] [--offline] [--dtype f32|f16]
  Word representations are every layer's hidden state (0 = embeddings … L) averaged over the word's pieces. A
  linear softmax probe per layer, trained with AdamW on --train and scored on --test: "upos" classifies each word's
  UPOS tag, "deprel" each non-root word's relation (its universal part) from the concatenation of the dependent's
  and the parent's representations. Scalar-mix probes (softmax weights s over layers and a scale γ, trained with
  the classifier) on layers 0…ℓ give the cumulative accuracy, Δ(ℓ) = its gain over 0…ℓ−1, and the expected layer
  E_Δ = Σ ℓ·Δ(ℓ) / Σ Δ(ℓ) (an expected layer only when no Δ(ℓ) is negative; "expected_layer_meaningful" says
  which); the mix over every layer gives s, γ and the centre of gravity E_s = Σ ℓ·s(ℓ).
  --max-sentences caps both files. Zero-initialised probes and a seeded shuffle: the same flags give the same file.
  Writes OUT/probe.json: {"layer_accuracy": [L+1], "delta": [L+1] (Δ(0) written 0), "expected_layer",
  "mix_weights": [L+1], "gamma", "center_of_gravity", "mix_accuracy", "cumulative_accuracy", …}.`;

/** Options of {@linkcode probeTreebanks}. */
export interface ProbeTreebanksOptions {
  /** Sentences read from each file at most. */
  maxSentences?: number;
  /** Longest encoding, special tokens included. */
  maxLength: number;
  /** Probe epochs, learning rate, batch size, seed. */
  epochs?: number;
  lr?: number;
  batchSize?: number;
  seed?: number;
}

/** The probing result with the data it came from. */
export interface ProbeTreebanksResult extends LayerProbing {
  /** Class labels, in class order (from the training file). */
  labels: string[];
  /** Training and test examples. */
  trainExamples: number;
  testExamples: number;
  /** Sentences left out (too long) in each file. */
  skipped: { train: number; test: number };
}

/**
 * Reads two treebanks, builds word features with the model once and runs the layer study of each task (shared by
 * the command and the demo report).
 *
 * @throws {Error} naming a file that cannot be read or has no sentence that fits
 */
export async function probeTreebanks<T extends ProbeTaskName>(
  model: TransformerModel,
  tokenizer: Tokenizer,
  trainFile: string,
  testFile: string,
  tasks: readonly T[],
  opts: ProbeTreebanksOptions,
): Promise<Record<T, ProbeTreebanksResult>> {
  const load = async (file: string) => {
    const s = await readConllu(file);
    const tb = encodeTreebank(tokenizer, s.slice(0, opts.maxSentences ?? s.length), opts.maxLength);
    if (tb.sentences.length === 0) throw new Error(`No sentence of ${file} fits in ${opts.maxLength} pieces`);
    const features = await withProgress(
      `probe: word features of ${file}`,
      (onProgress) => wordFeatures(model, tb.encodings, { padId: tokenizer.padId, onProgress }),
    );
    return { tb, features };
  };
  const tr = await load(trainFile), te = await load(testFile);
  const out = {} as Record<T, ProbeTreebanksResult>;
  for (const task of tasks) {
    const labels = new Map<string, number>();
    const train = udProbeSet(tr.tb.sentences, tr.features, task, labels, true);
    const test = udProbeSet(te.tb.sentences, te.features, task, labels, false);
    const r = await withProgress(`probe ${task}: training probes`, (onProgress) =>
      layerProbing(train, test, {
        onProgress,
        classes: labels.size,
        ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
        ...(opts.lr !== undefined ? { lr: opts.lr } : {}),
        ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      }));
    out[task] = {
      ...r,
      labels: [...labels.keys()],
      trainExamples: train.labels.length,
      testExamples: test.labels.length,
      skipped: { train: tr.tb.skipped, test: te.tb.skipped },
    };
  }
  return out;
}

/** Runs the command; returns the exit code. */
export async function probeCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    train: { type: "string" },
    test: { type: "string" },
    task: { type: "string" },
    "max-sentences": { type: "string" },
    "max-seq-length": { type: "string" },
    epochs: { type: "string" },
    lr: { type: "string" },
    "batch-size": { type: "string" },
    seed: { type: "string" },
    "output-dir": { type: "string" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    ...DTYPE_OPTION,
  });
  for (const f of ["model", "train", "test", "task", "output-dir"] as const) {
    if (!values[f]) throw new UsageError(`--${f} is required`);
  }
  const task = values.task!;
  if (task !== "upos" && task !== "deprel") throw new UsageError(`--task must be upos or deprel, got "${task}"`);
  const pos = (flag: "max-sentences" | "max-seq-length" | "epochs" | "batch-size", fallback: number) => {
    const n = numberFlag(values[flag], flag, fallback, true);
    if (n < 1) throw new UsageError(`--${flag} must be a positive integer, got "${values[flag]}"`);
    return n;
  };
  const lr = numberFlag(values.lr, "lr", 5e-3);
  if (!(lr > 0)) throw new UsageError(`--lr must be positive, got "${values.lr}"`);
  const seed = numberFlag(values.seed, "seed", 0, true);
  const log = (s: string) => values.json ? console.error(s) : console.log(s);
  const t0 = performance.now();
  const { model, tokenizer } = await openModel(values.model!, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  if (!tokenizer) throw new Error(`${values.model} has no tokenizer files: probe needs one`);
  const { [task]: r } = await probeTreebanks(model, tokenizer, values.train!, values.test!, [task], {
    ...(values["max-sentences"] !== undefined ? { maxSentences: pos("max-sentences", 1) } : {}),
    maxLength: Math.min(pos("max-seq-length", 128), model.config.maxPositions),
    epochs: pos("epochs", PROBE_EPOCHS),
    lr,
    batchSize: pos("batch-size", 64),
    seed,
  });
  const out = {
    model: values.model,
    task,
    train: values.train,
    test: values.test,
    layers: model.config.layers,
    classes: r.labels.length,
    labels: r.labels,
    train_examples: r.trainExamples,
    test_examples: r.testExamples,
    skipped_sentences: r.skipped,
    layer_accuracy: r.layerAccuracy,
    cumulative_accuracy: r.cumulativeAccuracy,
    delta: r.delta,
    expected_layer: r.expectedLayer,
    expected_layer_meaningful: r.expectedLayer !== null && expectedLayerIsMeaningful(r.delta),
    mix_weights: r.mixWeights,
    gamma: r.gamma,
    center_of_gravity: r.centerOfGravity,
    mix_accuracy: r.mixAccuracy,
    options: { epochs: pos("epochs", PROBE_EPOCHS), lr, batch_size: pos("batch-size", 64), seed },
    seconds: (performance.now() - t0) / 1000,
  };
  await Deno.mkdir(values["output-dir"]!, { recursive: true });
  await writeFileAtomic(`${values["output-dir"]}/probe.json`, JSON.stringify(out, null, 1) + "\n");
  log(`${task}: ${r.trainExamples} training and ${r.testExamples} test examples, ${r.labels.length} classes`);
  log(`layer  accuracy  cumulative  Δ(ℓ)     s(ℓ)`);
  r.layerAccuracy.forEach((a, l) =>
    log(
      `${String(l).padStart(5)}  ${a.toFixed(4)}    ${r.cumulativeAccuracy[l]!.toFixed(4)}      ${
        r.delta[l]!.toFixed(4).padStart(7)
      }  ${r.mixWeights[l]!.toFixed(3)}`,
    )
  );
  const negative = r.delta.filter((d) => d < 0).length;
  const eDelta = r.expectedLayer === null
    ? "n/a (no layer adds accuracy)"
    : negative > 0
    ? `${
      r.expectedLayer.toFixed(2)
    }, meaningless: ${negative} of the Δ(ℓ) are negative, so they are no distribution over layers`
    : r.expectedLayer.toFixed(2);
  log(
    `mix accuracy ${r.mixAccuracy.toFixed(4)}, γ ${r.gamma.toFixed(3)}, E_Δ ${eDelta}, E_s ${
      r.centerOfGravity.toFixed(2)
    }`,
  );
  log(`Wrote ${values["output-dir"]}/probe.json (${out.seconds.toFixed(1)} s)`);
  if (values.json) console.log(JSON.stringify(out));
  return 0;
}
