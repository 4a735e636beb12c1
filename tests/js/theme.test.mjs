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

test("theme_early_script_puts_the_remembered_choice_on_the_page_with_the_same_key", async () => {
  const { readFile } = await import("node:fs/promises");
  const { runInNewContext } = await import("node:vm");
  const { KEY } = await import("../../static/theme.js");
  const source = await readFile(new URL("../../static/theme-early.js", import.meta.url), "utf8");
  for (const [stored, expected] of [["dark", "dark"], ["light", "light"], ["purple", undefined], [null, undefined]]) {
    const page = { documentElement: { dataset: {} } };
    runInNewContext(source, { document: page, localStorage: { getItem: (key) => (key === KEY ? stored : null) } });
    assert.equal(page.documentElement.dataset.theme, expected);
  }
  const disabled = { documentElement: { dataset: {} } };
  runInNewContext(source, { document: disabled, localStorage: { getItem: () => { throw new Error("disabled"); } } });
  assert.equal(disabled.documentElement.dataset.theme, undefined);
});
