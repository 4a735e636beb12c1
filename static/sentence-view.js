// Draws a sentence as token elements with the gaps between them as plain text nodes,
// so the container's textContent is exactly the stored sentence. Spans and suggestions
// wrap their tokens in <mark>; their label tags are CSS ::after content, not text.
// Everything from the server goes in with textContent / createTextNode, never innerHTML.
// The pure span and token helpers live in spans.js.
import { readableInk, snapToTokens, tagOf, tokenRange } from "./spans.js";

/**
 * Render into container. marks: [{kind: "span"|"suggestion", item, index, colour, focused,
 * tag?, className?}], non-overlapping (tag replaces the drawn label tag, className is added);
 * cursor/selection: token indices (selection = [from, to] or null).
 */
export function renderSentence(container, { text, u16, tokens, marks, cursor, selection }) {
  container.textContent = "";
  const byFirst = new Map();
  const lastOf = new Map();
  for (const mark of marks) {
    const range = tokenRange(tokens, mark.item.start_char, mark.item.end_char);
    if (!range) continue;
    byFirst.set(range[0], mark);
    lastOf.set(mark, range[1]);
  }
  const slice = (from, to) => text.slice(u16[from], u16[to]);
  const lead = tokens.length ? slice(0, tokens[0].start) : text;
  if (lead) container.append(document.createTextNode(lead));
  let parent = container;
  let open = null;
  tokens.forEach((token, i) => {
    const mark = byFirst.get(i);
    if (mark && !open) {
      open = mark;
      parent = document.createElement("mark");
      parent.className = mark.kind === "span" ? "span" : "suggestion";
      if (mark.focused) parent.classList.add("focused");
      if (mark.className) parent.classList.add(mark.className);
      parent.dataset.kind = mark.kind;
      parent.dataset.index = String(mark.index);
      parent.dataset.label = mark.item.label;
      parent.dataset.tag = mark.tag || (mark.kind === "span" ? tagOf(mark.item) : `${tagOf(mark.item)} ?`);
      parent.style.setProperty("--c", mark.colour);
      parent.style.setProperty("--on-c", readableInk(mark.colour));
      parent.title = mark.kind === "span" ? `${tagOf(mark.item)} (click to edit)` : `Suggested ${tagOf(mark.item)}: y accepts, n rejects`;
      container.append(parent);
    }
    const el = document.createElement("span");
    el.className = "tok";
    el.dataset.i = String(i);
    if (i === cursor) el.classList.add("cursor");
    if (selection && i >= selection[0] && i <= selection[1]) el.classList.add("sel");
    el.textContent = slice(token.start, token.end);
    parent.append(el);
    const gapEnd = i + 1 < tokens.length ? tokens[i + 1].start : Array.from(text).length;
    const gap = slice(token.end, gapEnd);
    if (open && lastOf.get(open) === i) {
      open = null;
      parent = container;
    }
    if (gap) parent.append(document.createTextNode(gap));
  });
}

/** Dimmed context sentences: plain text, not selectable. */
export function renderContext(container, sentences) {
  container.textContent = "";
  for (const sentence of sentences || []) {
    const p = document.createElement("p");
    p.textContent = sentence;
    container.append(p);
  }
  container.hidden = !(sentences && sentences.length);
}

/** Offset of a DOM boundary point in container's text, in UTF-16 units; clamped to the container. */
export function boundaryOffset(container, node, offset) {
  if (!container.contains(node)) {
    const position = container.compareDocumentPosition(node);
    return position & Node.DOCUMENT_POSITION_PRECEDING ? 0 : container.textContent.length;
  }
  const range = document.createRange();
  range.selectNodeContents(container);
  range.setEnd(node, offset);
  return range.toString().length;
}

/**
 * The tokens the window's selection touches inside container, snapped outwards to whole tokens:
 * [first, last]; [] when the selection lies elsewhere or touches no token (it is then cleared if it
 * touched container); null when nothing is selected (a plain click). u16 maps code points to UTF-16.
 */
export function selectedTokens(container, tokens, u16) {
  const sel = window.getSelection();
  if (!sel.rangeCount || sel.isCollapsed) return null;
  const range = sel.getRangeAt(0);
  if (!range.intersectsNode(container)) return [];
  const from = boundaryOffset(container, range.startContainer, range.startOffset);
  const to = boundaryOffset(container, range.endContainer, range.endOffset);
  sel.removeAllRanges();
  return snapToTokens(tokens, u16, from, to);
}
