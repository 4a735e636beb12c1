// Span and token helpers: overlap, snapping a selection to tokens, tags, pending suggestions.
import assert from "node:assert/strict";
import { test } from "node:test";
import { codePointToUtf16 } from "../../static/offsets.js";
import {
  clean, confidenceOf, handMade, overlaps, pendingOf, readableInk, sameSpans, snapToTokens, sortSpans, sourceOf, spanAt, spanText,
  suggestionKey,
  tagOf, tokenRange,
} from "../../static/spans.js";

// "Drone 🛩 hit  Kyïv": tokens in code points, as the API sends them.
const text = "Drone 🛩 hit  Kyïv";
const u16 = codePointToUtf16(text);
const tokens = [{ start: 0, end: 5 }, { start: 6, end: 7 }, { start: 8, end: 11 }, { start: 13, end: 17 }];
const span = (start_char, end_char, label = "WEAPON", extra = {}) => ({ start_char, end_char, label, ...extra });

test("spans_overlaps_is_end_exclusive", () => {
  assert.equal(overlaps(span(0, 5), span(4, 8)), true);
  assert.equal(overlaps(span(0, 5), span(5, 8)), false);
  assert.equal(overlaps(span(6, 7), span(0, 17)), true);
});

test("spans_token_range_finds_the_tokens_a_span_touches", () => {
  assert.deepEqual(tokenRange(tokens, 0, 5), [0, 0]);
  assert.deepEqual(tokenRange(tokens, 3, 9), [0, 2]);
  assert.deepEqual(tokenRange(tokens, 11, 13), null);  // only the double space
});

test("spans_snap_to_tokens_widens_a_utf16_selection_to_whole_tokens", () => {
  // From the middle of "Drone" to inside "hit", in UTF-16 units (the emoji counts two).
  assert.deepEqual(snapToTokens(tokens, u16, 2, text.indexOf("hit") + 1), [0, 2]);
  // Only the emoji, by its UTF-16 range.
  assert.deepEqual(snapToTokens(tokens, u16, text.indexOf("🛩"), text.indexOf("🛩") + 2), [1, 1]);
  // "Kyïv" after the double space, from its UTF-16 start to the end.
  assert.deepEqual(snapToTokens(tokens, u16, text.indexOf("Kyïv"), text.length), [3, 3]);
  // A selection of the double space alone touches no token.
  assert.deepEqual(snapToTokens(tokens, u16, text.indexOf("  "), text.indexOf("  ") + 2), []);
});

test("spans_span_text_maps_code_points_to_the_string", () => {
  assert.equal(spanText(text, u16, span(6, 7)), "🛩");
  assert.equal(spanText(text, u16, span(8, 17)), "hit  Kyïv");
});

test("spans_tag_and_confidence_text", () => {
  assert.equal(tagOf(span(0, 5, "COUNT")), "COUNT");
  assert.equal(tagOf(span(0, 5, "COUNT", { value: "40" })), "COUNT · 40");
  assert.equal(confidenceOf({ score: 0.874 }), "87%");
  assert.equal(confidenceOf({}), "");
});

test("spans_readable_ink_picks_the_contrasting_text_colour", () => {
  assert.equal(readableInk("#ffff00"), "#111");
  assert.equal(readableInk("#000"), "#fff");
  assert.equal(readableInk("not a colour"), "#111");
});

test("spans_same_spans_ignores_order_and_compares_values", () => {
  assert.equal(sameSpans([span(0, 5), span(8, 11)], [span(8, 11), span(0, 5)]), true);
  assert.equal(sameSpans([span(0, 5, "X", { value: "a" })], [span(0, 5, "X", { value: "b" })]), false);
  assert.equal(sameSpans(null, []), true);
});

test("spans_clean_and_sort", () => {
  assert.deepEqual(clean({ ...span(0, 5), autoValue: true }), {
    start_char: 0, end_char: 5, label: "WEAPON", value: null, suggested: false, source: null, model_version: null,
  });
  const list = [span(8, 11), span(0, 7), span(0, 5)];
  assert.deepEqual(sortSpans(list).map((s) => [s.start_char, s.end_char]), [[0, 5], [0, 7], [8, 11]]);
});

test("spans_clean_keeps_provenance_on_accepted_suggestions_only", () => {
  const accepted = { ...span(0, 5), suggested: true, source: "model", model_version: 3 };
  assert.deepEqual([clean(accepted).source, clean(accepted).model_version], ["model", 3]);
  const rules = { ...span(0, 5), suggested: true, source: "rules", model_version: 3 };
  assert.deepEqual([clean(rules).source, clean(rules).model_version], ["rules", null]);
  const edited = handMade({ ...accepted });
  assert.deepEqual([edited.suggested, clean(edited).source, clean(edited).model_version], [false, null, null]);
  assert.equal("source" in edited, false);
  assert.equal(sameSpans([accepted], [edited]), false);
  assert.equal(sameSpans([accepted], [{ ...accepted }]), true);
  assert.deepEqual([sourceOf(accepted), sourceOf(rules), sourceOf(edited), sourceOf({ source: "model" })], ["model v3", "rules", "", "model"]);
});

test("spans_pending_of_drops_rejected_covered_and_repeated_suggestions", () => {
  const suggestions = [span(0, 5, "A"), span(0, 5, "A"), span(8, 11, "B"), span(13, 17, "C")];
  const rejected = new Set([suggestionKey(suggestions[3])]);
  assert.deepEqual(pendingOf(suggestions, rejected, []).map(suggestionKey), ["0:5:A", "8:11:B"]);
  assert.deepEqual(pendingOf(suggestions, rejected, [span(9, 10)]).map(suggestionKey), ["0:5:A"]);
});

test("spans_span_at_finds_the_span_over_a_token", () => {
  const spans = [span(6, 11)];
  assert.equal(spanAt(spans, tokens, 2), spans[0]);
  assert.equal(spanAt(spans, tokens, 0), null);
  assert.equal(spanAt(spans, tokens, null), null);
  assert.equal(spanAt(spans, tokens, 9), null);
});
