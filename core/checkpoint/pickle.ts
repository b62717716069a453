/**
 * A restricted pickle interpreter. It understands the opcodes that `torch.save` emits (protocols 2–5) and
 * nothing that can run code: every `GLOBAL`/`STACK_GLOBAL` goes through a caller-supplied allow-list that
 * returns a plain JavaScript function, and `INST`, `OBJ`, `NEWOBJ` and the extension registry are refused.
 *
 * The interpreter is a loop over an explicit stack: nothing recurses on the structure a pickle builds, so a
 * value nested a million levels deep, or an `APPENDS` of a million items, is as cheap as a flat one. Memory is
 * bounded by {@linkcode UnpickleOptions.maxValues} (values pushed and memoised) and the input's length.
 *
 * Values map to JavaScript as: `None` → `null`, `bool` → boolean, `int` → number (bigint past 2^53),
 * `float` → number, `str` → string, `bytes` → Uint8Array, `list` and `tuple` → arrays, `dict` → Map.
 *
 * @module
 */

import { excerpt } from "./_describe.ts";

/** A Python callable the allow-list provides: `REDUCE` calls it with the argument tuple. */
export interface PickleCallable {
  /** `module.name`, for messages. */
  readonly qualifiedName: string;
  /** Builds the object `REDUCE` produces. */
  call(args: unknown[]): unknown;
}

/** Options for {@linkcode unpickle}. */
export interface UnpickleOptions {
  /** Used in error messages. */
  fileName: string;
  /** Returns the allowed global for `module.name`, or `undefined` to refuse it. */
  findGlobal(module: string, name: string): unknown;
  /** Resolves a `BINPERSID` id (PyTorch uses it for storages). Absent: persistent ids are refused. */
  persistentLoad?(id: unknown): unknown;
  /**
   * Most values the program may push or memoise in all (default {@linkcode DEFAULT_MAX_PICKLE_VALUES}); a
   * state dict pushes about 20 per tensor.
   */
  maxValues?: number;
}

/**
 * Default of {@linkcode UnpickleOptions.maxValues}: room for a state dict of some 14,000 tensors (torch.save
 * pushes and memoises about 35 values per tensor), while a hostile program stays under ~30 MB of values.
 */
export const DEFAULT_MAX_PICKLE_VALUES = 500_000;

/** Python ints in a state dict are small; a `LONG` of more bytes than this is refused (its decoding is quadratic). */
const MAX_LONG_BYTES = 256;

const MARK = Symbol("mark");

/**
 * Runs a pickle program and returns the object it builds, refusing anything the allow-list does not name.
 *
 * @param bytes The pickle stream.
 * @param opts The allow-list and persistent-id resolver.
 * @returns The unpickled value.
 * @throws {Error} Naming the file and the offset on an unknown or forbidden opcode, a refused global,
 * a truncated stream, or a program that builds more than `maxValues` values.
 *
 * @example Usage
 * ```ts
 * import { unpickle } from "./pickle.ts";
 * // pickle.dumps({"a": 1}, protocol=2)
 * const bytes = new Uint8Array([0x80, 2, 0x7d, 0x71, 0, 0x58, 1, 0, 0, 0, 0x61, 0x71, 1, 0x4b, 1, 0x73, 0x2e]);
 * const value = unpickle(bytes, { fileName: "x.pkl", findGlobal: () => undefined }); // Map { "a" => 1 }
 * ```
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  const maxValues = opts.maxValues ?? DEFAULT_MAX_PICKLE_VALUES;
  let values = 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder("utf-8", { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let opAt = 0;
  const fail = (message: string): never => {
    throw new Error(`Cannot unpickle "${excerpt(opts.fileName)}" at byte ${opAt}: ${message}`);
  };
  const take = (n: number) => {
    if (!Number.isSafeInteger(n) || n < 0 || pos + n > bytes.length) fail(`truncated (need ${n} more bytes)`);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  // Read in place: one opcode byte per step, so no subarray is made for it.
  const u8 = () => {
    if (pos >= bytes.length) fail("truncated (need 1 more bytes)");
    return bytes[pos++]!;
  };
  // Every value pushed or memoised counts, so a small pickle cannot build an unbounded stack, list or memo.
  const count = () => {
    if (++values > maxValues) fail(`more than ${maxValues} values (not a state dict, or a hostile file)`);
  };
  const push = (value: unknown) => {
    count();
    stack.push(value);
  };
  const remember = (key: number, value: unknown) => {
    count();
    memo.set(key, value);
  };
  const u16 = () => (take(2), view.getUint16(pos - 2, true));
  const u32 = () => (take(4), view.getUint32(pos - 4, true));
  const i32 = () => (take(4), view.getInt32(pos - 4, true));
  const u64 = () => (take(8), view.getUint32(pos - 8, true) + view.getUint32(pos - 4, true) * 2 ** 32);
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("truncated (unterminated line)");
    const out = new TextDecoder().decode(bytes.subarray(pos, end));
    pos = end + 1;
    return out;
  };
  const pop = () => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]! + 1)) {
      fail("stack underflow");
    }
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) fail("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const at = marks.pop();
    if (at === undefined) return fail("no MARK on the stack");
    return stack.splice(at);
  };
  const decodeText = (b: Uint8Array) => {
    try {
      return text.decode(b);
    } catch {
      return fail("invalid UTF-8 in a string");
    }
  };
  const global = (module: string, name: string) => {
    const found = opts.findGlobal(module, name);
    if (found === undefined) {
      fail(`refusing global "${excerpt(`${module}.${name}`)}": not on the allow-list (nothing is executed)`);
    }
    return found;
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) fail("SETITEM(S) on something that is not a dict");
    for (let i = 0; i + 1 < items.length; i += 2) (dict as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const append = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list)) fail("APPEND(S) on something that is not a list");
    // One push per item: `push(...items)` would pass a million arguments and overflow the engine's stack.
    for (const item of items) (list as unknown[]).push(item);
  };
  const long = (b: Uint8Array) => {
    if (b.length === 0) return 0;
    if (b.length > MAX_LONG_BYTES) fail(`an integer of ${b.length} bytes (at most ${MAX_LONG_BYTES} are accepted)`);
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail("pickle protocol above 5");
        break;
      case 0x95: // FRAME (length is advisory)
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) fail(`STOP with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack.length);
        push(MARK);
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(long(take(u8())));
        break;
      case 0x8b: // LONG4
        push(long(take(u32())));
        break;
      case 0x47: // BINFLOAT (big-endian)
        take(8);
        push(view.getFloat64(pos - 8, false));
        break;
      case 0x58: // BINUNICODE
        push(decodeText(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(decodeText(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        push(decodeText(take(u64())));
        break;
      case 0x54: // BINSTRING (py2 str, latin-1 in practice)
        push(new TextDecoder("latin1").decode(take(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        push(new TextDecoder("latin1").decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        push(take(u64()).slice());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push([]);
        break;
      case 0x7d: // EMPTY_DICT
        push(new Map());
        break;
      case 0x85: // TUPLE1
        push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        push([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        push([pop(), b, c]);
        break;
      }
      case 0x74: // TUPLE
      case 0x6c: // LIST
        push(popMark().slice(1));
        break;
      case 0x64: { // DICT
        const dict = new Map();
        setItems(dict, popMark().slice(1));
        push(dict);
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark().slice(1);
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        append(top(), [value]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark().slice(1);
        append(top(), items);
        break;
      }
      case 0x30: // POP
        if (top() === MARK) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x71: // BINPUT
        remember(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        remember(u32(), top());
        break;
      case 0x94: // MEMOIZE
        remember(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const key = op === 0x68 ? u8() : u32();
        if (!memo.has(key)) fail(`memo key ${key} is not set`);
        push(memo.get(key));
        break;
      }
      case 0x63: { // GLOBAL
        const module = line();
        push(global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        push(global(module as string, name as string));
        break;
      }
      case 0x51: { // BINPERSID
        const id = pop();
        if (opts.persistentLoad === undefined) fail("persistent ids are not allowed here");
        push(opts.persistentLoad!(id));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop() as PickleCallable;
        if (typeof callable?.call !== "function" || typeof callable.qualifiedName !== "string") {
          fail("REDUCE on something that is not an allowed callable");
        }
        if (!Array.isArray(args)) fail(`REDUCE of ${callable.qualifiedName} without an argument tuple`);
        push(callable.call(args as unknown[]));
        break;
      }
      case 0x62: { // BUILD
        pop(); // state
        // Only dicts may carry state: an OrderedDict's instance attributes (PyTorch's `_metadata`), which we drop.
        if (!(top() instanceof Map)) fail("BUILD is only allowed on dicts");
        break;
      }
      default: {
        const name = FORBIDDEN[op];
        fail(name ? `opcode ${name} is not allowed` : `unknown opcode 0x${op.toString(16).padStart(2, "0")}`);
      }
    }
  }
}

const FORBIDDEN: Record<number, string> = {
  0x69: "INST",
  0x6f: "OBJ",
  0x81: "NEWOBJ",
  0x92: "NEWOBJ_EX",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x50: "PERSID",
  0x49: "INT",
  0x4c: "LONG",
  0x46: "FLOAT",
  0x53: "STRING",
  0x56: "UNICODE",
  0x67: "GET",
  0x70: "PUT",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
  0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
};
