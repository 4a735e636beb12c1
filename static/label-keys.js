// The keyboard map of the labelling page, the help overlay (?) and Escape, which closes
// whatever is open, innermost first. The keys are listed for people in label.html's #help.
import { $, S, focusSentence, hint, labels, pendingSuggestions, sentenceEl, spanAtToken } from "./label-state.js";
import { render } from "./label-view.js";
import { closeEditor, openEditor } from "./label-editor.js";
import {
  acceptAll, acceptSuggestion, currentSuggestion, cycleSuggestion, deleteAtCursor, labelSelection, moveCursor, redo, rejectSuggestion, undo,
} from "./label-spans.js";
import { acceptAllAndSave, askReason, hideReason, ignore, save, saveNothing } from "./label-save.js";
import { toggleTheme } from "./theme.js";
import { previous } from "./label-load.js";

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
  S.anchor = null;
  S.focus = null;
  window.getSelection().removeAllRanges();
  render();
}

document.addEventListener("keydown", (event) => {
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
  if (event.ctrlKey) {
    if (key === "z" || key === "Z") { event.preventDefault(); return event.shiftKey ? redo() : undo(); }
    if (key === "y") { event.preventDefault(); return redo(); }
    return;
  }
  if ((S.saving || S.loading) && key !== "?") return;  // the sentence on screen is on its way out
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
    y: () => acceptSuggestion(currentSuggestion()),
    n: () => rejectSuggestion(currentSuggestion()),
    A: acceptAll,
    a: acceptAllAndSave,
    x: saveNothing,
    i: ignore,
    s: () => askReason("skipped"),
    f: () => askReason("flagged"),
    z: undo,
    Z: redo,
    p: previous,
    e: () => (spanAtToken(S.cursor) ? openEditor(spanAtToken(S.cursor)) : hint("Move the cursor onto a span to edit it.")),
    g: () => { $("guidelines").open = !$("guidelines").open; },
    t: toggleTheme,
    "?": () => toggleHelp(),
  }[key];
  if (command) {
    // Tab walks the suggestions from the sentence; elsewhere (or with none left) it moves focus as usual.
    if (key === "Tab" && (!pendingSuggestions().length || (target !== sentenceEl && target !== document.body))) return;
    event.preventDefault();
    if (!S.data && !["?", "p", "g", "t"].includes(key)) return;
    return command();
  }
  const label = labels.find((l) => l.number === key || l.key === key);
  if (label && S.data) {
    event.preventDefault();
    labelSelection(label.name);
  }
});
