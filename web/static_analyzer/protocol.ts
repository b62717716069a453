/**
 * The messages between the static analyzer's page and its compute worker (`worker.ts`). The page asks with
 * the same paths and bodies it sends a bertology server (`/api/analyze`, …): the worker answers them through the
 * server's own parsers and compute functions, so nothing differs but the transport. Dataset studies and pruning
 * are messages of their own.
 *
 * @module
 */

import type { PickedFile } from "@bertology/core/checkpoint";

/** Where the model comes from: files the user picked or dropped, or a folder URL (hub, bundled example). */
export type ModelSource =
  | { kind: "picked"; files: PickedFile[]; name: string }
  | { kind: "url"; url: string; name: string };

/** A dataset study: importance, then (optionally) iterative masking, over a pasted or dropped file. */
export interface StudyRequest {
  /** The file's text. */
  text: string;
  /** Its format. */
  format: "csv" | "tsv" | "jsonl";
  /** Column (header name, JSON key, or 0-based index as digits) of the text. */
  textColumn: string;
  /** Column of the second text of a pair, if any. */
  textPairColumn?: string;
  /** Column of the label (a language model needs none). */
  labelColumn?: string;
  /** Rows per batch (default 8). */
  batchSize?: number;
  /** Run iterative masking after importance. */
  masking: boolean;
  /** Keep the metric ≥ threshold × original (default 0.9). */
  threshold?: number;
  /** Fraction of the heads masked per step (default 0.1). */
  amount?: number;
  /** Bootstrap resamples of each masking step's score (default 1000; 0: no intervals), as `heads --bootstrap`. */
  bootstrap?: number;
  /** Random masks scored per masking step (default 3; 0: none), as `heads --random-masks`. */
  randomMasks?: number;
  /** Random half-splits for the importance ranking's stability (default 5 with masking; 0: none). */
  stabilitySplits?: number;
}

/** One masking step as the study answers it (the CLI report's `masking.steps[i]`). */
export interface StudyStep {
  step: number;
  score: number;
  heads_kept: number;
  fraction_kept: number;
  masked: [number, number][];
  /** The 95 % percentile bootstrap interval of the score over the examples (not for language models). */
  score_ci?: [number, number];
  /** Scores of random masks keeping as many heads (Budhraja et al. 2020's baseline). */
  random_masks?: { scores: number[]; mean: number; min: number; max: number };
}

/** What a study answers: the CLI `heads` report's fields. */
export interface StudyResult {
  data: string;
  examples: number;
  metric: string;
  score: number;
  loss: number;
  head_importance: number[][];
  head_importance_raw: number[][];
  attn_entropy: number[][];
  masking?: {
    threshold: number;
    amount: number;
    original_score: number;
    final_score: number;
    head_mask: number[][];
    steps: StudyStep[];
  };
  /** Spearman ρ between the importances of two random halves of the batches, per split (the CLI report's field). */
  importance_rank_stability?: { splits: number; spearman: number[]; mean: number; min: number; max: number };
}

/** Messages to the worker. */
export type ToWorker =
  | { type: "load"; id: number; source: ModelSource; threads: number }
  | { type: "api"; id: number; path: string; body?: unknown }
  | { type: "study"; id: number; request: StudyRequest }
  | { type: "prune"; id: number; headMask: number[][] };

/** Progress of a long job. */
export interface Progress {
  /** What is running (`download`, `importance`, `masking`). */
  stage: string;
  /** Units done. */
  done: number;
  /** Units in all, when known. */
  total?: number;
  /** A line for the progress bar's label. */
  note: string;
}

/** Messages from the worker. */
export type FromWorker =
  | { type: "progress"; id: number; progress: Progress }
  | { type: "done"; id: number; result: unknown }
  | { type: "error"; id: number; message: string; status?: number };

/** What `load` answers. */
export interface LoadResult {
  /** The page's model summary (what `GET /api/model` answers). */
  summary: import("../model_summary.ts").ModelSummary;
  /** Threads the kernels run on. */
  threads: number;
}

/** What `prune` answers: the pruned checkpoint's files and what changed. */
export interface PruneResult {
  files: Record<string, Uint8Array>;
  heads_pruned: Record<string, number[]>;
  heads_per_layer: number[];
  parameters_before: number;
  parameters_after: number;
}
