/**
 * Helpers for tests that compare against the Hugging Face goldens in `tests/fixtures/goldens`.
 *
 * @module
 */

import { loadSafetensors } from "@bertology/core/checkpoint";
import type { Tensor } from "@bertology/core";

/** The fixtures folder. */
export const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

/** Path of a fixture model folder. */
export function fixtureModel(name: string): string {
  return `${FIXTURES}models/${name}`;
}

/** The encoder and decoder family fixtures (a copy of shared `testdata/families`, see `fixtures/SOURCES.md`). */
export const FAMILY_FIXTURES = `${FIXTURES}families/`;

/** Path of a family fixture model folder (`roberta-tiny-random` …). */
export function familyModel(name: string): string {
  return `${FAMILY_FIXTURES}models/${name}`;
}

/** Reads a family golden's `*.inputs.json`. */
export function readFamilyInputs(name: string): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(`${FAMILY_FIXTURES}goldens/${name}.inputs.json`));
}

/** Reads a family golden safetensors file as float32 tensors. */
export function readFamilyGolden(name: string): Map<string, Tensor> {
  const path = `${FAMILY_FIXTURES}goldens/${name}.safetensors`;
  return loadSafetensors(Deno.readFileSync(path), path);
}

/** Reads a golden's `*.inputs.json`. */
export function readInputs(name: string): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(`${FIXTURES}goldens/${name}.inputs.json`));
}

/** Reads a golden safetensors file as float32 tensors. */
export function readGolden(name: string): Map<string, Tensor> {
  const path = `${FIXTURES}goldens/${name}.safetensors`;
  return loadSafetensors(Deno.readFileSync(path), path);
}

/** Max |a − b| of two tensors after checking their shapes agree. */
export function maxAbsDiff(label: string, expected: Tensor, actual: Tensor): number {
  if (expected.shape.join() !== actual.shape.join()) {
    throw new Error(`${label}: shape [${actual.shape}] differs from expected [${expected.shape}]`);
  }
  let max = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const d = Math.abs(expected.data[i]! - actual.data[i]!);
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  return max;
}

/**
 * Asserts every listed expected tensor is matched within `atol` (max |diff|), reporting a label and the max
 * difference per tensor, as llm.c's check_tensor does.
 */
export function assertTensorsClose(
  expected: Map<string, Tensor>,
  actual: (name: string) => Tensor | undefined,
  names: string[],
  atol = 1e-4,
): void {
  const lines: string[] = [];
  let bad = 0;
  for (const name of names) {
    const a = actual(name);
    if (!a) {
      lines.push(`  ${name}: MISSING`);
      bad++;
      continue;
    }
    const d = maxAbsDiff(name, expected.get(name)!, a);
    const ok = d <= atol;
    if (!ok) bad++;
    lines.push(`  ${name}: max|diff| ${d.toExponential(2)} ${ok ? "ok" : "FAIL"}`);
  }
  if (bad > 0) throw new Error(`${bad} tensor(s) differ by more than ${atol}:\n${lines.join("\n")}`);
}

/**
 * The forward outputs a golden holds — `logits`, every `hidden_states.i` and `attentions.i` — checked to be all
 * 2·layers + 2 of them.
 *
 * @throws {Error} naming the golden when one is missing
 */
export function forwardGoldenNames(expected: Map<string, Tensor>, layers: number, golden: string): string[] {
  const names = [...expected.keys()].filter((n) => /^(logits|hidden_states\.\d+|attentions\.\d+)$/.test(n));
  if (names.length !== 2 * layers + 2) {
    throw new Error(`${golden}: ${names.length} forward tensors, expected ${2 * layers + 2}: some are missing`);
  }
  return names;
}

/**
 * Asserts a loss and a head-mask gradient equal a golden's `loss` and `head_mask_grad` within 1e-5 + 1e-3·|expected|
 * each (the gradient's max difference reported first).
 */
export function assertLossAndHeadMaskGrad(expected: Map<string, Tensor>, loss: number, grad: Tensor): void {
  const want = expected.get("loss")!.data[0]!;
  if (!(Math.abs(loss - want) <= 1e-5 + 1e-3 * Math.abs(want))) throw new Error(`loss ${loss} vs HF ${want}`);
  const e = expected.get("head_mask_grad")!;
  maxAbsDiff("head_mask_grad", e, grad);
  e.data.forEach((v, i) => {
    if (!(Math.abs(v - grad.data[i]!) <= 1e-5 + 1e-3 * Math.abs(v))) {
      throw new Error(`head_mask_grad[${i}] = ${grad.data[i]} vs HF ${v}\nours ${[...grad.data]}\nHF   ${[...e.data]}`);
    }
  });
}

/**
 * The values of `t` at real (unpadded) query positions only: rows `[b, t, …]` of logits and hidden states, query
 * rows `[b, h, t, :]` of attentions, where `attentionMask[b][t]` is 1 — for goldens whose padded positions hold
 * values HF computes differently (GPT-Neo's local layers, see the families MANIFEST), kept in order, shape
 * `[rows, …]` (or `[rows, keys]` for attentions).
 */
export function atRealPositions(name: string, t: Tensor, attentionMask: readonly (readonly number[])[]): Tensor {
  const B = attentionMask.length, T = attentionMask[0]?.length ?? 0;
  const attention = /^attentions\.\d+$/.test(name);
  const heads = attention ? t.shape[1]! : 1;
  const row = attention ? T : t.shape.slice(2).reduce((a, b) => a * b, 1);
  if (t.shape[0] !== B || t.shape[attention ? 2 : 1] !== T) {
    throw new Error(`${name}: shape [${t.shape}] does not fit an attention mask of ${B} rows × ${T} positions`);
  }
  const kept: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < T; i++) if (attentionMask[b]![i] === 1) kept.push((b * heads + h) * T + i);
    }
  }
  const data = new Float32Array(kept.length * row);
  kept.forEach((r, n) => data.set(t.data.subarray(r * row, (r + 1) * row), n * row));
  return { shape: [kept.length, ...(attention ? [T] : t.shape.slice(2))], data };
}
