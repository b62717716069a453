/**
 * Classical (Torgerson) multidimensional scaling: points whose Euclidean distances best match a distance
 * matrix — B = −½ J D⁽²⁾ J (double centring of the squared distances), coordinates = the top eigenvectors
 * of B scaled by √λ. The eigenvectors come from cyclic Jacobi rotations (exact for the ≤ a few hundred
 * heads this is for). Each axis's sign is fixed so that its largest-magnitude coordinate is positive.
 *
 * @module
 */

/**
 * Eigenvalues and eigenvectors of a symmetric matrix (cyclic Jacobi), largest eigenvalue first.
 *
 * @param a The row-major [n, n] symmetric matrix (not modified).
 * @param n Its size.
 * @returns `values` [n] descending and `vectors` [n, n] with eigenvector k in column k.
 *
 * @example Usage
 * ```ts
 * import { symmetricEigen } from "./mds.ts";
 * symmetricEigen(Float64Array.from([2, 0, 0, 3]), 2).values; // [3, 2]
 * ```
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== n * n) throw new Error(`symmetricEigen: expected ${n}·${n} values, got ${a.length}`);
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += m[i]! * m[i]!;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q]! * m[p * n + q]!;
    if (off <= 1e-30 * Math.max(scale, 1e-300)) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (apq === 0) continue;
        const theta = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p]!, akq = m[k * n + q]!;
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k]!, aqk = m[q * n + k]!;
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!, vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j]! - m[i * n + i]!);
  const values = Float64Array.from(order, (i) => m[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((src, k) => {
    for (let r = 0; r < n; r++) vectors[r * n + k] = v[r * n + src]!;
  });
  return { values, vectors };
}

/**
 * Classical MDS of a distance matrix.
 *
 * @param d The row-major [n, n] distances (symmetric, zero diagonal).
 * @param n The number of points.
 * @param dims Output dimensions. Default 2.
 * @returns `n` points of `dims` coordinates (axes with a non-positive eigenvalue are 0).
 * @throws {Error} when `d` is not [n, n] or not symmetric
 *
 * @example Usage
 * ```ts
 * import { classicalMds } from "./mds.ts";
 * const pts = classicalMds(Float64Array.from([0, 2, 2, 0]), 2); // two points 2 apart on the first axis
 * Math.abs(pts[0]![0]! - pts[1]![0]!); // 2
 * ```
 */
export function classicalMds(d: ArrayLike<number>, n: number, dims = 2): number[][] {
  if (d.length !== n * n) throw new Error(`classicalMds: expected ${n}·${n} distances, got ${d.length}`);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (Math.abs(d[i * n + j]! - d[j * n + i]!) > 1e-9 * (1 + Math.abs(d[i * n + j]!))) {
        throw new Error(`classicalMds: distances are not symmetric at (${i}, ${j})`);
      }
    }
  }
  const sq = Float64Array.from(d, (x) => x * x);
  const row = new Float64Array(n);
  let all = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) row[i]! += sq[i * n + j]! / n;
    all += row[i]! / n;
  }
  const b = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) b[i * n + j] = -0.5 * (sq[i * n + j]! - row[i]! - row[j]! + all);
  }
  const { values, vectors } = symmetricEigen(b, n);
  const pts = Array.from({ length: n }, () => new Array<number>(dims).fill(0));
  for (let k = 0; k < Math.min(dims, n); k++) {
    const lambda = values[k]!;
    if (!(lambda > 1e-12)) continue;
    let big = 0;
    for (let i = 0; i < n; i++) if (Math.abs(vectors[i * n + k]!) > Math.abs(big)) big = vectors[i * n + k]!;
    const f = Math.sqrt(lambda) * (big < 0 ? -1 : 1);
    for (let i = 0; i < n; i++) pts[i]![k] = vectors[i * n + k]! * f;
  }
  return pts;
}
