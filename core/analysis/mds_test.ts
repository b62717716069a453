import { ok, throws } from "node:assert/strict";
import { classicalMds, symmetricEigen } from "./mds.ts";

const close = (a: number, b: number, tol: number) => ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("symmetricEigen() recovers A·v = λ·v, eigenvalues descending", () => {
  const n = 5, a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = Math.sin(i * 3 + j * 7);
  const { values, vectors } = symmetricEigen(a, n);
  for (let k = 0; k < n; k++) {
    if (k > 0) ok(values[k - 1]! >= values[k]!);
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += a[i * n + j]! * vectors[j * n + k]!;
      close(av, values[k]! * vectors[i * n + k]!, 1e-10);
    }
  }
});

Deno.test("classicalMds() reproduces a known planar configuration's distances exactly", () => {
  const pts = [[0, 0], [3, 0], [3, 4], [0, 4], [1.5, 2], [-2, 1]];
  const n = pts.length, d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) d[i * n + j] = Math.hypot(pts[i]![0]! - pts[j]![0]!, pts[i]![1]! - pts[j]![1]!);
  }
  const y = classicalMds(d, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) close(Math.hypot(y[i]![0]! - y[j]![0]!, y[i]![1]! - y[j]![1]!), d[i * n + j]!, 1e-9);
  }
  // centred at the origin
  close(y.reduce((s, p) => s + p[0]!, 0), 0, 1e-9);
  close(y.reduce((s, p) => s + p[1]!, 0), 0, 1e-9);
});

Deno.test("classicalMds() puts collinear points on the first axis and refuses asymmetric input", () => {
  const xs = [0, 1, 3, 7], n = 4, d = new Float64Array(16);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i * n + j] = Math.abs(xs[i]! - xs[j]!);
  const y = classicalMds(d, n);
  for (const p of y) close(p[1]!, 0, 1e-9);
  close(Math.abs(y[3]![0]! - y[0]![0]!), 7, 1e-9);
  throws(() => classicalMds(Float64Array.from([0, 1, 2, 0]), 2), /not symmetric at \(0, 1\)/);
  throws(() => classicalMds(new Float64Array(3), 2), /expected 2·2 distances/);
});
