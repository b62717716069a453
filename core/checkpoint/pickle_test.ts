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
