/**
 * The bounded compute queue. Requests are admitted or refused when they arrive, before their body is read:
 * at most one runs and `maxWaiting` more are admitted (reading their body or waiting for their turn); more
 * are refused with 503 and `Retry-After`. Each admitted request's deadline starts at its arrival and is
 * checked before its compute starts and between its steps. Jobs run one at a time, and the event loop gets
 * a turn between two jobs.
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
   * @param limitMs the request's limit, in milliseconds
   * @param remainingMs milliseconds from now until the deadline (default `limitMs`: it starts now; a compute
   *   worker passes what is left of a deadline that started on the main thread)
   */
  constructor(limitMs: number, remainingMs: number = limitMs) {
    this.limitMs = limitMs;
    this.at = performance.now() + remainingMs;
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
 * One admitted request: its deadline runs from admission; {@linkcode Admission.run} runs its job once, and
 * {@linkcode Admission.release} gives its place back when it will not run (a bad body).
 */
export interface Admission {
  /** The request's deadline, from its arrival. */
  readonly deadline: Deadline;
  /**
   * Runs the job when its turn comes, then gives the place back.
   *
   * @throws {HttpError} 503 `timeout` when the deadline passes first; anything the job throws
   */
  run<T>(job: (deadline: Deadline) => T | Promise<T>): Promise<T>;
  /** Gives the place back without running (safe to call more than once, and after `run`). */
  release(): void;
}

/**
 * Admits requests by arrival and runs their jobs one at a time.
 *
 * @example Usage
 * ```ts
 * import { ComputeQueue } from "./_queue.ts";
 * const queue = new ComputeQueue({ maxWaiting: 4, timeoutMs: 1000 });
 * const admission = queue.admit(); // at arrival: a place, or 503 busy
 * await admission.run((deadline) => { deadline.check("start"); return 42; }); // 42
 * ```
 */
export class ComputeQueue {
  readonly #maxWaiting: number;
  readonly #timeoutMs: number;
  #busy = false;
  /** Admitted and not yet finished: running, waiting, or still reading a body. */
  #admitted = 0;
  readonly #waiting: Waiter[] = [];
  #avgJobMs = 50;

  /**
   * @param opts `maxWaiting`: most requests admitted besides the running one; `timeoutMs`: each deadline
   */
  constructor(opts: { maxWaiting: number; timeoutMs: number }) {
    this.#maxWaiting = opts.maxWaiting;
    this.#timeoutMs = opts.timeoutMs;
  }

  /** Jobs waiting for their turn (not counting the running one, nor admitted requests still reading). */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Requests admitted and not finished (running, waiting, or reading their body). */
  get admitted(): number {
    return this.#admitted;
  }

  /** Whether a job is running. */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Admits a request that has just arrived, or refuses it.
   *
   * @returns its place, whose deadline starts now
   * @throws {HttpError} 503 `busy` with `Retry-After` when `1 + maxWaiting` requests are already admitted
   */
  admit(): Admission {
    if (this.#admitted >= this.#maxWaiting + 1) {
      const seconds = Math.max(1, Math.ceil((this.#avgJobMs * this.#admitted) / 1000));
      throw new HttpError(
        503,
        "busy",
        `The server is busy (${this.#admitted} requests admitted for compute); retry after ${seconds} s`,
        { headers: { "retry-after": String(seconds) } },
      );
    }
    this.#admitted++;
    const deadline = new Deadline(this.#timeoutMs);
    let released = false;
    let started = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#admitted--;
    };
    return {
      deadline,
      release,
      run: async <T>(job: (deadline: Deadline) => T | Promise<T>): Promise<T> => {
        if (released || started) throw new Error("Admission.run() called twice or after release()");
        started = true;
        try {
          return await this.#runInTurn(job, deadline);
        } finally {
          release();
        }
      },
    };
  }

  /**
   * Admits and runs a job now (admission and run in one step, for callers with nothing to read first).
   *
   * @param job the compute; gets the request's deadline
   * @returns what the job returns
   * @throws {HttpError} 503 `busy` when the queue is full, 503 `timeout` when the deadline passes while
   *   waiting (or inside the job); anything the job throws
   */
  run<T>(job: (deadline: Deadline) => T | Promise<T>): Promise<T> {
    let admission: Admission;
    try {
      admission = this.admit();
    } catch (e) {
      return Promise.reject(e);
    }
    return admission.run(job);
  }

  async #runInTurn<T>(job: (deadline: Deadline) => T | Promise<T>, deadline: Deadline): Promise<T> {
    if (this.#busy) {
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
