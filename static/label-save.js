// Saving an annotation: retries over a flaky network, a 409 that turns out to be our own
// earlier save, the conflict chooser when someone else saved meanwhile, and the skip/flag reason.
import { putWithRetry } from "./api.js";
import { $, S, clean, drafts, elapsedSeconds, focusSentence, sameSpans, setStatus, urls } from "./label-state.js";
import { render, spanItem } from "./label-view.js";
import { closeEditor } from "./label-editor.js";
import { pushUndo } from "./label-spans.js";
import { loadNext } from "./label-load.js";

function sameAnnotation(stored, body) {
  return stored && stored.status === body.status && (stored.comment || "") === (body.comment || "") && sameSpans(stored.spans, body.spans);
}

export async function save(status, comment = null) {
  if (!S.data || S.saving) return;
  closeEditor();
  const sentence = S.data.sentence;
  const body = { status, spans: S.spans.map(clean), comment, seconds_spent: elapsedSeconds(), base_version: S.version };
  S.saving = true;
  S.retry = null;
  setStatus("saving", "Saving…");
  const control = {};
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
  if (answer.status === 409 && data.error === "sentence_full") {
    // Our lease ran out and others took the sentence: keep the work on screen, say what to do.
    return setStatus("error", `Not saved — ${data.message} Your spans stay here until you move on.`);
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

export function resolveConflict(keepMine) {
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
  focusSentence();
}

$("retry").addEventListener("click", () => { if (S.retry) S.retry(); focusSentence(); });

window.addEventListener("beforeunload", (event) => {
  if (S.saving) event.preventDefault();
});

// ---------------------------------------------------------------- skip / flag form

export function askReason(kind) {
  if (!S.data) return;
  S.reason = kind;
  $("reason-label").textContent = kind === "skipped" ? "Why skip this sentence?" : "What should a reviewer look at?";
  $("reason-submit").textContent = kind === "skipped" ? "Skip" : "Flag";
  $("reason-input").value = "";
  $("reason-form").hidden = false;
  $("reason-input").focus();
}

export function hideReason() {
  S.reason = null;
  $("reason-form").hidden = true;
}

$("reason-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const comment = $("reason-input").value.trim();
  if (!comment) return $("reason-input").focus();
  const kind = S.reason;
  hideReason();
  focusSentence();
  save(kind, comment);
});
