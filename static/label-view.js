// Drawing the labelling page from the state: the sentence with its marks, the span and
// suggestion lists, the span editor and the skip/flag form opened and closed, the source line
// and the progress counts. textContent only, never innerHTML.
// The list rows' buttons change spans, which label-spans.js does: label.js passes those
// functions in with setListActions(), so this module imports only the state below it.
import { incidentWords, spanKey } from "./incidents.js";
import { renderSentence } from "./sentence-view.js";
import { confidenceOf, overlaps, readableInk, sourceOf, spanText, suggestionKey, tagOf, tokenRange } from "./spans.js";
import {
  $, S, colourOf, focusSentence, kindOf, outcomes, pendingIncidentSuggestions, pendingSuggestions, regions, root, selection,
  sentenceEl, valueOptions,
} from "./label-state.js";

const listActions = {
  deleteSpan: () => {}, acceptSuggestion: () => {}, rejectSuggestion: () => {},
  deleteIncident: () => {}, acceptIncidentSuggestion: () => {}, rejectIncidentSuggestion: () => {},
};

/** The numbers (from 1) of the incidents span is in. */
const incidentNumbers = (span) => S.incidents.flatMap((incident, i) => (incident.spans.some((s) => spanKey(s) === spanKey(span)) ? [i + 1] : []));

/** A span's drawn tag: its label and value, then the numbers of its incidents ("COUNT · 17 · #1"). */
export function spanTag(span) {
  const numbers = incidentNumbers(span);
  return numbers.length ? `${tagOf(span)} · ${numbers.map((n) => `#${n}`).join(" ")}` : tagOf(span);
}

/** actions: {deleteSpan(span), acceptSuggestion(s), rejectSuggestion(s)}, run by the lists' buttons. */
export function setListActions(actions) {
  Object.assign(listActions, actions);
}

export function render() {
  if (!S.data) return;
  const pending = pendingSuggestions();
  if (S.focus !== null && !pending.some((s) => suggestionKey(s) === S.focus)) S.focus = null;
  const linking = new Set(S.linking ? S.linking.spans.map(spanKey) : []);
  const marks = S.spans.map((item, index) => ({
    kind: "span", item, index, colour: colourOf(item.label), tag: spanTag(item), className: linking.has(spanKey(item)) ? "linking" : "",
  }));
  // Suggestions that do not collide with a drawn one; the focused one is drawn first, then the
  // more confident. One that overlaps a drawn one is named in that one's tag ("or REGION?")
  // and gets its own mark when Tab highlights it.
  const ordered = [...pending].sort((a, b) => (suggestionKey(b) === S.focus) - (suggestionKey(a) === S.focus) || (b.score ?? 1) - (a.score ?? 1));
  const drawn = [];
  for (const s of ordered) {
    const under = drawn.find((d) => overlaps(d.item, s));
    if (under) { under.others.push(s); continue; }
    drawn.push({ item: s, others: [] });
  }
  for (const { item: s, others } of drawn) {
    const guess = (x) => `${x.label}${confidenceOf(x) ? ` ${confidenceOf(x)}` : ""}?`;
    const head = [s.label + (confidenceOf(s) ? ` ${confidenceOf(s)}` : ""), s.value].filter(Boolean).join(" · ");
    const tag = [`${head} ?`, ...others.map((o) => `or ${guess(o)}`)].join(" ");
    marks.push({
      kind: "suggestion", item: s, index: pending.indexOf(s), colour: colourOf(s.label), focused: suggestionKey(s) === S.focus,
      tag, className: others.length ? "alternatives" : "",
    });
  }
  renderSentence(sentenceEl, { text: S.text, u16: S.u16, tokens: S.tokens, marks, cursor: S.cursor, selection: selection() });
  // While words are selected, a narrow screen brings the label buttons to its bottom edge (label.css).
  root.classList.toggle("selecting", selection() !== null);
  renderSpanList();
  renderSuggestionList(pending);
  renderIncidentList();
  if (S.editing) positionEditor();
  else $("suggestion-pop").hidden = true;
}

function textSpan(className, text) {
  const el = document.createElement("span");
  el.className = className;
  el.textContent = text;
  return el;
}

function chip(label) {
  const el = textSpan("chip", label);
  el.style.setProperty("--c", colourOf(label));
  el.style.setProperty("--on-c", readableInk(colourOf(label)));
  return el;
}

function button(text, onClick, className = "", label = "") {
  const el = document.createElement("button");
  el.type = "button";
  el.textContent = text;
  if (label) { el.title = label; el.setAttribute("aria-label", label); }
  if (className) el.className = className;
  el.addEventListener("click", (event) => { event.stopPropagation(); onClick(); focusSentence(); });
  return el;
}

function actionsOf(...buttons) {
  const group = document.createElement("span");
  group.className = "row-actions";
  group.append(...buttons);
  return group;
}

/** A list row for a span or suggestion: label chip, quoted text, value. */
export function spanItem(span) {
  const li = document.createElement("li");
  li.append(chip(span.label));
  const quote = document.createElement("q");
  quote.textContent = spanText(S.text, S.u16, span);
  li.append(quote);
  const value = textSpan("value", span.value ? `→ ${span.value}` : "no value");
  if (!span.value) value.classList.add("muted");
  li.append(value);
  return li;
}

/** Clear list and set its count; with nothing to list, add a row saying so. */
function resetList(list, countEl, count, emptyText) {
  list.textContent = "";
  countEl.textContent = count ? String(count) : "";
  if (count) return;
  const li = document.createElement("li");
  li.className = "empty";
  li.textContent = emptyText;
  list.append(li);
}

export function renderSpanList() {
  const list = $("span-list");
  resetList(list, $("span-count"), S.spans.length, "None yet. Select words and press a label key.");
  S.spans.forEach((span) => {
    const li = spanItem(span);
    if (span.suggested) li.append(textSpan("badge", sourceOf(span) ? `suggested · ${sourceOf(span)}` : "suggested"));
    li.append(actionsOf(button("Edit", () => openEditor(span), "small"), button("×", () => listActions.deleteSpan(span), "small", "Delete span")));
    list.append(li);
  });
}

/** The incidents under the sentence: one row each ("17 · destroyed · Kaluga Oblast"), the one being built, the proposed ones. */
export function renderIncidentList() {
  const list = $("incident-list");
  if (!list) return;
  const proposed = pendingIncidentSuggestions();
  const rows = S.incidents.length + proposed.length + (S.linking ? 1 : 0);
  resetList(list, $("incident-count"), S.incidents.length, "None yet. Put the cursor on a span, press k, then the partners' label keys and Enter.");
  if (!rows) return;
  if (!S.incidents.length) list.textContent = "";
  const words = (incident) => incidentWords(incident, kindOf, (s) => spanText(S.text, S.u16, s)).join(" · ");
  S.incidents.forEach((incident, i) => {
    const li = document.createElement("li");
    li.className = "incident";
    li.append(textSpan("incident-number", String(i + 1)), textSpan("incident-words", words(incident)));
    li.append(actionsOf(button("×", () => listActions.deleteIncident(incident), "small", "Remove incident")));
    list.append(li);
  });
  if (S.linking) {
    const li = document.createElement("li");
    li.className = "incident building";
    li.append(textSpan("incident-number", "…"), textSpan("incident-words", words(S.linking)), textSpan("badge", "Enter closes"));
    list.append(li);
  }
  for (const incident of proposed) {
    const li = document.createElement("li");
    li.className = "incident proposed";
    li.append(textSpan("incident-number", "?"), textSpan("incident-words", words(incident)), textSpan("badge", "suggested"));
    li.append(actionsOf(
      button("Accept", () => listActions.acceptIncidentSuggestion(incident), "small"),
      button("×", () => listActions.rejectIncidentSuggestion(incident), "small", "Reject incident"),
    ));
    list.append(li);
  }
}

function renderSuggestionList(pending) {
  // Decided in the order of the sentence (y and n walk it left to right); the more confident first where two overlap.
  const list = $("suggestion-list");
  resetList(list, $("suggestion-count"), pending.length, S.suggestions.length ? "No suggestions left." : "No suggestions for this sentence.");
  for (const s of pending) {
    const li = spanItem(s);
    Object.assign(li.dataset, { start: String(s.start_char), end: String(s.end_char), label: s.label });
    if (suggestionKey(s) === S.focus) li.classList.add("focused");
    if (confidenceOf(s)) li.append(textSpan("confidence", confidenceOf(s)));
    if (pending.some((o) => o !== s && overlaps(o, s))) li.append(textSpan("badge overlap", "overlaps another"));
    li.append(textSpan("badge", sourceOf(s) || "suggested"), actionsOf(button("Accept", () => listActions.acceptSuggestion(s), "small"), button("×", () => listActions.rejectSuggestion(s), "small", "Reject suggestion")));
    list.append(li);
  }
}

export function renderSource(sentence) {
  const el = $("source");
  el.textContent = `Report ${sentence.report_number} · sentence ${sentence.position + 1}`;
  if (sentence.source) {
    el.append(" · ");
    if (/^https?:\/\//i.test(sentence.source)) {
      const a = document.createElement("a");
      a.href = sentence.source;
      a.rel = "noopener noreferrer";
      a.target = "_blank";
      a.textContent = sentence.source;
      el.append(a);
    } else {
      el.append(document.createTextNode(sentence.source));
    }
  }
}

export function renderProgress() {
  const p = S.progress || {};
  $("mine-done").textContent = String(p.mine_done ?? 0);
  $("mine-flagged").textContent = String(p.mine_flagged ?? 0);
  $("mine-skipped").textContent = String(p.mine_skipped ?? 0);
  $("project-complete").textContent = String(p.project_complete ?? 0);
  $("project-sentences").textContent = String(p.project_sentences ?? 0);
  const bar = $("project-progress");
  bar.max = p.project_sentences || 1;
  bar.value = p.project_complete || 0;
}

// ---------------------------------------------------------------- the span editor popover

export function openEditor(span) {
  $("suggestion-pop").hidden = true;
  // A retired label is offered for no new span, but a span that has it keeps it: list it for this one.
  const choices = $("editor-label");
  for (const option of Array.from(choices.options)) if (option.dataset.retired) option.remove();
  if (!Array.from(choices.options).some((o) => o.value === span.label)) {
    const option = new Option(span.label, span.label);
    option.dataset.retired = "1";
    choices.append(option);
  }
  S.editing = span;
  S.editUndoPushed = false;
  const range = tokenRange(S.tokens, span.start_char, span.end_char);
  if (range) S.cursor = range[0];
  S.anchor = null;
  render();
  $("editor").hidden = false;
  // All of it in view (on a phone it opens near the bottom edge), then the label without a second scroll.
  $("editor").scrollIntoView({ block: "nearest" });
  $("editor-label").focus({ preventScroll: true });
}

export function closeEditor() {
  S.editing = null;
  $("editor").hidden = true;
}

/** Place popup just below mark, kept inside the page's width. */
export function positionNear(popup, mark) {
  const box = mark.getBoundingClientRect();
  popup.style.top = `${box.bottom + window.scrollY + 8}px`;
  popup.style.left = `${Math.max(8, Math.min(box.left + window.scrollX, document.documentElement.clientWidth - popup.offsetWidth - 8))}px`;
}

/** The value field's list of offered values for a label of kind: option values only, set as text, never HTML. */
function fillValueOptions(kind) {
  const list = $("editor-value-options");
  if (list.dataset.kind === kind) return;
  list.dataset.kind = kind;
  list.replaceChildren(...valueOptions(kind, { regions, outcomes }).map((value) => {
    const option = document.createElement("option");
    option.value = value;
    return option;
  }));
}

/** Fill the editor from the span being edited and put it under the span's mark. */
export function positionEditor() {
  const span = S.editing;
  const index = S.spans.indexOf(span);
  const mark = sentenceEl.querySelector(`mark.span[data-index="${index}"]`);
  if (index < 0 || !mark) return closeEditor();
  const editor = $("editor");
  $("editor-text").textContent = spanText(S.text, S.u16, span);
  $("editor-label").value = span.label;
  // A category label picks its value from the vocabulary; other kinds type it.
  const isOutcome = kindOf(span.label) === "category" && outcomes.length;
  $("editor-value").hidden = !!isOutcome;
  $("editor-outcome").hidden = !isOutcome;
  if (isOutcome) {
    const select = $("editor-outcome");
    // A stored value outside the vocabulary is still shown, so it is not lost silently.
    if (span.value && !outcomes.includes(span.value) && !Array.from(select.options).some((o) => o.value === span.value)) {
      select.append(new Option(span.value, span.value));
    }
    select.value = span.value || "";
  } else if (document.activeElement !== $("editor-value")) {
    $("editor-value").value = span.value || "";
  }
  fillValueOptions(kindOf(span.label));
  // Docked in the page's flow (below the sentence) it covers nothing; a floating one goes under the span.
  if (!editor.classList.contains("docked")) positionNear(editor, mark);
}

// ---------------------------------------------------------------- skip / flag form

export function askReason(kind) {
  if (!S.data) return;
  S.reason = kind;
  $("reason-label").textContent = kind === "skipped" ? "Why skip this sentence? (optional)" : "What should a reviewer look at?";
  $("reason-submit").textContent = kind === "skipped" ? "Skip" : "Flag";
  $("reason-input").value = "";
  // A skip needs no reason (Enter on an empty field skips); a flag tells the reviewer what to look at.
  $("reason-input").required = kind === "flagged";
  $("reason-form").hidden = false;
  $("reason-input").focus();
}

export function hideReason() {
  S.reason = null;
  $("reason-form").hidden = true;
}
