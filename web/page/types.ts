/**
 * The data the page draws: the API's answers (types shared with the server, erased in the bundle) and the
 * view state that an exported standalone file carries.
 *
 * @module
 */

import type { AnalyzeResponse } from "../analyze.ts";
import type { ModelSummary } from "../app.ts";
import type { ImportanceResponse } from "../importance.ts";

export type { AnalyzeResponse, ImportanceResponse, ModelSummary };

/** Everything one view shows; an exported HTML file embeds exactly this. */
export interface ViewData {
  model: ModelSummary;
  text: string;
  text_pair?: string;
  /** The label the importance was measured with (name), when it was. */
  label?: string;
  analysis: AnalyzeResponse;
  importance: ImportanceResponse | null;
}

/** What is selected. */
export interface ViewState {
  /** Index into `analysis.layers`. */
  layer: number;
  /** Heads shown in the head view (original numbering). */
  heads: number[];
}
