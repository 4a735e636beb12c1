// The labelling page: load a sentence through the API, label it with mouse or keys, save it.
// Offsets in S.spans / S.tokens are Python code points (what the API stores);
// S.u16 maps them to the UTF-16 indices the DOM uses.
import { getJSON, putWithRetry } from "./api.js";
import { codePointToUtf16 } from "./offsets.js";
import { boundaryOffset, overlaps, renderContext, renderSentence, spanText, tagOf, tokenRange } from "./sentence-view.js";
import { createDrafts } from "./drafts.js";

const root = document.getElementById("labeller");
const $ = (id) => document.getElementById(id);
const urls = JSON.parse(root.dataset.urls);
const outcomes = JSON.parse(root.dataset.outcomes);
const labels = Array.from(document.querySelectorAll("#legend .label-chip")).map((el) => ({
  name: el.dataset.label, colour: el.dataset.colour, key: el.dataset.key, number: el.dataset.number, el,
}));
const colourOf = (name) => (labels.find((l) => l.name === name) || { colour: "#ccc" }).colour;
const sentenceEl = $("sentence");
const drafts = createDrafts(root.dataset.user);

const S = {
  data: null, text: "", u16: [0], tokens: [], spans: [], suggestions: [], rejected: new Set(),
  focus: null, cursor: null, anchor: null, undo: [], redo: [], version: null, stored: null,
  editing: null, editUndoPushed: false, saving: false, reason: null, retry: null,
  elapsed: 0, shownAt: performance.now(), progress: JSON.parse(root.dataset.progress),
  history: null, historyIndex: -1, loading: false,
};

// ---------------------------------------------------------------- helpers

const suggestionKey = (s) => `${s.start_char}:${s.end_char}:${s.label}`;
const clean = (s) => ({ start_char: s.start_char, end_char: s.end_char, label: s.label, value: s.value || null, suggested: !!s.suggested });
const sortSpans = () => S.spans.sort((a, b) => a.start_char - b.start_char || a.end_char - b.end_char);
const selection = () => (S.anchor === null || S.cursor === null ? null : [Math.min(S.anchor, S.cursor), Math.max(S.anchor, S.cursor)]);

function pendingSuggestions() {
  const seen = new Set();
  return S.suggestions.filter((s) => {
    const key = suggestionKey(s);
    if (seen.has(key) || S.rejected.has(key) || S.spans.some((span) => overlaps(span, s))) return false;
    seen.add(key);
    return true;
  });
}

function spanAtToken(i) {
  if (i === null || !S.tokens[i]) return null;
  const t = S.tokens[i];
  return S.spans.find((s) => s.start_char < t.end && s.end_char > t.start) || null;
}

function setStatus(kind, message) {
  const el = $("save-status");
  el.textContent = message;
  el.dataset.kind = kind;
  $("retry").hidden = !S.retry;
}

function hint(message) {
  setStatus("hint", message);
}

function elapsedSeconds() {
  const running = document.hidden ? 0 : performance.now() - S.shownAt;
  return Math.round((S.elapsed + running) / 100) / 10;
}

document.addEventListener("visibilitychange", () => {
  // Only time the page is visible counts as time spent.
  if (document.hidden) S.elapsed += performance.now() - S.shownAt;
  else S.shownAt = performance.now();
});

setInterval(() => {
  const s = Math.floor(elapsedSeconds());
  $("timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}, 1000);

// ---------------------------------------------------------------- state changes, undo, drafts

function snapshot() {
  return { spans: S.spans.map((s) => ({ ...s })), rejected: [...S.rejected] };
}

function pushUndo() {
  S.undo.push(snapshot());
  if (S.undo.length > 200) S.undo.shift();
  S.redo = [];
}

function restore(state) {
  S.spans = state.spans.map((s) => ({ ...s }));
  S.rejected = new Set(state.rejected);
  closeEditor();
  changed();
}

function undo() {
  if (!S.undo.length) return hint("Nothing to undo.");
  S.redo.push(snapshot());
  restore(S.undo.pop());
  hint("Undone.");
}

function redo() {
  if (!S.redo.length) return hint("Nothing to redo.");
  S.undo.push(snapshot());
  restore(S.redo.pop());
}

/**
 * After any edit: keep a draft in this browser, redraw. A change of values only (valuesOnly)
 * updates the tags in place, so a value arriving mid-drag does not wipe the mouse selection.
 */
function changed(valuesOnly = false) {
  if (S.data) {
    drafts.save(S.data.sentence.id, { spans: S.spans.map(clean), rejected: [...S.rejected], base_version: S.version });
    if (!S.saving) {
      S.retry = null;
      setStatus("dirty", "Unsaved changes (kept in this browser)");
    }
  }
  if (!valuesOnly) return render();
  for (const mark of sentenceEl.querySelectorAll("mark.span")) {
    const span = S.spans[Number(mark.dataset.index)];
    if (span) mark.dataset.tag = tagOf(span);
  }
  renderSpanList();
}

// ---------------------------------------------------------------- rendering

function render() {
  if (!S.data) return;
  const pending = pendingSuggestions();
  if (S.focus !== null && !pending.some((s) => suggestionKey(s) === S.focus)) S.focus = null;
  const marks = S.spans.map((item, index) => ({ kind: "span", item, index, colour: colourOf(item.label) }));
  // Suggestions that do not collide with a drawn one; the focused one is drawn first.
  const ordered = [...pending].sort((a, b) => (suggestionKey(b) === S.focus) - (suggestionKey(a) === S.focus));
  const drawn = [];
  for (const s of ordered) {
    if (drawn.some((d) => overlaps(d, s))) continue;
    drawn.push(s);
    marks.push({ kind: "suggestion", item: s, index: pending.indexOf(s), colour: colourOf(s.label), focused: suggestionKey(s) === S.focus });
  }
  renderSentence(sentenceEl, { text: S.text, u16: S.u16, tokens: S.tokens, marks, cursor: S.cursor, selection: selection() });
  renderSpanList();
  renderSuggestionList(pending);
  if (S.editing) positionEditor();
  else $("suggestion-pop").hidden = true;
}

function chip(label) {
  const el = document.createElement("span");
  el.className = "chip";
  el.textContent = label;
  el.style.setProperty("--c", colourOf(label));
  return el;
}

function button(text, onClick, className = "", label = "") {
  const el = document.createElement("button");
  el.type = "button";
  el.textContent = text;
  if (label) { el.title = label; el.setAttribute("aria-label", label); }
  if (className) el.className = className;
  el.addEventListener("click", (event) => { event.stopPropagation(); onClick(); sentenceEl.focus({ preventScroll: true }); });
  return el;
}

function actionsOf(...buttons) {
  const group = document.createElement("span");
  group.className = "row-actions";
  group.append(...buttons);
  return group;
}

function spanItem(span) {
  const li = document.createElement("li");
  li.append(chip(span.label));
  const quote = document.createElement("q");
  quote.textContent = spanText(S.text, S.u16, span);
  li.append(quote);
  const value = document.createElement("span");
  value.className = "value";
  value.textContent = span.value ? `→ ${span.value}` : "no value";
  if (!span.value) value.classList.add("muted");
  li.append(value);
  return li;
}

function renderSpanList() {
  const list = $("span-list");
  list.textContent = "";
  $("span-count").textContent = S.spans.length ? String(S.spans.length) : "";
  if (!S.spans.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "None yet. Select words and press a label key.";
    list.append(li);
  }
  S.spans.forEach((span) => {
    const li = spanItem(span);
    if (span.suggested) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "suggested";
      li.append(badge);
    }
    li.append(actionsOf(button("Edit", () => openEditor(span), "small"), button("×", () => deleteSpan(span), "small", "Delete span")));
    list.append(li);
  });
}

function renderSuggestionList(pending) {
  const list = $("suggestion-list");
  list.textContent = "";
  $("suggestion-count").textContent = pending.length ? String(pending.length) : "";
  if (!pending.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "No suggestions left.";
    list.append(li);
  }
  for (const s of pending) {
    const li = spanItem(s);
    if (suggestionKey(s) === S.focus) li.classList.add("focused");
    const source = document.createElement("span");
    source.className = "badge";
    source.textContent = s.source || "suggested";
    li.append(source, actionsOf(button("Accept", () => acceptSuggestion(s), "small"), button("×", () => rejectSuggestion(s), "small", "Reject suggestion")));
    list.append(li);
  }
}

function renderSource(sentence) {
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

function renderProgress() {
  const p = S.progress || {};
  $("mine-done").textContent = String(p.mine_done ?? 0);
  $("project-complete").textContent = String(p.project_complete ?? 0);
  $("project-sentences").textContent = String(p.project_sentences ?? 0);
  const bar = $("project-progress");
  bar.max = p.project_sentences || 1;
  bar.value = p.project_complete || 0;
}

// ---------------------------------------------------------------- loading

function show(data, mode) {
  S.data = data;
  const sentence = data.sentence;
  S.text = sentence.text;
  S.u16 = codePointToUtf16(sentence.text);
  S.tokens = sentence.tokens.map((t) => ({ start: t.start_char, end: t.end_char }));
  S.stored = data.annotation;
  S.version = data.annotation ? data.annotation.version : null;
  S.spans = data.annotation ? data.annotation.spans.map((s) => ({ ...s })) : [];
  S.suggestions = data.suggestions || [];
  // A sentence already annotated has had its suggestions looked at: do not offer them again.
  S.rejected = new Set(data.annotation ? S.suggestions.map(suggestionKey) : []);
  S.cursor = null; S.anchor = null; S.focus = null; S.undo = []; S.redo = [];
  S.elapsed = 0; S.shownAt = performance.now(); S.retry = null;
  if (data.progress) S.progress = data.progress;
  closeEditor();
  hideReason();
  $("conflict").hidden = true;
  $("all-done").hidden = true;
  root.classList.remove("finished");
  renderContext($("context-before"), sentence.context && sentence.context.before);
  renderContext($("context-after"), sentence.context && sentence.context.after);
  renderSource(sentence);
  renderProgress();
  const modeEl = $("mode");
  modeEl.hidden = true;
  if (mode === "revisit" && data.annotation) {
    modeEl.hidden = false;
    modeEl.textContent = `Revisiting a sentence you marked ${data.annotation.status}. Enter saves your corrections.`;
  }
  const draft = drafts.load(sentence.id);
  if (draft && !sameSpans(draft.spans, S.spans)) {
    S.spans = draft.spans.map((s) => ({ ...s }));
    S.rejected = new Set(draft.rejected || []);
    S.version = draft.base_version ?? S.version;
    modeEl.hidden = false;
    modeEl.textContent = "Restored your unsaved changes from this browser.";
    setStatus("dirty", "Unsaved changes (kept in this browser)");
  } else {
    if (draft) drafts.remove(sentence.id);
    setStatus("idle", data.annotation ? `Saved earlier as ${data.annotation.status}` : "");
  }
  sentenceEl.setAttribute("aria-busy", "false");
  render();
  sentenceEl.focus({ preventScroll: true });
  if (sentenceEl.textContent !== S.text) console.error("rendered text differs from the sentence");
}

async function showAllDone() {
  S.data = null;
  root.classList.add("finished");
  $("all-done").hidden = false;
  setStatus("idle", "");
  history.replaceState(null, "", urls.label);
  try {
    const { status, data } = await getJSON(urls.progress);
    if (status === 200 && data) S.progress = data;
  } catch { /* keep the counts we have */ }
  const p = S.progress || {};
  const mine = p.mine_done ?? 0;
  $("all-done-progress").textContent = `You have annotated ${mine} ${mine === 1 ? "sentence" : "sentences"} here; the project has ${p.project_complete ?? 0} of ${p.project_sentences ?? 0} complete.`;
  renderProgress();
}

async function load(url, mode) {
  if (S.loading) return;
  S.loading = true;
  sentenceEl.setAttribute("aria-busy", "true");
  try {
    const { status, data } = await getJSON(url);
    if (status === 204) return showAllDone();
    if (status === 200 && data && data.sentence) {
      history.replaceState(null, "", mode === "revisit" ? urls.revisit + data.sentence.id : urls.label);
      return show(data, mode);
    }
    S.retry = () => load(url, mode);
    setStatus("error", `Could not load the sentence: ${(data && data.message) || `error ${status}`}`);
  } catch {
    S.retry = () => load(url, mode);
    setStatus("error", "Could not load the sentence: no connection. Retry when you are back online.");
  } finally {
    S.loading = false;
  }
}

const loadNext = () => load(urls.next, "next");
const loadSentence = (id) => load(urls.sentence + id, "revisit");

async function previous() {
  if (S.saving) return;
  try {
    if (!S.history) {
      const { status, data } = await getJSON(urls.history);
      if (status !== 200 || !Array.isArray(data)) return hint("Could not load your history.");
      S.history = data;
    }
  } catch {
    return hint("Could not load your history: no connection.");
  }
  const current = S.data ? S.data.sentence.id : null;
  let index = S.historyIndex + 1;
  while (index < S.history.length && S.history[index].sentence_id === current) index += 1;
  if (index >= S.history.length) return hint("No earlier sentences to go back to.");
  S.historyIndex = index;
  await loadSentence(S.history[index].sentence_id);
}

// ---------------------------------------------------------------- labelling

function labelSelection(name) {
  if (!S.data) return;
  const sel = selection() || (S.cursor !== null ? [S.cursor, S.cursor] : null);
  if (!sel) return hint("Select words first: drag over them, or use ← → and Shift.");
  if (S.anchor === null) {
    const existing = spanAtToken(S.cursor);
    if (existing) {
      if (existing.label === name) return;
      pushUndo();
      existing.label = name;
      existing.suggested = false;
      prefillValue(existing, true);
      return changed();
    }
  }
  const span = { start_char: S.tokens[sel[0]].start, end_char: S.tokens[sel[1]].end, label: name, value: null, suggested: false };
  pushUndo();
  S.spans = S.spans.filter((s) => !overlaps(s, span));
  S.spans.push(span);
  sortSpans();
  S.anchor = null;
  S.cursor = sel[1];
  prefillValue(span, true);
  changed();
}

/** Ask the server for the normalised value; fill it in if the annotator has not typed one meanwhile. */
async function prefillValue(span, force) {
  if (!force && span.value) return;
  span.autoValue = true;
  span.value = null;
  const query = new URLSearchParams({ label: span.label, text: spanText(S.text, S.u16, span) });
  // Tags widen when the value arrives; tests (and curious people) can wait for data-pending to go.
  S.pendingValues = (S.pendingValues || 0) + 1;
  root.dataset.pending = "values";
  try {
    const { status, data } = await getJSON(`${urls.normalise}?${query}`);
    if (status === 200 && data && span.autoValue && S.spans.includes(span)) {
      span.value = data.value;
      changed(true);
      if (S.editing === span) positionEditor();
    }
  } catch { /* the value stays empty; the annotator can type it */ } finally {
    S.pendingValues -= 1;
    if (!S.pendingValues) delete root.dataset.pending;
  }
}

function deleteSpan(span) {
  if (!span) return hint("No span here to delete.");
  pushUndo();
  S.spans = S.spans.filter((s) => s !== span);
  if (S.editing === span) closeEditor();
  changed();
}

function deleteAtCursor() {
  if (S.editing) return deleteSpan(S.editing);
  const sel = selection();
  if (sel) {
    const range = { start_char: S.tokens[sel[0]].start, end_char: S.tokens[sel[1]].end };
    const hit = S.spans.filter((s) => overlaps(s, range));
    if (!hit.length) return hint("No span in the selection.");
    pushUndo();
    S.spans = S.spans.filter((s) => !hit.includes(s));
    S.anchor = null;
    return changed();
  }
  deleteSpan(spanAtToken(S.cursor));
}

function moveCursor(delta, extend, absolute = null) {
  if (!S.tokens.length) return;
  if (extend && S.anchor === null) S.anchor = S.cursor ?? 0;
  if (!extend) S.anchor = null;
  let next = absolute !== null ? absolute : S.cursor === null ? (delta > 0 ? 0 : S.tokens.length - 1) : S.cursor + delta;
  next = Math.max(0, Math.min(S.tokens.length - 1, next));
  S.cursor = next;
  closeEditor();
  render();
}

// ---------------------------------------------------------------- suggestions

function cycleSuggestion(delta) {
  const pending = pendingSuggestions();
  if (!pending.length) return hint("No suggestions left.");
  const at = pending.findIndex((s) => suggestionKey(s) === S.focus);
  const next = at < 0 ? (delta > 0 ? 0 : pending.length - 1) : (at + delta + pending.length) % pending.length;
  S.focus = suggestionKey(pending[next]);
  const range = tokenRange(S.tokens, pending[next].start_char, pending[next].end_char);
  if (range) S.cursor = range[0];
  S.anchor = null;
  closeEditor();
  render();
}

function focusedSuggestion() {
  return pendingSuggestions().find((s) => suggestionKey(s) === S.focus) || null;
}

function acceptSuggestion(s) {
  if (!s) return hint("Press Tab to pick a suggestion first.");
  pushUndo();
  S.spans.push({ start_char: s.start_char, end_char: s.end_char, label: s.label, value: s.value ?? null, suggested: true });
  sortSpans();
  advanceFocus(s);
  changed();
}

function rejectSuggestion(s) {
  if (!s) return hint("Press Tab to pick a suggestion first.");
  pushUndo();
  S.rejected.add(suggestionKey(s));
  advanceFocus(s);
  changed();
}

function advanceFocus(done) {
  const pending = pendingSuggestions().filter((s) => s !== done && !overlaps(s, done));
  S.focus = pending.length ? suggestionKey(pending[0]) : null;
  $("suggestion-pop").hidden = true;
}

function acceptAll() {
  const pending = pendingSuggestions();
  if (!pending.length) return hint("No suggestions left.");
  pushUndo();
  for (const s of pending) {
    if (S.spans.some((span) => overlaps(span, s))) continue;  // two suggestions for one place: the first wins
    S.spans.push({ start_char: s.start_char, end_char: s.end_char, label: s.label, value: s.value ?? null, suggested: true });
  }
  sortSpans();
  S.focus = null;
  changed();
}

// ---------------------------------------------------------------- span editor

function openEditor(span) {
  $("suggestion-pop").hidden = true;
  S.editing = span;
  S.editUndoPushed = false;
  const range = tokenRange(S.tokens, span.start_char, span.end_char);
  if (range) S.cursor = range[0];
  S.anchor = null;
  render();
  $("editor").hidden = false;
  $("editor-label").focus();
}

function closeEditor() {
  S.editing = null;
  $("editor").hidden = true;
}

function positionNear(popup, mark) {
  const box = mark.getBoundingClientRect();
  popup.style.top = `${box.bottom + window.scrollY + 8}px`;
  popup.style.left = `${Math.max(8, Math.min(box.left + window.scrollX, document.documentElement.clientWidth - popup.offsetWidth - 8))}px`;
}

function positionEditor() {
  const span = S.editing;
  const index = S.spans.indexOf(span);
  const mark = sentenceEl.querySelector(`mark.span[data-index="${index}"]`);
  if (index < 0 || !mark) return closeEditor();
  const editor = $("editor");
  $("editor-text").textContent = spanText(S.text, S.u16, span);
  $("editor-label").value = span.label;
  const isOutcome = span.label === "OUTCOME" && outcomes.length;
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
  positionNear(editor, mark);
}

function editSpan(mutate, valuesOnly = false) {
  const span = S.editing;
  if (!span) return;
  if (!S.editUndoPushed) { pushUndo(); S.editUndoPushed = true; }
  mutate(span);
  changed(valuesOnly);
}

$("editor-label").addEventListener("change", (event) => {
  S.editUndoPushed = false;
  editSpan((span) => { span.label = event.target.value; span.suggested = false; });
  if (S.editing) prefillValue(S.editing, S.editing.autoValue || !S.editing.value);
});
$("editor-value").addEventListener("input", (event) => editSpan((span) => { span.value = event.target.value || null; span.autoValue = false; }, true));
$("editor-outcome").addEventListener("change", (event) => editSpan((span) => { span.value = event.target.value || null; span.autoValue = false; }, true));

function moveEdge(edge) {
  const span = S.editing;
  if (!span) return;
  const range = tokenRange(S.tokens, span.start_char, span.end_char);
  if (!range) return;
  let [first, last] = range;
  if (edge === "extend-left") first -= 1;
  if (edge === "extend-right") last += 1;
  if (edge === "shrink-left") first += 1;
  if (edge === "shrink-right") last -= 1;
  if (first < 0 || last >= S.tokens.length) return hint("The span is already at the edge of the sentence.");
  if (first > last) return hint("A span needs at least one word; delete it instead.");
  const moved = { start_char: S.tokens[first].start, end_char: S.tokens[last].end };
  if (S.spans.some((s) => s !== span && overlaps(s, moved))) return hint("That would overlap another span.");
  S.editUndoPushed = false;
  editSpan((s) => { s.start_char = moved.start_char; s.end_char = moved.end_char; s.suggested = false; });
  prefillValue(span, span.autoValue || !span.value);
}

$("editor").addEventListener("click", (event) => {
  const edge = event.target.closest("[data-edge]");
  if (edge) moveEdge(edge.dataset.edge);
});

// ---------------------------------------------------------------- saving

function sameSpans(a, b) {
  const key = (s) => `${s.start_char}:${s.end_char}:${s.label}:${s.value || ""}`;
  const left = (a || []).map(key).sort();
  const right = (b || []).map(key).sort();
  return left.length === right.length && left.every((k, i) => k === right[i]);
}

function sameAnnotation(stored, body) {
  return stored && stored.status === body.status && (stored.comment || "") === (body.comment || "") && sameSpans(stored.spans, body.spans);
}

async function save(status, comment = null) {
  if (!S.data || S.saving) return;
  closeEditor();
  const sentence = S.data.sentence;
  const body = { status, spans: S.spans.map(clean), comment, seconds_spent: elapsedSeconds(), base_version: S.version };
  S.saving = true;
  S.retry = null;
  setStatus("saving", "Saving…");
  const control = {};
  S.retry = null;
  const answer = await putWithRetry(`${urls.sentence}${sentence.id}/annotation`, body, {
    control,
    onRetry: (attempt, delay) => {
      S.retry = () => control.retryNow && control.retryNow();
      setStatus("error", `Not saved — retrying in ${Math.round(delay / 1000)} s (attempt ${attempt + 1})`);
    },
  });
  S.saving = false;
  S.retry = null;
  const data = answer.data || {};
  if (answer.status === 200 && data.annotation) return saved(sentence.id, data.annotation, body);
  if (answer.status === 409 && data.current && sameAnnotation(data.current, body)) {
    // Our earlier attempt did land; its answer was lost on the way back.
    return saved(sentence.id, data.current, body);
  }
  if (answer.status === 409) return showConflict(data.current || { status: "nothing stored", spans: [], version: null }, body);
  if (answer.status === 422) {
    const details = (data.details || []).map((d) => d.problem).filter(Boolean).join("; ");
    return setStatus("error", `Not saved — ${data.message || "the spans are not valid"}${details ? `: ${details}` : ""}`);
  }
  S.retry = () => save(status, comment);
  if (answer.status === 0 || answer.status >= 500) return setStatus("error", "Not saved — retry (your work is still here)");
  if (answer.status === 401) return setStatus("error", "Not saved — your session ended. Log in again in another tab, then retry.");
  setStatus("error", `Not saved — ${data.message || `error ${answer.status}`}`);
}

function saved(sentenceId, annotation, body) {
  drafts.remove(sentenceId);
  if (S.version === null && S.progress) S.progress.mine_done = (S.progress.mine_done || 0) + 1;
  S.version = annotation.version;
  S.stored = annotation;
  S.history = null;
  S.historyIndex = -1;
  setStatus("saved", body.status === "done" ? "Saved" : `Saved as ${body.status}`);
  loadNext();
}

function showConflict(current, body) {
  const fill = (list, spans, status) => {
    list.textContent = "";
    const head = document.createElement("li");
    head.className = "muted";
    head.textContent = `status: ${status}`;
    list.append(head);
    for (const span of spans) list.append(spanItem(span));
  };
  fill($("conflict-stored"), current.spans || [], current.status);
  fill($("conflict-mine"), body.spans, body.status);
  const box = $("conflict");
  box.hidden = false;
  S.conflict = { current, body };
  setStatus("error", "Not saved — someone saved this sentence meanwhile; choose a version.");
  box.querySelector("[data-action=keep-mine]").focus();
}

function resolveConflict(keepMine) {
  const { current, body } = S.conflict || {};
  if (!current) return;
  $("conflict").hidden = true;
  S.conflict = null;
  S.version = current.version;
  if (keepMine) return save(body.status, body.comment);
  pushUndo();
  S.spans = current.spans.map((s) => ({ ...s }));
  S.stored = current;
  drafts.remove(S.data.sentence.id);
  render();
  setStatus("idle", "Took the stored version. Press Enter to accept it as it is.");
  sentenceEl.focus({ preventScroll: true });
}

// ---------------------------------------------------------------- skip / flag form

function askReason(kind) {
  if (!S.data) return;
  S.reason = kind;
  $("reason-label").textContent = kind === "skipped" ? "Why skip this sentence?" : "What should a reviewer look at?";
  $("reason-submit").textContent = kind === "skipped" ? "Skip" : "Flag";
  $("reason-input").value = "";
  $("reason-form").hidden = false;
  $("reason-input").focus();
}

function hideReason() {
  S.reason = null;
  $("reason-form").hidden = true;
}

$("reason-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const comment = $("reason-input").value.trim();
  if (!comment) return $("reason-input").focus();
  const kind = S.reason;
  hideReason();
  sentenceEl.focus({ preventScroll: true });
  save(kind, comment);
});

// ---------------------------------------------------------------- overlays

function toggleHelp(force) {
  const help = $("help");
  help.hidden = force === undefined ? !help.hidden : !force;
  if (!help.hidden) help.querySelector(".close").focus();
  else sentenceEl.focus({ preventScroll: true });
}

function escape() {
  if (!$("help").hidden) return toggleHelp(false);
  if (!$("reason-form").hidden) { hideReason(); return sentenceEl.focus({ preventScroll: true }); }
  if (S.editing) { closeEditor(); render(); return sentenceEl.focus({ preventScroll: true }); }
  if (!$("suggestion-pop").hidden) { $("suggestion-pop").hidden = true; return; }
  S.anchor = null;
  S.focus = null;
  window.getSelection().removeAllRanges();
  render();
}

// ---------------------------------------------------------------- mouse

document.addEventListener("mouseup", (event) => {
  if (!S.data || event.button !== 0) return;
  const sel = window.getSelection();
  if (sel.rangeCount && !sel.isCollapsed) {
    const range = sel.getRangeAt(0);
    if (!range.intersectsNode(sentenceEl)) return;
    const from = boundaryOffset(sentenceEl, range.startContainer, range.startOffset);
    const to = boundaryOffset(sentenceEl, range.endContainer, range.endOffset);
    sel.removeAllRanges();
    // Any token the selection touches is included: snap outwards to whole tokens.
    const hit = [];
    S.tokens.forEach((t, i) => { if (S.u16[t.start] < to && S.u16[t.end] > from) hit.push(i); });
    if (!hit.length) return;
    S.anchor = hit[0];
    S.cursor = hit[hit.length - 1];
    closeEditor();
    render();
    sentenceEl.focus({ preventScroll: true });
    return;
  }
  if (!sentenceEl.contains(event.target)) return;
  const mark = event.target.closest("mark");
  const token = event.target.closest(".tok");
  if (mark && mark.dataset.kind === "span") {
    openEditor(S.spans[Number(mark.dataset.index)]);
    return;
  }
  if (mark && mark.dataset.kind === "suggestion") {
    const s = pendingSuggestions()[Number(mark.dataset.index)];
    S.focus = suggestionKey(s);
    closeEditor();
    render();
    const pop = $("suggestion-pop");
    $("suggestion-pop-text").textContent = `${spanText(S.text, S.u16, s)} — ${tagOf(s)}`;
    pop.hidden = false;
    positionNear(pop, sentenceEl.querySelector("mark.suggestion.focused") || mark);
    sentenceEl.focus({ preventScroll: true });
    return;
  }
  closeEditor();
  if (token) {
    S.cursor = Number(token.dataset.i);
    S.anchor = S.cursor;
  } else {
    S.anchor = null;
  }
  render();
  sentenceEl.focus({ preventScroll: true });
});

// Clicks on the page's buttons (data-action) and on the label legend.
root.addEventListener("click", (event) => {
  const chipButton = event.target.closest(".label-chip");
  if (chipButton) { labelSelection(chipButton.dataset.label); return sentenceEl.focus({ preventScroll: true }); }
  const action = event.target.closest("[data-action]");
  if (!action) return;
  const act = action.dataset.action;
  const actions = {
    accept: () => save("done"), skip: () => askReason("skipped"), flag: () => askReason("flagged"),
    undo, previous, help: () => toggleHelp(), "cancel-reason": escape, "close-editor": escape,
    "delete-span": () => deleteSpan(S.editing), "keep-mine": () => resolveConflict(true), "take-stored": () => resolveConflict(false),
    "accept-suggestion": () => acceptSuggestion(focusedSuggestion()), "reject-suggestion": () => rejectSuggestion(focusedSuggestion()),
  };
  if (actions[act]) {
    actions[act]();
    if (!["skip", "flag", "help", "keep-mine"].includes(act) && !action.closest("#help")) sentenceEl.focus({ preventScroll: true });
  }
});

$("retry").addEventListener("click", () => { if (S.retry) S.retry(); sentenceEl.focus({ preventScroll: true }); });

// ---------------------------------------------------------------- keyboard

document.addEventListener("keydown", (event) => {
  const key = event.key;
  const target = event.target;
  const typing = target.matches && target.matches("input, textarea, select");
  if (key === "Escape") { event.preventDefault(); return escape(); }
  if (typing) {
    if (key === "Enter" && target.closest("#editor")) { event.preventDefault(); closeEditor(); render(); sentenceEl.focus({ preventScroll: true }); }
    return;
  }
  if (!$("help").hidden) {
    if (key === "?") { event.preventDefault(); toggleHelp(false); }
    return;
  }
  if (event.altKey || event.metaKey) return;
  if (event.ctrlKey) {
    if (key === "z" || key === "Z") { event.preventDefault(); return event.shiftKey ? redo() : undo(); }
    if (key === "y") { event.preventDefault(); return redo(); }
    return;
  }
  if (S.saving && key !== "?") return;
  if (S.conflict && key !== "?") return;
  // A focused button keeps its own Enter/Space; everything else is ours.
  if (target.closest && target.closest("button, a, summary") && (key === "Enter" || key === " ")) return;
  const command = {
    Enter: () => save("done"),
    ArrowRight: () => moveCursor(1, event.shiftKey),
    ArrowLeft: () => moveCursor(-1, event.shiftKey),
    Home: () => moveCursor(0, event.shiftKey, 0),
    End: () => moveCursor(0, event.shiftKey, S.tokens.length - 1),
    Delete: deleteAtCursor,
    Backspace: deleteAtCursor,
    Tab: () => cycleSuggestion(event.shiftKey ? -1 : 1),
    y: () => acceptSuggestion(focusedSuggestion()),
    n: () => rejectSuggestion(focusedSuggestion()),
    A: acceptAll,
    s: () => askReason("skipped"),
    f: () => askReason("flagged"),
    z: undo,
    Z: redo,
    p: previous,
    e: () => (spanAtToken(S.cursor) ? openEditor(spanAtToken(S.cursor)) : hint("Move the cursor onto a span to edit it.")),
    g: () => { $("guidelines").open = !$("guidelines").open; },
    "?": () => toggleHelp(),
  }[key];
  if (command) {
    if (key === "Tab" && !pendingSuggestions().length) return;  // let Tab move focus as usual
    event.preventDefault();
    if (!S.data && !["?", "p", "g"].includes(key)) return;
    return command();
  }
  const label = labels.find((l) => l.number === key || l.key === key);
  if (label && S.data) {
    event.preventDefault();
    labelSelection(label.name);
  }
});

window.addEventListener("beforeunload", (event) => {
  if (S.saving) event.preventDefault();
});

// ---------------------------------------------------------------- start

for (const label of labels) label.el.style.setProperty("--c", label.colour);
renderProgress();
if (root.dataset.sentenceId) loadSentence(root.dataset.sentenceId);
else loadNext();
