// The labelling page's shared state, the page elements every part uses, and small pure helpers.
// Offsets in S.spans / S.tokens are Python code points (what the API stores);
// S.u16 maps them to the UTF-16 indices the DOM uses.
// This module imports no other label-* module, so it is always evaluated first.
import { overlaps } from "./sentence-view.js";
import { createDrafts } from "./drafts.js";

export const root = document.getElementById("labeller");
export const $ = (id) => document.getElementById(id);
export const urls = JSON.parse(root.dataset.urls);
export const outcomes = JSON.parse(root.dataset.outcomes);
export const labels = Array.from(document.querySelectorAll("#legend .label-chip")).map((el) => ({
  name: el.dataset.label, colour: el.dataset.colour, key: el.dataset.key, number: el.dataset.number, el,
}));
export const colourOf = (name) => (labels.find((l) => l.name === name) || { colour: "#ccc" }).colour;
export const sentenceEl = $("sentence");
export const drafts = createDrafts(root.dataset.user);

export const S = {
  data: null, text: "", u16: [0], tokens: [], spans: [], suggestions: [], rejected: new Set(),
  focus: null, cursor: null, anchor: null, undo: [], redo: [], version: null, stored: null,
  editing: null, editUndoPushed: false, saving: false, reason: null, retry: null,
  elapsed: 0, shownAt: performance.now(), progress: JSON.parse(root.dataset.progress),
  history: null, historyIndex: -1, loading: false,
};

export const focusSentence = () => sentenceEl.focus({ preventScroll: true });
export const suggestionKey = (s) => `${s.start_char}:${s.end_char}:${s.label}`;
export const clean = (s) => ({ start_char: s.start_char, end_char: s.end_char, label: s.label, value: s.value || null, suggested: !!s.suggested });
export const sortSpans = () => S.spans.sort((a, b) => a.start_char - b.start_char || a.end_char - b.end_char);
export const selection = () => (S.anchor === null || S.cursor === null ? null : [Math.min(S.anchor, S.cursor), Math.max(S.anchor, S.cursor)]);

/** Suggestions still to decide on: not rejected, not under a span, each place once. */
export function pendingSuggestions() {
  const seen = new Set();
  return S.suggestions.filter((s) => {
    const key = suggestionKey(s);
    if (seen.has(key) || S.rejected.has(key) || S.spans.some((span) => overlaps(span, s))) return false;
    seen.add(key);
    return true;
  });
}

export function spanAtToken(i) {
  if (i === null || !S.tokens[i]) return null;
  const t = S.tokens[i];
  return S.spans.find((s) => s.start_char < t.end && s.end_char > t.start) || null;
}

/** Two span lists hold the same spans (order aside). */
export function sameSpans(a, b) {
  const key = (s) => `${s.start_char}:${s.end_char}:${s.label}:${s.value || ""}`;
  const left = (a || []).map(key).sort();
  const right = (b || []).map(key).sort();
  return left.length === right.length && left.every((k, i) => k === right[i]);
}

// ---------------------------------------------------------------- status line

export function setStatus(kind, message) {
  const el = $("save-status");
  el.textContent = message;
  el.dataset.kind = kind;
  $("retry").hidden = !S.retry;
}

export function hint(message) {
  setStatus("hint", message);
}

// ---------------------------------------------------------------- time spent

/** Seconds this sentence has been shown while the page was visible, to a tenth. */
export function elapsedSeconds() {
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
