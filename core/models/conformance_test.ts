/**
 * Conformance of every registered family: its description, traced on a tiny new config (unpruned, and with
 * uneven heads and neurons pruned), names every per-layer activation, calls the protocol ops a family must not
 * forget (the head mask inside each layer's attention, the neuron mask before each MLP's output projection,
 * `lossRows` before a language model's head) and costs what the closed formula of a transformer block says: every
 * matrix product of a block is one of the weights holding its heads or neurons (q, k, v and output projections —
 * k and v only kvHeads wide under grouped-query attention — and the MLP's two or three projections, read off the
 * family's weight shapes), plus attention's two T×T products per query head.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { sharingGroups } from "../bertology/prune.ts";
import { keptKvHeads } from "./config.ts";
import { type HookKind, hookName, HOOKS } from "../hooks.ts";
import type { AttentionSpec } from "./ops.ts";
import { familyOf, modelTypes, parseConfig } from "./registry.ts";
import { blockFlops, traceModel } from "./trace_ops.ts";

const LAYERED = (Object.keys(HOOKS) as HookKind[]).filter((k) => HOOKS[k].template.includes("{l}"));

for (const type of modelTypes()) {
  Deno.test(`${type}: the traced description names every hook, calls every protocol op, and costs the block formula`, () => {
    const family = familyOf(type);
    const sizes = { layers: 3, heads: 4, hidden: 16, intermediate: 24, vocabSize: 40, maxPositions: 16, dropout: 0 };
    // two key/value heads where the family reads num_key_value_heads (grouped-query attention); others ignore it
    const raw = {
      ...family.newConfig(sizes),
      num_key_value_heads: 2,
      pruned_heads: { 1: [0, 2], 2: [0, 1, 2, 3] },
      intermediate_sizes: [24, 7, 0],
    };
    // a family whose layers share weights (ALBERT) prunes every sharing layer alike
    const plain = parseConfig(family.newConfig(sizes), type);
    const shares = sharingGroups(3, (l) => family.headSlices(plain, l)).some((g) => g.length > 1);
    const config = shares
      ? parseConfig({ ...raw, pruned_heads: { 0: [1] }, intermediate_sizes: [9, 9, 9] }, type)
      : parseConfig(raw, type);
    const trace = traceModel(family, config);
    const { layers: L, headDim: D } = config;

    // every per-layer activation has its stable name, and the embeddings theirs
    // (rot_q and rot_k only in families whose attention rotates q and k: then in every layer with heads)
    const rotaryOps = trace.ops.filter((o) => o.op === "rotary").length;
    for (let l = 0; l < L; l++) {
      for (const kind of LAYERED) {
        if (kind === "neuron_mask" || kind === "head_mask") continue;
        if ((kind === "rot_q" || kind === "rot_k") && rotaryOps === 0) continue;
        ok(trace.hooks.has(hookName(kind, l)), `${type}: ${hookName(kind, l)} is not emitted`);
      }
    }
    ok(trace.hooks.has(hookName("embed")) && trace.hooks.has(hookName("tok_embed")), `${type}: embedding hooks`);
    for (const kind of family.finalHooks) ok(trace.hooks.has(hookName(kind)), `${type}: ${kind} is not emitted`);

    // protocol ops: one attention per layer carrying its head-mask row, one neuron mask per layer
    const attention = trace.ops.filter((o) => o.op === "attention").map((o) => o.attrs as unknown as AttentionSpec);
    deepStrictEqual(attention.map((a) => a.layer), [...Array(L).keys()]);
    attention.forEach((a, l) => strictEqual(a.heads, config.heads - config.prunedHeads[l]!.length));
    attention.forEach((a, l) => strictEqual(a.kvHeads ?? a.heads, keptKvHeads(config, l).length));
    const neuron = trace.ops.filter((o) => o.op === "neuronMask").map((o) => o.attrs.layer);
    deepStrictEqual(neuron, [...Array(L).keys()], `${type}: every layer's MLP applies the neuron mask`);
    if (config.task === "lm" || config.task === "mlm") {
      ok(trace.ops.some((o) => o.op === "lossRows"), `${type}: a language model's head reads only the loss rows`);
    }
    strictEqual(trace.blocks.length, L);

    // each block costs its head- and neuron-holding projections (2·B·T per weight entry) and attention's two
    // T×T products per query head
    const B = 2, T = 5;
    const shapes = family.weights(config).required;
    const expected = Array.from({ length: L }, (_, l) => {
      const H = config.heads - config.prunedHeads[l]!.length;
      const matrices = new Set(
        [...family.headSlices(config, l), ...family.neuronSlices(config, l)].map((s) => s.name)
          .filter((n) => shapes.get(n)!.length === 2),
      );
      const entries = [...matrices].reduce((n, name) => n + shapes.get(name)!.reduce((a, b) => a * b, 1), 0);
      return 2 * B * T * entries + 4 * B * H * T * T * D;
    });
    deepStrictEqual(blockFlops(trace, B, T), expected);
  });
}
