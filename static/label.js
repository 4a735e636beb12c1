// The labelling page: load a sentence through the API, label it with mouse or keys, save it.
// This entry module looks the page up (initPage), wires every handler and handles the mouse and
// the page's buttons. The modules form one stack; each imports only the ones listed below it,
// none imports this one, and no label-* module touches the page when imported:
//   label-keys.js    the keys (keymap.js's commands), help overlay and Escape
//   label-save.js    saving, retry, the stale-save chooser, the skip/flag form's submit
//   label-load.js    loading sentences, drafts, history
//   label-editor.js  editing in the span editor popover (label, value, boundaries)
//   label-spans.js   span changes, suggestions, undo/redo
//   label-view.js    drawing the sentence, the lists, the popovers and the reason form
//   label-state.js   state S, page elements (initPage), status line, time spent
// beside pure modules with no DOM, tested with node (tests/js/): spans.js, keymap.js,
// offsets.js; and sentence-view.js, api.js, drafts.js, theme.js, shared with other pages.
import { selectedTokens } from "./sentence-view.js";
import { readableInk, spanText, suggestionKey, tagOf } from "./spans.js";
import { $, S, focusSentence, initPage, labels, pendingSuggestions, root, sentenceEl, startTimer } from "./label-state.js";
import { askReason, closeEditor, openEditor, positionNear, render, renderProgress, setListActions } from "./label-view.js";
import {
  acceptSuggestion, currentSuggestion, deleteSpan, labelSelection, rejectSuggestion, undo,
} from "./label-spans.js";
import { initEditor } from "./label-editor.js";
import { loadNext, loadSentence, previous } from "./label-load.js";
import { acceptAllAndSave, ignore, initSave, resolveConflict, saveNothing, saveShown } from "./label-save.js";
import { escape, handleKey, toggleHelp } from "./label-keys.js";
import { acceptIncidentSuggestion, deleteIncident, rejectIncidentSuggestion } from "./label-incidents.js";
import { toggleTheme } from "./theme.js";

initPage();
startTimer();
setListActions({ deleteSpan, acceptSuggestion, rejectSuggestion, deleteIncident, acceptIncidentSuggestion, rejectIncidentSuggestion });
initEditor();
initSave();
document.addEventListener("keydown", handleKey);

// ---------------------------------------------------------------- mouse

document.addEventListener("mouseup", (event) => {
  if (!S.data || event.button !== 0) return;
  // Any token the selection touches is included: snap outwards to whole tokens.
  const hit = selectedTokens(sentenceEl, S.tokens, S.u16);
  if (hit) {
    if (!hit.length) return;
    S.anchor = hit[0];
    S.cursor = hit[1];
    closeEditor();
    render();
    focusSentence();
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
    if (!pop.classList.contains("docked")) positionNear(pop, sentenceEl.querySelector("mark.suggestion.focused") || mark);
    focusSentence();
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
  focusSentence();
});

// ---------------------------------------------------------------- buttons

// Clicks on the page's buttons (data-action) and on the label legend.
root.addEventListener("click", (event) => {
  const chipButton = event.target.closest(".label-chip");
  if (chipButton) { labelSelection(chipButton.dataset.label); return focusSentence(); }
  const action = event.target.closest("[data-action]");
  if (!action) return;
  const act = action.dataset.action;
  const actions = {
    // "accept" is the save button's former name, kept for pages and scripts that use it.
    save: saveShown, accept: saveShown, "accept-all-save": acceptAllAndSave, "save-nothing": saveNothing, ignore,
    theme: toggleTheme, skip: () => askReason("skipped"), flag: () => askReason("flagged"),
    undo, previous, help: () => toggleHelp(), "cancel-reason": escape, "close-editor": escape,
    "delete-span": () => deleteSpan(S.editing), "keep-mine": () => resolveConflict(true), "take-stored": () => resolveConflict(false),
    "accept-suggestion": () => acceptSuggestion(currentSuggestion()), "reject-suggestion": () => rejectSuggestion(currentSuggestion()),
  };
  if (actions[act]) {
    actions[act]();
    if (!["skip", "flag", "help", "keep-mine", "theme"].includes(act) && !action.closest("#help")) focusSentence();
  }
});

// ---------------------------------------------------------------- start

for (const label of labels) {
  label.el.style.setProperty("--c", label.colour);
  label.el.style.setProperty("--on-c", readableInk(label.colour));
}
// On a narrow screen the panels sit below the sentence: start with the long guidelines folded (g opens them).
if (window.matchMedia("(max-width: 900px)").matches) $("guidelines").open = false;
renderProgress();
if (root.dataset.sentenceId) loadSentence(root.dataset.sentenceId);
else loadNext();
