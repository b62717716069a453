import { ok, strictEqual } from "node:assert";
import { lineChartSvg } from "./line_chart.ts";
import { checkBalancedTags } from "./svg.ts";

Deno.test("lineChartSvg() draws the series, a dashed threshold, a legend and labelled axes", () => {
  const svg = lineChartSvg({
    id: "m",
    title: "Masking",
    xLabel: "fraction of heads kept",
    yLabel: "accuracy",
    reverseX: true,
    xDomain: [0, 1],
    series: [{
      name: "acc <masked>",
      points: [[1, 0.9], [0.9, 0.89], [0.8, 0.7]],
      hollow: [2],
      pointLabels: { 2: "below" },
    }],
    references: [{ y: 0.81, label: "90 % of original" }],
    verticals: [{ x: 0.9, label: "final mask" }],
  });
  strictEqual(checkBalancedTags(svg), undefined);
  strictEqual((svg.match(/<circle [^>]*r="4"/g) ?? []).length, 3);
  ok(/class="reference"[^>]*stroke-dasharray/.test(svg));
  ok(svg.includes(">fraction of heads kept</text>") && svg.includes(">accuracy</text>"));
  ok(svg.includes("acc &lt;masked&gt;") && svg.includes("90 % of original") && svg.includes("final mask"));
  ok(svg.includes(`fill="#fff"`), "hollow marker");
  // reversed x: the point at x = 1 is left of the point at x = 0.8
  const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
  ok(xs[0]! < xs[2]!);
});

Deno.test("lineChartSvg() copes with a single point", () => {
  const svg = lineChartSvg({
    id: "s",
    title: "t",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "a", points: [[1, 0.5]] }],
  });
  strictEqual(checkBalancedTags(svg), undefined);
  ok(!svg.includes("NaN"));
});
