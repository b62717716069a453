import { deepStrictEqual, strictEqual } from "node:assert";
import { checkBalancedTags, escapeXml, fmtNum, fmtTick, niceTicks } from "./svg.ts";

Deno.test("escapeXml() escapes markup characters in text and attributes", () => {
  strictEqual(escapeXml(`a < b & "c" > 'd'`), "a &lt; b &amp; &quot;c&quot; &gt; &#39;d&#39;");
  strictEqual(escapeXml("plain"), "plain");
});

Deno.test("fmtNum() keeps a few significant digits without trailing zeros", () => {
  strictEqual(fmtNum(0.250000001), "0.25");
  strictEqual(fmtNum(12), "12");
  strictEqual(fmtNum(0), "0");
  strictEqual(fmtNum(0.0000123), "1.23e-5");
  strictEqual(fmtNum(NaN), "NaN");
});

Deno.test("niceTicks() returns round values covering the range", () => {
  deepStrictEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  deepStrictEqual(niceTicks(0.43, 0.61, 5), [0.45, 0.5, 0.55, 0.6]);
  deepStrictEqual(niceTicks(2, 2), [2]);
  deepStrictEqual(niceTicks(1, 0, 2), [0, 0.5, 1]);
});

Deno.test("checkBalancedTags() finds unclosed, misnested and bare markup", () => {
  strictEqual(checkBalancedTags(`<svg><g a="x>y"><rect/></g><!-- <b> --></svg>`), undefined);
  strictEqual(checkBalancedTags(`<!DOCTYPE html><html><head><meta charset="utf-8"></head></html>`), undefined);
  strictEqual(checkBalancedTags("<svg><g></svg>"), "</svg> closes <g>");
  strictEqual(checkBalancedTags("<svg><g>"), "unclosed <g>");
  strictEqual(checkBalancedTags("<p>a < b</p>"), "a bare < outside a tag");
});

Deno.test("fmtTick() shows just enough decimals to separate ticks", () => {
  strictEqual(fmtTick(3.3050001, 0.005), "3.305");
  strictEqual(fmtTick(0.25, 0.25), "0.25");
  strictEqual(fmtTick(0.5, 0.25), "0.5");
  strictEqual(fmtTick(40, 20), "40");
});
