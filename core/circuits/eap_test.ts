import { ok, throws } from "node:assert/strict";
import { edgeAttribution } from "./eap.ts";
import { checkEdgeAttribution, checkFaithfulness, checkScores, readEapReference } from "./_eap_reference.ts";
import { gpt2Pair, oneRow, PAIR } from "./_test_pair.ts";

const REFERENCE = readEapReference("circuits_eap_reference.out.json");

Deno.test("edgeAttribution() equals the Hugging Face reference: EAP and EAP-IG edge scores, in forward order", async () => {
  const { model, clean, corrupted } = await gpt2Pair();
  checkEdgeAttribution(model, clean, corrupted, REFERENCE, PAIR);
});

Deno.test("faithfulness at k = 5, 10, 20, 50 equals the Hugging Face reference (edge-level patching)", async () => {
  const { model, clean, corrupted } = await gpt2Pair();
  const metric = { target: REFERENCE.target, distractor: REFERENCE.distractor };
  const eap = edgeAttribution(model, clean, corrupted, metric);
  checkFaithfulness(model, clean, metric, eap, REFERENCE);
});

Deno.test("edgeAttribution() with one IG step equals plain EAP", async () => {
  const { model, clean, corrupted, metric } = await gpt2Pair();
  const eap = edgeAttribution(model, clean, corrupted, metric);
  const one = edgeAttribution(model, clean, corrupted, { ...metric, igSteps: 1 });
  checkScores(one.scores, Array.from(eap.scores), "IG with K = 1");
  ok(eap.scores.some((s) => Math.abs(s) > 1e-3), "the scores are not all zero");
});

Deno.test("edgeAttribution() refuses pairs of different lengths, batches and bad step counts", async () => {
  const { model, clean, corrupted, metric } = await gpt2Pair();
  throws(() => edgeAttribution(model, clean, oneRow([1, 2, 3]), metric), /same number of tokens \(8 vs 3\)/);
  throws(
    () => edgeAttribution(model, clean, corrupted, { ...metric, igSteps: 0 }),
    /igSteps must be a positive integer/,
  );
  throws(
    () => edgeAttribution(model, clean, corrupted, { target: 5, distractor: 5 }),
    /distractor \(5\) must differ from target/,
  );
});
