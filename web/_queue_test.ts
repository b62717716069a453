import { ok, rejects, strictEqual } from "node:assert";
import { HttpError } from "./_errors.ts";
import { ComputeQueue, Deadline } from "./_queue.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("ComputeQueue.run() runs jobs one at a time, in order", async () => {
  const q = new ComputeQueue({ maxWaiting: 10, timeoutMs: 5000 });
  const log: string[] = [];
  let running = 0;
  const job = (n: number) => async () => {
    running++;
    strictEqual(running, 1, "never two jobs at once");
    log.push(`start ${n}`);
    await sleep(5);
    log.push(`end ${n}`);
    running--;
    return n;
  };
  const out = await Promise.all([1, 2, 3].map((n) => q.run(job(n))));
  strictEqual(out.join(), "1,2,3");
  strictEqual(log.join(), "start 1,end 1,start 2,end 2,start 3,end 3");
  strictEqual(q.busy, false);
});

Deno.test("ComputeQueue.run() refuses with 503 busy past maxWaiting", async () => {
  const q = new ComputeQueue({ maxWaiting: 1, timeoutMs: 5000 });
  const a = q.run(() => sleep(20));
  const b = q.run(() => 1);
  const err = await q.run(() => 2).catch((e) => e);
  ok(err instanceof HttpError);
  strictEqual(err.status, 503);
  strictEqual(err.code, "busy");
  ok(Number(err.headers["retry-after"]) >= 1);
  await a;
  strictEqual(await b, 1);
});

Deno.test("ComputeQueue.run() times out a job that waits past its deadline", async () => {
  const q = new ComputeQueue({ maxWaiting: 5, timeoutMs: 30 });
  const slow = q.run(() => sleep(80));
  await rejects(q.run(() => 1), (e: HttpError) => e.status === 503 && e.code === "timeout");
  await slow;
  strictEqual(q.waiting, 0);
  strictEqual(await q.run(() => 3), 3, "the queue still works");
});

Deno.test("Deadline.check() throws 503 timeout once passed", async () => {
  const d = new Deadline(1);
  await sleep(5);
  try {
    d.check("layer 2");
    ok(false, "should throw");
  } catch (e) {
    ok(e instanceof HttpError && e.status === 503 && e.message.includes("layer 2"));
  }
});

Deno.test("ComputeQueue.refuseIfFull() refuses a request whose expected wait outlasts its deadline", async () => {
  const q = new ComputeQueue({ maxWaiting: 100, timeoutMs: 5000 });
  await q.run(() => sleep(60)); // the mean job time is now about 60 ms
  const running = q.run(() => sleep(60));
  const short = new Deadline(100); // cannot wait 60 ms and run 60 ms
  const err = await q.run(() => 1, short).catch((e) => e);
  ok(err instanceof HttpError && err.status === 503 && err.code === "busy", String(err));
  ok(Number(err.headers["retry-after"]) >= 1);
  strictEqual(await q.run(() => 2), 2, "a request with time enough waits its turn");
  await running;
});

Deno.test("ComputeQueue.run() counts the wait from the deadline it is given (the request's arrival)", async () => {
  const q = new ComputeQueue({ maxWaiting: 5, timeoutMs: 5000 });
  const arrived = q.deadline();
  await sleep(20);
  strictEqual(await q.run((d) => d === arrived, arrived), true);
  ok(arrived.remainingMs < 4990, "the time before the run counted");
});

Deno.test("Deadline.within() answers 503 timeout at the deadline while the work goes on", async () => {
  const d = new Deadline(40);
  const t0 = performance.now();
  let finished = false;
  const work = sleep(150).then(() => (finished = true));
  const err = await d.within(work, "compute").catch((e) => e);
  const took = performance.now() - t0;
  ok(err instanceof HttpError && err.status === 503 && err.code === "timeout", String(err));
  ok(took < 120, `at the deadline (${took.toFixed(0)} ms)`);
  strictEqual(finished, false);
  await work;
  strictEqual(await new Deadline(1000).within(Promise.resolve(7), "x"), 7);
});
