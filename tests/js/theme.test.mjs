// The theme module: importing it touches no page; the remembered choice is read safely.
import assert from "node:assert/strict";
import { test } from "node:test";

test("theme_imports_without_a_document", async () => {
  assert.equal(typeof globalThis.document, "undefined");
  const theme = await import("../../static/theme.js");
  assert.equal(typeof theme.initTheme, "function");
});

test("theme_stored_choice_is_dark_light_or_nothing", async () => {
  const { storedTheme } = await import("../../static/theme.js");
  const storage = (value) => ({ getItem: () => value });
  assert.equal(storedTheme(storage("dark")), "dark");
  assert.equal(storedTheme(storage("light")), "light");
  assert.equal(storedTheme(storage("purple")), null);
  assert.equal(storedTheme(storage(null)), null);
  assert.equal(storedTheme(null), null);
  assert.equal(storedTheme({ getItem: () => { throw new Error("disabled"); } }), null);
});
