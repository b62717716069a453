/**
 * Field checks for request bodies: each failure is a 400 `invalid_field` naming the field.
 *
 * @module
 */

import { excerpt, HttpError } from "./_errors.ts";
import type { BackendName, OrtBackendName } from "@bertology/core/export/runtime";
import type { Limits } from "./_limits.ts";

/**
 * Checks that a parsed body is a JSON object.
 *
 * @param body the parsed body
 * @returns the object
 * @throws {HttpError} 400 when it is not an object
 * @example Usage
 * ```ts
 * import { requireObject } from "./_validate.ts";
 * requireObject({ text: "hi" }).text; // "hi"
 * ```
 */
export function requireObject(body: unknown, field = "body"): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "invalid_field", `"${field}" must be a JSON object`, { field });
  }
  return body as Record<string, unknown>;
}

/**
 * Reads a text field: a non-empty string within `limits.maxTextChars`.
 *
 * @param obj the object holding the field
 * @param key its key
 * @param field the full field name for messages (`examples[2].text`)
 * @param limits the limits
 * @param optional whether it may be absent (or null)
 * @returns the string, or `undefined` for an absent optional field
 * @throws {HttpError} 400 `invalid_field` for a missing, non-string or blank value; 413 `text_too_long`
 * @example Usage
 * ```ts
 * import { textField } from "./_validate.ts";
 * import { DEFAULT_LIMITS } from "./_limits.ts";
 * textField({ text: "hi" }, "text", "text", DEFAULT_LIMITS, false); // "hi"
 * ```
 */
export function textField(
  obj: Record<string, unknown>,
  key: string,
  field: string,
  limits: Limits,
  optional: boolean,
): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw new HttpError(400, "invalid_field", `"${field}" is required (a non-empty string)`, { field });
  }
  if (typeof v !== "string") {
    throw new HttpError(400, "invalid_field", `"${field}" must be a string, got ${typeOf(v)}`, { field });
  }
  if (v.trim().length === 0) {
    throw new HttpError(400, "invalid_field", `"${field}" must not be empty`, { field });
  }
  if (v.length > limits.maxTextChars) {
    throw new HttpError(
      413,
      "text_too_long",
      `"${field}" has ${v.length} characters; the limit is ${limits.maxTextChars}`,
      { field },
    );
  }
  return v;
}

/**
 * Reads an optional list of distinct integer indices in `[0, size)`.
 *
 * @param obj the object holding the field
 * @param key its key (also the field name)
 * @param size the exclusive upper bound
 * @returns the sorted indices, or `undefined` when absent
 * @throws {HttpError} 400 `invalid_field` for anything else
 * @example Usage
 * ```ts
 * import { indexListField } from "./_validate.ts";
 * indexListField({ layers: [2, 0] }, "layers", 3); // [0, 2]
 * ```
 */
export function indexListField(obj: Record<string, unknown>, key: string, size: number): number[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  const bad = (why: string) =>
    new HttpError(
      400,
      "invalid_field",
      `"${key}" must be a non-empty array of distinct integers in 0..${size - 1}${why}`,
      {
        field: key,
      },
    );
  if (!Array.isArray(v) || v.length === 0) throw bad(`, got ${typeOf(v)}`);
  const seen = new Set<number>();
  v.forEach((x, i) => {
    if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x >= size) {
      throw bad(`; ${key}[${i}] = ${excerpt(x)}`);
    }
    if (seen.has(x)) throw bad(`; ${x} appears twice`);
    seen.add(x);
  });
  return [...seen].sort((a, b) => a - b);
}

/**
 * A field name taken from the request (an unknown key), cut to a bounded length for the `field` of an error.
 *
 * @param key the key as sent
 * @returns the key, or its first 80 characters and `…`
 * @example Usage
 * ```ts
 * import { fieldName } from "./_validate.ts";
 * fieldName("k".repeat(1000)).length; // 81
 * ```
 */
export function fieldName(key: string): string {
  return key.length > 80 ? `${key.slice(0, 80)}…` : key;
}

/**
 * JSON's name for a value's type, for messages.
 *
 * @param v the value
 * @returns `null`, `an array`, `an object`, `a string`, …
 * @example Usage
 * ```ts
 * import { typeOf } from "./_validate.ts";
 * typeOf([1]); // "an array"
 * ```
 */
export function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/**
 * Reads the optional `backend` field of a compute request: one of the backends the app allows (`wasm`, our
 * engine, when absent).
 *
 * @param body the parsed body (an object; other shapes are left to the route's own checks)
 * @param allowed the backends this app allows
 * @returns the ONNX Runtime backend to run on, or `undefined` for our engine
 * @throws {HttpError} 400 `invalid_field` for a value that is not a string; 422 `backend_not_allowed` for one
 *   this app does not allow, listing those it does
 * @example Usage
 * ```ts
 * import { backendField } from "./_validate.ts";
 * backendField({ backend: "ort-wasm" }, ["wasm", "ort-wasm"]); // "ort-wasm"
 * backendField({}, ["wasm"]); // undefined
 * ```
 */
export function backendField(body: unknown, allowed: readonly BackendName[]): OrtBackendName | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const v = (body as Record<string, unknown>).backend;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") {
    throw new HttpError(400, "invalid_field", `"backend" must be a string, got ${typeOf(v)}`, { field: "backend" });
  }
  if (!(allowed as readonly string[]).includes(v)) {
    throw new HttpError(
      422,
      "backend_not_allowed",
      `"backend" ${excerpt(v)} is not allowed here (allowed: ${allowed.join(", ")})`,
      { field: "backend" },
    );
  }
  return v === "wasm" ? undefined : v as OrtBackendName;
}
