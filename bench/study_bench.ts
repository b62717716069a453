/**
 * An end-to-end study: head importance and attention entropy over SST-2 dev (the repo's copy,
 * `data/glue/SST-2/dev.tsv`, 872 sentences) with a BERT-base-shaped random classifier and BERT-base's
 * uncased WordPiece vocabulary, batch 8 — once as the studies batch it (length-bucketed, each batch padded
 * to its longest row, per-example importance) and once as HF's `run_bertology.py` does (file order, every
 * example padded to `max_seq_length` 128, per-batch importance): the same engine, with and without bucketing.
 * The two passes alternate (`rounds` of each), so background load hits both alike. HF's batches all have one
 * shape, so its pass is timed on an evenly spaced sample of them and scaled by the batch count (`paddedSample`).
 *
 * @module
 */

import { localFiles } from "@bertology/core/checkpoint/deno";
import { readStudyDataset } from "@bertology/core/studies/read-dataset";
import { type StudyDataset, studyHeadImportance } from "@bertology/core/studies";
import { loadTokenizer } from "@bertology/core/tokenizers";
import { defaultThreads } from "@bertology/core/kernels";
import type { TransformerModel } from "@bertology/core/models";
import { randomBertBase } from "./bert_bench.ts";

const DATA_DIR = new URL("../data/glue", import.meta.url).pathname;
const VOCAB_DIR = new URL("../tests/fixtures/vocab/bert-base-uncased", import.meta.url).pathname;

/** Options of {@linkcode benchStudy}. */
export interface StudyBenchOptions {
  /** Only the first N sentences (default: all 872); for a quick look, not the figure. */
  subset?: number | undefined;
  /** Timed passes of each batching (default 1: a full pass takes minutes). */
  rounds?: number | undefined;
  /**
   * Padded batches actually timed (default 16, evenly spaced): every batch of HF's batching has the same shape
   * [8, 128] (the last one excepted), so its pass costs batches × the mean time of one; 0 times them all.
   */
  paddedSample?: number | undefined;
  /** Kernel threads (default: the cores available). */
  threads?: number | undefined;
}

/** What {@linkcode benchStudy} measures, in `--json`'s keys. */
export interface StudyBenchResult {
  /** Seconds of one importance + entropy pass: `ours` bucketed, `padded_128` HF's fixed padding. */
  study_s: { ours: number; padded_128: number };
  /** Sentences, tokens (non-pad) and padded positions the passes ran: `{examples, tokens, ours_positions, padded_positions}`. */
  study_workload: {
    examples: number;
    tokens: number;
    ours_positions: number;
    padded_positions: number;
    padded_batches: number;
    padded_batches_timed: number;
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Padded positions (rows × their batch's length) of a dataset's batches. */
function positions(data: StudyDataset): number {
  return data.batches.reduce((n, { batch }) => n + batch.batchSize * batch.seqLen, 0);
}

/**
 * Times the study both ways, prints the comparison and returns the figures.
 *
 * @param opts subset and rounds
 * @returns `study_s` and the workload behind it
 * @throws {Error} when the two passes disagree on entropy (they must not: only the padding differs)
 */
export async function benchStudy(opts: StudyBenchOptions = {}): Promise<StudyBenchResult> {
  const model = randomBertBase(opts.threads ?? defaultThreads());
  try {
    return await timeStudy(model, opts);
  } finally {
    model.kernels.close();
  }
}

async function timeStudy(model: TransformerModel, opts: StudyBenchOptions): Promise<StudyBenchResult> {
  const tokenizer = await loadTokenizer(localFiles(VOCAB_DIR), "wordpiece");
  const read = (batching: "bucketed" | "hf") =>
    readStudyDataset({ glue: { dataDir: DATA_DIR, task: "sst-2", split: "dev" } }, model, tokenizer, {
      batchSize: 8,
      maxSeqLength: 128,
      subset: opts.subset,
      batching,
    });
  const ours = await read("bucketed"), all = await read("hf");
  // HF's batches all have one shape: time an evenly spaced sample of them and scale by the batch count
  const want = opts.paddedSample ?? 16;
  const sampled = want > 0 && want < all.batches.length
    ? Array.from({ length: want }, (_, i) => all.batches[Math.floor((i * all.batches.length) / want)]!)
    : all.batches;
  const padded = { ...all, batches: sampled };
  const scale = all.batches.length / sampled.length;
  const tokens = ours.batches.reduce((n, { batch }) => n + batch.attentionMask!.reduce((a, b) => a + b, 0), 0);
  const workload = {
    examples: ours.examples.length,
    tokens,
    ours_positions: positions(ours),
    padded_positions: positions(all),
    padded_batches: all.batches.length,
    padded_batches_timed: sampled.length,
  };
  const rounds = opts.rounds ?? 1;
  const times = { ours: [] as number[], padded: [] as number[] };
  let last: { ours?: ReturnType<typeof studyHeadImportance>; padded?: ReturnType<typeof studyHeadImportance> } = {};
  for (let r = 0; r < rounds; r++) {
    for (const [key, data] of [["ours", ours], ["padded", padded]] as const) {
      console.error(`  … ${key === "ours" ? "bucketed" : "padded to 128"}, round ${r + 1} of ${rounds}`);
      const t = performance.now();
      const result = studyHeadImportance(model, data);
      times[key].push(((performance.now() - t) / 1000) * (key === "padded" ? scale : 1));
      last = { ...last, [key]: result };
    }
  }
  // the same examples, padded differently: entropy and predictions agree (importance differs by definition:
  // per example for ours, per fixed batch of 8 for HF's)
  // (checked when every padded batch ran: a sample covers only some examples)
  const a = last.ours!, b = last.padded!;
  const complete = sampled.length === all.batches.length;
  const entropyGap = complete ? Math.max(...a.entropy.data.map((v, i) => Math.abs(v - b.entropy.data[i]!))) : NaN;
  if (complete && (!(entropyGap <= 1e-3) || a.preds.length !== b.preds.length)) {
    throw new Error(`bucketed and padded passes disagree: entropy max|diff| ${entropyGap}`);
  }
  // a random model's two logits can be near-ties that float rounding flips: reported, not required
  const samePreds = complete ? a.preds.filter((p, i) => p === b.preds[i]).length : NaN;
  const study = { ours: median(times.ours), padded_128: median(times.padded) };
  console.log(
    `Study: importance + entropy over SST-2 dev (${workload.examples} sentences, ${tokens} tokens), BERT-base shape, ` +
      `batch 8, ${model.kernels.threads} thread(s), median of ${rounds} round(s):\n` +
      `  ours, length-bucketed (${workload.ours_positions} padded positions): ${study.ours.toFixed(1)} s\n` +
      `  HF run_bertology.py batching, every example padded to 128 (${workload.padded_positions} positions): ` +
      `${study.padded_128.toFixed(1)} s` +
      (complete ? "" : ` (${sampled.length} of its ${all.batches.length} same-shape batches timed, scaled)`) + "\n" +
      `  padded / bucketed: ${(study.padded_128 / study.ours).toFixed(2)}×` +
      (complete
        ? `; entropy max|diff| ${entropyGap.toExponential(1)}, predictions agree on ${samePreds} of ${a.preds.length}`
        : ""),
  );
  return { study_s: study, study_workload: workload };
}
