/**
 * The data the page draws: the API's answers (types shared with the server, erased in the bundle) and the
 * view state that an exported standalone file carries.
 *
 * @module
 */

import type { AnalyzeResponse, HeadStats } from "../analyze.ts";
import type { ModelSummary } from "../app.ts";
import type { AttributeMethod, AttributeResponse } from "../attribute.ts";
import type { ImportanceResponse } from "../importance.ts";
import type { PatchResponse } from "../patch.ts";
import type { GenerateResponse } from "../generate.ts";

export type {
  AnalyzeResponse,
  AttributeMethod,
  AttributeResponse,
  GenerateResponse,
  HeadStats,
  ImportanceResponse,
  ModelSummary,
  PatchResponse,
};

/** Everything one view shows; an exported HTML file embeds exactly this. */
export interface ViewData {
  model: ModelSummary;
  text: string;
  text_pair?: string;
  /** The label the importance was measured with (name), when it was. */
  label?: string;
  analysis: AnalyzeResponse;
  importance: ImportanceResponse | null;
  /** The `/api/attribute` answers fetched so far for this sentence, by method. */
  attributions?: Partial<Record<AttributeMethod, AttributeResponse>>;
  /** Where the analysis was computed (`server (wasm)`, `in this browser (onnxruntime-web wasm)` …). */
  compute?: string;
  /** The last patching run: its two sentences and the answer. */
  patch?: { clean: string; corrupted: string; result: PatchResponse };
  /** A continuation's analysis: the position of the first generated token (the head view marks those from it on). */
  generated_from?: number;
}

/** What is selected. */
export interface ViewState {
  /** Index into `analysis.layers`. */
  layer: number;
  /** Heads shown in the head view (original numbering). */
  heads: number[];
  /** The head view (and statistics) over words instead of tokens. */
  wordLevel?: boolean;
  /** The attribution strip's method. */
  attribution?: string;
  /** The statistic of the head-statistics heatmap. */
  stat?: string;
}
