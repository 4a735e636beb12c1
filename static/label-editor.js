// Editing in the span editor popover: change a span's label, value (free text, or the outcome
// vocabulary for a category label) and word boundaries. One undo step per edit session. Opening, filling
// and closing the popover is drawing, in label-view.js; initEditor() (called by label.js) wires
// the popover's controls.
import { handMade, overlaps, tokenRange } from "./spans.js";
import { $, S, hint } from "./label-state.js";
import { changed, prefillValue, pushUndo } from "./label-spans.js";

function editSpan(mutate, valuesOnly = false) {
  const span = S.editing;
  if (!span) return;
  if (!S.editUndoPushed) { pushUndo(); S.editUndoPushed = true; }
  mutate(span);
  changed(valuesOnly);
}

function relabel(event) {
  S.editUndoPushed = false;
  editSpan((span) => { span.label = event.target.value; handMade(span); });
  if (S.editing) prefillValue(S.editing, S.editing.autoValue || !S.editing.value);
}

const typedValue = (event) => editSpan((span) => { span.value = event.target.value || null; span.autoValue = false; }, true);

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
  editSpan((s) => { s.start_char = moved.start_char; s.end_char = moved.end_char; handMade(s); });
  prefillValue(span, span.autoValue || !span.value);
}

export function initEditor() {
  $("editor-label").addEventListener("change", relabel);
  $("editor-value").addEventListener("input", typedValue);
  $("editor-outcome").addEventListener("change", typedValue);
  $("editor").addEventListener("click", (event) => {
    const edge = event.target.closest("[data-edge]");
    if (edge) moveEdge(edge.dataset.edge);
  });
}
