// The reviewer's span editor: the sentence as words, edited as on the labelling page. sentence-view.js
// draws it and snaps a mouse selection outwards to whole words (the labelling page's own code).
// ← → move the word cursor, Home End to the first / last word (Shift extends), a label's number or key labels the selection, Delete
// removes the span there, z / Ctrl+Z undo, Z / Ctrl+Y redo; click a span to give it a value.
// Enter uses these spans, Escape cancels. Offsets are code points; text goes in with textContent only.
import { commandOf, labelOfKey } from "./keymap.js";
import { codePointToUtf16 } from "./offsets.js";
import { renderSentence, selectedTokens } from "./sentence-view.js";
import { overlaps, tokenRange } from "./spans.js";

const byPosition = (a, b) => a.start_char - b.start_char || a.end_char - b.end_char;

/**
 * text: the sentence; tokens: [[start_char, end_char], ...]; labels: [{name, key, colour, retired}] (a retired
 * label keeps its colour on the spans that have it and is offered for no new span);
 * say(message, error): the page's status line; apply(spans) and cancel(): after the editor closes.
 */
export function createSpanEditor({ text, tokens: pairs, labels, say, apply, cancel }) {
  const tokens = pairs.map(([start, end]) => ({ start, end }));
  const u16 = codePointToUtf16(text);
  const chars = Array.from(text);
  const colours = Object.fromEntries(labels.map((l) => [l.name, l.colour]));
  const offered = labels.filter((l) => !l.retired);
  const numbered = offered.map((l, i) => ({ ...l, number: String(i + 1) })); // for keymap.js's labelOfKey
  let edit = null;

  function open(container, spans, region) {
    close();
    const range = tokenRange(tokens, region.start_char, region.end_char);
    edit = {
      container, spans: spans.map((s) => ({ start_char: s.start_char, end_char: s.end_char, label: s.label, value: s.value || null })),
      undo: [], redo: [], anchor: range ? range[0] : 0, cursor: range ? range[1] : 0, focused: null, valueUndo: false,
    };
    container.replaceChildren();
    const help = document.createElement("p");
    help.className = "muted small";
    help.textContent = `Select words, then press a label's number or key (${offered.map((l, i) => `${i + 1}/${l.key} ${l.name}`).join(", ")}). `
      + "Delete removes, z undoes, Z redoes; click a span to set its value. Enter uses these spans, Escape cancels.";
    const sentence = document.createElement("div");
    sentence.className = "edit-sentence";
    sentence.tabIndex = 0;
    sentence.setAttribute("role", "group");
    sentence.setAttribute("aria-label", "Sentence: select words, then press a label key");
    const valueRow = document.createElement("label");
    valueRow.className = "edit-value";
    valueRow.hidden = true;
    const valueName = document.createElement("span");
    const value = Object.assign(document.createElement("input"), { type: "text", placeholder: "value" });
    valueRow.append(valueName, value);
    const use = Object.assign(document.createElement("button"), { type: "button", className: "primary", textContent: "Use these spans" });
    const back = Object.assign(document.createElement("button"), { type: "button", textContent: "Cancel" });
    const buttons = document.createElement("div");
    buttons.className = "edit-buttons";
    buttons.append(use, back);
    container.append(help, sentence, valueRow, buttons);
    Object.assign(edit, { sentence, valueRow, valueName, value, use });

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
      draw();
      (edit.focused === null ? sentence : value).focus();
    });
    value.addEventListener("input", () => {
      const span = edit.spans[edit.focused];
      if (!span) return;
      if (!edit.valueUndo) { remember(); edit.valueUndo = true; }
      span.value = value.value.trim() || null;
    });
    value.addEventListener("blur", () => { if (edit) edit.valueUndo = false; });
    use.addEventListener("click", () => {
      const chosen = [...edit.spans].sort(byPosition);
      close();
      apply(chosen);
    });
    back.addEventListener("click", () => { close(); cancel(); });
    container.onkeydown = key;
    container.hidden = false;
    draw();
    sentence.focus();
  }

  function close() {
    if (!edit) return;
    // Hiding a focused control would leave the keys with it: give focus back to the page first.
    document.activeElement?.blur();
    edit.container.hidden = true;
    edit.container.replaceChildren();
    edit.container.onkeydown = null;
    edit = null;
  }

  function draw() {
    const selection = [Math.min(edit.anchor, edit.cursor), Math.max(edit.anchor, edit.cursor)];
    const marks = edit.spans.map((item, index) => ({ kind: "span", item, index, colour: colours[item.label] || "#ddd", focused: index === edit.focused }));
    renderSentence(edit.sentence, { text, u16, tokens, marks, cursor: edit.cursor, selection });
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

  function selected() {
    const [a, b] = [Math.min(edit.anchor, edit.cursor), Math.max(edit.anchor, edit.cursor)];
    return { start_char: tokens[a].start, end_char: tokens[b].end };
  }

  function label(name) {
    const span = { ...selected(), label: name, value: null };
    remember();
    const same = edit.spans.find((s) => s.start_char === span.start_char && s.end_char === span.end_char);
    if (same) {
      same.label = name;
      edit.focused = edit.spans.indexOf(same);
    } else {
      // A new span replaces those it overlaps, as one step to undo.
      edit.spans = [...edit.spans.filter((s) => !overlaps(s, span)), span].sort(byPosition);
      edit.focused = edit.spans.indexOf(span);
    }
    say("");
    draw();
  }

  function remove() {
    const where = selected();
    if (!edit.spans.some((s) => overlaps(s, where))) return say("No span there to delete.", true);
    remember();
    edit.spans = edit.spans.filter((s) => !overlaps(s, where));
    edit.focused = null;
    draw();
  }

  function undoRedo(which) {
    const from = which === "undo" ? edit.undo : edit.redo;
    const to = which === "undo" ? edit.redo : edit.undo;
    if (!from.length) return say(which === "undo" ? "Nothing to undo." : "Nothing to redo.");
    to.push(edit.spans.map((s) => ({ ...s })));
    edit.spans = from.pop();
    edit.focused = null;
    say(which === "undo" ? "Undone." : "");
    draw();
  }

  function key(event) {
    event.stopPropagation(); // the page's keys (a, b, d, e, Enter...) wait until the editor closes
    const k = event.key;
    if (k === "Escape") { event.preventDefault(); close(); cancel(); return; }
    if (event.target === edit.value) {
      if (k === "Enter") { event.preventDefault(); edit.focused = null; draw(); edit.sentence.focus(); }
      return;
    }
    if (event.target.closest("button")) return; // a focused button keeps its Enter and Space
    const ctrl = event.ctrlKey || event.metaKey;
    if (k === "z" || k === "Z") { event.preventDefault(); return undoRedo(k === "Z" || event.shiftKey ? "redo" : "undo"); }
    if (ctrl && k === "y") { event.preventDefault(); return undoRedo("redo"); }
    if (ctrl || event.altKey) return;
    // The labelling page's keys (keymap.js) for the commands the editor has; any other key may be a label's.
    const command = commandOf(event);
    if (command === "save") { event.preventDefault(); edit.use.click(); return; }
    if (command === "right" || command === "left" || command === "home" || command === "end") {
      event.preventDefault();
      const to = { right: edit.cursor + 1, left: edit.cursor - 1, home: 0, end: tokens.length - 1 }[command];
      edit.cursor = Math.min(tokens.length - 1, Math.max(0, to));
      if (!event.shiftKey) edit.anchor = edit.cursor;
      edit.focused = null;
      return draw();
    }
    if (command === "delete") { event.preventDefault(); return remove(); }
    const chosen = labelOfKey(numbered, k);
    if (chosen) { event.preventDefault(); label(chosen.name); }
  }

  return { open, close, isOpen: () => edit !== null };
}
