import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { loadModel } from "../models/load.ts";
import { localFiles } from "../checkpoint/local_files.ts";
import { parseConllu } from "./conllu.ts";
import { encodeTreebank, relationLabel, sentenceUnits, udProbeSet } from "./ud.ts";
import { wordFeatures } from "./word_features.ts";

const CONLLU = [
  "# sent_id = a",
  "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_",
  "2\tunaffable\tx\tNOUN\tNN\t_\t3\tnsubj\t_\t_",
  "3\truns\trun\tVERB\tVBZ\t_\t0\troot\t_\t_",
  "4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_",
  "",
  "# sent_id = b",
  "1\tIt\tit\tPRON\tPRP\t_\t2\tnsubj:pass\t_\t_",
  "2\truns\trun\tVERB\tVBZ\t_\t0\troot\t_\t_",
  "",
].join("\n");

Deno.test("encodeTreebank(), sentenceUnits() and udProbeSet() line words, units, features and labels up", async () => {
  const { model, tokenizer } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"));
  const sentences = parseConllu(CONLLU, "t.conllu");
  const tb = encodeTreebank(tokenizer!, sentences, 64);
  strictEqual(tb.skipped, 0);
  strictEqual(encodeTreebank(tokenizer!, sentences, 5).skipped, 1);
  const u = sentenceUnits(tb.sentences[0]!, tb.encodings[0]!);
  deepStrictEqual(Array.from(u.unitOfWord), [1, 2, 3, 4]);
  deepStrictEqual([...u.candidate], [0, 1, 1, 1, 1, 0]);
  deepStrictEqual(u.dependencies.map((d) => [d.dep, d.head, d.relation]), [[0, 1, "det"], [1, 2, "nsubj"], [
    3,
    2,
    "punct",
  ]]);
  // UD subtypes are relations of their own unless merged into their base relation
  const passive = (view?: "subtypes" | "merged") =>
    sentenceUnits(tb.sentences[1]!, tb.encodings[1]!, view).dependencies.map((d) => d.relation);
  deepStrictEqual([passive(), passive("subtypes"), passive("merged")], [["nsubj:pass"], ["nsubj:pass"], ["nsubj"]]);

  const f = wordFeatures(model, tb.encodings, { batchSize: 2 });
  strictEqual(f.count, 6);
  deepStrictEqual([...f.sentenceStart], [0, 4]);
  strictEqual(f.layers.length, model.config.layers + 1);
  // the split word "unaffable" is the mean of its pieces' hidden states, as run alone
  const e = tb.encodings[0]!, w = e.words[2]!, D = f.dim, L = model.config.layers;
  ok(w.end - w.start > 1, "unaffable is split into pieces");
  const batch = { batchSize: 1, seqLen: e.ids.length, inputIds: Int32Array.from(e.ids) };
  const name = model.family.hiddenStateHook(L, model.config);
  const h = model.run({ batch, names: [name] }).cache.get(name)!.data;
  for (let d = 0; d < D; d++) {
    let ref = 0;
    for (let t = w.start; t < w.end; t++) ref += h[t * D + d]! / (w.end - w.start);
    ok(Math.abs(f.layers[L]![1 * D + d]! - ref) < 1e-5);
  }

  const labels = new Map<string, number>();
  const pos = udProbeSet(tb.sentences, f, "upos", labels, true);
  deepStrictEqual([...pos.parts[0]!], [0, 1, 2, 3, 4, 5]);
  deepStrictEqual([...pos.labels], [0, 1, 2, 3, 4, 2]);
  const rel = new Map<string, number>([["det", 0]]);
  const dep = udProbeSet(tb.sentences, f, "deprel", rel, false);
  deepStrictEqual(dep.parts.map((p) => [...p]), [[0, 1, 3, 4], [1, 2, 2, 5]]);
  deepStrictEqual([...dep.labels], [0, -1, -1, -1]); // unseen relations are class -1 when not growing
});

Deno.test("relationLabel() keeps the subtype, or merges it into the base relation", () => {
  deepStrictEqual(
    ["nmod:poss", "compound:prt", "obl:tmod", "det"].map((r) => relationLabel(r, "subtypes")),
    ["nmod:poss", "compound:prt", "obl:tmod", "det"],
  );
  deepStrictEqual(
    ["nmod:poss", "compound:prt", "obl:tmod", "det"].map((r) => relationLabel(r, "merged")),
    ["nmod", "compound", "obl", "det"],
  );
});
