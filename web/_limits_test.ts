import { ok, rejects, strictEqual } from "node:assert";
import { HttpError } from "./_errors.ts";
import { BodyBudget, readBodyBytes, readJsonBody } from "./_limits.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A body stream that yields the given chunks, each `gapMs` after the last, and records them. */
function chunkedBody(chunks: Uint8Array[], gapMs = 0): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (gapMs) await sleep(gapMs);
      const chunk = chunks[i++];
      if (chunk) c.enqueue(chunk);
      else c.close();
    },
  });
}

const postWith = (body: ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
  new Request("http://localhost/", {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });

Deno.test("readBodyBytes() copies each chunk into one bounded buffer, never keeping a view of a chunk's buffer", async () => {
  // 1-byte views into 64 KiB buffers, as a dripping client's chunks arrive
  const text = '{"text":"' + "a".repeat(200) + '"}';
  const big = Array.from(text, (ch) => {
    const backing = new Uint8Array(64 * 1024);
    backing[7] = ch.charCodeAt(0);
    return backing.subarray(7, 8);
  });
  const bytes = await readBodyBytes(postWith(chunkedBody(big)), 1024, 5000);
  strictEqual(new TextDecoder().decode(bytes), text);
  ok(bytes.buffer.byteLength <= 1024, `one buffer within the limit (${bytes.buffer.byteLength} bytes)`);
  for (const c of big) ok(c.buffer !== bytes.buffer, "the result is a copy");
});

Deno.test("readBodyBytes() does not trust a declared content-length for its first buffer", async () => {
  const bytes = await readBodyBytes(
    postWith(chunkedBody([new TextEncoder().encode("{}")]), { "content-length": "200000" }),
    256 * 1024,
    5000,
  ).catch((e) => e);
  // a Request built in JS ignores the declared length; what matters is the buffer size
  ok(bytes instanceof Uint8Array);
  ok(bytes.buffer.byteLength <= 16 * 1024, `starts small (${bytes.buffer.byteLength} bytes)`);
});

Deno.test("readBodyBytes() refuses a body past the limit while it streams", async () => {
  const chunks = Array.from({ length: 100 }, () => new Uint8Array(100));
  await rejects(
    readBodyBytes(postWith(chunkedBody(chunks)), 1000, 5000),
    (e: HttpError) => e.status === 413 && e.code === "body_too_large",
  );
});

Deno.test("readJsonBody() times out a body that drips slower than its deadline (408)", async () => {
  const drip = Array.from({ length: 100 }, () => new Uint8Array([32]));
  const t0 = performance.now();
  await rejects(
    readJsonBody(postWith(chunkedBody(drip, 20)), 1024, { timeoutMs: 150 }),
    (e: HttpError) => e.status === 408 && e.code === "body_timeout" && e.field === "body",
  );
  const took = performance.now() - t0;
  ok(took < 1000, `refused at the deadline (${took.toFixed(0)} ms)`);
});

Deno.test("readJsonBody() turns a body that breaks off into a 400, not a server error", async () => {
  let n = 0;
  const broken = new ReadableStream<Uint8Array>({
    pull(c) {
      if (n++ === 0) c.enqueue(new TextEncoder().encode('{"te'));
      else c.error(new Error("connection reset"));
    },
  });
  await rejects(
    readJsonBody(postWith(broken), 1024, { timeoutMs: 1000 }),
    (e: HttpError) => e.status === 400 && e.code === "body_incomplete",
  );
});

Deno.test("readJsonBody() quotes only a short excerpt of a bad content type or bad JSON", async () => {
  const long = "x".repeat(10_000);
  const e1 = await readJsonBody(
    new Request("http://x/", { method: "POST", body: "{}", headers: { "content-type": `text/${long}` } }),
    1024,
  ).catch((e) => e);
  ok(e1 instanceof HttpError && e1.status === 415 && e1.message.length < 200, String(e1));
  const e2 = await readJsonBody(
    new Request("http://x/", {
      method: "POST",
      body: `{"a": ${long}`,
      headers: { "content-type": "application/json" },
    }),
    100_000,
  ).catch((e) => e);
  ok(e2 instanceof HttpError && e2.status === 400 && e2.message.length < 300, String(e2));
});

Deno.test("readBodyBytes() shares one buffer budget between bodies: past it 503 busy, and it is given back", async () => {
  const budget = new BodyBudget(8192); // a 3000-byte body peaks at 2 + 4 KiB while its buffer grows
  const chunks = () => Array.from({ length: 3 }, () => new Uint8Array(1000));
  const a = await readBodyBytes(postWith(chunkedBody(chunks())), 100_000, 5000, budget);
  strictEqual(a.byteLength, 3000);
  strictEqual(budget.held, 0, "given back once read");
  ok(budget.reserve(3000), "someone else holds 3000 bytes");
  await rejects(
    readBodyBytes(postWith(chunkedBody(chunks())), 100_000, 5000, budget),
    (e: HttpError) => e.status === 503 && e.code === "busy" && Number(e.headers["retry-after"]) >= 1,
  );
  strictEqual(budget.held, 3000, "the refused body gave its part back");
});
