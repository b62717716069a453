/**
 * Attention analysis and layer probing: Clark, Khandelwal, Levy & Manning (2019), "What Does BERT Look
 * At?" — per-head attention statistics, Jensen–Shannon distances between heads and their MDS map,
 * syntactic heads on Universal Dependencies — and Tenney, Das & Pavlick (2019), "BERT Rediscovers the
 * Classical NLP Pipeline" — linear and scalar-mix probes per layer, Δ(ℓ), E_Δ, E_s. Reading a CoNLL-U file
 * from disk is in `@bertology/core/analysis/read-conllu` (Deno).
 *
 * @example Usage
 * ```ts ignore
 * import { AttentionStatsMeter, forEachAttention } from "@bertology/core/analysis";
 * const meter = new AttentionStatsMeter(model.config.layers * model.config.heads);
 * forEachAttention(model, inputs, (ex, i) => meter.add(ex, flags[i]));
 * meter.result().cls; // [layers · heads]
 * ```
 *
 * @module
 */

export * from "./conllu.ts";
export * from "./word_alignment.ts";
export * from "./attention_maps.ts";
export * from "./attention_stats.ts";
export * from "./head_distance.ts";
export * from "./mds.ts";
export * from "./syntactic_heads.ts";
export * from "./word_features.ts";
export * from "./probe.ts";
export * from "./ud.ts";
export * from "./head_roles.ts";
