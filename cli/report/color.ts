/**
 * A perceptually uniform colour scale for heatmaps: viridis (matplotlib's default), computed from a
 * degree-6 polynomial fit to its table, so no lookup table needs to ship with the report.
 *
 * @module
 */

// Polynomial fit of matplotlib's viridis (Matt Zucker's fit), one row per power of t, RGB in [0, 1].
const C = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];

/**
 * The viridis colour at `t` in [0, 1] (clamped; NaN gives grey) as `[r, g, b]` bytes.
 *
 * @example Usage
 * ```ts
 * import { viridisRgb } from "./color.ts";
 * viridisRgb(1); // [252, 231, 33] (yellow)
 * ```
 */
export function viridisRgb(t: number): [number, number, number] {
  if (Number.isNaN(t)) return [200, 200, 200];
  const x = Math.min(1, Math.max(0, t));
  const out = [0, 1, 2].map((k) => {
    let v = C[6]![k]!;
    for (let p = 5; p >= 0; p--) v = v * x + C[p]![k]!;
    return Math.round(255 * Math.min(1, Math.max(0, v)));
  });
  return out as [number, number, number];
}

/**
 * The viridis colour at `t` as a CSS hex string.
 *
 * @example Usage
 * ```ts
 * import { viridis } from "./color.ts";
 * viridis(0); // "#470155" (dark purple)
 * ```
 */
export function viridis(t: number): string {
  return "#" + viridisRgb(t).map((v) => v.toString(16).padStart(2, "0")).join("");
}

/**
 * Black or white, whichever reads better on top of the viridis colour at `t`.
 *
 * @example Usage
 * ```ts
 * import { textColorOn } from "./color.ts";
 * textColorOn(0.1); // "#fff"
 * ```
 */
export function textColorOn(t: number): string {
  const [r, g, b] = viridisRgb(t);
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#000" : "#fff";
}
