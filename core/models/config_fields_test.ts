import { deepStrictEqual, throws } from "node:assert/strict";
import { parseConfig } from "./registry.ts";

const BERT = `"model_type": "bert", "vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 1,
  "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16`;
const GPT2 = `"model_type": "gpt2", "vocab_size": 10, "n_embd": 8, "n_layer": 1, "n_head": 2, "n_positions": 16`;
/** A config parsed from JSON text, as a config.json is (1e400 reads as Infinity). */
const parse = (json: string) => parseConfig(JSON.parse(json), "m/config.json");

Deno.test("parseConfig() refuses id2label with a non-canonical or repeated index (a label would be lost)", () => {
  for (const labels of [`{"0": "a", "00": "b"}`, `{"0": "a", "1.0": "b"}`, `{"0": "a", "+1": "b"}`]) {
    throws(() => parse(`{${BERT}, "id2label": ${labels}}`), /m\/config\.json: "id2label" key "(00|1\.0|\+1)"/, labels);
  }
  deepStrictEqual(parse(`{${BERT}, "id2label": {"1": "pos", "0": "neg"}}`).labels, ["neg", "pos"]);
});

Deno.test("parseConfig() refuses an out-of-range or non-finite layer-norm epsilon, naming the field", () => {
  throws(
    () => parse(`{${BERT}, "layer_norm_eps": -1}`),
    /field "layer_norm_eps" = -1 is out of range: it must be greater than 0/,
  );
  throws(() => parse(`{${BERT}, "layer_norm_eps": 0}`), /field "layer_norm_eps" = 0 is out of range/);
  throws(
    () => parse(`{${BERT}, "layer_norm_eps": 1e400}`),
    /field "layer_norm_eps" must be a finite number, got Infinity/,
  );
  throws(
    () => parse(`{${GPT2}, "layer_norm_epsilon": -1e-5}`),
    /field "layer_norm_epsilon" = -0\.00001 is out of range/,
  );
  deepStrictEqual(parse(`{${BERT}, "layer_norm_eps": 1e-7}`).layerNormEps, 1e-7);
});

Deno.test("parseConfig() says a size of 1e400 is Infinity, not null", () => {
  throws(
    () => parse(`{${BERT.replace('"hidden_size": 8', '"hidden_size": 1e400')}}`),
    /field "hidden_size" must be a non-negative integer, got Infinity \(a number beyond double precision\)/,
  );
});
