/// <reference lib="dom" />
/**
 * Export of the current view: SVG (the head view as drawn), PNG (the same, rasterised at 2×) and a
 * standalone HTML file that embeds the data, the stylesheet and this page's own script, so it opens offline.
 *
 * @module
 */

import type { ViewData, ViewState } from "./types.ts";

/**
 * Serialises an SVG element as a standalone SVG document.
 *
 * @param svg the element
 * @returns the SVG text
 */
export function svgText(svg: SVGSVGElement): string {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  for (const e of copy.querySelectorAll<SVGElement>("[style*='display: none']")) e.removeAttribute("style");
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(copy)}\n`;
}

/**
 * Starts a download of `blob` named `name`.
 *
 * @param blob the content
 * @param name the file name
 */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.style.display = "none";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Rasterises an SVG element to PNG at `scale`×.
 *
 * @param svg the element
 * @param scale the pixel ratio
 * @returns the PNG blob
 */
export async function svgToPng(svg: SVGSVGElement, scale = 2): Promise<Blob> {
  const w = Number(svg.getAttribute("width")), h = Number(svg.getAttribute("height"));
  const url = URL.createObjectURL(new Blob([svgText(svg)], { type: "image/svg+xml" }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = Math.ceil(w * scale);
    canvas.height = Math.ceil(h * scale);
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("PNG encoding failed"))), "image/png")
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Makes script text safe inside a `<script>` element. */
function scriptSafe(s: string): string {
  return s.replace(/<\/(script)/gi, "<\\/$1");
}

/**
 * Builds the standalone HTML file: the stylesheet, the data and the view state as JSON, and the page
 * script, which draws from the embedded data when it finds it (no server, no network).
 *
 * @param data what is shown
 * @param state what is selected
 * @param css the page stylesheet
 * @param js the page script
 * @returns the HTML text
 */
export function standaloneHtml(data: ViewData, state: ViewState, css: string, js: string): string {
  const payload = JSON.stringify({ data, state });
  const title = `bertology — ${data.model.name}: ${data.text.slice(0, 60)}`.replace(/[<>&"]/g, "");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${css.replace(/<\/style/gi, "<\\/style")}</style>
</head>
<body>
<div id="app"></div>
<script type="application/json" id="bertology-data">${payload.replace(/</g, "\\u003c")}</script>
<script>${scriptSafe(js)}</script>
</body>
</html>
`;
}
