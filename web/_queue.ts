/**
 * The bounded compute queue. Compute is synchronous WASM, so requests run one at a time: at most
 * `maxWaiting` wait behind the running one (more are refused with 503 and `Retry-After`), each has a
 * deadline (queueing included) checked before it starts and between its steps, and the event loop gets a
 * turn between two jobs so that new requests are answered (or refused) promptly.
 *
 * @module
 */

import { HttpError } from "./_errors.ts";

/** A request's deadline; compute code calls {@linkcode Deadline.check} between layers or batches. */
export class Deadline {
  /** When the request must be done (ms, `performance.now()` clock). */
  readonly at: number;
  /** The limit it was given, for messages. */
  readonly limitMs: number;

  /**
   * @param limitMs milliseconds from now
   */
  constructor(limitMs: number) {
    this.limitMs = limitMs;
    this.at = performance.now() + limitMs;
  }

  /** Milliseconds left (negative once passed). */
  get remainingMs(): number {
    return this.at - performance.now();
  }

  /**
   * Throws a 503 `timeout` error when the deadline has passed.
   *
   * @param stage what was about to run, for the message
   * @throws {HttpError} 503 `timeout` with `Retry-After`
   * @example Usage
   * ```ts
   * import { Deadline } from "./_queue.ts";
   * new Deadline(1000).check("layer 0"); // fine
   * ```
   */
  check(stage: string): void {
    if (this.remainingMs < 0) {
      throw new HttpError(503, "timeout", `Request exceeded its time limit of ${this.limitMs} ms (at ${stage})`, {
        headers: { "retry-after": "2" },
      });
    }
  }
}

interface Waiter {
  start: () => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Runs jobs one at a time with a bounded wait list.
 *
 * @example Usage
 * ```ts
 * import { ComputeQueue } from "./_queue.ts";
 * const queue = new ComputeQueue({ maxWaiting: 4, timeoutMs: 1000 });
 * await queue.run((deadline) => { deadline.check("start"); return 42; }); // 42
 * ```
 */
export class ComputeQueue {
  readonly #maxWaiting: number;
  readonly #timeoutMs: number;
  #busy = false;
  readonly #waiting: Waiter[] = [];
  #avgJobMs = 50;

  /**
   * @param opts `maxWaiting`: most jobs waiting behind the running one; `timeoutMs`: each job's deadline
   */
  constructor(opts: { maxWaiting: number; timeoutMs: number }) {
    this.#maxWaiting = opts.maxWaiting;
    this.#timeoutMs = opts.timeoutMs;
  }

  /** Jobs waiting (not counting the running one). */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Whether a job is running. */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Runs `job` when its turn comes.
   *
   * @param job the compute; gets the request's deadline
   * @returns what the job returns
   * @throws {HttpError} 503 `busy` when the wait list is full, 503 `timeout` when the deadline passes while
   *   waiting (or inside the job); anything the job throws
   */
  async run<T>(job: (deadline: Deadline) => T | Promise<T>): Promise<T> {
    const deadline = new Deadline(this.#timeoutMs);
    if (this.#busy) {
      if (this.#waiting.length >= this.#maxWaiting) {
        const seconds = Math.max(1, Math.ceil((this.#avgJobMs * (this.#waiting.length + 1)) / 1000));
        throw new HttpError(
          503,
          "busy",
          `The server is busy (${this.#waiting.length} requests waiting for compute); retry after ${seconds} s`,
          { headers: { "retry-after": String(seconds) } },
        );
      }
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          start: () => {
            clearTimeout(waiter.timer);
            resolve();
          },
          timer: setTimeout(() => {
            const i = this.#waiting.indexOf(waiter);
            if (i >= 0) this.#waiting.splice(i, 1);
            reject(
              new HttpError(
                503,
                "timeout",
                `Request exceeded its time limit of ${deadline.limitMs} ms while waiting in the compute queue`,
                { headers: { "retry-after": "2" } },
              ),
            );
          }, Math.max(0, deadline.remainingMs)),
        };
        this.#waiting.push(waiter);
      });
      // ownership was handed over by the previous job: #busy is still true
    } else {
      this.#busy = true;
    }
    const t0 = performance.now();
    try {
      deadline.check("start of compute");
      return await job(deadline);
    } finally {
      this.#avgJobMs = 0.8 * this.#avgJobMs + 0.2 * (performance.now() - t0);
      if (this.#waiting.length === 0) this.#busy = false;
      // give the event loop a turn (answer, accept, refuse) before the next job runs
      else setTimeout(() => this.#next(), 0);
    }
  }

  #next(): void {
    const next = this.#waiting.shift();
    if (next) next.start();
    else this.#busy = false;
  }
}
