// The labelling page's key map: which key press runs which command.
import assert from "node:assert/strict";
import { test } from "node:test";
import { commandOf, KEYS, labelOfKey, reviewCommandOf, WITHOUT_SENTENCE } from "../../static/keymap.js";

test("keymap_plain_keys", () => {
  assert.equal(commandOf({ key: "Enter" }), "save");
  assert.equal(commandOf({ key: "Backspace" }), "delete");
  assert.equal(commandOf({ key: "a" }), "accept-all-save");
  assert.equal(commandOf({ key: "A", shiftKey: true }), "accept-all");
  assert.equal(commandOf({ key: "ArrowLeft", shiftKey: true }), "left");
  assert.equal(commandOf({ key: "q" }), null);
  assert.equal(commandOf({ key: "constructor" }), null);
});

test("keymap_ctrl_undoes_and_redoes_and_nothing_else", () => {
  assert.equal(commandOf({ key: "z", ctrlKey: true }), "undo");
  assert.equal(commandOf({ key: "Z", ctrlKey: true, shiftKey: true }), "redo");
  assert.equal(commandOf({ key: "y", ctrlKey: true }), "redo");
  assert.equal(commandOf({ key: "Enter", ctrlKey: true }), null);
});

test("keymap_alt_and_meta_leave_keys_to_the_browser", () => {
  assert.equal(commandOf({ key: "z", altKey: true }), null);
  assert.equal(commandOf({ key: "Enter", metaKey: true }), null);
});

test("keymap_commands_without_a_sentence_are_commands", () => {
  const names = new Set(Object.values(KEYS));
  for (const name of WITHOUT_SENTENCE) assert.ok(names.has(name), name);
});

test("keymap_label_by_number_or_key", () => {
  const labels = [{ name: "WEAPON", key: "w", number: "1" }, { name: "COUNT", key: "c", number: "2" }];
  assert.equal(labelOfKey(labels, "2").name, "COUNT");
  assert.equal(labelOfKey(labels, "w").name, "WEAPON");
  assert.equal(labelOfKey(labels, "3"), null);
});

test("keymap_review_takes_a_version_by_letter_or_number", () => {
  assert.deepEqual(reviewCommandOf({ key: "a" }), { command: "take", index: 0 });
  assert.deepEqual(reviewCommandOf({ key: "b" }), { command: "take", index: 1 });
  assert.deepEqual(reviewCommandOf({ key: "1" }), { command: "take", index: 0 });
  assert.deepEqual(reviewCommandOf({ key: "9" }), { command: "take", index: 8 });
  assert.equal(reviewCommandOf({ key: "0" }), null);
  assert.equal(reviewCommandOf({ key: "c" }), null);
});

test("keymap_review_commands_and_modifiers", () => {
  assert.deepEqual(reviewCommandOf({ key: "Enter" }), { command: "save" });
  assert.deepEqual(reviewCommandOf({ key: "Enter", shiftKey: true }), { command: "save" });
  assert.deepEqual(reviewCommandOf({ key: "d" }), { command: "drop" });
  assert.deepEqual(reviewCommandOf({ key: "e" }), { command: "edit" });
  assert.deepEqual(reviewCommandOf({ key: "j" }), { command: "down" });
  assert.deepEqual(reviewCommandOf({ key: "ArrowUp" }), { command: "up" });
  assert.equal(reviewCommandOf({ key: "constructor" }), null);
  for (const modifier of ["ctrlKey", "altKey", "metaKey"]) {
    assert.equal(reviewCommandOf({ key: "Enter", [modifier]: true }), null);
    assert.equal(reviewCommandOf({ key: "a", [modifier]: true }), null);
  }
});
