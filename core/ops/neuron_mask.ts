/**
 * Kwon et al.'s neuron mask: multiplies each column of the MLP activation [.., I_l] by layer `layer`'s mask
 * before the MLP's output projection, and differentiates the mask when asked (`neuron_mask_grad`). The identity
 * when the run has no neuron mask, and in the exported graph (no neuron-mask input: its MLP is the unmasked
 * one). Kernel: `dropoutBackward`, the row-wise multiply-accumulate out += a ⊙ b.
 *
 * @module
 */

import type { OpDef } from "./op.ts";
import { requireDense } from "./_wasm.ts";

/** How a family calls the op (one member of `ModelOps`). */
export interface NeuronMaskOp<T> {
  /**
   * Multiplies each column of the MLP activation [.., I_l] by layer `layer`'s neuron mask (Kwon et al.'s
   * neuron mask, applied before the MLP's output projection); the identity when the run has no neuron mask.
   */
  neuronMask(x: T, layer: number): T;
}

/** The op's attributes, as the trace records them. */
export type NeuronMaskAttrs = { layer: number };

/** The neuron-mask op. */
export const neuronMask: OpDef<"neuronMask"> = {
  name: "neuronMask",
  wasm({ run, inputs }, x, layer) {
    const k = run.k;
    const mask = inputs.neuronMask?.[layer] ?? 0;
    const I = x.shape[x.shape.length - 1]!;
    if (mask === 0 || I === 0) return x;
    requireDense(run, x, "neuronMask");
    const rows = x.size / I;
    const grad = inputs.neuronMaskGrad?.[layer] ?? 0;
    const y = run.act(x.shape);
    // dropoutBackward is the row-wise multiply-accumulate out += a ⊙ b: y (zeroed) += mask ⊙ x, row by row
    for (let r = 0; r < rows; r++) k.dropoutBackward(y.ptr + 4 * r * I, mask, x.ptr + 4 * r * I, I);
    run.derive(y, x);
    if (grad !== 0) run.requireGrad(y); // the mask is differentiated: y's gradient is needed
    run.onBackward(() => {
      if (!run.hasGrad(y)) return;
      const dy = run.gradOf(y), dx = run.requiresGrad(x) ? run.gradOf(x) : 0;
      for (let r = 0; r < rows; r++) {
        const at = 4 * r * I;
        if (dx !== 0) k.dropoutBackward(dx + at, mask, dy + at, I); // dx += mask ⊙ dy
        if (grad !== 0) k.dropoutBackward(grad, x.ptr + at, dy + at, I); // dmask += x ⊙ dy
      }
    });
    return y;
  },
  trace: (cx, x, layer) => cx.record("neuronMask", [x], [x.shape], [], { layer })[0]!,
  onnx: (_cx, _op, _index, [x]) => [x!],
  onnxBackward: ({ dy }) => [dy[0]],
};
