/**
 * What every CLI command shares: argument parsing with clear errors, model opening (folder or hub id),
 * atomic file writes, and a progress bar that only draws on a terminal.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { basename, dirname } from "node:path";
import { readLocalFileSync, resolveModel, writeFileAtomically } from "@bertology/core/checkpoint/deno";
import {
  checkRecompute,
  type LoadedModel,
  loadModel,
  loadModelTokenizer,
  type RecomputeMode,
  type TransformerModel,
  WEIGHT_DTYPES,
  type WeightDtype,
} from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import { createWasmKernels, defaultThreads, type Kernels, MAX_THREADS } from "@bertology/core/kernels";

/** A usage error: printed with the command's help, exit code 2. */
export class UsageError extends Error {}

/**
 * Parses `args` with node's `parseArgs` (strict: unknown flags are errors).
 *
 * @throws {UsageError} for unknown flags or missing values
 */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (e) {
    const unknown = (e as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
      ? (e as Error).message.match(/'(-[^']*)'/)?.[1]
      : undefined;
    if (unknown === undefined) throw new UsageError((e as Error).message);
    const near = didYouMean(unknown.replace(/^-+/, "").split("=")[0]!, Object.keys(options));
    throw new UsageError(`unknown flag ${unknown}${near === undefined ? "" : `; did you mean --${near}?`}`);
  }
}

/**
 * The candidate nearest to a mistyped `word`, when it is near enough to be what was meant: at most one edit
 * per three letters (insert, delete, substitute or swap two neighbours), or `word` a prefix of exactly one.
 *
 * @example Usage
 * ```ts
 * import { didYouMean } from "./_common.ts";
 * didYouMean("prbe", ["probe", "prune", "patch"]); // "probe"
 * ```
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined, bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) best = c, bestDistance = d;
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.floor(w.length / 3))) return best;
  const prefixed = w.length >= 2 ? candidates.filter((c) => c.toLowerCase().startsWith(w)) : [];
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** Optimal-string-alignment distance: Levenshtein plus the swap of two neighbouring letters. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i + j));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i]!, up = rows[i - 1]!;
      row[j] = Math.min(up[j]! + 1, row[j - 1]! + 1, up[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
      }
    }
  }
  return rows[a.length]![b.length]!;
}

/** Returns a required flag's value or throws a usage error naming it. */
export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined || value === "") throw new UsageError(`--${flag} is required`);
  return value;
}

/** Parses a numeric flag, naming it on error. */
export function numberFlag(value: string | undefined, flag: string, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${flag} must be ${integer ? "an integer" : "a number"}, got "${value}"`);
  }
  return n;
}

/**
 * Opens a model from a folder or a hub id (`org/name@revision`), honouring `--offline` and `--dtype`. An
 * `offline` of `false` is a flag not given (a boolean flag cannot say "online"), so `HF_HUB_OFFLINE` still
 * applies.
 */
export async function openModel(
  spec: string,
  opts: { offline?: boolean | undefined; tokenizer?: boolean | undefined; dtype?: WeightDtype | undefined } = {},
): Promise<LoadedModel> {
  const files = resolveModel(spec, offlineOption(opts.offline));
  const loaded = await loadModel(
    files,
    withoutUndefined({ tokenizer: opts.tokenizer, dtype: opts.dtype, kernels: commandKernels() }),
  );
  useCommandMemory(loaded.model);
  return loaded;
}

// ---------------------------------------------------------------- --recompute, --memory-budget: backward memory

/** The commands that run backward passes, which take {@linkcode MEMORY_HELP}'s flags. */
export const BACKWARD_COMMANDS: ReadonlySet<string> = new Set(["dump", "heads", "prune", "train", "attribute"]);

/** The help lines of `--recompute` and `--memory-budget`. */
export const MEMORY_HELP =
  `  --recompute on|off|auto  backward passes recompute each block's activations from its input (on), keep them
                      (off), or recompute when keeping them would pass the budget (auto, the default);
                      results are bit-identical either way
  --memory-budget MB  kernel memory (weights, activations, gradients) a backward pass may plan for (default:
                      this machine's memory less 128 MB, at most wasm32's 4096 MB; Deno Deploy: 384 MB)`;

/** What `--recompute` and `--memory-budget` asked for (absent: the model's defaults). */
export interface CommandMemory {
  /** `--recompute`. */
  recompute?: RecomputeMode;
  /** `--memory-budget`, in MB. */
  memoryBudgetMB?: number;
}

let commandMemory: CommandMemory = {};

/**
 * Takes `--recompute MODE` and `--memory-budget MB` (or `--flag=value`) out of a command's arguments.
 *
 * @returns The other arguments, and what the flags asked for.
 * @throws {UsageError} naming the flag, for a missing value, a mode other than on/off/auto, or a budget that is
 *   not a positive number
 */
export function takeMemoryFlags(args: readonly string[]): { args: string[]; memory: CommandMemory } {
  const rest: string[] = [];
  const values: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const flag = ["--recompute", "--memory-budget"].find((f) => a === f || a.startsWith(`${f}=`));
    if (flag === undefined) {
      rest.push(a);
      continue;
    }
    const value = a === flag ? args[++i] : a.slice(flag.length + 1);
    if (value === undefined || value === "") throw new UsageError(`${flag} needs a value`);
    values[flag] = value;
  }
  const memory: CommandMemory = {};
  const mode = values["--recompute"], budget = values["--memory-budget"];
  if (mode !== undefined) {
    try {
      memory.recompute = checkRecompute(mode, "--recompute");
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  if (budget !== undefined) {
    const mb = Number(budget);
    if (!Number.isFinite(mb) || mb <= 0) {
      throw new UsageError(`--memory-budget must be a positive number of MB, got "${budget}"`);
    }
    memory.memoryBudgetMB = mb;
  }
  return { args: rest, memory };
}

/** Runs one command with what `--recompute` / `--memory-budget` asked for ({@linkcode useCommandMemory}). */
export async function withCommandMemory<T>(memory: CommandMemory, run: () => Promise<T>): Promise<T> {
  const before = commandMemory;
  commandMemory = memory;
  try {
    return await run();
  } finally {
    commandMemory = before;
  }
}

/**
 * Gives a model the current command's `--recompute` / `--memory-budget` (a flag not given leaves the model's
 * default). {@linkcode openModel} does it; a command that loads or builds a model otherwise calls it.
 *
 * @returns `model`
 */
export function useCommandMemory(model: TransformerModel): TransformerModel {
  if (commandMemory.recompute !== undefined) model.recompute = commandMemory.recompute;
  if (commandMemory.memoryBudgetMB !== undefined) model.memoryBudgetMB = commandMemory.memoryBudgetMB;
  return model;
}

/**
 * Opens only a model's tokenizer (its `config.json` and tokenizer files; a hub model's weights are not
 * downloaded), honouring `--offline` as {@linkcode openModel} does.
 */
export async function openTokenizer(spec: string, opts: { offline?: boolean | undefined } = {}): Promise<Tokenizer> {
  return await loadModelTokenizer(resolveModel(spec, offlineOption(opts.offline)));
}

/** `--offline` as a hub option: given, it is on; absent (`undefined` or `false`), `HF_HUB_OFFLINE` decides. */
function offlineOption(flag: boolean | undefined): { offline?: true } {
  return flag === true ? { offline: true } : {};
}

// ---------------------------------------------------------------- --dtype: the weights' precision in memory

/** The `--dtype` flag of the commands that load a model, for their `parseFlags` options. */
export const DTYPE_OPTION = { dtype: { type: "string" } } as const;

/**
 * Parses `--dtype` (`f32`, the default, or `f16`: F16/BF16 weights stay 16-bit in memory, F32 ones are
 * rounded to F16, and the kernels widen each weight just before use — half the weights' memory).
 *
 * @throws {UsageError} for another value
 */
export function dtypeFlag(value: string | undefined): WeightDtype | undefined {
  if (value === undefined) return undefined;
  if (!(WEIGHT_DTYPES as readonly string[]).includes(value)) {
    throw new UsageError(`--dtype must be one of ${WEIGHT_DTYPES.join(", ")}, got "${value}"`);
  }
  return value as WeightDtype;
}

/** The help line of the `--threads` flag every command takes (`main` reads it before the command's own flags). */
export const THREADS_HELP =
  "  --threads N         threads for matmul and attention (default: the cores available; 1 where workers cannot run)";

let commandThreads = 1;
const commandPools: Kernels[] = [];

/**
 * Takes `--threads N` (or `--threads=N`) out of a command's arguments.
 *
 * @returns The other arguments, and the thread count (default: {@linkcode defaultThreads}).
 * @throws {UsageError} If the value is missing or not an integer from 1 to 64.
 */
export function takeThreadsFlag(args: readonly string[]): { args: string[]; threads: number } {
  const rest: string[] = [];
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--threads") {
      value = args[++i];
      if (value === undefined) throw new UsageError("--threads needs a value");
    } else if (a.startsWith("--threads=")) value = a.slice("--threads=".length);
    else rest.push(a);
  }
  if (value === undefined) return { args: rest, threads: defaultThreads() };
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new UsageError(`--threads must be an integer from 1 to ${MAX_THREADS}, got "${value}"`);
  }
  return { args: rest, threads: n };
}

/**
 * Runs one command with `threads` kernel threads, closing every pool {@linkcode commandKernels} opened for it
 * when it ends (workers would otherwise keep the process alive).
 */
export async function withCommandThreads<T>(threads: number, run: () => Promise<T>): Promise<T> {
  const before = commandThreads;
  commandThreads = threads;
  try {
    return await run();
  } finally {
    commandThreads = before;
    for (const k of commandPools.splice(0)) k.close();
  }
}

/** New WASM kernels on the current command's `--threads` (closed when the command ends). */
export function commandKernels(): Kernels {
  const k = createWasmKernels({ threads: commandThreads });
  if (k.threads > 1) commandPools.push(k);
  return k;
}

/**
 * `obj` without its `undefined` entries: a flag that was not given stays absent, so an option's own default
 * (or its environment variable, as `HF_HUB_OFFLINE` for `offline`) still applies.
 */
export function withoutUndefined<T extends object>(obj: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/**
 * Writes a file atomically through `writeFileAtomically`: to a locked temporary sibling (`.NAME.tmp-PID-ID`,
 * which `openOutputFolder` cleans once nobody holds its lock), then renamed over the target.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | readonly Uint8Array[] | string): Promise<void> {
  try {
    await writeFileAtomically(dirname(path), basename(path), typeof bytes === "string" ? encoder.encode(bytes) : bytes);
  } catch (e) {
    throw new Error(`Could not write ${path}: ${(e as Error).message}`);
  }
}

const encoder = new TextEncoder();

/**
 * The paths among `paths` that exist on disk: the sources a command reads, which its outputs must not be or
 * contain (a hub id such as `org/name` is not a path and is left out).
 */
export function localSources(...paths: (string | undefined)[]): string[] {
  return paths.filter((p): p is string => {
    if (p === undefined) return false;
    try {
      Deno.statSync(p);
      return true;
    } catch {
      return false;
    }
  });
}

/** Reads and parses a JSON file, naming the file on error. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    const bytes = readLocalFileSync(path);
    if (bytes === undefined) throw new Error("no such file");
    text = new TextDecoder().decode(bytes);
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Where a {@linkcode Progress} draws: stderr when it is a terminal (the default), or a given sink (tests). */
export interface ProgressSink {
  /** Whether to draw at all: a bar is for a person watching, never for a pipe or a log file. */
  terminal: boolean;
  /** Writes text without a newline. */
  write: (text: string) => void;
}

const STDERR_SINK: ProgressSink = {
  get terminal() {
    return Deno.stderr.isTerminal();
  },
  write: (text) => void Deno.stderr.writeSync(new TextEncoder().encode(text)),
};

/** A progress bar on stderr, drawn only when stderr is a terminal (none when piped). */
export class Progress {
  readonly #total: number;
  readonly #label: string;
  readonly #sink: ProgressSink;
  readonly #tty: boolean;
  readonly #start = performance.now();
  #done = 0;

  /** Starts a bar of `total` units, labelled `label` (the stage of a long command). */
  constructor(label: string, total: number, sink: ProgressSink = STDERR_SINK) {
    this.#label = label;
    this.#total = total;
    this.#sink = sink;
    this.#tty = sink.terminal;
    this.#draw();
  }

  /** Advances by `n` units and redraws. */
  tick(n = 1): void {
    this.#done += n;
    this.#draw();
  }

  /** Sets the units done (for callbacks that report `done of total`) and redraws. */
  update(done: number): void {
    this.#done = done;
    this.#draw();
  }

  #draw(): void {
    if (!this.#tty) return;
    const width = 30;
    const frac = this.#total > 0 ? Math.min(1, this.#done / this.#total) : 1;
    const bar = "█".repeat(Math.round(frac * width)).padEnd(width, "░");
    const secs = ((performance.now() - this.#start) / 1000).toFixed(1);
    this.#sink.write(`\r\x1b[2K${this.#label} ${bar} ${this.#done}/${this.#total} ${secs}s`);
  }

  /** Clears the bar line. */
  end(): void {
    if (this.#tty) this.#sink.write("\r\x1b[2K");
  }
}

/** Shows `text` as the current stage of a long command, on a terminal only (each stage replaces the last). */
export function showStage(text: string, sink: ProgressSink = STDERR_SINK): void {
  if (sink.terminal) sink.write(`\r\x1b[2K${text} …`);
}

/** Clears the stage line {@linkcode showStage} drew. */
export function clearStage(sink: ProgressSink = STDERR_SINK): void {
  if (sink.terminal) sink.write("\r\x1b[2K");
}

/**
 * Runs `fn` with a bar labelled `label` that `fn` moves through its `(done, total)` callback; the bar is
 * cleared when `fn` ends, thrown or not.
 */
export async function withProgress<T>(
  label: string,
  fn: (onProgress: (done: number, total: number) => void) => T | Promise<T>,
  sink: ProgressSink = STDERR_SINK,
): Promise<T> {
  let bar: Progress | undefined;
  try {
    return await fn((done, total) => {
      bar ??= new Progress(label, total, sink);
      bar.update(done);
    });
  } finally {
    bar?.end();
  }
}

/** Formats a [rows × cols] matrix as an aligned text table with row and column headers. */
export function formatTable(title: string, data: ArrayLike<number>, rows: number, cols: number, digits = 5): string {
  const head = ["layer", ...Array.from({ length: cols }, (_, h) => `h${h}`)];
  const lines = [head];
  for (let r = 0; r < rows; r++) {
    lines.push([String(r), ...Array.from({ length: cols }, (_, c) => (data[r * cols + c] ?? NaN).toFixed(digits))]);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i]?.length ?? 0)));
  return [title, ...lines.map((l) => l.map((s, i) => s.padStart(widths[i] ?? 0)).join("  "))].join("\n");
}
