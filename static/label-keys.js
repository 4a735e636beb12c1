// The labelling page's keys: keymap.js says which key runs which command, this module runs
// them; the help overlay (?) and Escape, which closes whatever is open, innermost first.
// label.js adds handleKey as the document's keydown listener.
import { commandOf, labelOfKey, WITHOUT_SENTENCE } from "./keymap.js";
import { $, S, focusSentence, hint, labels, pendingSuggestions, sentenceEl, spanAtToken } from "./label-state.js";
import { askReason, closeEditor, hideReason, openEditor, render } from "./label-view.js";
import {
  acceptAll, acceptSuggestion, currentSuggestion, cycleSuggestion, deleteAtCursor, labelSelection, moveCursor, redo, rejectSuggestion, undo,
} from "./label-spans.js";
import { acceptAllAndSave, ignore, saveNothing, saveShown } from "./label-save.js";
import {
  acceptIncidentSuggestion, addPartner, closeIncident, dropLinking, link, nextPartner, rejectIncidentSuggestion, takeBack, unlink,
} from "./label-incidents.js";
import { previous } from "./label-load.js";
import { toggleTheme } from "./theme.js";

export function toggleHelp(force) {
  const help = $("help");
  help.hidden = force === undefined ? !help.hidden : !force;
  if (!help.hidden) help.querySelector(".close").focus();
  else focusSentence();
}

export function escape() {
  if (!$("help").hidden) return toggleHelp(false);
  if (!$("reason-form").hidden) { hideReason(); return focusSentence(); }
  if (S.editing) { closeEditor(); render(); return focusSentence(); }
  if (!$("suggestion-pop").hidden) { $("suggestion-pop").hidden = true; return; }
  if (S.linking) return dropLinking();
  S.anchor = null;
  S.focus = null;
  window.getSelection().removeAllRanges();
  render();
}

/** The commands of keymap.js; shift: whether Shift is held (it extends a selection, or walks back). */
const commands = {
  save: saveShown,
  right: (shift) => moveCursor(1, shift),
  left: (shift) => moveCursor(-1, shift),
  home: (shift) => moveCursor(0, shift, 0),
  end: (shift) => moveCursor(0, shift, S.tokens.length - 1),
  delete: deleteAtCursor,
  "next-suggestion": (shift) => cycleSuggestion(shift ? -1 : 1),
  // After the span suggestions, y and n decide on the proposed incidents.
  accept: () => (currentSuggestion() ? acceptSuggestion(currentSuggestion()) : acceptIncidentSuggestion()),
  reject: () => (currentSuggestion() ? rejectSuggestion(currentSuggestion()) : rejectIncidentSuggestion()),
  "accept-all": acceptAll,
  "accept-all-save": acceptAllAndSave,
  "save-nothing": saveNothing,
  ignore,
  skip: () => askReason("skipped"),
  flag: () => askReason("flagged"),
  undo,
  redo,
  previous,
  edit: () => (spanAtToken(S.cursor) ? openEditor(spanAtToken(S.cursor)) : hint("Move the cursor onto a span to edit it.")),
  guidelines: () => { $("guidelines").open = !$("guidelines").open; },
  theme: toggleTheme,
  help: () => toggleHelp(),
  link,
  unlink,
};

/** While an incident is being built: Enter closes it, Backspace takes a span back, a label key adds a partner, Tab moves the last one on. */
const linkingCommands = { save: closeIncident, delete: takeBack, link, "next-suggestion": nextPartner };

export function handleKey(event) {
  const key = event.key;
  const target = event.target;
  const typing = target.matches && target.matches("input, textarea, select");
  if (key === "Escape") { event.preventDefault(); return escape(); }
  if (typing) {
    if (key === "Enter" && target.closest("#editor")) { event.preventDefault(); closeEditor(); render(); focusSentence(); }
    return;
  }
  if (!$("help").hidden) {
    if (key === "?") { event.preventDefault(); toggleHelp(false); }
    return;
  }
  if (event.altKey || event.metaKey) return;
  const name = commandOf(event);
  if (event.ctrlKey) {
    if (name) { event.preventDefault(); commands[name](); }
    return;
  }
  if ((S.saving || S.loading) && key !== "?") return;  // the sentence on screen is on its way out
  if (S.conflict && key !== "?") return;
  // A focused button keeps its own Enter/Space; everything else is ours.
  if (target.closest && target.closest("button, a, summary") && (key === "Enter" || key === " ")) return;
  if (S.linking && S.data) {
    const label = labelOfKey(labels, key);
    const run = linkingCommands[name] || (label && (() => addPartner(label.name)));
    if (run) { event.preventDefault(); return run(); }
    if (!["right", "left", "home", "end", "help", "undo", "redo"].includes(name)) return;
  }
  if (name) {
    // Tab walks the suggestions from the sentence; elsewhere (or with none left) it moves focus as usual.
    if (key === "Tab" && (!pendingSuggestions().length || (target !== sentenceEl && target !== document.body))) return;
    event.preventDefault();
    if (!S.data && !WITHOUT_SENTENCE.has(name)) return;
    return commands[name](event.shiftKey);
  }
  const label = labelOfKey(labels, key);
  if (label && S.data) {
    event.preventDefault();
    labelSelection(label.name);
  }
}
