import { ok, strictEqual } from "node:assert";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { TokenizerInputError } from "@bertology/core/tokenizers";
import { createApp } from "./app.ts";
import { toWire } from "./_compute.ts";
import { BERT_DIR, fixture, post } from "../tests/helpers/web.ts";

const LONE = "a good \ud800 film";

/** Every compute route with a lone surrogate in one text field, and the field the answer must name. */
const CASES: [string, Record<string, unknown>, string][] = [
  ["/api/analyze", { text: LONE }, "text"],
  ["/api/analyze", { text: "fine", text_pair: LONE }, "text_pair"],
  ["/api/attribute", { text: LONE, method: "saliency" }, "text"],
  ["/api/importance", { examples: [{ text: "fine", label: 0 }, { text: LONE, label: 1 }] }, "examples[1].text"],
  ["/api/patch", { clean: "a good film", corrupted: "a \ud800 film" }, "corrupted"],
];

Deno.test("toWire: a tokenizer's refusal crosses the worker boundary as 422 invalid_field, an untyped error as 500", () => {
  const typed = toWire(new TokenizerInputError("Cannot tokenize the text: it holds a lone surrogate"));
  strictEqual(typed.status, 422);
  strictEqual(typed.code, "invalid_field");
  strictEqual(toWire(new RangeError("boom")).status, 500);
});

for (const backends of [["wasm"], ["wasm", "ort-wasm"]] as const) {
  const serve = backends.length === 1 ? "serve" : "serve:ort";
  Deno.test(`a lone surrogate is 422 naming its field on every compute route, on the worker (${serve})`, async () => {
    const bert = await fixture(BERT_DIR);
    const app = createApp({ ...bert, files: localFiles(BERT_DIR), backends, browserCompute: backends.length > 1 });
    try {
      const runs = CASES.flatMap(([path, body, field]) =>
        backends.length > 1 && (path === "/api/analyze" || path === "/api/importance")
          ? [[path, body, field], [path, { ...body, backend: "ort-wasm" }, field]] as const
          : [[path, body, field]] as const
      );
      for (const [path, body, field] of runs) {
        const res = await app.fetch(post(path, body));
        const answer = await res.json();
        strictEqual(res.status, 422, `${path} ${JSON.stringify(body)}: ${JSON.stringify(answer)}`);
        strictEqual(answer.error, "invalid_field");
        strictEqual(answer.field, field, `${path}: ${answer.detail}`);
        ok(answer.detail.includes(`"${field}"`) && answer.detail.includes("lone surrogate"), answer.detail);
      }
    } finally {
      app.close?.();
    }
  });
}
