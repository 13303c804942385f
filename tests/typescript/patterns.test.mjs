// The OpenAPI document's patterns accept and refuse the same samples as the service's own
// rules (crates/types/src/rules.rs checks these samples too). Run by `npm test` in CI.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const spec = JSON.parse(readFileSync(new URL("../../openapi/openapi.json", import.meta.url)));
const samples = JSON.parse(readFileSync(new URL("../fixtures/input-rules.json", import.meta.url)));

/** Whether `value` satisfies a string schema the way a JSON Schema validator would. */
function satisfies(schema, value) {
  const length = [...value].length;
  return (
    length >= (schema.minLength ?? 0) &&
    length <= (schema.maxLength ?? Infinity) &&
    new RegExp(schema.pattern, "u").test(value)
  );
}

for (const [kind, name] of [
  ["ids", "ExternalId"],
  ["contents", "MessageContent"],
  ["tracking_urls", "TrackingUrl"],
]) {
  const schema = spec.components.schemas[name];
  test(`${name} accepts what the service accepts`, () => {
    for (const value of samples[kind].valid) {
      assert.ok(satisfies(schema, value), JSON.stringify(value));
    }
  });
  test(`${name} refuses what the service refuses`, () => {
    for (const value of samples[kind].invalid) {
      assert.ok(!satisfies(schema, value), JSON.stringify(value));
    }
  });
}
