// Loading sentences: the next one in the queue, one to revisit, or the previous one from
// this annotator's history; restoring a draft kept in this browser; the all-done card.
import { getJSON } from "./api.js";
import { codePointToUtf16 } from "./offsets.js";
import { renderContext } from "./sentence-view.js";
import { pruneIncidents, sameIncidents } from "./incidents.js";
import { sameSpans, suggestionKey } from "./spans.js";
import { $, S, drafts, focusSentence, hint, kindOf, root, sentenceEl, setStatus, showTime, urls } from "./label-state.js";
import { closeEditor, hideReason, render, renderProgress, renderSource } from "./label-view.js";

function show(data, mode) {
  S.data = data;
  const sentence = data.sentence;
  S.text = sentence.text;
  S.u16 = codePointToUtf16(sentence.text);
  S.tokens = sentence.tokens.map((t) => ({ start: t.start_char, end: t.end_char }));
  S.stored = data.annotation;
  S.version = data.annotation ? data.annotation.version : null;
  S.spans = data.annotation ? data.annotation.spans.map((s) => ({ ...s })) : [];
  S.incidents = data.annotation ? (data.annotation.incidents || []).map((i) => ({ spans: i.spans.map((s) => ({ ...s })) })) : [];
  // A sentence saved as done, or with spans, has had its suggestions looked at: they are not offered
  // again. One skipped or flagged with no spans gets them back, proposed incidents too.
  const looked = Boolean(data.annotation && (data.annotation.status === "done" || data.annotation.spans.length));
  S.suggestedIncidents = looked ? [] : data.suggested_incidents || [];
  S.rejectedIncidents = new Set();
  S.linking = null;
  // In the order of the sentence; where several start at one place, the more confident first.
  S.suggestions = [...(data.suggestions || [])].sort((a, b) => a.start_char - b.start_char || (b.score ?? 1) - (a.score ?? 1) || a.end_char - b.end_char);
  S.rejected = new Set(looked ? S.suggestions.map(suggestionKey) : []);
  S.cursor = null; S.anchor = null; S.focus = null; S.undo = []; S.redo = [];
  S.elapsed = 0; S.shownAt = performance.now(); S.retry = null; S.confirmNothing = false; S.confirmEmpty = false;
  showTime();  // not the last sentence's time until the next tick
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
  if (draft && (!sameSpans(draft.spans, S.spans) || !sameIncidents(draft.incidents || [], S.incidents))) {
    // A label renamed or deleted since the draft was kept: its spans could never be saved, so they are left out.
    const known = new Set(((data.project && data.project.labels) || []).map((l) => l.name));
    const gone = [...new Set(draft.spans.filter((s) => !known.has(s.label)).map((s) => s.label))];
    S.spans = draft.spans.filter((s) => known.has(s.label)).map((s) => ({ ...s }));
    S.rejected = new Set(draft.rejected || []);
    S.incidents = pruneIncidents(Array.isArray(draft.incidents) ? draft.incidents : [], S.spans, kindOf);
    S.rejectedIncidents = new Set(draft.rejected_incidents || []);
    // The version the draft was made on, null included: if the sentence was saved
    // elsewhere since, the server answers 409 instead of being overwritten.
    if ("base_version" in draft) S.version = draft.base_version;
    // The time spent on it before the reload, as far as the draft knows it, goes on counting.
    if (Number.isFinite(draft.seconds) && draft.seconds > 0) S.elapsed = draft.seconds * 1000;
    showTime();
    modeEl.hidden = false;
    modeEl.textContent = gone.length
      ? `Restored your unsaved changes from this browser, but for the spans labelled ${gone.join(", ")}: the project no longer has ${gone.length === 1 ? "that label" : "those labels"}.`
      : "Restored your unsaved changes from this browser.";
    setStatus("dirty", "Unsaved changes (kept in this browser)");
  } else {
    if (draft) drafts.remove(sentence.id);
    if (S.lastSaved) setStatus("saved", `${S.lastSaved} · next sentence`);
    else setStatus("idle", data.annotation ? `Saved earlier as ${data.annotation.status}` : "");
  }
  S.lastSaved = null;
  sentenceEl.setAttribute("aria-busy", "false");
  render();
  focusSentence();
  if (sentenceEl.textContent !== S.text) console.error("rendered text differs from the sentence");
}

async function showAllDone() {
  S.data = null;
  root.classList.add("finished");
  $("all-done").hidden = false;
  setStatus(S.lastSaved ? "saved" : "idle", S.lastSaved ? `${S.lastSaved} · that was the last one` : "");
  S.lastSaved = null;
  history.replaceState(null, "", urls.label);
  try {
    const { status, data } = await getJSON(urls.progress);
    if (status === 200 && data) S.progress = data;
  } catch { /* keep the counts we have */ }
  const p = S.progress || {};
  const mine = p.mine_done ?? 0;
  $("all-done-progress").textContent = `You have done ${mine} ${mine === 1 ? "sentence" : "sentences"} here (${p.mine_flagged ?? 0} flagged, ${p.mine_skipped ?? 0} skipped); the project has ${p.project_complete ?? 0} of ${p.project_sentences ?? 0} complete.`;
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
    S.lastSaved = null;
    setStatus("error", `Could not load the sentence: ${(data && data.message) || `error ${status}`}`);
  } catch {
    S.retry = () => load(url, mode);
    S.lastSaved = null;
    setStatus("error", "Could not load the sentence: no connection. Retry when you are back online.");
  } finally {
    S.loading = false;
  }
}

export function loadNext() {
  return load(urls.next, "next");
}

export function loadSentence(id) {
  return load(urls.sentence + id, "revisit");
}

/** Go back one sentence in this annotator's history, skipping the one on screen. */
export async function previous() {
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
