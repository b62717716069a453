import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { SyntacticHeadsMeter } from "./syntactic_heads.ts";

/** Word-level maps over units [CLS] w0..w(k-1) [SEP] where head h's query u attends one-hot to target(h, u). */
function maps(heads: number, n: number, target: (h: number, u: number) => number): Float64Array {
  const m = new Float64Array(heads * n * n);
  for (let h = 0; h < heads; h++) for (let u = 0; u < n; u++) m[(h * n + u) * n + target(h, u)] = 1;
  return m;
}

Deno.test("SyntacticHeadsMeter scores both directions, ignores [CLS]/[SEP], and finds the best offset", () => {
  // sentence "the dog barked": the ←det– dog ←nsubj– barked (root); units [CLS] the dog barked [SEP]
  const n = 5, candidate = Uint8Array.of(0, 1, 1, 1, 0), unitOfWord = [1, 2, 3];
  const dependencies = [{ dep: 0, head: 1, relation: "det" }, { dep: 1, head: 2, relation: "nsubj" }];
  const m = new SyntacticHeadsMeter(2, 2);
  m.add({
    n,
    maps: maps(4, n, (h, u) => {
      if (h === 0) return Math.min(u + 1, 3); // next word: each dependent → its parent here
      if (h === 1) return Math.max(u - 1, 1); // previous word: each parent → its dependent
      if (h === 2) return 0; // all on [CLS]: excluded, argmax falls on the first candidate
      return 4; // all on [SEP]: same
    }),
  }, { unitOfWord, candidate, dependencies });
  const r = m.result();
  deepStrictEqual(Object.keys(r.relations), ["det", "nsubj"]);
  deepStrictEqual(r.all.perHeadDepToParent, [[1, 0], [0, 0]]);
  deepStrictEqual(r.all.perHeadParentToDep, [[0, 1], [0.5, 0.5]]); // argmax w0 ("the") is det's dependent
  deepStrictEqual(r.all.perHead, [[1, 1], [0.5, 0.5]]);
  deepStrictEqual(r.all.best, { layer: 0, head: 0, direction: "dep->parent", accuracy: 1 });
  deepStrictEqual(r.relations.det!.best, { layer: 0, head: 0, direction: "dep->parent", accuracy: 1 });
  deepStrictEqual(r.all.baseline, { offset: 1, accuracy: 1 });
  strictEqual(r.all.count, 2);
});

Deno.test("SyntacticHeadsMeter baseline picks the most frequent offset per relation", () => {
  const m = new SyntacticHeadsMeter(1, 1);
  const n = 4, candidate = Uint8Array.of(1, 1, 1, 1), unitOfWord = [0, 1, 2, 3];
  const dependencies = [
    { dep: 0, head: 2, relation: "amod" },
    { dep: 1, head: 3, relation: "amod" },
    { dep: 2, head: 3, relation: "amod" },
    { dep: 3, head: 0, relation: "obj" },
  ];
  m.add({ n, maps: maps(1, n, (_, u) => (u + 2) % n) }, { unitOfWord, candidate, dependencies });
  const r = m.result();
  deepStrictEqual(r.relations.amod!.baseline, { offset: 2, accuracy: 2 / 3 });
  deepStrictEqual(r.relations.obj!.baseline, { offset: -3, accuracy: 1 });
  deepStrictEqual(r.relations.amod!.perHeadDepToParent, [[2 / 3]]);
  throws(
    () =>
      m.add({ n, maps: maps(1, n, () => 0) }, {
        unitOfWord,
        candidate,
        dependencies: [{ dep: 0, head: 9, relation: "x" }],
      }),
    /outside/,
  );
  throws(() => new SyntacticHeadsMeter(1, 1).result(), /No dependencies/);
});
