/**
 * A worker of the kernel pool (`worker_pool.ts`): instantiates the shared-memory kernels on the pool's memory,
 * then loops — waits on its state word, runs its part of the posted job, counts itself done — until told to
 * stop. Everything is synchronous, so a job costs two futex hops and no allocation.
 *
 * @module
 */
import {
  ARG_SLOTS,
  ARGS_BYTE_OFFSET,
  JOB_ATTENTION_BACKWARD,
  JOB_ATTENTION_FORWARD,
  JOB_MATMUL,
  JOB_ROWS,
  pollWhileEquals,
  runAttentionPart,
  runRowsPart,
  SLOT_DONE,
  SLOT_ERROR,
  SLOT_JOB,
  SLOT_PARTS,
  SLOT_READY,
  SLOT_STATE,
  STATE_IDLE,
  STATE_JOB,
  STATE_STOP,
  type WorkerInit,
} from "./_pool_protocol.ts";
import type { KernelExports } from "./_wasm_module.ts";

/** Runs the worker loop; returns when the pool stops it. */
function serve(init: WorkerInit): void {
  const w = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports as KernelExports;
  w.set_gemm_scratch(init.gemmScratch);
  const ctrl = new Int32Array(init.control);
  const a = new Float64Array(init.control, ARGS_BYTE_OFFSET, ARG_SLOTS);
  const me = init.index, state = SLOT_STATE + me - 1, g = init.gemmScratch;
  Atomics.add(ctrl, SLOT_READY, 1);
  Atomics.notify(ctrl, SLOT_READY);
  for (;;) {
    if (!pollWhileEquals(ctrl, state, STATE_IDLE)) Atomics.wait(ctrl, state, STATE_IDLE);
    const s = Atomics.load(ctrl, state);
    if (s === STATE_STOP) return;
    if (s !== STATE_JOB) continue;
    try {
      runPart(w, ctrl[SLOT_JOB]!, a, g, me, ctrl[SLOT_PARTS]!);
    } catch {
      Atomics.store(ctrl, SLOT_ERROR, 1); // the caller throws: a trap here is a bad pointer it passed
    }
    Atomics.store(ctrl, state, STATE_IDLE);
    Atomics.add(ctrl, SLOT_DONE, 1);
    Atomics.notify(ctrl, SLOT_DONE);
  }
}

/** Runs part `me` of `parts` of one job, its arguments in `a`. */
function runPart(w: KernelExports, job: number, a: Float64Array, g: number, me: number, parts: number): void {
  switch (job) {
    case JOB_ROWS:
      runRowsPart(w, a, me, parts);
      break;
    case JOB_MATMUL:
      w.matmul_part(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, g, me, parts);
      break;
    case JOB_ATTENTION_FORWARD:
    case JOB_ATTENTION_BACKWARD:
      runAttentionPart(w, job, a, g, me, parts);
      break;
  }
}

const scope = globalThis as unknown as { onmessage: (e: MessageEvent<WorkerInit>) => void; close(): void };
scope.onmessage = (e: MessageEvent<WorkerInit>) => {
  serve(e.data);
  scope.close();
};
