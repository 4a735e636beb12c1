// The labelling page's key map: which key press runs which command.
import assert from "node:assert/strict";
import { test } from "node:test";
import { commandOf, KEYS, labelOfKey, WITHOUT_SENTENCE } from "../../static/keymap.js";

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
