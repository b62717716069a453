/**
 * The WASM executor of the semantic ops (`ops.ts`): each op's WASM rule (`core/ops/*.ts`) runs one or a few
 * kernel calls on the run's arena and — when the run records — pushes its backward step on the run's tape.
 * This class holds what is the executor's own: blocks (freed as they end), hooks, the dropout site counter.
 *
 * @module
 */

import { opDef, OPS } from "../ops/mod.ts";
import type { OpName, OpSignatures, WasmContext } from "../ops/mod.ts";
import type { ArenaInputs } from "./inputs.ts";
import type { ExecutorOps, HookLayout } from "./ops.ts";
import type { ParamStore } from "./param_store.ts";
import type { Act, Run } from "./run.ts";

/** Runs a family's forward pass on the WASM kernels. */
export class WasmOps implements ExecutorOps<Act>, WasmContext {
  readonly run: Run;
  readonly params: ParamStore;
  readonly inputs: ArenaInputs;
  #dropCalls = 0;

  /**
   * @param run the run (arena, tape, kept names)
   * @param params the weights
   * @param inputs the batch in kernel memory
   */
  constructor(run: Run, params: ParamStore, inputs: ArenaInputs) {
    this.run = run;
    this.params = params;
    this.inputs = inputs;
  }

  hasWeight(name: string): boolean {
    return this.params.has(name);
  }

  nextDropoutSite(): number {
    return this.#dropCalls++;
  }

  block(x: Act, body: (x: Act) => Act): Act {
    // a recomputed block (Run.scoped) runs its body again in backward: it must draw the same dropout masks
    const firstDrop = this.#dropCalls;
    return this.run.scoped(x.shape, () => {
      const resume = this.#dropCalls;
      this.#dropCalls = firstDrop;
      const y = body(x);
      this.#dropCalls = Math.max(this.#dropCalls, resume);
      return y;
    }, x);
  }

  hook(name: string, x: Act, layout?: HookLayout): Act {
    const H = layout?.heads;
    if (H === undefined || !this.run.wants(name)) return this.run.hook(name, x);
    const C = x.shape[x.shape.length - 1]!;
    return this.run.hook(name, x, [...x.shape.slice(0, -1), H, H > 0 ? C / H : 0]);
  }
}

// the semantic ops: each method runs its op module's WASM rule with this executor as the context
export interface WasmOps extends OpSignatures<Act> {}
for (const name of Object.keys(OPS) as OpName[]) {
  const rule = opDef(name).wasm as (cx: WasmContext, ...args: unknown[]) => unknown;
  Object.defineProperty(WasmOps.prototype, name, {
    value: function (this: WasmOps, ...args: unknown[]) {
      return rule(this, ...args);
    },
  });
}
