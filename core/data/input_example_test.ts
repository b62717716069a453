import { deepStrictEqual, throws } from "node:assert";
import { labelIds } from "./input_example.ts";

const cls = { labels: ["contradiction", "entailment", "neutral"], outputMode: "classification" as const };

Deno.test("labelIds() maps labels to their index in the label list", () => {
  const ex = ["neutral", "contradiction", "entailment"].map((label, i) => ({ guid: `dev-${i}`, textA: "a", label }));
  deepStrictEqual(labelIds(ex, cls), [2, 0, 1]);
});

Deno.test("labelIds() keeps regression labels as numbers", () => {
  const ex = [{ guid: "a", textA: "x", label: 3.8 }, { guid: "b", textA: "y", label: " 0.25 " }];
  deepStrictEqual(labelIds(ex, { labels: [], outputMode: "regression" }), [3.8, 0.25]);
  throws(
    () => labelIds([{ guid: "c", textA: "z", label: "" }], { labels: [], outputMode: "regression" }),
    /"c" has label ""/,
  );
});

Deno.test("labelIds() throws on unknown or missing labels", () => {
  throws(
    () => labelIds([{ guid: "dev-4", textA: "a", label: "maybe" }], cls),
    (e: Error) =>
      e.message ===
        'Example "dev-4" has unknown label "maybe": expected one of "contradiction", "entailment", "neutral"',
  );
  throws(() => labelIds([{ guid: "test-0", textA: "a", label: undefined }], cls), /Example "test-0" has no label/);
});

Deno.test("labelIds() quotes a 1 MB unknown label as a short excerpt", () => {
  const label = "x".repeat(1_000_000);
  throws(
    () => labelIds([{ guid: "g", textA: "t", label }], { labels: ["0", "1"], outputMode: "classification" }),
    (e: Error) => e.message.length < 400 && e.message.includes("(1000000 characters)"),
  );
});
