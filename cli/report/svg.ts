/**
 * Small helpers shared by the report's SVG figure builders: escaping, number formatting, nice axis ticks,
 * and a check that a generated SVG/HTML fragment has balanced tags (used by the tests).
 *
 * @module
 */

/**
 * Escapes text for XML/HTML content and attribute values (`&`, `<`, `>`, `"`, `'`).
 *
 * @example Usage
 * ```ts
 * import { escapeXml } from "./svg.ts";
 * escapeXml(`a < b & "c"`); // "a &lt; b &amp; &quot;c&quot;"
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/**
 * Formats a number with at most `digits` significant digits, without trailing zeros ("0.25", "12", "1.2e-5").
 *
 * @example Usage
 * ```ts
 * import { fmtNum } from "./svg.ts";
 * fmtNum(0.250000001); // "0.25"
 * ```
 */
export function fmtNum(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, "e");
  return String(Number(x.toPrecision(digits)));
}

/**
 * Formats tick values with just enough decimals to tell ticks `step` apart ("0.25", "3.305").
 *
 * @example Usage
 * ```ts
 * import { fmtTick } from "./svg.ts";
 * fmtTick(3.3050001, 0.005); // "3.305"
 * ```
 */
export function fmtTick(v: number, step: number): string {
  if (!(step > 0) || !Number.isFinite(v)) return fmtNum(v);
  let decimals = 0; // the fewest decimals that write the step exactly (0.25 → 2, 0.005 → 3, 20 → 0)
  while (decimals < 6 && Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-6 * 10 ** decimals) {
    decimals++;
  }
  const a = Math.abs(v);
  if (a >= 1e5 || (a > 0 && a < 1e-4 && decimals > 5)) return fmtNum(v);
  return String(Number(v.toFixed(decimals)));
}

/** Rounds a coordinate to 0.01 px for compact SVG. */
export function px(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/**
 * Round tick values covering [min, max] (about `count` of them), as for a paper figure's axis.
 *
 * @example Usage
 * ```ts
 * import { niceTicks } from "./svg.ts";
 * niceTicks(0, 1, 5); // [0, 0.2, 0.4, 0.6, 0.8, 1]
 * ```
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) {
    out.push(Number(v.toPrecision(12)));
  }
  return out;
}

/**
 * Checks that an XML-ish fragment has balanced, properly nested tags (self-closing tags, comments,
 * `<!DOCTYPE>` and HTML void elements allowed). Returns an error description, or `undefined` when balanced.
 *
 * @example Usage
 * ```ts
 * import { checkBalancedTags } from "./svg.ts";
 * checkBalancedTags("<svg><g><rect/></g></svg>"); // undefined
 * checkBalancedTags("<svg><g></svg>"); // "</svg> closes <g>"
 * ```
 */
export function checkBalancedTags(markup: string): string | undefined {
  const VOID = new Set(["meta", "br", "hr", "img", "input", "link", "col", "wbr", "source", "area", "base"]);
  const body = markup.replace(/<!--[\s\S]*?-->/g, "").replace(/<!DOCTYPE[^>]*>/gi, "")
    .replace(/<(style|script)\b[^>]*>[\s\S]*?<\/\1>/gi, "");
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    const tag = name!.toLowerCase();
    if (closing) {
      const open = stack.pop();
      if (open !== tag) return `</${tag}> closes ${open === undefined ? "nothing" : `<${open}>`}`;
    } else if (!selfClosing && !VOID.has(tag)) stack.push(tag);
  }
  if (stack.length) return `unclosed <${stack[stack.length - 1]}>`;
  if (/<(?![A-Za-z/!])/.test(body)) return "a bare < outside a tag";
  return undefined;
}
