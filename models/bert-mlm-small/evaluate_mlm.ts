/**
 * Scores a masked LM on held-out text the way `bertology train --objective mlm` scores its dev set (the same
 * masking: 15 % of tokens, 80/10/10, fixed seed): masked-token accuracy and perplexity, as JSON.
 *
 *     deno run -A models/bert-mlm-small/evaluate_mlm.ts MODEL_DIR TEXT_FILE [MAX_SEQ_LENGTH=64]
 *
 * A TEXT_FILE ending in .conllu is read as its `# text = …` sentences.
 *
 * @module
 */

import { localFiles } from "../../core/checkpoint/deno.ts";
import { loadModel } from "../../core/models/load.ts";
import { evaluate } from "../../core/training/trainer.ts";

const [dir, file, maxLen = "64"] = Deno.args;
if (dir === undefined || file === undefined) throw new Error("usage: evaluate_mlm.ts MODEL_DIR TEXT_FILE [MAX_LEN]");
const { model, tokenizer } = await loadModel(localFiles(dir));
const text = await Deno.readTextFile(file);
const lines = file.endsWith(".conllu")
  ? text.split("\n").filter((l) => l.startsWith("# text = ")).map((l) => l.slice(9))
  : text.split(/\r?\n/).filter((l) => l.trim() !== "");
const examples = lines.map((l) => {
  const enc = tokenizer!.encode(l, undefined, { maxLength: Number(maxLen) });
  return { ids: enc.ids, tokenTypeIds: enc.tokenTypeIds };
});
const id = (t: string) => tokenizer!.tokenToId(t)!;
const masking = {
  maskId: id("[MASK]"),
  vocabSize: tokenizer!.vocabSize,
  special: new Set([id("[PAD]"), id("[CLS]"), id("[SEP]"), id("[UNK]"), id("[MASK]")]),
};
const started = performance.now();
const r = evaluate(model, examples, { objective: { kind: "mlm", masking }, padId: tokenizer!.padId });
console.log(JSON.stringify({
  model: dir,
  data: file,
  examples: r.examples,
  ...r.metrics,
  seconds: (performance.now() - started) / 1000,
}));
