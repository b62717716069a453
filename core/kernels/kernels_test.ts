// The shared case table, run on both WASM builds and compared with the reference backend.
import assert from "node:assert/strict";
import { type CaseOutputs, KERNEL_CASES, seededRandom } from "../../tests/helpers/kernel_cases.ts";
import { KERNEL_NAMES, type KernelName } from "./contract.ts";
import { createReferenceKernels } from "./reference_kernels.ts";
import type { Kernels } from "./types.ts";
import { createWasmKernels } from "./wasm_kernels.ts";

const RTOL = 1e-5;

/** |a − b| ≤ rtol·(|b| + rms(b)) + 1e-7 elementwise: relative to the value and to the tensor's scale. */
function assertClose(label: string, actual: Float32Array | number, expected: Float32Array | number): void {
  const a = typeof actual === "number" ? [actual] : actual;
  const e = typeof expected === "number" ? [expected] : expected;
  assert.equal(a.length, e.length, `${label}: length ${a.length} != ${e.length}`);
  let rms = 0;
  for (const x of e) rms += x * x;
  rms = Math.sqrt(rms / Math.max(1, e.length));
  let worst = 0, at = -1;
  for (let i = 0; i < e.length; i++) {
    const excess = Math.abs(a[i]! - e[i]!) - (RTOL * (Math.abs(e[i]!) + rms) + 1e-7);
    if (!(excess <= worst)) {
      worst = Number.isNaN(excess) ? Infinity : excess;
      at = i;
    }
  }
  if (at >= 0) assert.fail(`${label}[${at}]: got ${a[at]}, expected ${e[at]} (rms ${rms})`);
}

function runCase(k: Kernels, run: (k: Kernels, rnd: () => number) => CaseOutputs): CaseOutputs {
  const mark = k.mem.mark();
  try {
    return run(k, seededRandom(1234));
  } finally {
    k.mem.release(mark);
  }
}

for (const simd of ["relaxed", "fixed"] as const) {
  const wasm = createWasmKernels({ simd });
  const reference = createReferenceKernels();
  for (const c of KERNEL_CASES) {
    Deno.test(`[${wasm.name}] ${c.name}`, () => {
      const want = runCase(reference, c.run);
      const got = runCase(wasm, c.run);
      assert.deepEqual(Object.keys(got), Object.keys(want));
      for (const key of Object.keys(want)) assertClose(key, got[key]!, want[key]!);
    });
  }
}

// Kernels whose backend comparison lives in dropout_entropy_test.ts (bit-exact dropout, accumulating entropy)
// and half_to_float_test.ts (every 16-bit pattern, bit-exact).
const TESTED_ELSEWHERE: KernelName[] = ["dropoutForward", "dropoutBackward", "attentionEntropy", "halfToFloat"];

Deno.test("the case table runs every kernel of the contract not tested elsewhere", () => {
  const k = createReferenceKernels();
  const called = new Set<string | symbol>();
  const recording = new Proxy(k, {
    get(target, key) {
      called.add(key);
      return Reflect.get(target, key);
    },
  });
  for (const c of KERNEL_CASES) runCase(recording, c.run);
  assert.deepEqual(KERNEL_NAMES.filter((name) => !called.has(name)), TESTED_ELSEWHERE);
});
