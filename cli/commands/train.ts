/**
 * `bertology train`: trains a BERT classifier on a GLUE task or custom data, a GPT model as a causal LM on
 * a task's sentences, or a BERT masked LM (`--objective mlm`) on plain-text corpora, from scratch or from a
 * checkpoint (pruned ones included), and saves HF checkpoints.
 *
 * @module
 */

import { join } from "node:path";
import { localFiles, openOutputFolder, readLocalFile } from "@bertology/core/checkpoint/deno";
import { type InputExample, labelIds } from "@bertology/core/data";
import { glueTask } from "@bertology/core/data";
import { readGlueExamples, readTabularFile } from "@bertology/core/data/read-files";
import type { TabularFormat } from "@bertology/core/data";
import type { Family } from "@bertology/core/models";
import { familyOf, modelTypes, parseConfig } from "@bertology/core/models";
import { loadModel } from "@bertology/core/models";
import { TransformerModel } from "@bertology/core/models";
import { loadTokenizer, type Tokenizer, WordPieceTokenizer } from "@bertology/core/tokenizers";
import { mixSeed } from "@bertology/core/rng";
import { initWeights, type MaskingOptions, newConfig } from "@bertology/core/training";
import { type Objective, train, type TrainExample } from "@bertology/core/training";
import {
  commandKernels,
  localSources,
  numberFlag,
  parseFlags,
  Progress,
  UsageError,
  useCommandMemory,
  writeFileAtomic,
} from "../_common.ts";
import { lmEncoding } from "@bertology/core/studies";

/** Help text. */
export const TRAIN_HELP = `Usage: bertology train [options]

Trains a BERT classifier (GLUE task or custom data), a GPT causal LM (--lm) or a BERT masked
LM (--objective mlm) and saves HF checkpoints to OUT/best (best dev epoch) and OUT/last.

Data:
  --task NAME               GLUE task (sst-2, cola, mrpc, sts-b, qnli, rte, ...)
  --data-dir DIR            folder holding the GLUE task folders (default data/glue)
  --train-file FILE         custom data instead of a GLUE task (.csv, .tsv or .jsonl)
  --dev-file FILE           custom dev data (same columns)
  --text-column COL         text column (name or 0-based index; default "sentence")
  --text-pair-column COL    second text column (sentence pairs)
  --label-column COL        label column (default "label")
  --train-subset N          use only the first N training rows
  --lm                      causal language modelling on the texts (GPT models)
  --objective mlm           masked-language modelling (BERT, BertForMaskedLM head) on --corpus:
      --corpus FILE[,FILE…]     plain text, one example per line (blank lines skipped)
      --dev-corpus FILE[,FILE…] held-out text, scored each epoch (masked-token accuracy, perplexity)
      --mlm-probability X (0.15)  --whole-word-mask (mask all pieces of a word together)
Model (one of):
  --from DIR                continue from a checkpoint folder (its pruned heads are kept)
  --family bert|gpt2|openai-gpt --vocab DIR   a new model; DIR holds the tokenizer files
      --layers N --heads N --hidden N [--intermediate N] [--max-positions N]
Training:
  --epochs N (3)  --batch-size N (32)  --lr X (5e-5)  --warmup X (0: fraction if < 1, else updates)
  --weight-decay X (0)  --max-grad-norm X (1)  --dropout X (0.1)  --max-seq-length N (128)
  --seed N (42)  --eval-batch-size N (64)
  --group-by-length         batch examples of similar length together (HF group_by_length; less padding)
  --save-steps N            also save OUT/last every N updates (HF save_steps; default: after each epoch)
Output:
  --output-dir OUT (required)  --dtype f32|f16 (f32)  --json (print a JSON summary)
  --force                   write into a non-empty OUT that bertology did not write (its files are kept)
  OUT gets best/ and last/ (each replaced in one atomic step: a link to a hidden .best.ckpt-* folder) and
  train_summary.json; an OUT that is or holds --from, --vocab or the data is refused.
`;

function intFlag(v: string | undefined, flag: string, fallback: number, min = 1): number {
  const n = numberFlag(v, flag, fallback, true);
  if (n < min) throw new UsageError(`--${flag} must be at least ${min}, got ${n}`);
  return n;
}

function column(v: string | undefined, fallback: string): string | number {
  const s = v ?? fallback;
  return /^\d+$/.test(s) ? Number(s) : s;
}

function formatOf(file: string): TabularFormat {
  const ext = file.toLowerCase().split(".").pop();
  if (ext === "csv" || ext === "tsv" || ext === "jsonl") return ext;
  throw new UsageError(`Cannot tell the format of "${file}": expected a .csv, .tsv or .jsonl file`);
}

/** Reads plain-text corpus files (comma-separated paths): one example per non-blank line, in file order. */
async function readCorpus(paths: string, flag: string): Promise<InputExample[]> {
  const out: InputExample[] = [];
  for (const path of paths.split(",")) {
    let text: string;
    try {
      const bytes = await readLocalFile(path);
      if (bytes === undefined) throw new Error("no such file");
      text = new TextDecoder().decode(bytes);
    } catch (e) {
      throw new Error(`${flag}: cannot read "${path}": ${(e as Error).message}`);
    }
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() !== "") out.push({ guid: `${path}:${i + 1}`, textA: line, label: undefined });
    });
  }
  if (out.length === 0) throw new Error(`${flag}: "${paths}" holds no text (every line is blank)`);
  return out;
}

/** BERT's masking with this tokenizer's `[MASK]` and special tokens; whole words follow WordPiece's `##`. */
function maskingFor(tokenizer: Tokenizer, probability: number, wholeWord: boolean): MaskingOptions {
  const maskId = tokenizer.tokenToId("[MASK]");
  if (maskId === undefined) throw new Error("--objective mlm: the tokenizer has no [MASK] token");
  // as HF's special-tokens mask: never choose [CLS], [SEP], [PAD], [UNK] (nor [MASK] itself)
  const special = new Set<number>([tokenizer.padId, maskId]);
  for (const t of ["[CLS]", "[SEP]", "[PAD]", "[UNK]"]) {
    const id = tokenizer.tokenToId(t);
    if (id !== undefined) special.add(id);
  }
  return {
    maskId,
    vocabSize: tokenizer.vocabSize,
    special,
    probability,
    ...(wholeWord ? { continuesWord: (id: number) => tokenizer.idToToken(id).startsWith("##") } : {}),
  };
}

/** A BERT with a new, HF-initialised pooler (when missing) and classifier for `labels`. */
function withNewHead(
  model: TransformerModel,
  labels: readonly string[],
  outputMode: "classification" | "regression",
  seed: number,
): TransformerModel {
  const raw: Record<string, unknown> = {
    ...model.config.raw,
    num_labels: labels.length,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
  if (outputMode === "regression") raw.problem_type = "regression";
  else delete raw.problem_type;
  const config = parseConfig(raw, "config.json");
  const weights = model.params.toTensors();
  const fresh = initWeights(config, seed);
  for (const name of ["bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"]) {
    if (name.startsWith("classifier") || !weights.has(name)) weights.set(name, fresh.get(name)!);
  }
  return new TransformerModel(config, weights, model.kernels);
}

/**
 * Runs `bertology train` with command-line arguments.
 *
 * @param args The arguments after `train`.
 * @returns The exit code: 0 on success, 2 for a usage error, 1 for other failures.
 *
 * @example Usage
 * ```ts ignore
 * const code = await trainCommand(["--task", "sst-2", "--from", "models/bert-sst2", "--epochs", "1", "--output-dir", "out"]);
 * ```
 */
export async function trainCommand(args: string[]): Promise<number> {
  try {
    return await run(args);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`bertology train: ${e.message}\n\n${TRAIN_HELP}`);
      return 2;
    }
    console.error(`bertology train: ${(e as Error).message}`);
    return 1;
  }
}

async function run(args: string[]): Promise<number> {
  const { values: f } = parseFlags(args, {
    help: { type: "boolean", short: "h" },
    task: { type: "string" },
    "data-dir": { type: "string" },
    "train-file": { type: "string" },
    "dev-file": { type: "string" },
    "text-column": { type: "string" },
    "text-pair-column": { type: "string" },
    "label-column": { type: "string" },
    "train-subset": { type: "string" },
    lm: { type: "boolean" },
    objective: { type: "string" },
    corpus: { type: "string" },
    "dev-corpus": { type: "string" },
    "mlm-probability": { type: "string" },
    "whole-word-mask": { type: "boolean" },
    from: { type: "string" },
    family: { type: "string" },
    vocab: { type: "string" },
    layers: { type: "string" },
    heads: { type: "string" },
    hidden: { type: "string" },
    intermediate: { type: "string" },
    "max-positions": { type: "string" },
    epochs: { type: "string" },
    "batch-size": { type: "string" },
    "eval-batch-size": { type: "string" },
    lr: { type: "string" },
    warmup: { type: "string" },
    "weight-decay": { type: "string" },
    "max-grad-norm": { type: "string" },
    dropout: { type: "string" },
    "max-seq-length": { type: "string" },
    seed: { type: "string" },
    "output-dir": { type: "string" },
    dtype: { type: "string" },
    json: { type: "boolean" },
    "group-by-length": { type: "boolean" },
    "save-steps": { type: "string" },
    force: { type: "boolean" },
  });
  if (f.help) {
    console.log(TRAIN_HELP);
    return 0;
  }
  // ---------------------------------------------------------------- flags
  const outDir = f["output-dir"];
  if (!outDir) throw new UsageError("--output-dir is required");
  if (f.objective !== undefined && f.objective !== "mlm" && f.objective !== "lm") {
    throw new UsageError(`--objective must be mlm or lm, got "${f.objective}"`);
  }
  const mlm = f.objective === "mlm";
  if (mlm && (f.task !== undefined || f["train-file"] !== undefined || f.lm)) {
    throw new UsageError("--objective mlm trains on --corpus FILE(s); --task, --train-file and --lm do not apply");
  }
  if (!mlm && (f.corpus !== undefined || f["dev-corpus"] !== undefined || f["whole-word-mask"])) {
    throw new UsageError("--corpus, --dev-corpus and --whole-word-mask are for --objective mlm");
  }
  if (mlm && f.corpus === undefined) throw new UsageError("--objective mlm needs --corpus FILE[,FILE…]");
  if (!mlm && f.task === undefined && f["train-file"] === undefined) {
    throw new UsageError("Give --task NAME or --train-file FILE");
  }
  if (f.task !== undefined && f["train-file"] !== undefined) {
    throw new UsageError("Give --task or --train-file, not both");
  }
  if ((f.from === undefined) === (f.family === undefined)) {
    throw new UsageError("Give --from DIR (continue a checkpoint) or --family NAME (a new model), exactly one");
  }
  const epochs = intFlag(f.epochs, "epochs", 3);
  const batchSize = intFlag(f["batch-size"], "batch-size", 32);
  const evalBatchSize = intFlag(f["eval-batch-size"], "eval-batch-size", 64);
  const maxSeq = intFlag(f["max-seq-length"], "max-seq-length", 128, 2);
  const seed = intFlag(f.seed, "seed", 42, 0);
  const lr = numberFlag(f.lr, "lr", 5e-5);
  if (!(lr > 0)) throw new UsageError(`--lr must be positive, got ${lr}`);
  const warmup = numberFlag(f.warmup, "warmup", 0);
  if (warmup < 0) throw new UsageError(`--warmup must be ≥ 0, got ${warmup}`);
  const weightDecay = numberFlag(f["weight-decay"], "weight-decay", 0);
  const maxGradNorm = numberFlag(f["max-grad-norm"], "max-grad-norm", 1);
  const dropout = numberFlag(f.dropout, "dropout", 0.1);
  if (!(dropout >= 0 && dropout < 1)) throw new UsageError(`--dropout must be in [0, 1), got ${dropout}`);
  const subset = f["train-subset"] === undefined ? undefined : intFlag(f["train-subset"], "train-subset", 1);
  const dtypeFlag = (f.dtype ?? "f32").toLowerCase();
  if (dtypeFlag !== "f32" && dtypeFlag !== "f16") throw new UsageError(`--dtype must be f32 or f16, got "${f.dtype}"`);
  const dtype = dtypeFlag === "f16" ? "F16" : "F32";
  const lm = f.lm === true || f.objective === "lm";
  const saveSteps = f["save-steps"] === undefined ? 0 : intFlag(f["save-steps"], "save-steps", 1);
  const maskProbability = numberFlag(f["mlm-probability"], "mlm-probability", 0.15);
  if (!(maskProbability > 0 && maskProbability < 1)) {
    throw new UsageError(`--mlm-probability must be in (0, 1), got ${maskProbability}`);
  }

  // ---------------------------------------------------------------- data
  let trainRaw: InputExample[], devRaw: InputExample[] = [];
  let labelNames: string[], outputMode: "classification" | "regression";
  let glueName: string | undefined;
  if (mlm) {
    trainRaw = await readCorpus(f.corpus!, "--corpus");
    if (f["dev-corpus"] !== undefined) devRaw = await readCorpus(f["dev-corpus"], "--dev-corpus");
    labelNames = [];
    outputMode = "classification";
  } else if (f.task !== undefined) {
    let task;
    try {
      task = glueTask(f.task);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    glueName = task.name;
    const dataDir = f["data-dir"] ?? "data/glue";
    trainRaw = await readGlueExamples(dataDir, task, "train");
    devRaw = await readGlueExamples(dataDir, task, "dev");
    labelNames = [...task.labels];
    outputMode = task.outputMode;
  } else {
    const trainFile = f["train-file"]!;
    const opts = {
      textColumn: column(f["text-column"], "sentence"),
      textPairColumn: f["text-pair-column"] === undefined ? undefined : column(f["text-pair-column"], ""),
      labelColumn: lm && f["label-column"] === undefined ? undefined : column(f["label-column"], "label"),
    };
    const data = await readTabularFile(trainFile, { format: formatOf(trainFile), ...opts });
    trainRaw = data.examples;
    labelNames = data.labels;
    outputMode = data.outputMode;
    if (f["dev-file"] !== undefined) {
      devRaw = (await readTabularFile(f["dev-file"], { format: formatOf(f["dev-file"]), ...opts, labels: data.labels }))
        .examples;
    }
  }
  if (subset !== undefined) trainRaw = trainRaw.slice(0, subset);

  // ---------------------------------------------------------------- model
  const kernels = commandKernels();
  let model: TransformerModel, tokenizer: Tokenizer, tokenizerDir: string;
  const extraFiles: Record<string, string> = {};
  if (f.from !== undefined) {
    const loaded = await loadModel(localFiles(f.from), { kernels });
    model = loaded.model;
    tokenizer = loaded.tokenizer!;
    tokenizerDir = f.from;
    const wanted = outputMode === "regression" ? ["LABEL_0"] : labelNames;
    if (!lm && !mlm && model.task !== "lm" && (!model.hasHead || model.config.labels.length !== wanted.length)) {
      // a bare encoder (bert-base-uncased) or another task's head: new classifier as HF's from_pretrained does
      model = withNewHead(model, wanted, outputMode, mixSeed(seed, 0));
      console.error(`bertology train: ${f.from} gets a new ${wanted.length}-output classification head`);
    }
  } else {
    const family = f.family as Family;
    if (!modelTypes().includes(family)) {
      throw new UsageError(`--family must be one of ${modelTypes().join(", ")}, got "${f.family}"`);
    }
    if (f.vocab === undefined) throw new UsageError("A new model needs --vocab DIR (the tokenizer files)");
    tokenizerDir = f.vocab;
    tokenizer = await loadTokenizer(localFiles(f.vocab), familyOf(family).tokenizer);
    const hidden = intFlag(f.hidden, "hidden", 128);
    const { raw, config } = newConfig({
      family,
      layers: intFlag(f.layers, "layers", 4),
      heads: intFlag(f.heads, "heads", 4),
      hidden,
      intermediate: intFlag(f.intermediate, "intermediate", 4 * hidden),
      vocabSize: tokenizer.vocabSize,
      maxPositions: intFlag(f["max-positions"], "max-positions", Math.max(maxSeq, 128)),
      labels: outputMode === "regression" || mlm ? undefined : labelNames,
      problemType: outputMode === "regression" ? "regression" : undefined,
      dropout,
      maskedLM: mlm,
    });
    model = new TransformerModel(config, initWeights(config, mixSeed(seed, 0)), kernels);
    if (tokenizer instanceof WordPieceTokenizer) {
      extraFiles["tokenizer_config.json"] = JSON.stringify(
        { tokenizer_class: "BertTokenizer", do_lower_case: true, model_max_length: raw.max_position_embeddings },
        null,
        2,
      ) + "\n";
    }
  }
  useCommandMemory(model);
  const family = model.config.family;
  if (lm && model.task !== "lm") {
    throw new UsageError(`--lm trains language models; a ${family} model trains as a classifier`);
  }
  if (!lm && model.task === "lm") throw new UsageError(`A ${family} model trains as a causal LM: add --lm`);
  if (mlm !== (model.task === "mlm")) {
    throw new UsageError(
      mlm
        ? `--objective mlm needs a masked-LM checkpoint (BertForMaskedLM) or --family bert; this is a ${model.task} model`
        : `A masked-LM checkpoint trains with --objective mlm`,
    );
  }
  if (maxSeq > model.config.maxPositions) {
    throw new UsageError(`--max-seq-length ${maxSeq} exceeds the model's ${model.config.maxPositions} positions`);
  }
  if (!lm && !mlm && model.config.labels.length !== (outputMode === "regression" ? 1 : labelNames.length)) {
    throw new Error(
      `The model has ${model.config.labels.length} outputs but the data has ${labelNames.length} labels (${
        labelNames.join(", ")
      })`,
    );
  }

  // ---------------------------------------------------------------- encode
  const encode = (examples: InputExample[], what: string): TrainExample[] => {
    const labels = lm || mlm ? undefined : labelIds(examples, { labels: labelNames, outputMode });
    return examples.map((e, i) => {
      if (mlm) {
        const enc = tokenizer.encode(e.textA, undefined, { maxLength: maxSeq });
        return { ids: enc.ids, tokenTypeIds: enc.tokenTypeIds };
      }
      if (lm) {
        const enc = lmEncoding(tokenizer, e, maxSeq);
        if (enc.ids.length < 2) throw new Error(`${what} example ${i} has fewer than 2 tokens`);
        return enc;
      }
      const enc = tokenizer.encode(e.textA, e.textB, { maxLength: maxSeq });
      return { ids: enc.ids, tokenTypeIds: enc.tokenTypeIds, label: labels![i] };
    });
  };
  const trainSet = encode(trainRaw, "train");
  const devSet = devRaw.length > 0 ? encode(devRaw, "dev") : [];
  const objective: Objective = mlm
    ? { kind: "mlm", masking: maskingFor(tokenizer, maskProbability, f["whole-word-mask"] === true) }
    : lm
    ? { kind: "lm" }
    : { kind: outputMode, glueTask: glueName };

  // ---------------------------------------------------------------- output (refused before any training)
  await openOutputFolder(outDir, ["best", "last", "train_summary.json"], {
    force: f.force,
    sources: localSources(
      f.from,
      f.vocab,
      f["train-file"],
      f["dev-file"],
      ...(f.corpus?.split(",") ?? []),
      ...(f["dev-corpus"]?.split(",") ?? []),
      f.task === undefined ? undefined : f["data-dir"] ?? "data/glue",
    ),
    flag: "--output-dir",
  });

  // ---------------------------------------------------------------- train
  const tty = Deno.stderr.isTerminal();
  const total = Math.ceil(trainSet.length / batchSize) * epochs;
  const bar = new Progress("train", total);
  let lossAvg = NaN;
  const logEvery = Math.max(1, Math.round(total / 50));
  const started = performance.now();
  const result = await train(model, {
    objective,
    train: trainSet,
    dev: devSet,
    epochs,
    batchSize,
    lr,
    warmup,
    weightDecay,
    maxGradNorm,
    dropout,
    seed,
    groupByLength: f["group-by-length"] === true,
    padId: tokenizer.padId,
    evalBatchSize,
    checkpoint: { dir: outDir, dtype, tokenizerDir, extraFiles },
    saveEvery: saveSteps,
    onStep: (p) => {
      lossAvg = Number.isNaN(lossAvg) ? p.loss : 0.98 * lossAvg + 0.02 * p.loss;
      if (tty) bar.tick();
      else if (!f.json && (p.step % logEvery === 0 || p.step === p.totalSteps)) {
        console.error(
          `step ${p.step}/${p.totalSteps} epoch ${p.epoch} loss ${lossAvg.toFixed(4)} lr ${p.lr.toExponential(2)} ` +
            `${p.elapsed.toFixed(0)}s`,
        );
      }
    },
    onEpoch: (r) => {
      bar.end();
      if (f.json) return;
      const dev = r.dev
        ? Object.entries(r.dev.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(" ") +
          ` (dev loss ${r.dev.loss.toFixed(4)})`
        : "no dev data";
      console.error(`epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}, ${dev}${r.best ? " [best]" : ""}`);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    task: glueName ?? f["train-file"] ?? f.corpus,
    objective: objective.kind,
    family,
    parameters: model.params.count(),
    trainExamples: trainSet.length,
    devExamples: devSet.length,
    epochs: result.epochs.map((e) => ({
      epoch: e.epoch,
      trainLoss: e.trainLoss,
      dev: e.dev?.metrics,
      seconds: e.seconds,
    })),
    bestEpoch: result.bestEpoch,
    bestMetric: result.bestMetric,
    totalSteps: result.totalSteps,
    seconds,
    seed,
    groupByLength: f["group-by-length"] === true,
    output: { best: join(outDir, "best"), last: join(outDir, "last"), dtype },
  };
  await writeFileAtomic(join(outDir, "train_summary.json"), JSON.stringify(summary, null, 2) + "\n");
  if (f.json) console.log(JSON.stringify(summary, null, 2));
  else {
    console.error(
      `done in ${seconds.toFixed(0)}s: best epoch ${result.bestEpoch}${
        result.bestMetric ? ` (${result.bestMetric.key} ${result.bestMetric.value.toFixed(4)})` : ""
      }; saved ${join(outDir, "best")} and ${join(outDir, "last")}`,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await trainCommand(Deno.args));
