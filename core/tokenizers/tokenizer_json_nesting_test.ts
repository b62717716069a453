import { ok, throws } from "node:assert/strict";
import { tokenizerFromJson } from "./tokenizer_json.ts";

const MODEL = `{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[UNK]":0,"hi":1}}`;

Deno.test("tokenizerFromJson() refuses 100,000 nested normalizers with a sentence naming the field, not a stack overflow", () => {
  let normalizer = `{"type":"Lowercase"}`;
  for (let i = 0; i < 100_000; i++) normalizer = `{"type":"Sequence","normalizers":[${normalizer}]}`;
  throws(
    () => tokenizerFromJson(`{"model":${MODEL},"normalizer":${normalizer}}`, { source: "deep/tokenizer.json" }),
    (e: Error) => {
      ok(!(e instanceof RangeError), `not an engine error: ${e.name}`);
      ok(
        e.message.startsWith('Tokenizer file "deep/tokenizer.json" has components nested more than 64 deep') &&
          e.message.includes('at field "normalizer.normalizers[0]'),
        e.message,
      );
      return true;
    },
  );
});

Deno.test("tokenizerFromJson() still builds a few nested Sequence normalizers", () => {
  let normalizer = `{"type":"Lowercase"}`;
  for (let i = 0; i < 5; i++) normalizer = `{"type":"Sequence","normalizers":[${normalizer}]}`;
  const tok = tokenizerFromJson(`{"model":${MODEL},"normalizer":${normalizer},"pre_tokenizer":{"type":"Whitespace"}}`);
  ok(tok.tokenizeToIds("HI")[0] === 1);
});
