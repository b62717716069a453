import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { attentionGraphScores } from "./attention_graph.ts";

const eye = (T: number) => Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (i === j ? 1 : 0)));

Deno.test("attentionGraphScores(): identity attention gives the output token only; a missing layer gives undefined", () => {
  const a = {
    tokens: ["[CLS]", "a", "b"],
    layers: [0, 1],
    attention: [[eye(3), null], [eye(3), eye(3)]],
    probabilities: [],
  };
  deepStrictEqual(attentionGraphScores(a, 2, "rollout"), { position: 0, scores: [1, 0, 0] });
  deepStrictEqual(attentionGraphScores(a, 2, "flow"), { position: 0, scores: [1, 0, 0] });
  strictEqual(attentionGraphScores({ ...a, layers: [1] }, 2, "rollout"), undefined);
});

Deno.test("attentionGraphScores(): a language model reads its last token; rollout rows sum to 1", () => {
  // one layer: the last token attends to token 0 only
  const m = [[1, 0], [1, 0]];
  const a = { tokens: ["a", "b"], layers: [0], attention: [[m]], probabilities: null };
  const r = attentionGraphScores(a, 1, "rollout")!;
  strictEqual(r.position, 1);
  deepStrictEqual(r.scores, [0.5, 0.5]);
  const f = attentionGraphScores(a, 1, "flow")!;
  ok(Math.abs(f.scores[0]! - 0.5) < 1e-6 && Math.abs(f.scores[1]! - 0.5) < 1e-6);
});
