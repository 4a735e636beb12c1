// Drawing the labelling page from the state: the sentence with its marks, the span and
// suggestion lists, the source line and the progress counts. textContent only, never innerHTML.
import { confidenceOf, overlaps, readableInk, renderSentence, spanText } from "./sentence-view.js";
import { $, S, colourOf, focusSentence, pendingSuggestions, selection, sentenceEl, suggestionKey } from "./label-state.js";
import { openEditor, positionEditor } from "./label-editor.js";
import { acceptSuggestion, deleteSpan, rejectSuggestion } from "./label-spans.js";

export function render() {
  if (!S.data) return;
  const pending = pendingSuggestions();
  if (S.focus !== null && !pending.some((s) => suggestionKey(s) === S.focus)) S.focus = null;
  const marks = S.spans.map((item, index) => ({ kind: "span", item, index, colour: colourOf(item.label) }));
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
  renderSpanList();
  renderSuggestionList(pending);
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
    if (span.suggested) li.append(textSpan("badge", "suggested"));
    li.append(actionsOf(button("Edit", () => openEditor(span), "small"), button("×", () => deleteSpan(span), "small", "Delete span")));
    list.append(li);
  });
}

function renderSuggestionList(pending) {
  // Decided in the order of the sentence (y and n walk it left to right); the more confident first where two overlap.
  const list = $("suggestion-list");
  resetList(list, $("suggestion-count"), pending.length, "No suggestions left.");
  for (const s of pending) {
    const li = spanItem(s);
    Object.assign(li.dataset, { start: String(s.start_char), end: String(s.end_char), label: s.label });
    if (suggestionKey(s) === S.focus) li.classList.add("focused");
    if (confidenceOf(s)) li.append(textSpan("confidence", confidenceOf(s)));
    if (pending.some((o) => o !== s && overlaps(o, s))) li.append(textSpan("badge overlap", "overlaps another"));
    li.append(textSpan("badge", s.source || "suggested"), actionsOf(button("Accept", () => acceptSuggestion(s), "small"), button("×", () => rejectSuggestion(s), "small", "Reject suggestion")));
    list.append(li);
  }
}

export function renderSource(sentence) {
  const el = $("source");
  el.textContent = `Report ${sentence.report_id} · sentence ${sentence.position + 1}`;
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
