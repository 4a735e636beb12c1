// The span editor popover: change a span's label, value (free text, or the outcome
// vocabulary for OUTCOME) and word boundaries. One undo step per edit session.
import { overlaps, spanText, tokenRange } from "./sentence-view.js";
import { $, S, hint, outcomes, sentenceEl } from "./label-state.js";
import { render } from "./label-view.js";
import { changed, prefillValue, pushUndo } from "./label-spans.js";

export function openEditor(span) {
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

export function closeEditor() {
  S.editing = null;
  $("editor").hidden = true;
}

/** Place popup just below mark, kept inside the page's width. */
export function positionNear(popup, mark) {
  const box = mark.getBoundingClientRect();
  popup.style.top = `${box.bottom + window.scrollY + 8}px`;
  popup.style.left = `${Math.max(8, Math.min(box.left + window.scrollX, document.documentElement.clientWidth - popup.offsetWidth - 8))}px`;
}

/** Fill the editor from the span being edited and put it under the span's mark. */
export function positionEditor() {
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
  // Docked in the page's flow (below the sentence) it covers nothing; a floating one goes under the span.
  if (!editor.classList.contains("docked")) positionNear(editor, mark);
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
const typedValue = (event) => editSpan((span) => { span.value = event.target.value || null; span.autoValue = false; }, true);
$("editor-value").addEventListener("input", typedValue);
$("editor-outcome").addEventListener("change", typedValue);

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
