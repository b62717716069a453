import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { textColorOn, viridis, viridisRgb } from "./color.ts";

Deno.test("viridisRgb() goes from dark purple to yellow, brighter all the way", () => {
  deepStrictEqual(viridisRgb(0), [71, 1, 85]);
  deepStrictEqual(viridisRgb(1), [252, 231, 33]);
  const lum = (t: number) => {
    const [r, g, b] = viridisRgb(t);
    return 0.299 * r + 0.587 * g + 0.114 * b;
  };
  for (let i = 1; i <= 20; i++) ok(lum(i / 20) > lum((i - 1) / 20), `luminance rises at t = ${i / 20}`);
});

Deno.test("viridis() clamps out-of-range values and greys out NaN", () => {
  strictEqual(viridis(-1), viridis(0));
  strictEqual(viridis(2), viridis(1));
  strictEqual(viridis(NaN), "#c8c8c8");
  strictEqual(viridis(0), "#470155");
});

Deno.test("textColorOn() picks white on dark and black on light cells", () => {
  strictEqual(textColorOn(0), "#fff");
  strictEqual(textColorOn(1), "#000");
});
