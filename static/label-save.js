// Saving an annotation: retries over a flaky network, a 409 that turns out to be our own
// earlier save, the conflict chooser when someone else saved meanwhile, and the skip/flag reason.
// initSave() (called by label.js) wires the retry button, the reason form and the unload guard.
import { putWithRetry } from "./api.js";
import { clean, sameSpans, spanText, suggestionKey } from "./spans.js";
import { incidentWords, sameIncidents } from "./incidents.js";
import {
  $, S, drafts, elapsedSeconds, focusSentence, kindOf, pendingIncidentSuggestions, pendingSuggestions, setStatus, urls,
} from "./label-state.js";
import { closeEditor, hideReason, render, spanItem } from "./label-view.js";
import { acceptAll, pushUndo } from "./label-spans.js";
import { loadNext } from "./label-load.js";

function sameAnnotation(stored, body) {
  return stored && stored.status === body.status && (stored.comment || "") === (body.comment || "") && sameSpans(stored.spans, body.spans)
    && sameIncidents(stored.incidents, body.incidents);
}

export async function save(status, comment = null) {
  if (!S.data || S.saving) return;
  closeEditor();
  const sentence = S.data.sentence;
  S.linking = null;  // an incident still being built is not saved
  const body = {
    status, spans: S.spans.map(clean), comment, seconds_spent: elapsedSeconds(), base_version: S.version, incidents: S.incidents,
  };
  S.saving = true;
  S.retry = null;
  setStatus("saving", "Saving…");
  const control = {};
  const answer = await putWithRetry(`${urls.sentence}${sentence.id}/annotation`, body, {
    control,
    onRetry: (attempt, delay) => {
      S.retry = () => control.retryNow && control.retryNow();
      keepDraft(body);
      setStatus("error", `Not saved — offline, kept in this browser; retrying in ${Math.round(delay / 1000)} s (attempt ${attempt + 1})`);
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
  if (answer.status === 409 && data.error === "sentence_full") {
    // Our lease ran out and others took the sentence: keep the work on screen, say what to do.
    return setStatus("error", `Not saved — ${data.message} Your spans stay here until you move on.`);
  }
  if (answer.status === 409 && data.error === "scheme_changed") {
    // A label was renamed or deleted meanwhile: these spans may name it, so they are not kept as a draft.
    return setStatus("error", `Not saved — ${data.message}`);
  }
  if (answer.status === 409) return showConflict(data.current || { status: "nothing stored", spans: [], version: null }, body);
  if (answer.status === 422 && data.error === "invalid_incidents") {
    return setStatus("error", `Not saved — ${data.message} Fix the incidents (K removes one), then save again.`);
  }
  if (answer.status === 422 && Array.isArray(data.labels)) {
    const gone = [...new Set(body.spans.map((s) => s.label))].filter((label) => !data.labels.includes(label));
    if (gone.length) {
      // Renamed or deleted since this page loaded: kept as a draft, which a reload restores without those spans.
      keepDraft(body);
      const them = gone.length === 1 ? `${gone[0]} is` : `${gone.join(", ")} are`;
      return setStatus("error", `Not saved — the project's labels changed since this page was loaded (${them} gone). Reload the page: your other spans are kept.`);
    }
  }
  if (answer.status === 422) {
    const details = (data.details || []).map((d) => d.problem).filter(Boolean).join("; ");
    return setStatus("error", `Not saved — ${details || data.message || "the spans are not valid"}`);
  }
  S.retry = () => save(status, comment);
  keepDraft(body);
  if (answer.status === 0) return setStatus("error", "Not saved — offline, kept in this browser. Retry when you are back online.");
  if (answer.status >= 500) return setStatus("error", "Not saved — the server failed; kept in this browser. Retry.");
  if (answer.status === 401) return setStatus("error", "Not saved — your session ended. Log in again in another tab, then retry.");
  setStatus("error", `Not saved — ${data.message || `error ${answer.status}`}`);
}

/** Keep what a failed save tried to store, so a reload or a crash does not lose it. */
function keepDraft(body) {
  if (S.data) {
    drafts.save(S.data.sentence.id, {
      spans: body.spans, rejected: [...S.rejected], base_version: body.base_version,
      incidents: body.incidents, rejected_incidents: [...S.rejectedIncidents], seconds: body.seconds_spent,
    });
  }
}

/**
 * Enter: save as done with the spans on screen. On a sentence whose suggestions are not decided yet (a new
 * one, or one revisited after a skip or a flag with no spans) with no span taken while
 * suggestions are still pending, it asks for a second Enter first: saving nothing past
 * suggestions nobody looked at is a slip more often than a decision (a takes them, x rejects them).
 */
export function saveShown() {
  if (!S.data || S.saving) return;
  const pending = pendingSuggestions().length;
  if (!S.spans.length && pending && !S.confirmEmpty) {
    S.confirmEmpty = true;
    const what = pending === 1 ? "1 suggestion is not taken yet: a takes it" : `${pending} suggestions are not taken yet: a takes them`;
    return setStatus("hint", `${what} and saves, x saves with none; Enter again saves with no spans.`);
  }
  S.confirmEmpty = false;
  return save("done");
}

/** a: take every suggestion still pending, then save as done (one key when they are right). */
export function acceptAllAndSave() {
  if (!S.data || S.saving) return;
  if (pendingSuggestions().length || pendingIncidentSuggestions().length) acceptAll();
  return save("done");
}

/**
 * x: save as done with no spans (a negative). With spans on screen it asks for a second x
 * first, so a slip does not throw work away; suggestions are simply not taken.
 */
export function saveNothing() {
  if (!S.data || S.saving) return;
  if (S.spans.length && !S.confirmNothing) {
    S.confirmNothing = true;
    const n = S.spans.length;
    const what = n === 1 ? "the span on screen is dropped); Enter saves it" : `the ${n} spans on screen are dropped); Enter saves them`;
    return setStatus("hint", `Press x again to save with no spans (${what}.`);
  }
  S.confirmNothing = false;
  if (S.spans.length || pendingSuggestions().length) {
    pushUndo();
    S.spans = [];
    for (const s of pendingSuggestions()) S.rejected.add(suggestionKey(s));
    render();
  }
  return save("done");
}

/** i: skip this sentence with no reason (one can be added later: My history → Revisit → s). */
export function ignore() {
  if (!S.data || S.saving) return;
  return save("skipped", null);
}

function saved(sentenceId, annotation, body) {
  drafts.remove(sentenceId);
  // The counts by status, as the server keeps them: a flagged sentence is flagged, not done.
  const before = S.stored ? S.stored.status : null;
  const after = annotation.status || body.status;
  if (S.progress && before !== after) {
    if (before) S.progress[`mine_${before}`] = Math.max(0, (S.progress[`mine_${before}`] || 0) - 1);
    S.progress[`mine_${after}`] = (S.progress[`mine_${after}`] || 0) + 1;
  }
  S.version = annotation.version;
  S.stored = annotation;
  S.history = null;
  S.historyIndex = -1;
  const what = body.status === "done" ? `Saved${body.spans.length ? "" : " with no spans"}` : `Saved as ${body.status}`;
  setStatus("saved", what);
  // Loading the next sentence resets the status line; this keeps the confirmation on it.
  S.lastSaved = what;
  loadNext();
}

function showConflict(current, body) {
  const fill = (list, spans, status, incidents) => {
    list.textContent = "";
    const head = document.createElement("li");
    head.className = "muted";
    head.textContent = `status: ${status}`;
    list.append(head);
    for (const span of spans) list.append(spanItem(span));
    for (const incident of incidents || []) {
      const li = document.createElement("li");
      li.className = "incident";
      li.textContent = `incident: ${incidentWords(incident, kindOf, (s) => spanText(S.text, S.u16, s)).join(" · ")}`;
      list.append(li);
    }
  };
  fill($("conflict-stored"), current.spans || [], current.status, current.incidents);
  fill($("conflict-mine"), body.spans, body.status, body.incidents);
  const box = $("conflict");
  box.hidden = false;
  S.conflict = { current, body };
  setStatus("error", "Not saved — someone saved this sentence meanwhile; choose a version.");
  box.querySelector("[data-action=keep-mine]").focus();
}

export function resolveConflict(keepMine) {
  const { current, body } = S.conflict || {};
  if (!current) return;
  $("conflict").hidden = true;
  S.conflict = null;
  S.version = current.version;
  if (keepMine) return save(body.status, body.comment);
  pushUndo();
  S.spans = current.spans.map((s) => ({ ...s }));
  S.incidents = (current.incidents || []).map((i) => ({ spans: i.spans.map((s) => ({ ...s })) }));
  S.stored = current;
  drafts.remove(S.data.sentence.id);
  render();
  setStatus("idle", "Took the stored version. Press Enter to accept it as it is.");
  focusSentence();
}

/** Wire the retry button, the skip/flag form and the guard against leaving mid-save. */
export function initSave() {
  $("retry").addEventListener("click", () => { if (S.retry) S.retry(); focusSentence(); });
  window.addEventListener("beforeunload", (event) => {
    if (S.saving) event.preventDefault();
  });
  $("reason-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const comment = $("reason-input").value.trim();
    if (!comment && S.reason === "flagged") return $("reason-input").focus();
    const kind = S.reason;
    hideReason();
    focusSentence();
    save(kind, comment || null);
  });
}
