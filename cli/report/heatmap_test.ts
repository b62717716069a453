import { ok, strictEqual, throws } from "node:assert";
import { heatmapSvg } from "./heatmap.ts";
import { checkBalancedTags } from "./svg.ts";

const base = {
  id: "t",
  title: "Importance <&> test",
  data: [0, 0.5, 1, 0.25, NaN, 0.75],
  rows: 2,
  cols: 3,
  rowLabel: "layer",
  colLabel: "head",
  legendLabel: "importance",
};

Deno.test("heatmapSvg() draws one cell per value, axes, and a colour bar", () => {
  const svg = heatmapSvg(base);
  strictEqual(checkBalancedTags(svg), undefined);
  strictEqual((svg.match(/<rect [^>]*fill="#[0-9a-f]{6}"/g) ?? []).length, 6);
  ok(svg.includes(">layer</text>") && svg.includes(">head</text>") && svg.includes(">importance</text>"));
  ok(svg.includes(`<linearGradient id="t-grad"`));
  ok(svg.includes("Importance &lt;&amp;&gt; test") && !svg.includes("<&>"));
  ok(svg.includes(`fill="#d0d0d0"`), "NaN cell is grey");
});

Deno.test("heatmapSvg() marks outlined and crossed cells", () => {
  const svg = heatmapSvg({ ...base, outlined: [2], crossed: [0, 1], note: "× masked" });
  strictEqual((svg.match(/class="outlined"/g) ?? []).length, 1);
  strictEqual((svg.match(/class="crossed"/g) ?? []).length, 2);
  ok(svg.includes("× masked"));
  strictEqual(checkBalancedTags(svg), undefined);
});

Deno.test("heatmapSvg() refuses data of the wrong size", () => {
  throws(() => heatmapSvg({ ...base, data: [1, 2, 3] }), /has 3 values, expected 2 × 3/);
});

Deno.test("heatmapSvg() handles constant data", () => {
  const svg = heatmapSvg({ ...base, data: [1, 1, 1, 1, 1, 1] });
  strictEqual(checkBalancedTags(svg), undefined);
  ok(!svg.includes("NaN"));
});
