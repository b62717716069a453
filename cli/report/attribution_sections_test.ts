import { ok, strictEqual } from "node:assert/strict";
import { attributionSectionHtml, logitLensSectionHtml, scoreColor } from "./attribution_sections.ts";
import { checkBalancedTags } from "./svg.ts";

Deno.test("scoreColor() is white at 0, red for +1, blue for −1, orange for unsigned 1; NaN is white", () => {
  strictEqual(scoreColor(0, true), "rgb(255,255,255)");
  strictEqual(scoreColor(1, true), "rgb(214,39,40)");
  strictEqual(scoreColor(-1, true), "rgb(31,119,180)");
  strictEqual(scoreColor(2, false), "rgb(230,120,20)");
  strictEqual(scoreColor(NaN, true), "rgb(255,255,255)");
});

Deno.test("attributionSectionHtml() shows every sentence and method, the patching map; markup is balanced and escaped", () => {
  const html = attributionSectionHtml({
    model: "models/bert-sst2",
    steps: 50,
    baseline: "[PAD]",
    examples: [{
      sentence: "a <b> film",
      gold: "positive",
      tokens: ["[CLS]", "a", "<b>", "film", "[SEP]"],
      target: "positive",
      probability: 0.9,
      words: [{ text: "[CLS]", score: 0 }, { text: "a", score: 0.1 }, { text: "<b>", score: -0.2 }, {
        text: "film",
        score: 0.5,
      }, { text: "[SEP]", score: 0 }],
      methods: [
        { method: "integrated gradients", scores: [0, 0.1, -0.2, 0.5, 0], signed: true },
        { method: "rollout", scores: [0.3, 0.1, 0.2, 0.3, 0.1], signed: false },
      ],
      completenessGap: 0.0001,
    }],
    patching: {
      sentence: "a <b> film",
      swap: { position: 3, from: "film", to: "[MASK]" },
      layers: 2,
      heads: 2,
      effect: [0.1, 0.9, NaN, 0],
      mlp: [0.2, 0.3],
      logitDiffClean: 2,
      logitDiffCorrupted: 1,
      target: "positive",
      other: "negative",
    },
    commands: ["deno task cli attribute --model models/bert-sst2 --text 'a film' --method ig"],
  });
  strictEqual(checkBalancedTags(html), undefined);
  for (const id of ["attribution", "attribution-0", "attribution-patching", "attribution-patching-svg"]) {
    ok(html.includes(`id="${id}"`), id);
  }
  ok(html.includes("&lt;b&gt;") && !html.includes("<b> film"), "tokens are escaped");
  ok(html.includes("integrated gradients") && html.includes("rollout") && html.includes("0.01 %"));
  ok(html.includes("deno task cli attribute"));
});

Deno.test("logitLensSectionHtml() draws a row per layer and the next tokens; markup is balanced", () => {
  const html = logitLensSectionHtml({
    model: "models/gpt2-sst2",
    sentence: "a film",
    tokens: ["a", "film"],
    layers: ["embed", "0", "1"],
    top: [["x", "y"], ["<z>", "y"], ["film", "."]],
    topProb: [[0.1, 0.2], [0.3, 0.4], [0.5, 0.9]],
    targetRank: [[10, 4], [2, 1], [0, 0]],
    targets: ["film", "."],
    command: "deno task cli logit-lens --model models/gpt2-sst2 --text 'a film'",
  });
  strictEqual(checkBalancedTags(html), undefined);
  ok(html.includes('id="logit-lens-figure"'));
  strictEqual((html.match(/<tr>/g) ?? []).length, 5, "header, 3 layers, next tokens");
  ok(html.includes("&lt;z&gt;") && html.includes("#10"));
});
