// Offsets: the API counts code points (Python), the DOM counts UTF-16 units.
import assert from "node:assert/strict";
import { test } from "node:test";
import { codePointToUtf16, cpLength, cpSlice, utf16ToCodePoint } from "../../static/offsets.js";

const text = "Drone 🛩 hit  Kyïv";  // an astral emoji, a double space, a non-ASCII letter

test("offsets_code_point_to_utf16_counts_an_emoji_as_two_units", () => {
  const map = codePointToUtf16(text);
  assert.equal(map.length, cpLength(text) + 1);
  assert.equal(map[6], 6);  // the emoji starts at code point 6 ...
  assert.equal(map[7], 8);  // ... and takes two UTF-16 units
  assert.equal(map[map.length - 1], text.length);
  assert.deepEqual(codePointToUtf16(""), [0]);
});

test("offsets_utf16_to_code_point_round_trips_and_rounds_down_inside_a_pair", () => {
  const map = codePointToUtf16(text);
  map.forEach((u16, cp) => assert.equal(utf16ToCodePoint(text, u16), cp));
  assert.equal(utf16ToCodePoint(text, 7), 6);  // between the emoji's two halves
});

test("offsets_cp_slice_slices_as_python_does", () => {
  assert.equal(cpLength(text), 17);
  assert.equal(cpSlice(text, 6, 7), "🛩");
  assert.equal(cpSlice(text, 13, 17), "Kyïv");
  assert.equal(cpSlice(text, 11, 13), "  ");
});
