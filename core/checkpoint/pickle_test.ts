import assert from "node:assert/strict";
import { type PickleCallable, unpickle } from "./pickle.ts";

const none = { fileName: "t.pkl", findGlobal: () => undefined };

Deno.test("unpickle() builds dicts, lists, tuples, numbers and strings", () => {
  // pickle.dumps({"a": [1, -2, 3.5, None, True], "b": ("x", 70000, 2**70)}, protocol=2)
  const bytes = new Uint8Array([
    0x80,
    2,
    0x7d,
    0x71,
    0,
    0x28,
    0x58,
    1,
    0,
    0,
    0,
    0x61,
    0x71,
    1,
    0x5d,
    0x71,
    2,
    0x28,
    0x4b,
    1,
    0x4a,
    0xfe,
    0xff,
    0xff,
    0xff,
    0x47,
    0x40,
    0x0c,
    0,
    0,
    0,
    0,
    0,
    0,
    0x4e,
    0x88,
    0x65,
    0x58,
    1,
    0,
    0,
    0,
    0x62,
    0x71,
    3,
    0x58,
    1,
    0,
    0,
    0,
    0x78,
    0x71,
    4,
    0x4a,
    0x70,
    0x11,
    0x01,
    0,
    0x8a,
    9,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0x40,
    0x87,
    0x71,
    5,
    0x75,
    0x2e,
  ]);
  const value = unpickle(bytes, none) as Map<string, unknown>;
  assert.deepEqual(value, new Map<string, unknown>([["a", [1, -2, 3.5, null, true]], ["b", ["x", 70000, 2n ** 70n]]]));
});

Deno.test("unpickle() calls only allowed globals through REDUCE", () => {
  // GLOBAL "m f", MARK, BININT1 2, TUPLE, REDUCE, STOP
  const bytes = new Uint8Array([0x80, 2, 0x63, ...new TextEncoder().encode("m\nf\n"), 0x28, 0x4b, 2, 0x74, 0x52, 0x2e]);
  const double: PickleCallable = { qualifiedName: "m.f", call: ([x]) => (x as number) * 2 };
  assert.equal(
    unpickle(bytes, { fileName: "t.pkl", findGlobal: (m, n) => (m === "m" && n === "f" ? double : undefined) }),
    4,
  );
});

Deno.test("unpickle() refuses a global not on the allow-list", () => {
  const bytes = new Uint8Array([0x80, 2, 0x63, ...new TextEncoder().encode("os\nsystem\n"), 0x2e]);
  assert.throws(() => unpickle(bytes, none), /Cannot unpickle "t.pkl" at byte 2: refusing global "os.system"/);
  // STACK_GLOBAL with SHORT_BINUNICODE "builtins" "eval"
  const stack = new Uint8Array([
    0x80,
    4,
    0x8c,
    8,
    ...new TextEncoder().encode("builtins"),
    0x8c,
    4,
    ...new TextEncoder().encode("eval"),
    0x93,
    0x2e,
  ]);
  assert.throws(() => unpickle(stack, none), /refusing global "builtins.eval"/);
});

Deno.test("unpickle() refuses object-building opcodes and unknown opcodes", () => {
  assert.throws(() => unpickle(new Uint8Array([0x80, 2, 0x81, 0x2e]), none), /opcode NEWOBJ is not allowed/);
  assert.throws(() => unpickle(new Uint8Array([0x80, 2, 0x69]), none), /opcode INST is not allowed/);
  assert.throws(() => unpickle(new Uint8Array([0x80, 2, 0xff]), none), /unknown opcode 0xff/);
  assert.throws(
    () => unpickle(new Uint8Array([0x80, 2, 0x5d, 0x4e, 0x62, 0x2e]), none),
    /BUILD is only allowed on dicts/,
  );
  assert.deepEqual(unpickle(new Uint8Array([0x80, 2, 0x7d, 0x7d, 0x62, 0x2e]), none), new Map());
});

Deno.test("unpickle() throws on truncated input and stack misuse", () => {
  assert.throws(() => unpickle(new Uint8Array([0x80, 2, 0x58, 10, 0, 0, 0, 0x61]), none), /truncated/);
  assert.throws(() => unpickle(new Uint8Array([0x80, 2, 0x4e]), none), /truncated/);
  assert.throws(() => unpickle(new Uint8Array([0x80, 2, 0x28, 0x85, 0x2e]), none), /stack underflow/);
  assert.throws(() => unpickle(new Uint8Array([0x80, 2, 0x68, 5, 0x2e]), none), /memo key 5 is not set/);
  assert.throws(() => unpickle(new Uint8Array([0x80, 2, 0x4e, 0x51, 0x2e]), none), /persistent ids are not allowed/);
  assert.throws(() => unpickle(new Uint8Array([0x80, 2, 0x4e, 0x4e, 0x2e]), none), /STOP with 2 values on the stack/);
});

Deno.test("unpickle() builds deep nesting and huge APPENDS without recursion", () => {
  // ((((…)))) 200,000 deep, then a list of 300,000 Nones appended at once.
  const deep = new Uint8Array([0x80, 2, 0x29, ...new Array(200_000).fill(0x85), 0x2e]);
  let value = unpickle(deep, none);
  for (let depth = 0; depth < 200_000; depth++) value = (value as unknown[])[0];
  assert.deepEqual(value, []);
  const appends = new Uint8Array([0x80, 2, 0x5d, 0x28, ...new Array(300_000).fill(0x4e), 0x65, 0x2e]);
  assert.equal((unpickle(appends, none) as unknown[]).length, 300_000);
});

Deno.test("unpickle() refuses programs past its value budget and oversized integers", () => {
  const nones = new Uint8Array([0x80, 2, 0x5d, ...new Array(2_000).fill([0x4e, 0x61]).flat(), 0x2e]);
  assert.throws(
    () => unpickle(nones, { ...none, maxValues: 1_000 }),
    /Cannot unpickle "t.pkl" at byte \d+: more than 1000 values \(not a state dict, or a hostile file\)/,
  );
  // The memo counts too: LONG_BINPUT under ever new keys.
  const memo = [0x80, 2, 0x4e];
  for (let i = 0; i < 2_000; i++) memo.push(0x72, i & 0xff, i >> 8, 0, 0);
  assert.throws(() => unpickle(new Uint8Array(memo), { ...none, maxValues: 1_000 }), /more than 1000 values/);
  // LONG4 of 1 MB: decoding would be quadratic.
  const long = new Uint8Array(1 + 2 + 5 + 1_000_000 + 1);
  long.set([0x80, 2, 0x8b, 0x40, 0x42, 0x0f, 0x00]);
  assert.throws(() => unpickle(long, none), /an integer of 1000000 bytes \(at most 256 are accepted\)/);
});

Deno.test("unpickle() quotes a long refused global as an excerpt", () => {
  const name = "a".repeat(100_000);
  const bytes = new Uint8Array([0x80, 2, 0x63, ...new TextEncoder().encode(`os\n${name}\n`), 0x2e]);
  const error = (() => {
    try {
      unpickle(bytes, none);
    } catch (e) {
      return e as Error;
    }
  })();
  assert.ok(error instanceof Error);
  assert.match(error.message, /refusing global "os\.a{197}… \(100003 characters\)"/);
  assert.ok(error.message.length < 400);
});
