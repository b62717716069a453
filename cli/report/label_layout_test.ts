import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { type Anchor, type Box, legendCorner, markerBox, overlapArea, placeLabel, textBox } from "./label_layout.ts";
import { mdsScatterSvg } from "./analysis_sections.ts";
import { lineChartSvg } from "./line_chart.ts";

/** The boxes of an SVG's `<text>` elements that carry x and y (rotated axis titles have neither). */
function textBoxes(svg: string, fontSize = 12): Array<Box & { text: string; fontSize: number }> {
  return [...svg.matchAll(/<text ([^>]*)>([^<]*)<\/text>/g)].flatMap(([, attrs, text]) => {
    const a = Object.fromEntries([...attrs!.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (a.x === undefined || a.y === undefined) return [];
    const box = textBox(
      Number(a.x),
      Number(a.y),
      text!,
      Number(a["font-size"] ?? fontSize),
      (a["text-anchor"] ?? "start") as Anchor,
    );
    return [{ ...box, text: text!, fontSize: Number(a["font-size"] ?? fontSize) }];
  });
}

/** The centres of an SVG's circle markers of radius `r`. */
const circles = (svg: string, r: number) =>
  [...svg.matchAll(new RegExp(`<circle cx="([\\d.]+)" cy="([\\d.]+)" r="${r}"`, "g"))].map((m) =>
    markerBox(Number(m[1]), Number(m[2]), r)
  );

Deno.test("placeLabel() takes the first free side, and the least covered one when none is free", () => {
  const frame = { x0: 0, y0: 0, x1: 200, y1: 200 };
  const right = placeLabel(100, 100, 4, "1.2", 10, [], frame);
  strictEqual(right.anchor, "start");
  const left = placeLabel(100, 100, 4, "1.3", 10, [right.box], frame);
  strictEqual(left.anchor, "end");
  strictEqual(overlapArea(left.box, right.box), 0);
  const edge = placeLabel(198, 100, 4, "long label", 10, [], frame);
  ok(edge.box.x1 <= 200, "kept inside the frame");
});

Deno.test("legendCorner() avoids the corner that holds a point", () => {
  const frame = { x0: 0, y0: 0, x1: 200, y1: 100 };
  deepStrictEqual(legendCorner(50, 20, frame, []), { x: 10, y: 70, covered: 0 });
  deepStrictEqual(legendCorner(50, 20, frame, [markerBox(20, 85, 4)]), { x: 140, y: 70, covered: 0 });
  strictEqual(legendCorner(200, 100, frame, [markerBox(100, 50, 4)], 0).covered, 1);
});

Deno.test("mdsScatterSvg(): heads that sit together keep labels apart, off every marker", () => {
  // 3 layers × 4 heads in three tight clusters, as heads that attend alike come out
  const mds = Array.from({ length: 12 }, (_, i) => [(i % 3) + 0.001 * i, (i % 3) * 0.5 + 0.001 * (i % 2)]);
  const svg = mdsScatterSvg(mds, 3, 4);
  const labels = textBoxes(svg, 11).filter((b) => b.fontSize === 10);
  strictEqual(labels.length, 12);
  const markers = circles(svg, 5).slice(0, 12);
  for (const [i, a] of labels.entries()) {
    for (const b of labels.slice(i + 1)) strictEqual(overlapArea(a, b), 0, `${a.text} and ${b.text} collide`);
    for (const m of markers) strictEqual(overlapArea(a, m), 0, `${a.text} covers a marker`);
  }
});

Deno.test("lineChartSvg(): the legend covers no point and the labels do not collide", () => {
  // a budget-plot shape: a point low at the left, where the legend used to sit
  const svg = lineChartSvg({
    id: "b",
    title: "Budget",
    xLabel: "fraction of FLOPs",
    yLabel: "accuracy",
    reverseX: true,
    series: [
      { name: "Michel et al. 2019: iterative head masking", points: [[1, 0.81], [0.9, 0.8], [0.85, 0.62]] },
      { name: "Kwon et al. 2022: heads only", points: [[0.95, 0.81], [0.8, 0.8], [0.6, 0.79]], marker: "circle" },
    ],
    references: [{ y: 0.8, label: "unpruned − 1 point" }],
    verticals: [{ x: 0.85, label: "final mask: 85 % of heads kept" }],
  });
  const legend = svg.match(/<g class="legend">\n<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/)!;
  const [x, y, w, h] = legend.slice(1).map(Number) as [number, number, number, number];
  const box = { x0: x, y0: y, x1: x + w, y1: y + h };
  for (const m of circles(svg, 4)) strictEqual(overlapArea(box, m), 0, "the legend hides a point");
  const labels = textBoxes(svg).filter((b) => b.x0 > x + w || b.y1 < y || b.y0 > y + h || b.x1 < x);
  for (const [i, a] of labels.entries()) {
    for (const b of labels.slice(i + 1)) strictEqual(overlapArea(a, b), 0, `"${a.text}" and "${b.text}" collide`);
  }
});
