// The browser modules' import graph: no cycles, nothing imports an entry module, and the
// labelling page's state module imports no other part of the page.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const dir = new URL("../../static/", import.meta.url);
const modules = readdirSync(dir).filter((name) => name.endsWith(".js"));
const imports = Object.fromEntries(modules.map((name) => {
  const source = readFileSync(new URL(name, dir), "utf8");
  return [name, [...source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"\.\/([^"]+)"/gms)].map((m) => m[1])];
}));

test("modules_import_graph_has_no_cycles", () => {
  const done = new Set();
  const visit = (name, path) => {
    assert.ok(!path.includes(name), `import cycle: ${[...path, name].join(" → ")}`);
    if (done.has(name)) return;
    for (const next of imports[name] || []) visit(next, [...path, name]);
    done.add(name);
  };
  for (const name of modules) visit(name, []);
  assert.ok(imports["label.js"].includes("label-keys.js"));  // the parse found the imports
});

test("modules_nothing_imports_an_entry_module", () => {
  for (const entry of ["label.js", "review.js"]) {
    for (const [name, list] of Object.entries(imports)) assert.ok(!list.includes(entry), `${name} imports ${entry}`);
  }
});

test("modules_label_state_imports_no_other_part_of_the_page", () => {
  assert.deepEqual(imports["label-state.js"].filter((name) => name.startsWith("label")), []);
});
