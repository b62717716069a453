/**
 * The bounded compute queue. Jobs run one at a time: at most `maxWaiting` wait behind the running one. A
 * request is refused with 503 and `Retry-After` when it arrives at a full queue (before its body is read), or
 * when it asks for its turn and the queue has filled meanwhile. Each request's deadline starts at its arrival
 * and is checked before its compute starts and between its steps; the event loop gets a turn between jobs.
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
   * Waits for `work`, but no longer than the deadline: the answer to the client comes at the deadline even when
   * the work (on a worker) is still finishing its step; the work's own result is then dropped.
   *
   * @param work what to wait for
   * @param stage what was running, for the message
   * @returns its result
   * @throws {HttpError} 503 `timeout` at the deadline; anything `work` throws before it
   * @example Usage
   * ```ts
   * import { Deadline } from "./_queue.ts";
   * await new Deadline(1000).within(Promise.resolve(1), "compute"); // 1
   * ```
   */
  within<T>(work: Promise<T>, stage: string): Promise<T> {
    work.catch(() => {}); // a late failure has no one to tell
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new HttpError(503, "timeout", `Request exceeded its time limit of ${this.limitMs} ms (in ${stage})`, {
            headers: { "retry-after": "2" },
          }),
        );
      }, Math.max(0, this.remainingMs));
    });
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
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
 * Runs jobs one at a time with a bounded wait list, and refuses requests on arrival when it is full.
 *
 * @example Usage
 * ```ts
 * import { ComputeQueue } from "./_queue.ts";
 * const queue = new ComputeQueue({ maxWaiting: 4, timeoutMs: 1000 });
 * queue.refuseIfFull(); // at arrival, before the body is read
 * const deadline = queue.deadline(); // from arrival
 * await queue.run((d) => { d.check("start"); return 42; }, deadline); // 42
 * ```
 */
export class ComputeQueue {
  readonly #maxWaiting: number;
  readonly #timeoutMs: number;
  #busy = false;
  readonly #waiting: Waiter[] = [];
  /** Mean job time so far (0 until a job has run: no estimate yet). */
  #avgJobMs = 0;

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
   * A deadline of `timeoutMs` from now: take it when the request arrives, so that reading its body and
   * waiting for its turn count.
   *
   * @returns the deadline
   */
  deadline(): Deadline {
    return new Deadline(this.#timeoutMs);
  }

  /**
   * Refuses a request now when a job runs and `maxWaiting` more wait, or when it would expect to finish past
   * its deadline (the mean job time so far, times the jobs ahead and its own): on arrival, before its body is read, and
   * again when it asks for its turn.
   *
   * @param deadline the request's deadline (default: a fresh one)
   * @throws {HttpError} 503 `busy` with `Retry-After` (the expected wait, at least 1 s)
   */
  refuseIfFull(deadline?: Deadline): void {
    if (!this.#busy) return;
    const ahead = this.#waiting.length + 1;
    const expectedWaitMs = this.#avgJobMs * ahead;
    const full = this.#waiting.length >= this.#maxWaiting;
    // its own job counts too: a request that would finish past its deadline is better refused now
    if (full || expectedWaitMs + this.#avgJobMs > (deadline?.remainingMs ?? this.#timeoutMs)) {
      const seconds = Math.max(1, Math.ceil(expectedWaitMs / 1000));
      const why = full ? `${this.#waiting.length} requests waiting for compute` : `about ${seconds} s of compute ahead`;
      throw new HttpError(503, "busy", `The server is busy (${why}); retry after ${seconds} s`, {
        headers: { "retry-after": String(seconds) },
      });
    }
  }

  /**
   * Runs `job` when its turn comes.
   *
   * @param job the compute; gets the request's deadline
   * @param deadline the request's deadline (default: from now)
   * @returns what the job returns
   * @throws {HttpError} 503 `busy` when the wait list is full, 503 `timeout` when the deadline passes while
   *   waiting (or inside the job); anything the job throws
   */
  run<T>(job: (deadline: Deadline) => T | Promise<T>, deadline: Deadline = this.deadline()): Promise<T> {
    try {
      this.refuseIfFull(deadline);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#runInTurn(job, deadline);
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
      const ms = performance.now() - t0;
      this.#avgJobMs = this.#avgJobMs === 0 ? ms : 0.8 * this.#avgJobMs + 0.2 * ms;
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
