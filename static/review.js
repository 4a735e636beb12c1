// Adjudication: resolve each decision (a conflict, or one annotator's version to confirm) with one key;
// Enter saves the gold and opens the next sentence. Nothing an annotator marked leaves without a decision:
// every span not taken is sent as "dropped", and the server refuses a save that loses one silently.
// Offsets are code points (as stored); text is only ever set with textContent.

import { codePointToUtf16 } from "./offsets.js";
import { overlaps, renderSentence, selectedTokens, tokenRange } from "./sentence-view.js";

const root = document.getElementById("adjudicate");
const data = JSON.parse(root.dataset.review);
const chars = Array.from(data.text); // code points, so offsets match the server's
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const cards = Array.from(document.querySelectorAll(".conflict"));
const status = document.getElementById("review-status");
const reason = document.getElementById("reason");
const preview = document.getElementById("gold-preview");
const note = document.getElementById("gold-note");
const decisions = data.decisions;

// One choice per conflict: {kind: "take", who} | {kind: "drop"} | {kind: "edit", spans} | null.
const choices = decisions.map((d) => (d.kind === "single" ? { kind: "take", who: d.proposal } : null));
let active = 0;
let saving = false;

const key = (s) => `${s.start_char}:${s.end_char}:${s.label}`;
const same = (a, b) =>
  a.length === b.length && a.every((s, i) => key(s) === key(b[i]) && (s.value || null) === (b[i].value || null));
const sorted = (spans) => [...spans].sort((x, y) => x.start_char - y.start_char || x.end_char - y.end_char || (x.label < y.label ? -1 : 1));

const inside = (s, d) => s.start_char < d.end_char && d.start_char < s.end_char;

// Start from the stored gold, if any: each decision takes the version it matches.
if (data.gold) {
  decisions.forEach((c, i) => {
    const mine = sorted(data.gold.spans.filter((s) => inside(s, c)));
    const who = data.annotators.find((n) => same(sorted(c.versions[n]), mine));
    choices[i] = who ? { kind: "take", who } : mine.length ? { kind: "edit", spans: mine } : { kind: "drop" };
  });
}

function chosenSpans(i) {
  const choice = choices[i];
  if (!choice || choice.kind === "drop") return [];
  return choice.kind === "take" ? decisions[i].versions[choice.who] : choice.spans;
}

// Every span some version (or the saved gold) has in a decision's region and the decision leaves out.
function droppedSpans() {
  const out = [];
  decisions.forEach((d, i) => {
    const kept = new Set(chosenSpans(i).map(key));
    const seen = new Set();
    const candidates = [...Object.values(d.versions).flat(), ...(data.gold ? data.gold.spans.filter((s) => inside(s, d)) : [])];
    for (const s of candidates) {
      if (kept.has(key(s)) || seen.has(key(s))) continue;
      seen.add(key(s));
      out.push({ start_char: s.start_char, end_char: s.end_char, label: s.label });
    }
  });
  return out;
}

function goldSpans() {
  const spans = [...data.agreed];
  decisions.forEach((_, i) => spans.push(...chosenSpans(i)));
  return sorted(spans).map((s) => ({ start_char: s.start_char, end_char: s.end_char, label: s.label, value: s.value || null }));
}

function renderPreview() {
  const spans = goldSpans();
  const owner = new Array(chars.length).fill(-1);
  spans.forEach((s, n) => {
    for (let i = s.start_char; i < Math.min(s.end_char, chars.length); i++) if (owner[i] < 0) owner[i] = n;
  });
  preview.replaceChildren();
  let start = 0;
  for (let i = 1; i <= chars.length; i++) {
    if (i < chars.length && owner[i] === owner[start]) continue;
    const piece = chars.slice(start, i).join("");
    if (owner[start] < 0) {
      preview.append(document.createTextNode(piece));
    } else {
      const span = spans[owner[start]];
      const mark = document.createElement("mark");
      mark.className = data.classes[span.label] || "lab-x";
      mark.title = span.value ? `${span.label} = ${span.value}` : span.label;
      mark.textContent = piece;
      preview.append(mark);
    }
    start = i;
  }
}

function render() {
  cards.forEach((card, i) => {
    card.classList.toggle("active", i === active);
    card.classList.toggle("decided", choices[i] !== null);
    const choice = choices[i];
    for (const li of card.querySelectorAll(".choice")) {
      const name = li.dataset.choice;
      const on = choice && (choice.kind === "take" ? name === choice.who : name === choice.kind);
      li.classList.toggle("chosen", Boolean(on));
    }
    const summary = card.querySelector(".edit-summary");
    if (choice && choice.kind === "edit") {
      summary.textContent = choice.spans.length
        ? choice.spans.map((s) => `${s.label} «${chars.slice(s.start_char, s.end_char).join("")}»${s.value ? " = " + s.value : ""}`).join(", ")
        : "no span";
    } else {
      summary.textContent = "set the spans yourself";
    }
  });
  renderPreview();
}

// After a decision, go to the next undecided one after this (else the first undecided before it), and
// stay there; with none left, stay on this one. Focus follows, so the keys keep acting on the page.
function decide(choice) {
  if (!cards.length) return;
  closeEditor();
  choices[active] = choice;
  say("");
  const next = choices.findIndex((c, i) => c === null && i > active);
  const first = choices.findIndex((c) => c === null);
  if (next >= 0) active = next;
  else if (first >= 0) active = first;
  show();
}

function show() {
  render();
  cards[active].focus({ preventScroll: true });
  cards[active].scrollIntoView({ block: "nearest" });
}

// The editor: the sentence as words, edited as on the labelling page (sentence-view.js draws it and
// snaps a mouse selection outwards to whole words). ← → move the word cursor (Shift extends), a label's
// number or key labels the selection, Delete removes the span there, z / Ctrl+Z undo, Z / Ctrl+Y redo;
// click a span to give it a value. Enter uses these spans, Escape cancels.
const tokens = data.tokens.map(([start, end]) => ({ start, end }));
const u16 = codePointToUtf16(data.text);
const colours = Object.fromEntries(data.label_info.map((l) => [l.name, l.colour]));
let edit = null;

function openEditor() {
  if (!cards.length) return;
  closeEditor();
  const card = cards[active];
  const editor = card.querySelector(".editor");
  const conflict = decisions[active];
  const first = data.annotators.map((n) => conflict.versions[n]).find((v) => v.length) || [];
  const start = choices[active] ? chosenSpans(active) : first;
  const range = tokenRange(tokens, conflict.start_char, conflict.end_char);
  edit = {
    card, editor, spans: start.map((s) => ({ start_char: s.start_char, end_char: s.end_char, label: s.label, value: s.value || null })),
    undo: [], redo: [], anchor: range ? range[0] : 0, cursor: range ? range[1] : 0, focused: null,
  };
  editor.replaceChildren();
  const help = document.createElement("p");
  help.className = "muted small";
  help.textContent = `Select words, then press a label's number or key (${data.label_info.map((l, i) => `${i + 1}/${l.key} ${l.name}`).join(", ")}). `
    + "Delete removes, z undoes, Z redoes; click a span to set its value. Enter uses these spans, Escape cancels.";
  const sentence = document.createElement("div");
  sentence.className = "edit-sentence";
  sentence.tabIndex = 0;
  sentence.setAttribute("aria-label", "Sentence: select words, then press a label key");
  const valueRow = document.createElement("label");
  valueRow.className = "edit-value";
  valueRow.hidden = true;
  const valueName = document.createElement("span");
  const value = Object.assign(document.createElement("input"), { type: "text", placeholder: "value" });
  valueRow.append(valueName, value);
  const apply = Object.assign(document.createElement("button"), { type: "button", className: "primary", textContent: "Use these spans" });
  const cancel = Object.assign(document.createElement("button"), { type: "button", textContent: "Cancel" });
  const buttons = document.createElement("div");
  buttons.className = "edit-buttons";
  buttons.append(apply, cancel);
  editor.append(help, sentence, valueRow, buttons);
  Object.assign(edit, { sentence, valueRow, valueName, value });

  sentence.addEventListener("mouseup", (event) => {
    if (event.button !== 0) return;
    const hit = selectedTokens(sentence, tokens, u16);
    if (hit) {
      if (hit.length) { edit.anchor = hit[0]; edit.cursor = hit[1]; edit.focused = null; }
    } else {
      const mark = event.target.closest("mark");
      const token = event.target.closest(".tok");
      edit.focused = mark ? Number(mark.dataset.index) : null;
      if (token) edit.anchor = edit.cursor = Number(token.dataset.i);
    }
    drawEditor();
    if (edit.focused === null) sentence.focus();
    else value.focus();
  });
  value.addEventListener("input", () => {
    const span = edit.spans[edit.focused];
    if (!span) return;
    if (!edit.valueUndo) { remember(); edit.valueUndo = true; }
    span.value = value.value.trim() || null;
  });
  value.addEventListener("blur", () => { edit.valueUndo = false; });
  apply.addEventListener("click", () => {
    const spans = sorted(edit.spans);
    closeEditor();
    decide({ kind: "edit", spans });
  });
  cancel.addEventListener("click", () => { closeEditor(); show(); });
  editor.onkeydown = editorKey;
  editor.hidden = false;
  drawEditor();
  sentence.focus();
}

function closeEditor() {
  if (!edit) return;
  // Hiding a focused control would leave the keys with it: give focus back to the page first.
  document.activeElement?.blur();
  edit.editor.hidden = true;
  edit.editor.replaceChildren();
  edit = null;
}

function drawEditor() {
  const selection = [Math.min(edit.anchor, edit.cursor), Math.max(edit.anchor, edit.cursor)];
  const marks = edit.spans.map((item, index) => ({ kind: "span", item, index, colour: colours[item.label] || "#ddd", focused: index === edit.focused }));
  renderSentence(edit.sentence, { text: data.text, u16, tokens, marks, cursor: edit.cursor, selection });
  const span = edit.spans[edit.focused];
  edit.valueRow.hidden = !span;
  if (span) {
    edit.valueName.textContent = `Value of ${span.label} «${chars.slice(span.start_char, span.end_char).join("")}» `;
    if (document.activeElement !== edit.value) edit.value.value = span.value || "";
  }
}

function remember() {
  edit.undo.push(edit.spans.map((s) => ({ ...s })));
  edit.redo = [];
}

function labelSelection(name) {
  const [a, b] = [Math.min(edit.anchor, edit.cursor), Math.max(edit.anchor, edit.cursor)];
  const span = { start_char: tokens[a].start, end_char: tokens[b].end, label: name, value: null };
  remember();
  const same = edit.spans.find((s) => s.start_char === span.start_char && s.end_char === span.end_char);
  if (same) {
    same.label = name;
    edit.focused = edit.spans.indexOf(same);
  } else {
    // A new span replaces those it overlaps, as one step to undo.
    edit.spans = edit.spans.filter((s) => !overlaps(s, span));
    edit.spans.push(span);
    edit.spans = sorted(edit.spans);
    edit.focused = edit.spans.indexOf(span);
  }
  say("");
  drawEditor();
}

function editorKey(event) {
  event.stopPropagation(); // the page's keys (a, b, d, e, Enter...) wait until the editor closes
  const k = event.key;
  if (k === "Escape") { event.preventDefault(); closeEditor(); show(); return; }
  if (event.target === edit.value) {
    if (k === "Enter") { event.preventDefault(); edit.focused = null; drawEditor(); edit.sentence.focus(); }
    return;
  }
  if (event.target.closest("button")) return; // a focused button keeps its Enter and Space
  const ctrl = event.ctrlKey || event.metaKey;
  if ((ctrl && (k === "z" || k === "Z")) || (!ctrl && (k === "z" || k === "Z"))) {
    event.preventDefault();
    return undoRedo(k === "Z" || event.shiftKey ? "redo" : "undo");
  }
  if (ctrl && k === "y") { event.preventDefault(); return undoRedo("redo"); }
  if (ctrl || event.altKey) return;
  if (k === "Enter") { event.preventDefault(); edit.editor.querySelector(".edit-buttons .primary").click(); return; }
  if (k === "ArrowRight" || k === "ArrowLeft") {
    event.preventDefault();
    edit.cursor = Math.min(tokens.length - 1, Math.max(0, edit.cursor + (k === "ArrowRight" ? 1 : -1)));
    if (!event.shiftKey) edit.anchor = edit.cursor;
    edit.focused = null;
    return drawEditor();
  }
  if (k === "Delete" || k === "Backspace") {
    event.preventDefault();
    const [a, b] = [Math.min(edit.anchor, edit.cursor), Math.max(edit.anchor, edit.cursor)];
    const where = { start_char: tokens[a].start, end_char: tokens[b].end };
    if (!edit.spans.some((s) => overlaps(s, where))) return say("No span there to delete.", true);
    remember();
    edit.spans = edit.spans.filter((s) => !overlaps(s, where));
    edit.focused = null;
    return drawEditor();
  }
  const label = data.label_info.find((l, i) => String(i + 1) === k || l.key === k);
  if (label) { event.preventDefault(); labelSelection(label.name); }
}

function undoRedo(which) {
  const from = which === "undo" ? edit.undo : edit.redo;
  const to = which === "undo" ? edit.redo : edit.undo;
  if (!from.length) return say(which === "undo" ? "Nothing to undo." : "Nothing to redo.");
  to.push(edit.spans.map((s) => ({ ...s })));
  edit.spans = from.pop();
  edit.focused = null;
  say(which === "undo" ? "Undone." : "");
  drawEditor();
}

function say(text, error = false) {
  status.textContent = text;
  status.classList.toggle("error", error);
}

async function save() {
  if (saving) return;
  const open = choices.findIndex((c) => c === null);
  if (open >= 0) {
    active = open;
    render();
    const what = decisions[open].kind === "conflict" ? "Resolve conflict" : "Decide";
    say(`${what} ${open + 1} first: a/b or 1–9 take a version, e edits, d drops.`, true);
    return;
  }
  saving = true;
  say("Saving…");
  try {
    const response = await fetch(data.save_url, {
      method: "PUT",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({
        version: data.gold ? data.gold.version : null, spans: goldSpans(), dropped: droppedSpans(), reason: reason.value, note: note.value,
      }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      say(`Saved gold version ${body.version}.`);
      window.location.assign(body.next);
      return;
    }
    say(response.status === 409 ? `${body.message} Reload the page.` : body.message || `Saving failed (${response.status}).`, true);
  } catch (err) {
    say("Could not reach the server; nothing was saved. Try again.", true);
  } finally {
    saving = false;
  }
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = event.target.closest("input, textarea, select");
  if (event.key === "Enter") {
    if (typing && (event.target.closest(".editor") || event.target.matches("textarea"))) return;
    if (event.target.closest("button, a")) return; // let the focused control act
    event.preventDefault();
    save();
    return;
  }
  if (typing) return;
  const k = event.key;
  let handled = true;
  if (k === "a" || k === "b") handled = take(k === "a" ? 0 : 1);
  else if (/^[1-9]$/.test(k)) handled = take(Number(k) - 1);
  else if (k === "d") decide({ kind: "drop" });
  else if (k === "e") openEditor();
  else if (k === "ArrowDown" || k === "j") move(1);
  else if (k === "ArrowUp" || k === "k") move(-1);
  else handled = false;
  if (handled) event.preventDefault();
});

function take(index) {
  const who = data.annotators[index];
  if (!who) {
    say(`There is no annotator ${index + 1} on this sentence.`, true);
    return true;
  }
  decide({ kind: "take", who });
  return true;
}

// Up and down stop at the first and the last decision: no wrapping round.
function move(step) {
  if (!cards.length) return;
  active = Math.min(cards.length - 1, Math.max(0, active + step));
  show();
}

cards.forEach((card, i) => {
  card.addEventListener("click", (event) => {
    const li = event.target.closest(".choice");
    if (!li || event.target.closest(".editor")) return;
    active = i;
    const name = li.dataset.choice;
    if (name === "edit") openEditor();
    else if (name === "drop") decide({ kind: "drop" });
    else decide({ kind: "take", who: name });
  });
});
document.getElementById("save-gold").addEventListener("click", save);
active = Math.max(0, choices.findIndex((c) => c === null));
render();
