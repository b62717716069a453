/**
 * Attention rollout and attention flow (Abnar & Zuidema 2020) computed in the page from the attention maps an
 * `/api/analyze` answer carries: each layer's maps averaged over its heads (pruned ones skipped), mixed with
 * the residual connection (0.5·Ā + 0.5·I, rows normalised), then multiplied through the layers (rollout) or
 * read as capacities of a max-flow (flow) — `core/attribution`'s own functions, run in the browser. The scores
 * are the output position's row: the first token for a classifier, the last one for a language model.
 *
 * @module
 */

import { flowScores } from "@bertology/core/attribution";
import { mixResidual, rollout } from "@bertology/core/attribution";
import type { AnalyzeResponse } from "../analyze.ts";

/** The two attention-graph methods. */
export type GraphMethod = "rollout" | "flow";

/** Per-token scores of one method, at the output position. */
export interface GraphScores {
  /** The position the scores flow to. */
  position: number;
  /** One score per token. */
  scores: number[];
}

/**
 * Rollout or flow scores from an analysis that holds every layer's maps.
 *
 * @param a the `/api/analyze` answer
 * @param layers the model's layer count (`/api/model`'s `layers`)
 * @param method rollout or flow
 * @returns the scores, or `undefined` when the analysis lacks some layer (both methods need all of them)
 * @example Usage
 * ```ts ignore
 * const r = attentionGraphScores(analysis, model.layers, "rollout");
 * ```
 */
export function attentionGraphScores(
  a: Pick<AnalyzeResponse, "tokens" | "layers" | "attention" | "probabilities">,
  layers: number,
  method: GraphMethod,
): GraphScores | undefined {
  const T = a.tokens.length;
  if (a.layers.length !== layers || a.layers.some((l, i) => l !== i)) return undefined;
  const mixed = a.attention.map((heads) => {
    const maps = heads.filter((m): m is number[][] => m !== null);
    const mean = new Float32Array(T * T);
    for (const m of maps) {
      for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) mean[i * T + j]! += m[i]![j]! / maps.length;
    }
    return mixResidual(mean, T);
  });
  // a classifier reads its first token ([CLS]); a language model predicts from its last
  const position = a.probabilities !== null ? 0 : T - 1;
  if (method === "flow") return { position, scores: Array.from(flowScores(mixed, T, position)) };
  return { position, scores: Array.from(rollout(mixed, T).subarray(position * T, (position + 1) * T)) };
}
