import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { pruneModel } from "../bertology/prune.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { keptHeads } from "../models/config.ts";
import { ablateHeads, type PatchComponent, patchComponents, patchHeads } from "./patching.ts";
import { outputLogits, outputPosition, repeatedBatch } from "./input.ts";
import { testModel } from "./_test_models.ts";

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

for (const name of ["bert-tiny-random", "gpt2-tiny-random", "models/bert-sst2"]) {
  Deno.test(`patchComponents(): every head's z from the clean run restores the clean logits exactly; a corrupted output position also needs its residual stream (${name})`, async () => {
    const { model, input, corrupted } = await testModel(name);
    const c = model.config;
    const T = input.inputIds.length, out = outputPosition(model, T);
    const clean = outputLogits(model, repeatedBatch(input)).data;
    const corrupt = outputLogits(model, repeatedBatch(corrupted)).data;
    ok(maxDiff(clean, corrupt) > 1e-3, "the corruption changes the logits");
    const heads: PatchComponent[] = [];
    for (let l = 0; l < c.layers; l++) for (const h of keptHeads(c, l)) heads.push({ kind: "head", layer: l, head: h });
    const mlps: PatchComponent[] = Array.from({ length: c.layers }, (_, l) => ({ kind: "mlp", layer: l }));
    // the inputs agree at the output position: attention is the only way the swapped word gets there
    const all = patchComponents(model, input, corrupted, heads);
    ok(maxDiff(all, clean) < 1e-5, `${name}: every head patched: ${maxDiff(all, clean)}`);
    ok(maxDiff(patchComponents(model, input, corrupted, mlps), clean) > 1e-4, "the MLPs alone do not restore");
    ok(maxDiff(patchComponents(model, input, corrupted, [{ kind: "embed" }]), clean) < 1e-5, "the embeddings alone do");
    ok(maxDiff(patchComponents(model, input, corrupted, []), corrupt) < 1e-5, "nothing patched = corrupted");
    // corrupt the output position itself: the heads no longer suffice, its residual stream must come too
    const ids = [...input.inputIds];
    ids[out] = input.inputIds[out === 0 ? 1 : out - 1]!;
    const atOutput = { ...input, inputIds: ids };
    ok(maxDiff(patchComponents(model, input, atOutput, heads), clean) > 1e-4, `${name}: heads alone do not restore`);
    const fix = patchComponents(model, input, atOutput, [...heads, { kind: "resid", layer: 0, position: out }]);
    ok(maxDiff(fix, clean) < 1e-5, `${name}: heads + the output position's residual stream: ${maxDiff(fix, clean)}`);
  });
}

for (const name of ["bert-tiny-random", "gpt2-tiny-random"]) {
  Deno.test(`patchHeads() restores fractions that agree with one-at-a-time patching (${name})`, async () => {
    const { model, input, corrupted } = await testModel(name);
    const c = model.config;
    const p = patchHeads(model, input, corrupted, { positions: true, batchSize: 5 });
    deepStrictEqual(p.heads.shape, [c.layers, c.heads]);
    strictEqual(p.mlp.length, c.layers);
    deepStrictEqual(p.resid!.shape, [c.layers, input.inputIds.length]);
    const d = (logits: Float32Array) => logits[p.target]! - logits[p.other]!;
    ok(Math.abs(d(outputLogits(model, repeatedBatch(input)).data) - p.logitDiffClean) < 1e-5);
    // one head, patched alone
    const single = patchComponents(model, input, corrupted, [{ kind: "head", layer: 1, head: 2 }]);
    const expected = (d(single) - p.logitDiffCorrupted) / (p.logitDiffClean - p.logitDiffCorrupted);
    ok(Math.abs(p.heads.data[1 * c.heads + 2]! - expected) < 1e-4, `${p.heads.data[1 * c.heads + 2]} vs ${expected}`);
    // the residual stream entering layer 0 at the swapped position carries everything there is: restores 1
    const swapped = input.inputIds.findIndex((v, i) => v !== corrupted.inputIds[i]);
    const T = input.inputIds.length;
    ok(Math.abs(p.resid!.data[swapped]! - 1) < 1e-4, `resid[0][${swapped}] = ${p.resid!.data[swapped]}`);
    // positions that are the same in both inputs restore nothing at layer 0
    for (let t = 0; t < T; t++) if (t !== swapped) ok(Math.abs(p.resid!.data[t]!) < 1e-5);
    throws(() => patchHeads(model, input, { inputIds: input.inputIds.slice(1) }), /same number of tokens/);
    throws(() => patchHeads(model, input, input), /same logit difference/);
    throws(() => patchHeads(model, input, corrupted, { target: 1, other: 1 }), /must differ from target/);
  });
}

Deno.test("ablateHeads(): zero ablation equals a head mask of 0 on that head; mean over the input itself", async () => {
  const { model, input } = await testModel("bert-tiny-random");
  const c = model.config;
  const a = ablateHeads(model, input);
  deepStrictEqual(a.zero.shape, [c.layers, c.heads]);
  const headMask = Array.from(
    { length: c.layers },
    (_, l) => Array.from({ length: c.heads }, (_, h) => (l === 2 && h === 1 ? 0 : 1)),
  );
  const masked = model.run({ batch: repeatedBatch(input), headMask }).logits!.data;
  const dMasked = masked[a.target]! - masked[a.other]!;
  ok(Math.abs(a.zero.data[2 * c.heads + 1]! - (dMasked - a.logitDiff)) < 1e-5);
  ok(a.mean.data.every((v) => Number.isFinite(v)));
  ok(a.mean.data.some((v, i) => Math.abs(v - a.zero.data[i]!) > 1e-6), "mean and zero ablation differ");
  throws(() => ablateHeads(model, input, { reference: [] }), /reference is empty/);
});

Deno.test("a pruned model: pruned heads are NaN in the patching and ablation maps; kept heads are numbered as before", async () => {
  const { model, input, corrupted } = await testModel("bert-tiny-random");
  const pruned = pruneModel(model, { 0: [1], 2: [0, 3] }, createWasmKernels());
  const H = pruned.config.heads;
  const p = patchHeads(pruned, input, corrupted);
  for (const [l, h] of [[0, 1], [2, 0], [2, 3]] as const) ok(Number.isNaN(p.heads.data[l * H + h]!), `${l}.${h}`);
  ok(Number.isFinite(p.heads.data[0 * H + 2]!) && Number.isFinite(p.heads.data[2 * H + 1]!));
  // kept head 2.1 of the pruned model is head 2.1 of the original: the same slice of hook_z is patched
  const single = patchComponents(pruned, input, corrupted, [{ kind: "head", layer: 2, head: 1 }]);
  const d = single[p.target]! - single[p.other]!;
  const expected = (d - p.logitDiffCorrupted) / (p.logitDiffClean - p.logitDiffCorrupted);
  // fractions divide by d_clean − d_corrupted: compare on the scale of d (batch sizes round differently)
  ok(Math.abs(p.heads.data[2 * H + 1]! - expected) * Math.abs(p.logitDiffClean - p.logitDiffCorrupted) < 1e-5);
  throws(() => patchComponents(pruned, input, corrupted, [{ kind: "head", layer: 0, head: 1 }]), /has no head 1/);
  ok(Number.isNaN(ablateHeads(pruned, input).zero.data[0 * H + 1]!));
});
