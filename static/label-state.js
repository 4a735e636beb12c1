// The labelling page's state and the page elements every part uses. Importing this module
// touches no DOM: initPage(), called once by label.js, looks the elements up.
// Offsets in S.spans / S.tokens are Python code points (what the API stores);
// S.u16 maps them to the UTF-16 indices the DOM uses.
// This module imports no label-* module; every other label-* module imports it.
import { createDrafts } from "./drafts.js";
import { pendingIncidents } from "./incidents.js";
import { pendingOf, sortSpans as sortInPlace, spanAt } from "./spans.js";

export const $ = (id) => document.getElementById(id);

// The page's elements and settings, set by initPage() from #labeller's data-* attributes and the
// label legend. Exported as live bindings: importers see the values once initPage() has run.
export let root = null;
export let sentenceEl = null;
export let urls = {};
export let outcomes = [];
export let labels = [];
export let scheme = [];
export let regions = [];
export let drafts = null;

export const S = {
  data: null, text: "", u16: [0], tokens: [], spans: [], suggestions: [], rejected: new Set(),
  focus: null, cursor: null, anchor: null, undo: [], redo: [], version: null, stored: null,
  editing: null, editUndoPushed: false, saving: false, reason: null, retry: null,
  elapsed: 0, shownAt: performance.now(), progress: null,
  history: null, historyIndex: -1, loading: false,
  // Incidents: the groups made (S.incidents), the one being built (S.linking: {spans} or null), the
  // server's proposals over suggested spans and the proposals turned down (by incidents.js's key).
  incidents: [], linking: null, suggestedIncidents: [], rejectedIncidents: new Set(),
};

export function initPage() {
  root = $("labeller");
  sentenceEl = $("sentence");
  urls = JSON.parse(root.dataset.urls);
  outcomes = JSON.parse(root.dataset.outcomes);
  // The legend lists the labels offered for new spans; the scheme also has the retired ones, whose
  // spans are still drawn in their colour.
  labels = Array.from(document.querySelectorAll("#legend .label-chip")).map((el) => ({
    name: el.dataset.label, colour: el.dataset.colour, key: el.dataset.key, kind: el.dataset.kind, number: el.dataset.number, el,
  }));
  scheme = JSON.parse(root.dataset.scheme || "[]");
  regions = JSON.parse(root.dataset.regions || "[]");
  drafts = createDrafts(root.dataset.user);
  S.progress = JSON.parse(root.dataset.progress);
}

export const colourOf = (name) => (scheme.find((l) => l.name === name) || labels.find((l) => l.name === name) || { colour: "#ccc" }).colour;

/** The kind of the label called name in list (annotator.labels.kinds: region, count, category, text); "text" if unknown. */
export const kindIn = (list, name) => (list.find((l) => l.name === name) || {}).kind || "text";
/** The kind of one of this page's labels, retired ones too: a span's value input follows its label's kind, never its name. */
export const kindOf = (name) => kindIn(scheme.some((l) => l.name === name) ? scheme : labels, name);
/** The values a span's value field offers as you type, by its label's kind: region the gazetteer's
 * canonical names, category the vocabulary; none for the others. */
export function valueOptions(kind, { regions: places = [], outcomes: categories = [] } = {}) {
  if (kind === "region") return places;
  if (kind === "category") return categories;
  return [];
}
export const focusSentence = () => sentenceEl.focus({ preventScroll: true });
export const sortSpans = () => sortInPlace(S.spans);
export const selection = () => (S.anchor === null || S.cursor === null ? null : [Math.min(S.anchor, S.cursor), Math.max(S.anchor, S.cursor)]);

/** Suggestions still to decide on: not rejected, not under a span, each place once. */
export const pendingSuggestions = () => pendingOf(S.suggestions, S.rejected, S.spans);

export const spanAtToken = (i) => spanAt(S.spans, S.tokens, i);

/** Proposed incidents still to decide on: those whose spans are all taken, not turned down, not made yet. */
export const pendingIncidentSuggestions = () => pendingIncidents(S.suggestedIncidents, S.rejectedIncidents, S.incidents, S.spans, kindOf);

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

/** Count the time spent while the page is visible, and show it in #timer each second. */
export function startTimer() {
  document.addEventListener("visibilitychange", () => {
    // Only time the page is visible counts as time spent.
    if (document.hidden) S.elapsed += performance.now() - S.shownAt;
    else S.shownAt = performance.now();
  });
  setInterval(showTime, 1000);
}

/** Show the time spent in #timer (m:ss); called each second, and at once when a sentence is shown. */
export function showTime() {
  const s = Math.floor(elapsedSeconds());
  $("timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
