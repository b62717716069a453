import { deepStrictEqual, strictEqual } from "node:assert";
import { openZip } from "@bertology/core/checkpoint";
import { zipStored } from "./zip.ts";

Deno.test("zipStored() writes entries under one folder that the checkpoint zip reader reads back", async () => {
  const files = { "config.json": new TextEncoder().encode('{"a":1}'), "model.safetensors": new Uint8Array([1, 2, 3]) };
  const bytes = new Uint8Array(await new Blob(zipStored(files, "pruned")).arrayBuffer());
  const zip = openZip(bytes, "pruned.zip");
  deepStrictEqual([...zip.entries.keys()].sort(), ["pruned/config.json", "pruned/model.safetensors"]);
  for (const [name, data] of Object.entries(files)) {
    deepStrictEqual(new Uint8Array(await zip.read(`pruned/${name}`)), data);
  }
  strictEqual(zip.entries.get("pruned/model.safetensors")?.compressedSize, 3);
});
