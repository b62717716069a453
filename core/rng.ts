/**
 * Seeded random numbers (internal; training, tests and kernel cases): mulberry32 uniforms, Box–Muller normals, Fisher–Yates shuffles
 * and a 32-bit seed mixer. No module state: every generator is an object the caller owns.
 *
 * @module
 */

/** A seeded generator of uniforms in [0, 1) (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded generator of uniforms in [-1, 1) (mulberry32). */
export function uniformSigned(seed: number): () => number {
  const u = mulberry32(seed);
  return () => u() * 2 - 1;
}

/** A seeded standard-normal generator (Box–Muller over {@linkcode mulberry32}). */
export function normalGenerator(seed: number): () => number {
  const u = mulberry32(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u1 = 1 - u(), u2 = u(); // u1 in (0, 1]
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}

/** Mixes a seed with stream numbers into a new 32-bit seed (lowbias32 rounds). */
export function mixSeed(seed: number, ...streams: number[]): number {
  let h = seed >>> 0;
  for (const s of [...streams, streams.length]) {
    h = (h ^ Math.imul((s >>> 0) + 0x9e3779b9, 0x85ebca6b)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** A seeded permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, seed: number): Int32Array {
  const rnd = mulberry32(seed);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
