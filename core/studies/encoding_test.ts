import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { loadModel } from "../models/load.ts";
import { familyModel, fixtureModel } from "../../tests/helpers/goldens.ts";
import { encodeExample, lmEncoding } from "./encoding.ts";

const gpt2 = await loadModel(localFiles(fixtureModel("gpt2-tiny-random")));
const bert = await loadModel(localFiles(fixtureModel("bert-tiny-random")));
const llama = await loadModel(localFiles(familyModel("llama-tiny-random")));

Deno.test("encodeExample() frames a language model's sentence as <|endoftext|> s <|endoftext|>", () => {
  const tok = gpt2.tokenizer!;
  const eos = tok.tokenToId("<|endoftext|>")!;
  const body = tok.encode("a gripping film", undefined, { addSpecialTokens: false }).ids;
  const enc = encodeExample(gpt2.model.task, tok, { textA: "a gripping film" });
  deepStrictEqual(enc.ids, [eos, ...body, eos]);
  deepStrictEqual(enc.tokenTypeIds, enc.ids.map(() => 0));
  deepStrictEqual(lmEncoding(tok, { textA: "a gripping", textB: "film" }, 64).ids, enc.ids);
  strictEqual(lmEncoding(tok, { textA: "a gripping film" }, 3).ids.length, 3);
});

Deno.test("encodeExample() reads a classifier's pair with the tokenizer's special tokens and truncation", () => {
  const tok = bert.tokenizer!;
  deepStrictEqual(
    encodeExample(bert.model.task, tok, { textA: "good", textB: "fine" }, 16),
    (({ ids, tokenTypeIds }) => ({ ids, tokenTypeIds }))(tok.encode("good", "fine", { maxLength: 16 })),
  );
  strictEqual(encodeExample("classify", tok, { textA: "a b c d e f g h" }, 4).ids.length, 4);
});

Deno.test("lmEncoding() frames a model without <|endoftext|> as its tokenizer does: Llama's <s> first", () => {
  const tok = llama.tokenizer!;
  const body = tok.encode("a gripping film", undefined, { addSpecialTokens: false }).ids;
  const bos = tok.tokenToId("<s>")!;
  deepStrictEqual(lmEncoding(tok, { textA: "a gripping film" }).ids, [bos, ...body]);
  deepStrictEqual(lmEncoding(tok, { textA: "a gripping film" }, 3).ids, [bos, ...body.slice(0, 2)]);
});
