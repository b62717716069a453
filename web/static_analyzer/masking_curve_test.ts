import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { maskingCurveGeometry } from "./masking_curve.ts";
import type { StudyStep } from "./protocol.ts";

const steps: StudyStep[] = [
  { step: 0, score: 0.9, heads_kept: 8, fraction_kept: 1, masked: [], score_ci: [0.85, 0.95] },
  {
    step: 1,
    score: 0.8,
    heads_kept: 4,
    fraction_kept: 0.5,
    masked: [[0, 0]],
    score_ci: [0.7, 0.88],
    random_masks: { scores: [0.5, 0.6, 0.4], mean: 0.5, min: 0.4, max: 0.6 },
  },
];

Deno.test("masking curve: x is the share of heads masked, y covers every score, interval and random mask", () => {
  const g = maskingCurveGeometry(steps, 8);
  const { left, right, top, bottom } = g.box;
  deepStrictEqual(g.curve.map(([x]) => x), [left, (left + right) / 2]);
  ok(g.yRange[0] < 0.4 && g.yRange[1] > 0.95, `range ${g.yRange}`);
  for (const [x, y] of [...g.curve, ...g.band]) ok(x >= left && x <= right && y >= top && y <= bottom);
  // a higher score is drawn higher up (smaller y)
  ok(g.curve[0]![1] < g.curve[1]![1]);
  // the band: upper bounds left to right, then lower bounds back
  strictEqualLength(g.band, 4);
  ok(g.band[0]![1] < g.band[3]![1], "the upper bound above the lower one");
  deepStrictEqual(g.random.length, 1);
  ok(g.random[0]!.high < g.random[0]!.mean && g.random[0]!.mean < g.random[0]!.low);
});

Deno.test("masking curve: no band without intervals, a flat curve still gets a range, bad input is named", () => {
  const flat = maskingCurveGeometry(steps.map(({ score_ci: _c, random_masks: _r, ...s }) => ({ ...s, score: 1 })), 8);
  deepStrictEqual(flat.band, []);
  ok(flat.yRange[1] - flat.yRange[0] > 0.5);
  throws(() => maskingCurveGeometry([], 8), /no steps/);
  throws(() => maskingCurveGeometry(steps, 0), /head count/);
});

function strictEqualLength(a: unknown[], n: number): void {
  deepStrictEqual(a.length, n);
}
