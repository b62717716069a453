import { deepStrictEqual } from "node:assert";
import { tokenizerFromJson } from "@bertology/core/tokenizers";
import { specialPositions } from "./_target.ts";

Deno.test("specialPositions() marks the template's tokens, not a sentencepiece ▁ that decodes to nothing", async () => {
  const json = await Deno.readTextFile(
    new URL("../../tests/fixtures/families/models/xlm-roberta-spm-tiny-random/tokenizer.json", import.meta.url),
  );
  const tok = tokenizerFromJson(json);
  const enc = tok.encode("full ［MASK］");
  deepStrictEqual(enc.tokens.slice(0, 4), ["<s>", "▁full", "▁", "["]);
  deepStrictEqual(specialPositions(tok, enc.ids), enc.tokens.map((t) => t === "<s>" || t === "</s>"));
});
