/**
 * `bertology composition --model DIR`: Q-, K- and V-composition scores between every pair of heads in different
 * layers, from the weights, as TransformerLens's `all_composition_scores` defines them, with a random baseline.
 *
 * @module
 */

import { COMPOSITION_MODES, compositionScores } from "@bertology/core/circuits";
import { DTYPE_OPTION, dtypeFlag, numberFlag, openModel, parseFlags, required, UsageError } from "../_common.ts";

/** Help text. */
export const COMPOSITION_HELP =
  `bertology composition --model DIR [--top 10] [--baseline 20] [--seed 0] [--json] [--offline] [--dtype f32|f16]
  Composition scores (Elhage et al. 2021) as TransformerLens's all_composition_scores: for a head a in an earlier
  layer and a head b in a later one, ‖L R‖_F / (‖L‖_F ‖R‖_F) with L = W_V^a W_O^a (a's OV circuit) and R =
  W_Q^b (W_K^b)ᵀ (Q-composition), W_K^b (W_Q^b)ᵀ (K) or W_V^b W_O^b (V); 0 where b is not in a later layer. The
  checkpoint's weights (no folded norms, no biases), W_Q / W_K before any rotary embedding; under grouped-query
  attention query head h reads kv head h // (heads / kv_heads). The baseline is the mean score of --baseline pairs
  of random Gaussian matrices of the same shapes (seeded by --seed). Prints the --top pairs of each kind.
  --json prints {"Q", "K", "V"}, each [L][H][L][H] (pruned heads null), and "baseline": {"Q", "K", "V",
  "samples", "seed"} when --baseline is given.`;

/** Runs the command; returns the exit code. */
export async function compositionCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    top: { type: "string" },
    baseline: { type: "string" },
    seed: { type: "string" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    ...DTYPE_OPTION,
  });
  const modelDir = required(values.model, "model");
  const top = numberFlag(values.top, "top", 10, true);
  if (top < 1) throw new UsageError(`--top must be at least 1, got ${top}`);
  const samples = numberFlag(values.baseline, "baseline", 20, true);
  if (samples < 0) throw new UsageError(`--baseline must be 0 or more random pairs, got ${samples}`);
  const seed = numberFlag(values.seed, "seed", 0, true);
  const { model } = await openModel(modelDir, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
    tokenizer: false,
  });
  const s = compositionScores(model, { baselineSamples: samples, seed });
  const { layers: L, heads: H } = model.config;
  if (values.json) {
    const nest = (data: Float32Array) =>
      Array.from(
        { length: L },
        (_, la) =>
          Array.from({ length: H }, (_, ha) =>
            Array.from({ length: L }, (_, lb) =>
              Array.from(data.subarray(((la * H + ha) * L + lb) * H, ((la * H + ha) * L + lb + 1) * H)))),
      );
    const out: Record<string, unknown> = { Q: nest(s.Q.data), K: nest(s.K.data), V: nest(s.V.data) };
    if (values.baseline !== undefined) out.baseline = s.baseline;
    console.log(JSON.stringify(out));
    return 0;
  }
  for (const mode of COMPOSITION_MODES) {
    const pairs: Array<{ score: number; from: string; to: string }> = [];
    s[mode].data.forEach((score, i) => {
      const hb = i % H, lb = Math.floor(i / H) % L, ha = Math.floor(i / (H * L)) % H, la = Math.floor(i / (H * L * H));
      if (la < lb && !Number.isNaN(score)) pairs.push({ score, from: `a${la}.h${ha}`, to: `a${lb}.h${hb}` });
    });
    pairs.sort((x, y) => y.score - x.score);
    const base = s.baseline[mode];
    console.log(
      `${mode}-composition: top ${Math.min(top, pairs.length)} of ${pairs.length} pairs (random baseline ${
        Number.isNaN(base) ? "not computed" : base.toFixed(4)
      })`,
    );
    for (const p of pairs.slice(0, top)) console.log(`  ${p.from} → ${p.to}  ${p.score.toFixed(4)}`);
  }
  return 0;
}
