// The labelling page's state module can be imported without a page: it touches no DOM until
// initPage() is called, and its helpers work on the state alone.
import assert from "node:assert/strict";
import { test } from "node:test";

test("state_imports_without_a_document", async () => {
  assert.equal(typeof globalThis.document, "undefined");
  const state = await import("../../static/label-state.js");
  assert.equal(state.root, null);
  const { S } = state;
  S.tokens = [{ start: 0, end: 5 }, { start: 6, end: 9 }];
  S.spans = [{ start_char: 6, end_char: 9, label: "B" }, { start_char: 0, end_char: 5, label: "A" }];
  S.suggestions = [{ start_char: 0, end_char: 5, label: "C" }];
  state.sortSpans();
  assert.deepEqual(S.spans.map((s) => s.label), ["A", "B"]);
  assert.equal(state.spanAtToken(1).label, "B");
  assert.deepEqual(state.pendingSuggestions(), []);
  S.anchor = 1;
  S.cursor = 0;
  assert.deepEqual(state.selection(), [0, 1]);
});

test("state_label_kind_by_the_scheme_not_the_name", async () => {
  const { kindIn } = await import("../../static/label-state.js");
  const labels = [{ name: "RESULT", kind: "category" }, { name: "OUTCOME", kind: "plain" }, { name: "OLD" }];
  assert.equal(kindIn(labels, "RESULT"), "category");
  assert.equal(kindIn(labels, "OUTCOME"), "plain");
  assert.equal(kindIn(labels, "OLD"), "text");
  assert.equal(kindIn(labels, "MISSING"), "text");
});

test("state_value_options_by_kind", async () => {
  const { valueOptions } = await import("../../static/label-state.js");
  const lists = { regions: ["Kursk Oblast", "Kyiv"], outcomes: ["destroyed", "damage"] };
  assert.deepEqual(valueOptions("region", lists), ["Kursk Oblast", "Kyiv"]);
  assert.deepEqual(valueOptions("category", lists), ["destroyed", "damage"]);
  assert.deepEqual(valueOptions("count", lists), []);
  assert.deepEqual(valueOptions("text", lists), []);
  assert.deepEqual(valueOptions("region"), []);
});
