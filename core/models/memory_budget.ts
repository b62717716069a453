/**
 * The memory a backward pass may plan for when it chooses between keeping every block's activations and
 * recomputing them (`recompute: "auto"`, see `run.ts`): the kernel memory — weights, activations, gradients —
 * that the runtime can give. Deno Deploy gives an isolate about 512 MB; a wasm32 memory cannot pass 4 GiB; a
 * machine has what `Deno.systemMemoryInfo()` (or a browser's `navigator.deviceMemory`) reports. The runtime's
 * own heap (V8, the tokenizer, copies handed to JavaScript) is outside the kernel memory, so a whole-process
 * limit is lowered by {@linkcode RUNTIME_RESERVE_MB} first.
 *
 * @module
 */

import type { RecomputeMode } from "./run.ts";

/** The most a wasm32 kernel memory can hold: 65,536 pages of 64 KiB, in MB (2^20 bytes). */
export const WASM32_LIMIT_MB = 4096;

/** Deno Deploy's memory limit per isolate, in MB. */
export const DENO_DEPLOY_LIMIT_MB = 512;

/** What a whole-process limit leaves aside for the runtime itself (V8's heap, the JavaScript side), in MB. */
export const RUNTIME_RESERVE_MB = 128;

/** A memory budget and where it comes from. */
export interface MemoryBudget {
  /** Kernel memory, in MB (2^20 bytes), weights included. */
  mb: number;
  /** Where the figure comes from, for messages and reports. */
  source: string;
}

/**
 * The budget of this runtime: Deno Deploy's limit, or the machine's memory, less {@linkcode RUNTIME_RESERVE_MB},
 * and never more than {@linkcode WASM32_LIMIT_MB}. Asks for no permission: a Deno without `--allow-sys` (or
 * `--allow-env` to see Deploy's variable) gets the wasm32 limit.
 *
 * @returns the budget in MB and its source
 * @example Usage
 * ```ts
 * import { defaultMemoryBudget } from "./memory_budget.ts";
 * const { mb, source } = defaultMemoryBudget();
 * mb <= 4096; // true
 * ```
 */
export function defaultMemoryBudget(): MemoryBudget {
  const limit = runtimeLimit();
  if (limit === undefined || limit.mb - RUNTIME_RESERVE_MB >= WASM32_LIMIT_MB) {
    return { mb: WASM32_LIMIT_MB, source: "the wasm32 limit (4 GiB)" };
  }
  return {
    mb: Math.max(1, limit.mb - RUNTIME_RESERVE_MB),
    source: `${limit.source} less ${RUNTIME_RESERVE_MB} MB for the runtime`,
  };
}

/** The whole runtime's memory, when this runtime says (without prompting for a permission). */
function runtimeLimit(): MemoryBudget | undefined {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno !== undefined) {
    if (granted(deno, { name: "env", variable: "DENO_DEPLOYMENT_ID" }) && deno.env.get("DENO_DEPLOYMENT_ID")) {
      return { mb: DENO_DEPLOY_LIMIT_MB, source: `Deno Deploy's ${DENO_DEPLOY_LIMIT_MB} MB` };
    }
    if (granted(deno, { name: "sys", kind: "systemMemoryInfo" })) {
      try {
        const total = deno.systemMemoryInfo().total / 2 ** 20;
        if (total > 0) return { mb: Math.floor(total), source: `this machine's ${Math.floor(total)} MB` };
      } catch {
        // not available on this platform: fall through
      }
    }
    return undefined;
  }
  // a browser: navigator.deviceMemory is in GiB (rounded, at most 8)
  const gib = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory;
  return typeof gib === "number" && gib > 0 ? { mb: gib * 1024, source: `this device's ${gib} GiB` } : undefined;
}

function granted(deno: typeof Deno, permission: Deno.PermissionDescriptor): boolean {
  try {
    return deno.permissions.querySync(permission).state === "granted";
  } catch {
    return false;
  }
}

/** The values of `recompute` (`RunRequest.recompute`, `LoadOptions.recompute`, the CLI's `--recompute`). */
export const RECOMPUTE_MODES: readonly RecomputeMode[] = ["on", "off", "auto"];

/**
 * Checks a `recompute` value.
 *
 * @param value the value given
 * @param field what to call it in the error
 * @returns the value, typed
 * @throws {Error} naming `field` for anything but `on`, `off` or `auto`
 * @example Usage
 * ```ts
 * import { checkRecompute } from "./memory_budget.ts";
 * checkRecompute("auto", "recompute"); // "auto"
 * ```
 */
export function checkRecompute(value: unknown, field: string): RecomputeMode {
  if (!(RECOMPUTE_MODES as readonly unknown[]).includes(value)) {
    throw new Error(`${field} must be one of ${RECOMPUTE_MODES.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value as RecomputeMode;
}

/**
 * Checks a memory budget in MB.
 *
 * @param value the value given
 * @param field what to call it in the error
 * @returns the value
 * @throws {Error} naming `field` for anything but a positive finite number
 * @example Usage
 * ```ts
 * import { checkMemoryBudget } from "./memory_budget.ts";
 * checkMemoryBudget(700, "memoryBudgetMB"); // 700
 * ```
 */
export function checkMemoryBudget(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${field} must be a positive number of MB, got ${JSON.stringify(value)}`);
  }
  return value;
}
