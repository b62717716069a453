import { ok, strictEqual, throws } from "node:assert";
import { attentionMapSvg, tokenLabel } from "./attention_map.ts";
import { checkBalancedTags } from "./svg.ts";

Deno.test("attentionMapSvg() labels rows and columns with escaped tokens", () => {
  const tokens = ["[CLS]", "a", "<b>", "&", "[SEP]"];
  const weights = Array.from({ length: 25 }, (_, i) => (i % 6 === 0 ? 1 : 0));
  const svg = attentionMapSvg({ id: "a", title: "layer 0, head 1", tokens, weights, note: "importance 1" });
  strictEqual(checkBalancedTags(svg), undefined);
  ok(svg.includes("&lt;b&gt;") && svg.includes(">&amp;<"));
  ok(svg.includes(">query token</text>") && svg.includes(">key token (attended to)</text>"));
  strictEqual((svg.match(/<rect [^>]*fill="#[0-9a-f]{6}"/g) ?? []).length, 25);
});

Deno.test("attentionMapSvg() refuses weights that are not tokens²", () => {
  throws(() => attentionMapSvg({ id: "a", title: "t", tokens: ["a", "b"], weights: [1, 0, 0] }), /expected 2² = 4/);
});

Deno.test("tokenLabel() strips GPT-2's space marker and shortens long tokens", () => {
  strictEqual(tokenLabel("Ġcharming"), "charming");
  strictEqual(tokenLabel("Ġ"), "␣");
  strictEqual(tokenLabel("supercalifragilistic"), "supercalifr…");
});
