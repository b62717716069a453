/**
 * `bertology probe`: Tenney et al. (2019)'s layer probing on a CoNLL-U treebank — a linear softmax probe on
 * each layer's word representations (UPOS, or the dependency label from dependent ⊕ parent), cumulative
 * scalar-mix probes for Δ(ℓ) and E_Δ, and the full scalar mix's weights, γ and centre of gravity →
 * `OUT/probe.json`. Sharded (`--shard I/N`), each shard extracts the word features of its batches of sentences
 * (the model's part of the work) and `bertology merge` trains the probes on them all.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { type LayerProbing, layerProbing } from "@bertology/core/analysis";
import { readConllu } from "@bertology/core/analysis/read-conllu";
import {
  type ConlluSentence,
  type EncodedTreebank,
  encodeTreebank,
  type ProbeTaskName,
  udProbeSet,
} from "@bertology/core/analysis";
import { joinWordFeatures, type WordFeatures, wordFeatures, wordFeaturesPart } from "@bertology/core/analysis";
import type { WordFeaturesPart } from "@bertology/core/analysis";
import { readNpy, writeNpy } from "@bertology/core/checkpoint";
import type { TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import {
  canonicalJson,
  digestParts,
  makePartial,
  modelFingerprint,
  PARTIAL_FILE,
  type ShardFile,
} from "@bertology/core/studies";
import {
  DTYPE_OPTION,
  dtypeFlag,
  localSources,
  numberFlag,
  openModel,
  parseFlags,
  UsageError,
  withProgress,
  writeFileAtomic,
} from "../_common.ts";
import {
  commandShard,
  SHARD_FLAGS,
  SHARD_HELP,
  shardAlreadyDone,
  shardFolder,
  studySettings,
  writeShardPartial,
} from "../_shard.ts";

/** Sentences per forward pass of the word features (a shard runs whole batches, as one run does). */
const FEATURE_BATCH = 16;

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
                [--seed 0] [--shard I/N | --shards N|auto] [--json] [--offline] [--dtype f32|f16]
  Word representations are every layer's hidden state (0 = embeddings … L) averaged over the word's pieces. A
  linear softmax probe per layer, trained with AdamW on --train and scored on --test: "upos" classifies each word's
  UPOS tag, "deprel" each non-root word's relation (its universal part) from the concatenation of the dependent's
  and the parent's representations. Scalar-mix probes (softmax weights s over layers and a scale γ, trained with
  the classifier) on layers 0…ℓ give the cumulative accuracy, Δ(ℓ) = its gain over 0…ℓ−1, and the expected layer
  E_Δ = Σ ℓ·Δ(ℓ) / Σ Δ(ℓ) (an expected layer only when no Δ(ℓ) is negative; "expected_layer_meaningful" says
  which); the mix over every layer gives s, γ and the centre of gravity E_s = Σ ℓ·s(ℓ).
  --max-sentences caps both files. Zero-initialised probes and a seeded shuffle: the same flags give the same file.
  Writes OUT/probe.json: {"layer_accuracy": [L+1], "delta": [L+1] (Δ(0) written 0), "expected_layer",
  "mix_weights": [L+1], "gamma", "center_of_gravity", "mix_accuracy", "cumulative_accuracy", …}.
  Sharded, the model's work is split: the batches of ${FEATURE_BATCH} sentences of both files go round-robin to the
  shards, each writes its words' features (train_features.npy, test_features.npy: [L+1, words, hidden] float32) and
  partial.json into OUT/shard-I-of-N/, and \`bertology merge OUT --output-dir M\` trains the probes on the joined
  features (equal to one run's) and writes M/probe.json:
${SHARD_HELP}`;

/** The files probe (and its merge) writes. */
export const PROBE_OUTPUTS = ["probe.json"];

/** A shard's feature files, beside its partial.json. */
const FEATURE_FILES = { train: "train_features.npy", test: "test_features.npy" } as const;

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
    const tb = await readProbeTreebank(tokenizer, file, opts);
    const features = await withProgress(
      `probe: word features of ${file}`,
      (onProgress) =>
        wordFeatures(model, tb.encodings, { batchSize: FEATURE_BATCH, padId: tokenizer.padId, onProgress }),
    );
    return { tb, features };
  };
  const tr = await load(trainFile), te = await load(testFile);
  return await trainProbes(tr, te, tasks, opts);
}

/** Reads a treebank and encodes its sentences word by word (capped at `maxSentences`). */
async function readProbeTreebank(
  tokenizer: Tokenizer,
  file: string,
  opts: { maxSentences?: number; maxLength: number },
): Promise<EncodedTreebank> {
  const s = await readConllu(file);
  const tb = encodeTreebank(tokenizer, s.slice(0, opts.maxSentences ?? s.length), opts.maxLength);
  if (tb.sentences.length === 0) throw new Error(`No sentence of ${file} fits in ${opts.maxLength} pieces`);
  return tb;
}

/** A treebank's sentences (those that fit) and their word features. */
interface ProbeData {
  tb: { sentences: readonly ConlluSentence[]; skipped: number };
  features: WordFeatures;
}

/** Trains each task's probes on the training features and scores them on the test features. */
async function trainProbes<T extends ProbeTaskName>(
  tr: ProbeData,
  te: ProbeData,
  tasks: readonly T[],
  opts: ProbeTreebanksOptions,
): Promise<Record<T, ProbeTreebanksResult>> {
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
    ...SHARD_FLAGS,
    force: { type: "boolean" },
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
  const shard = commandShard(values);
  const log = (s: string) => values.json ? console.error(s) : console.log(s);
  const t0 = performance.now();
  const { model, tokenizer } = await openModel(values.model!, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  if (!tokenizer) throw new Error(`${values.model} has no tokenizer files: probe needs one`);
  const opts = {
    ...(values["max-sentences"] !== undefined ? { maxSentences: pos("max-sentences", 1) } : {}),
    maxLength: Math.min(pos("max-seq-length", 128), model.config.maxPositions),
    epochs: pos("epochs", PROBE_EPOCHS),
    lr,
    batchSize: pos("batch-size", 64),
    seed,
  };
  const context: ProbeContext = {
    model: values.model!,
    task,
    train: values.train!,
    test: values.test!,
    layers: model.config.layers,
    options: { epochs: opts.epochs, lr, batch_size: opts.batchSize, seed },
  };
  const outDir = values["output-dir"]!;
  if (shard) {
    const tr = await readProbeTreebank(tokenizer, values.train!, opts);
    const te = await readProbeTreebank(tokenizer, values.test!, opts);
    const encoded = (tb: EncodedTreebank) => tb.sentences.map((s, i) => canonicalJson([s, tb.encodings[i]]));
    const inputs = {
      settings: studySettings(values),
      model: await modelFingerprint(model),
      data: await digestParts([
        `train ${tr.sentences.length}`,
        ...encoded(tr),
        `test ${te.sentences.length}`,
        ...encoded(te),
      ]),
    };
    const folder = shardFolder(outDir, shard);
    const header = { study: "probe", inputs, shard };
    const done = await makePartial({ ...header, units: { total: 0, covered: [] }, seconds: 0, context: {}, sums: {} });
    if (await shardAlreadyDone(folder, done)) {
      log(`${folder}/${PARTIAL_FILE} is already there from this run: shard ${shard.index} of ${shard.count} is done`);
      return 0;
    }
    const part = async (tb: EncodedTreebank, file: string) =>
      await withProgress(
        `probe: word features of ${file}, shard ${shard.index} of ${shard.count}`,
        (onProgress) =>
          wordFeaturesPart(model, tb.encodings, shard, {
            batchSize: FEATURE_BATCH,
            padId: tokenizer.padId,
            onProgress,
          }),
      );
    const parts = { train: await part(tr, values.train!), test: await part(te, values.test!) };
    const files: Record<string, Uint8Array> = {};
    const sums: Record<string, unknown> = {};
    for (const which of ["train", "test"] as const) {
      const p = parts[which], bytes = featuresNpy(p);
      files[FEATURE_FILES[which]] = bytes;
      sums[which] = { batches: p.batches, sentences: p.sentences, words: p.count, digest: await digestParts([bytes]) };
    }
    const trainBatches = Math.ceil(tr.sentences.length / FEATURE_BATCH);
    const partial = await makePartial({
      ...header,
      units: {
        total: trainBatches + Math.ceil(te.sentences.length / FEATURE_BATCH),
        covered: [...parts.train.batches, ...parts.test.batches.map((k) => trainBatches + k)],
      },
      seconds: (performance.now() - t0) / 1000,
      context: {
        ...context,
        dim: model.config.hidden,
        treebanks: {
          train: { sentences: tr.sentences, skipped: tr.skipped },
          test: { sentences: te.sentences, skipped: te.skipped },
        },
      },
      sums,
    });
    await writeShardPartial(folder, partial, {
      sources: localSources(values.model!, values.train!, values.test!),
      force: values.force,
    }, files);
    log(
      `wrote ${folder}/${PARTIAL_FILE}: the word features of ${parts.train.sentences.length} of ${tr.sentences.length} ` +
        `training and ${parts.test.sentences.length} of ${te.sentences.length} test sentences`,
    );
    return 0;
  }
  const { [task]: r } = await probeTreebanks(model, tokenizer, values.train!, values.test!, [task], opts);
  const out = probeJson(context, r, (performance.now() - t0) / 1000);
  await Deno.mkdir(outDir, { recursive: true });
  await writeFileAtomic(`${outDir}/probe.json`, JSON.stringify(out, null, 1) + "\n");
  logProbe(log, task, r);
  log(`Wrote ${outDir}/probe.json (${out.seconds.toFixed(1)} s)`);
  if (values.json) console.log(JSON.stringify(out));
  return 0;
}

/** What probe.json says of the run besides the results (and every shard records for merge). */
interface ProbeContext {
  model: string;
  task: ProbeTaskName;
  train: string;
  test: string;
  layers: number;
  options: { epochs: number; lr: number; batch_size: number; seed: number };
}

/** A shard's features of one treebank as [L+1, words, hidden] float32 .npy bytes. */
function featuresNpy(p: WordFeaturesPart): Uint8Array {
  const data = new Float32Array(p.layers.length * p.count * p.dim);
  p.layers.forEach((l, i) => data.set(l, i * p.count * p.dim));
  return writeNpy({ shape: [p.layers.length, p.count, p.dim], data });
}

/**
 * Merges the shards of a probe study: joins their word features (checked against the digests their
 * partial.json recorded) and trains the probes, as one run does → probe.json.
 *
 * @param shards The shards, checked and in order.
 * @param log Prints a line.
 * @returns The file.
 * @throws {Error} naming the file when a shard's features are missing, altered or of the wrong size
 */
export async function mergeProbeShards(
  shards: readonly ShardFile[],
  log: (s: string) => void,
): Promise<Record<string, string>> {
  const t0 = performance.now();
  const c = shards[0]!.partial.context as unknown as ProbeContext & {
    dim: number;
    treebanks: Record<"train" | "test", { sentences: ConlluSentence[]; skipped: number }>;
  };
  const data = {} as Record<"train" | "test", ProbeData>;
  for (const which of ["train", "test"] as const) {
    const tb = c.treebanks?.[which];
    if (!tb || !Array.isArray(tb.sentences)) {
      throw new Error(`${shards[0]!.file}: context.treebanks.${which} is missing`);
    }
    const parts: WordFeaturesPart[] = [];
    for (const { file, partial } of shards) {
      const s = (partial.sums as Record<string, unknown>)[which] as
        | { batches: number[]; sentences: number[]; words: number; digest: string }
        | undefined;
      if (!s || !Array.isArray(s.sentences) || typeof s.digest !== "string") {
        throw new Error(`${file}: sums.${which} must hold the shard's sentences and its features' digest`);
      }
      const npy = join(dirname(file), FEATURE_FILES[which]);
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(npy);
      } catch (e) {
        throw new Error(`Cannot read ${npy}, the features beside ${file}: ${(e as Error).message}`);
      }
      if (await digestParts([bytes]) !== s.digest) {
        throw new Error(`${npy} is not the file ${file} was written with (its digest differs): rerun that shard`);
      }
      const t = readNpy(bytes, npy);
      const [n, words, dim] = t.shape;
      if (t.shape.length !== 3 || n !== c.layers + 1 || words !== s.words || dim !== c.dim) {
        throw new Error(
          `${npy} has shape [${t.shape.join(", ")}], expected [${c.layers + 1}, ${s.words}, ${c.dim}]`,
        );
      }
      const layers = Array.from({ length: n }, (_, l) => t.data.subarray(l * words * dim, (l + 1) * words * dim));
      parts.push({ batches: s.batches, sentences: s.sentences, layers, dim, count: words });
    }
    const features = joinWordFeatures(tb.sentences.map((x) => x.words.length), parts);
    data[which] = { tb, features };
  }
  const { [c.task]: r } = await trainProbes(data.train, data.test, [c.task], {
    maxLength: 0,
    epochs: c.options.epochs,
    lr: c.options.lr,
    batchSize: c.options.batch_size,
    seed: c.options.seed,
  });
  logProbe(log, c.task, r);
  const seconds = shards.reduce((a, s) => a + s.partial.seconds, 0) + (performance.now() - t0) / 1000;
  const { model, task, train, test, layers, options } = c;
  return {
    "probe.json": JSON.stringify(probeJson({ model, task, train, test, layers, options }, r, seconds), null, 1) + "\n",
  };
}

/** probe.json's contents. */
function probeJson(c: ProbeContext, r: ProbeTreebanksResult, seconds: number) {
  return {
    model: c.model,
    task: c.task,
    train: c.train,
    test: c.test,
    layers: c.layers,
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
    options: c.options,
    seconds,
  };
}

/** The readable summary: per layer accuracy, cumulative accuracy, Δ and s, then the mix's figures. */
function logProbe(log: (s: string) => void, task: string, r: ProbeTreebanksResult): void {
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
}
