/**
 * The slow reference of the split run, shared by the circuit tests: edge-level patching done by running each
 * receiver by hand, with the model's ordinary hooks only (no split pass).
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import { kvHeadOfKept } from "../models/config.ts";
import type { Batch } from "../models/inputs.ts";
import type { TransformerModel } from "../models/model.ts";
import type { ActivationPatch } from "../models/run.ts";
import { edgeIndex } from "./graph.ts";
import type { MetricSpec } from "./metric.ts";
import type { PassRecord } from "./split_run.ts";

/**
 * m of `batch` with the edges `patched` carrying their corrupted value, every receiver run by hand: each head's
 * q, k or v from a run whose `resid_pre` is that receiver's own input (grouped-query attention: query head h's
 * k and v are its kv head's columns of that run); each head's z from a run with those q, k, v — under grouped
 * query attention one run per member of a group, query head h's own k and v put in its kv head's place (z_h
 * reads only q_h and its kv head); each head's `result` from a run with every other head's z zeroed (less the
 * bias, from a run with all of z zeroed); each MLP from a run whose `resid_mid` is its input — or, with a
 * parallel residual (its MLP reads the senders its attention reads), whose `resid_pre` is; and m from a run
 * whose last block output is the logits' input. Unpruned models.
 */
export function handPatched(
  model: TransformerModel,
  batch: Batch,
  metric: MetricSpec,
  corrupted: PassRecord,
  patched: Uint8Array,
): number {
  const c = model.config, H = c.heads, D = c.headDim, g = corrupted.graph;
  const run = (patches: Array<[string, Float32Array]>, names: string[]) =>
    model.run({
      batch,
      names,
      patch: new Map(patches.map(([n, v]): [string, ActivationPatch] => [n, (x) => x.set(v)])),
      objective: { logit: [metric.target], minus: [metric.distractor] },
    });
  const senders: Float32Array[] = [];
  let receiver = 0;
  const input = (resid: Float32Array) => {
    const r = g.receivers[receiver]!, out = resid.slice();
    for (let s = 0; s < r.senders; s++) {
      if (patched[edgeIndex(g, receiver, s)] !== 1) continue;
      out.forEach((_, i) => (out[i]! -= senders[s]![i]! - corrupted.senders[s]![i]!));
    }
    receiver++;
    return out;
  };
  let resid = run([], [hookName("resid_pre", 0)]).cache.get(hookName("resid_pre", 0))!.data;
  senders.push(resid);
  const rows = batch.seqLen;
  // columns [from, from + D) of each row of a [rows, width] activation, or written into one
  const take = (values: Float32Array, width: number, from: number) => {
    const out = new Float32Array(rows * D);
    for (let t = 0; t < rows; t++) out.set(values.subarray(t * width + from, t * width + from + D), t * D);
    return out;
  };
  const put = (into: Float32Array, width: number, from: number, head: Float32Array) => {
    for (let t = 0; t < rows; t++) into.set(head.subarray(t * D, (t + 1) * D), t * width + from);
  };
  for (let l = 0; l < c.layers; l++) {
    const layerFirst = receiver;
    const kvOf = kvHeadOfKept(c, l), Hkv = c.kvHeads, group = H / Hkv;
    // per head and path: its own [rows, D] projection
    const own = Array.from({ length: H }, () => [] as Float32Array[]);
    for (let h = 0; h < H; h++) {
      (["q", "k", "v"] as const).forEach((path) => {
        const values = run([[hookName("resid_pre", l), input(resid)]], [hookName(path, l)]).cache.get(
          hookName(path, l),
        )!.data;
        const width = values.length / rows;
        own[h]!.push(take(values, width, (path === "q" ? h : kvOf[h]!) * D));
      });
    }
    const base: Array<[string, Float32Array]> = [[hookName("resid_pre", l), resid]];
    const q = new Float32Array(rows * H * D);
    for (let h = 0; h < H; h++) put(q, H * D, h * D, own[h]![0]!);
    const z = new Float32Array(rows * H * D);
    for (let member = 0; member < group; member++) {
      const k = new Float32Array(rows * Hkv * D), v = new Float32Array(rows * Hkv * D);
      const heads = Array.from({ length: Hkv }, (_, kv) => kv * group + member);
      for (const h of heads) {
        put(k, Hkv * D, kvOf[h]! * D, own[h]![1]!);
        put(v, Hkv * D, kvOf[h]! * D, own[h]![2]!);
      }
      const zz = run([...base, [hookName("q", l), q], [hookName("k", l), k], [hookName("v", l), v]], [
        hookName("z", l),
      ]).cache.get(hookName("z", l))!.data;
      for (const h of heads) put(z, H * D, h * D, take(zz, H * D, h * D));
    }
    const attnOut = (zz: Float32Array) =>
      run([...base, [hookName("z", l), zz]], [hookName("attn_out", l)]).cache.get(hookName("attn_out", l))!.data;
    const bias = attnOut(new Float32Array(z.length));
    for (let h = 0; h < H; h++) {
      const only = new Float32Array(z.length);
      put(only, H * D, h * D, take(z, H * D, h * D));
      senders.push(attnOut(only).map((v, i) => v - bias[i]!));
    }
    const mid = run([...base, [hookName("z", l), z]], [hookName("resid_mid", l)]).cache.get(
      hookName("resid_mid", l),
    )!.data;
    const parallel = g.receivers[receiver]!.senders === g.receivers[layerFirst]!.senders;
    const mlpIn = hookName(parallel ? "resid_pre" : "resid_mid", l);
    const mlp = run([[mlpIn, input(parallel ? resid : mid)]], [hookName("mlp_out", l)]).cache.get(
      hookName("mlp_out", l),
    )!.data;
    senders.push(mlp);
    resid = mid.map((v, i) => v + mlp[i]!);
  }
  return run([[hookName("resid_post", c.layers - 1), input(resid)]], []).objective![0]!;
}
