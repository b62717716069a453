import { strictEqual } from "node:assert";
import { readFixture } from "../../tests/helpers/tokenizer_goldens.ts";
import { tokenizerFromJson } from "./tokenizer_json.ts";
import { wordTokenId } from "./word_token.ts";

Deno.test("wordTokenId() finds a word's token whatever marks a word start (Ġ, ▁, none)", async () => {
  const load = async (name: string) => tokenizerFromJson(await readFixture(`families/models/${name}/tokenizer.json`));
  const roberta = await load("roberta-tiny-random");
  // a word whose only token is the space-marked one, picked from each vocabulary
  const spaced = (tok: typeof roberta, mark: string) => {
    for (let id = 0; id < tok.vocabSize; id++) {
      const t = tok.idToToken(id);
      if (
        t.length > 3 && t.startsWith(mark) && /^\p{Ll}+$/u.test(t.slice(1)) && tok.tokenToId(t.slice(1)) === undefined
      ) {
        return t;
      }
    }
    throw new Error(`no ${mark}word token`);
  };
  const g = spaced(roberta, "Ġ");
  strictEqual(wordTokenId(roberta, g.slice(1)), roberta.tokenToId(g));
  strictEqual(wordTokenId(roberta, g), roberta.tokenToId(g));
  const xlmr = await load("xlm-roberta-spm-tiny-random");
  const m = spaced(xlmr, "▁");
  strictEqual(wordTokenId(xlmr, m.slice(1)), xlmr.tokenToId(m));
  // a word given with its leading space, as GPT-2's vocabulary spells it (Llama's sentencepiece reads that space
  // as one more "▁")
  const llama = await load("llama-tiny-random");
  const l = spaced(llama, "▁");
  strictEqual(wordTokenId(llama, ` ${l.slice(1)}`), llama.tokenToId(l));
  const electra = await load("electra-tiny-random");
  strictEqual(wordTokenId(electra, "film"), electra.tokenToId("film"));
  // a word that splits into pieces, or only the unknown token covers, is no single token
  strictEqual(wordTokenId(electra, "unbelievablyx"), undefined);
  strictEqual(wordTokenId(xlmr, "ＸＸＸＸ"), undefined);
  strictEqual(wordTokenId(xlmr, "\ud800"), undefined);
});
