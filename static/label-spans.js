// Changing the spans: label the selection, delete, move the word cursor, take or refuse
// suggestions, undo and redo. Every change ends in changed(), which keeps a draft and redraws.
import { getJSON } from "./api.js";
import { makeIncident, pruneIncidents, spanKey } from "./incidents.js";
import { clean, handMade, overlaps, spanText, suggestionKey, tokenRange } from "./spans.js";
import {
  $, S, drafts, elapsedSeconds, hint, kindOf, pendingIncidentSuggestions, pendingSuggestions, root, selection, sentenceEl,
  setStatus, sortSpans, spanAtToken, urls,
} from "./label-state.js";
import { closeEditor, positionEditor, render, renderSpanList, spanTag } from "./label-view.js";

// ---------------------------------------------------------------- state changes, undo, drafts

function snapshot() {
  return {
    spans: S.spans.map((s) => ({ ...s })), rejected: [...S.rejected],
    incidents: S.incidents.map((i) => makeIncident(i.spans)), rejectedIncidents: [...S.rejectedIncidents],
  };
}

export function pushUndo() {
  S.undo.push(snapshot());
  if (S.undo.length > 200) S.undo.shift();
  S.redo = [];
}

function restore(state) {
  S.spans = state.spans.map((s) => ({ ...s }));
  S.rejected = new Set(state.rejected);
  S.incidents = state.incidents.map((i) => makeIncident(i.spans));
  S.rejectedIncidents = new Set(state.rejectedIncidents);
  S.linking = null;
  closeEditor();
  changed();
}

export function undo() {
  if (!S.undo.length) return hint("Nothing to undo.");
  S.redo.push(snapshot());
  restore(S.undo.pop());
  hint("Undone.");
}

export function redo() {
  if (!S.redo.length) return hint("Nothing to redo.");
  S.undo.push(snapshot());
  restore(S.redo.pop());
}

/**
 * After any edit: keep a draft in this browser, redraw. A change of values only (valuesOnly)
 * updates the tags in place, so a value arriving mid-drag does not wipe the mouse selection;
 * such a value comes from the server, not from the person, so it leaves the status line and a
 * pending "press x again" as they are.
 */
export function changed(valuesOnly = false) {
  keepIncidentsValid();
  if (S.data) {
    drafts.save(S.data.sentence.id, {
      spans: S.spans.map(clean), rejected: [...S.rejected], base_version: S.version,
      incidents: S.incidents, rejected_incidents: [...S.rejectedIncidents], seconds: elapsedSeconds(),
    });
  }
  if (S.data && !valuesOnly) {
    S.confirmNothing = false;
    S.confirmEmpty = false;
    if (!S.saving) {
      S.retry = null;
      setStatus("dirty", "Unsaved changes (kept in this browser)");
    }
  }
  if (!valuesOnly) return render();
  for (const mark of sentenceEl.querySelectorAll("mark.span")) {
    const span = S.spans[Number(mark.dataset.index)];
    if (span) mark.dataset.tag = spanTag(span);
  }
  renderSpanList();
}

/** A span deleted or edited (label, boundaries) leaves the incidents it was in; an incident left broken goes. */
function keepIncidentsValid() {
  S.incidents = pruneIncidents(S.incidents, S.spans, kindOf);
  if (S.linking) {
    const present = new Set(S.spans.map(spanKey));
    const left = S.linking.spans.filter((s) => present.has(spanKey(s)));
    S.linking = left.length ? { spans: left } : null;
  }
}

// ---------------------------------------------------------------- labelling

export function labelSelection(name) {
  if (!S.data) return;
  const focused = S.anchor === null ? focusedSuggestion() : null;
  const focusedRange = focused && tokenRange(S.tokens, focused.start_char, focused.end_char);
  if (focusedRange && S.cursor !== null && S.cursor >= focusedRange[0] && S.cursor <= focusedRange[1]) {
    // A label key on the highlighted suggestion takes it with that label.
    return focused.label === name ? acceptSuggestion(focused) : relabelSuggestion(focused, name);
  }
  const sel = selection() || (S.cursor !== null ? [S.cursor, S.cursor] : null);
  if (!sel) return hint("Select words first: drag over them, or use ← → and Shift.");
  if (S.anchor === null) {
    const existing = spanAtToken(S.cursor);
    if (existing) {
      if (existing.label === name) return;
      pushUndo();
      existing.label = name;
      handMade(existing);
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
export async function prefillValue(span, force) {
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

export function deleteSpan(span) {
  if (!span) return hint("No span here to delete.");
  pushUndo();
  S.spans = S.spans.filter((s) => s !== span);
  if (S.editing === span) closeEditor();
  changed();
}

export function deleteAtCursor() {
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

export function moveCursor(delta, extend, absolute = null) {
  if (!S.tokens.length) return;
  const focused = extend && S.anchor === null ? focusedSuggestion() : null;
  const focusedRange = focused && tokenRange(S.tokens, focused.start_char, focused.end_char);
  if (focusedRange && S.cursor !== null && S.cursor >= focusedRange[0] && S.cursor <= focusedRange[1]) {
    // Shift+arrow on a highlighted suggestion selects its words and moves its edge: Shift+→ takes
    // in the next word, Shift+← drops the last one; a label key then labels the corrected words.
    S.anchor = focusedRange[0];
    S.cursor = focusedRange[1];
  }
  if (extend && S.anchor === null) S.anchor = S.cursor ?? 0;
  if (!extend) S.anchor = null;
  let next = absolute !== null ? absolute : S.cursor === null ? (delta > 0 ? 0 : S.tokens.length - 1) : S.cursor + delta;
  next = Math.max(0, Math.min(S.tokens.length - 1, next));
  S.cursor = next;
  closeEditor();
  render();
}

// ---------------------------------------------------------------- suggestions

export function cycleSuggestion(delta) {
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

export function focusedSuggestion() {
  return pendingSuggestions().find((s) => suggestionKey(s) === S.focus) || null;
}

/** The span a taken suggestion becomes: it keeps the suggestion's source and model version. */
function spanOf(s) {
  return {
    start_char: s.start_char, end_char: s.end_char, label: s.label, value: s.value ?? null, suggested: true,
    source: s.source ?? null, model_version: s.model_version ?? null,
  };
}

/** The suggestion y and n act on: the highlighted one, else the first one still pending. */
export function currentSuggestion() {
  return focusedSuggestion() || pendingSuggestions()[0] || null;
}

export function acceptSuggestion(s) {
  if (!s) return hint("No suggestions left.");
  const before = pendingSuggestions();
  pushUndo();
  S.spans.push(spanOf(s));
  sortSpans();
  advanceFocus(s, before);
  changed();
}

export function rejectSuggestion(s) {
  if (!s) return hint("No suggestions left.");
  const before = pendingSuggestions();
  pushUndo();
  S.rejected.add(suggestionKey(s));
  advanceFocus(s, before);
  changed();
}

/** Take suggestion s with another label (a label key pressed on a highlighted suggestion). */
export function relabelSuggestion(s, label) {
  const before = pendingSuggestions();
  pushUndo();
  const span = handMade({ ...spanOf(s), label });
  S.spans.push(span);
  sortSpans();
  advanceFocus(s, before);
  prefillValue(span, true);
  changed();
}

/**
 * After deciding on suggestion done: highlight the next one still pending after it (in the
 * order of the list), wrapping to the first, so y y n y walks the list with no Tab between.
 */
function advanceFocus(done, before = []) {
  const at = before.indexOf(done);
  const pending = pendingSuggestions().filter((s) => s !== done && !overlaps(s, done));
  const next = pending.find((s) => before.indexOf(s) > at) || pending[0];
  S.focus = next ? suggestionKey(next) : null;
  const range = next && tokenRange(S.tokens, next.start_char, next.end_char);
  if (range) { S.cursor = range[0]; S.anchor = null; }
  $("suggestion-pop").hidden = true;
}

/** Suggestions ranked for taking all at once: where two overlap, the more confident one wins. */
export function byConfidence(pending) {
  return [...pending].sort((a, b) => (b.score ?? 1) - (a.score ?? 1));
}

export function acceptAll() {
  const pending = pendingSuggestions();
  if (!pending.length && !pendingIncidentSuggestions().length) return hint("No suggestions left.");
  pushUndo();
  for (const s of byConfidence(pending)) {
    if (S.spans.some((span) => overlaps(span, s))) continue;  // two suggestions for one place: the first wins
    S.spans.push(spanOf(s));
  }
  sortSpans();
  // The proposed incidents over the spans now taken come with them.
  S.incidents = [...S.incidents, ...pendingIncidentSuggestions()];
  S.focus = null;
  changed();
}
