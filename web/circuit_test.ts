import { deepStrictEqual, ok, strictEqual } from "node:assert";
import {
  attributionPatching,
  directLogitAttribution,
  edgeAttribution,
  edgeNames,
  faithfulnessAtK,
  rankEdges,
} from "@bertology/core/circuits";
import type { Batch } from "@bertology/core/models";
import { createApp } from "./app.ts";
import type { CircuitFaithfulnessResponse, CircuitResponse } from "./circuit.ts";
import { BERT_DIR, fixture, GPT2_DIR, post } from "../tests/helpers/web.ts";

const gpt2 = await fixture(GPT2_DIR);
const CLEAN = "When Mary and John went to the store, John gave a drink to";
const CORRUPTED = "When Mary and John went to the store, Mary gave a drink to";
const row = (ids: readonly number[]): Batch => ({ batchSize: 1, seqLen: ids.length, inputIds: Int32Array.from(ids) });

async function call<T>(path: string, body: unknown, app = createApp(gpt2)): Promise<{ status: number; json: T }> {
  const res = await app.fetch(post(path, body));
  return { status: res.status, json: await res.json() as T };
}

Deno.test("/api/circuit answers the library's EAP and EAP-IG scores, in forward order", async () => {
  const clean = row(gpt2.tokenizer.encode(CLEAN).ids), corrupted = row(gpt2.tokenizer.encode(CORRUPTED).ids);
  const target = gpt2.tokenizer.encode(" Mary").ids[0]!, distractor = gpt2.tokenizer.encode(" John").ids[0]!;
  for (const igSteps of [undefined, 3]) {
    const { status, json } = await call<CircuitResponse>("/api/circuit", {
      clean: CLEAN,
      corrupted: CORRUPTED,
      target: " Mary",
      distractor,
      ...(igSteps ? { ig_steps: igSteps } : {}),
    });
    strictEqual(status, 200, JSON.stringify(json));
    const r = edgeAttribution(gpt2.model, clean, corrupted, { target, distractor, ...(igSteps ? { igSteps } : {}) });
    deepStrictEqual(json.edges.map(({ from, to, path }) => ({ from, to, path })), edgeNames(r.graph));
    deepStrictEqual(json.edges.map((e) => e.score), Array.from(r.scores));
    deepStrictEqual(json.nodes, r.graph.nodes);
    strictEqual(json.m_clean, r.clean.metric);
    strictEqual(json.m_corrupted, r.corrupted.metric);
    strictEqual(json.target, target);
    strictEqual(json.ig_steps, igSteps ?? null);
    // the node-level views of the same pair: DLA of the clean prompt, AtP beside exact patching
    const metric = { target, distractor };
    const dla = directLogitAttribution(gpt2.model, { inputIds: Array.from(clean.inputIds) }, metric);
    deepStrictEqual(json.dla!.heads.flat(), Array.from(dla.heads.data));
    deepStrictEqual(json.dla!.mlps, Array.from(dla.mlps));
    strictEqual(json.dla!.metric, dla.metric);
    const sum = json.dla!.embed + json.dla!.constant + json.dla!.heads.flat().reduce((a, b) => a! + b!, 0)! +
      json.dla!.mlps.reduce((a, b) => a + b, 0) + json.dla!.attn_bias.reduce((a, b) => a + b, 0);
    ok(Math.abs(sum - json.m_clean) < 1e-4, `DLA sums to ${sum}, m ${json.m_clean}`);
    const atp = attributionPatching(
      gpt2.model,
      { inputIds: Array.from(clean.inputIds) },
      { inputIds: Array.from(corrupted.inputIds) },
      metric,
    );
    deepStrictEqual(json.atp.heads.flat(), Array.from(atp.heads.data));
    deepStrictEqual(json.atp.exact.mlps, Array.from(atp.exact!.mlps));
    strictEqual(json.atp.pearson, atp.pearson);
  }
});

Deno.test("/api/circuit/faithfulness measures a given edge set as the library's top-k faithfulness", async () => {
  const clean = row(gpt2.tokenizer.encode(CLEAN).ids), corrupted = row(gpt2.tokenizer.encode(CORRUPTED).ids);
  const r = edgeAttribution(gpt2.model, clean, corrupted, { target: 5335, distractor: 1757 });
  const names = edgeNames(r.graph), order = rankEdges(r.scores);
  const want = faithfulnessAtK(gpt2.model, clean, r.metric, r.corrupted, r.clean.metric, r.scores, [0, 10, 30]);
  const app = createApp(gpt2);
  for (const f of want) {
    const edges = Array.from(order.subarray(0, f.k), (e) => names[e]);
    const { status, json } = await call<CircuitFaithfulnessResponse>("/api/circuit/faithfulness", {
      clean: CLEAN,
      corrupted: CORRUPTED,
      target: 5335,
      distractor: 1757,
      edges,
    }, app);
    strictEqual(status, 200, JSON.stringify(json));
    strictEqual(json.k, f.k);
    strictEqual(json.m_circuit, f.m_circuit + 0); // JSON has no −0
    strictEqual(json.value, f.value + 0);
  }
  // all edges: the clean run (faithfulness 1)
  const all = await call<CircuitFaithfulnessResponse>("/api/circuit/faithfulness", {
    clean: CLEAN,
    corrupted: CORRUPTED,
    target: 5335,
    distractor: 1757,
    edges: names,
  }, app);
  ok(Math.abs(all.json.value - 1) < 1e-5, `all edges: ${all.json.value}`);
  app.close?.();
});

Deno.test("/api/circuit refuses bad fields by name, and a post-norm encoder with 400", async () => {
  const cases: [unknown, number, string][] = [
    [{ clean: CLEAN }, 400, "corrupted"],
    [{ clean: CLEAN, corrupted: CORRUPTED, ig_steps: 0 }, 400, "ig_steps"],
    [{ clean: CLEAN, corrupted: CORRUPTED, ig_steps: 1000 }, 400, "ig_steps"],
    [{ clean: CLEAN, corrupted: CORRUPTED, distractor: -1 }, 400, "distractor"],
    [{ clean: CLEAN, corrupted: CORRUPTED, distractor: "Ġnotatokenatall" }, 422, "distractor"],
    [{ clean: CLEAN, corrupted: CORRUPTED, target: 5335, distractor: 5335 }, 422, "distractor"],
    [{ clean: CLEAN, corrupted: "When Mary went", target: 5335 }, 422, "corrupted"],
    [{ clean: CLEAN, corrupted: CORRUPTED, steps: 3 }, 400, "steps"],
  ];
  const app = createApp(gpt2);
  for (const [body, status, field] of cases) {
    const r = await call<{ field?: string; detail: string }>("/api/circuit", body, app);
    strictEqual(r.status, status, `${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
    strictEqual(r.json.field, field, JSON.stringify(r.json));
  }
  const bad = await call<{ field?: string }>("/api/circuit/faithfulness", {
    clean: CLEAN,
    corrupted: CORRUPTED,
    edges: [{ from: "input", to: "logits", path: "q" }],
  }, app);
  strictEqual(bad.status, 422);
  strictEqual(bad.json.field, "edges");
  const noList = await call<{ field?: string }>("/api/circuit/faithfulness", {
    clean: CLEAN,
    corrupted: CORRUPTED,
    edges: [{ from: "input", to: 3, path: "logits" }],
  }, app);
  strictEqual(noList.status, 400);
  strictEqual(noList.json.field, "edges[0].to");
  app.close?.();
  const bert = createApp(await fixture(BERT_DIR));
  const r = await call<{ detail: string }>("/api/circuit", {
    clean: "a fine film",
    corrupted: "a dull film",
  }, bert);
  strictEqual(r.status, 400, JSON.stringify(r.json));
  ok(/pre-norm/.test(r.json.detail) && /post-norm/.test(r.json.detail), r.json.detail);
  bert.close?.();
});
