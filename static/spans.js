// Pure helpers about spans and tokens, shared by the labelling and review pages. No DOM here:
// node's test runner imports this module (tests/js/). Offsets in spans and tokens are code
// points, end exclusive (as the API stores them); u16 maps a code point to its UTF-16 index.

/** The two spans (or ranges with start_char / end_char) share at least one character. */
export function overlaps(a, b) {
  return a.start_char < b.end_char && b.start_char < a.end_char;
}

/** Indices of the tokens a span [start, end) (code points) touches: [first, last], or null if none. */
export function tokenRange(tokens, start, end) {
  let first = -1;
  let last = -1;
  tokens.forEach((token, i) => {
    if (token.start < end && token.end > start) {
      if (first < 0) first = i;
      last = i;
    }
  });
  return first < 0 ? null : [first, last];
}

/**
 * A selection [from, to) in UTF-16 units snapped outwards to whole tokens: [first, last] token
 * indices of every token it touches, or [] when it touches none. u16 maps code points to UTF-16.
 */
export function snapToTokens(tokens, u16, from, to) {
  const hit = [];
  tokens.forEach((t, i) => { if (u16[t.start] < to && u16[t.end] > from) hit.push(i); });
  return hit.length ? [hit[0], hit[hit.length - 1]] : [];
}

/** The text a span covers; u16 maps its code-point offsets to the string's UTF-16 indices. */
export function spanText(text, u16, span) {
  return text.slice(u16[span.start_char], u16[span.end_char]);
}

/** The tag drawn on a span: its label, and its value when it has one. */
export function tagOf(span) {
  return span.value ? `${span.label} · ${span.value}` : span.label;
}

/** The confidence of a suggestion as a percentage ("87%"), or "" when its source gives none. */
export function confidenceOf(item) {
  return typeof item.score === "number" ? `${Math.round(item.score * 100)}%` : "";
}

/** "#111" or "#fff", whichever reads better on colour (a #rgb or #rrggbb; else "#111"). */
export function readableInk(colour) {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(colour || "").trim());
  if (!hex) return "#111";
  const digits = hex[1].length === 3 ? hex[1].replace(/./g, "$&$&") : hex[1];
  const channel = (i) => {
    const c = parseInt(digits.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
  // Contrast with black text (#111, L≈0.0056) against white text (L=1).
  return (luminance + 0.05) / 0.0556 >= 1.05 / (luminance + 0.05) ? "#111" : "#fff";
}

/** One key per suggested place and label: a suggestion rejected or focused is remembered by it. */
export const suggestionKey = (s) => `${s.start_char}:${s.end_char}:${s.label}`;

/**
 * A span as the API takes it (no page-only fields such as autoValue). An accepted suggestion
 * carries its source and model version; any other span carries neither (the API refuses them).
 */
export const clean = (s) => ({
  start_char: s.start_char, end_char: s.end_char, label: s.label, value: s.value || null, suggested: !!s.suggested,
  source: s.suggested ? s.source ?? null : null, model_version: s.suggested && s.source === "model" ? s.model_version ?? null : null,
});

/** Where a suggestion (or an accepted one) came from, as its badge says it: "rules", "model v4", "import"; "" if unknown. */
export function sourceOf(s) {
  if (!s.source) return "";
  return s.source === "model" && s.model_version ? `model v${s.model_version}` : s.source;
}

/** The annotator changed span's label or words: it is theirs now, no longer the suggestion it came from. */
export function handMade(span) {
  span.suggested = false;
  delete span.source;
  delete span.model_version;
  return span;
}

/** Spans in the order of the sentence. Sorts in place and returns the list. */
export const sortSpans = (spans) => spans.sort((a, b) => a.start_char - b.start_char || a.end_char - b.end_char);

/** Two span lists hold the same spans (order aside), values and accepted suggestions' sources included. */
export function sameSpans(a, b) {
  const key = (s) => {
    const { source, model_version: version } = clean(s);
    return `${s.start_char}:${s.end_char}:${s.label}:${s.value || ""}:${source ?? ""}:${version ?? ""}`;
  };
  const left = (a || []).map(key).sort();
  const right = (b || []).map(key).sort();
  return left.length === right.length && left.every((k, i) => k === right[i]);
}

/** Suggestions still to decide on: not rejected (a Set of suggestionKey), not under a span, each place once. */
export function pendingOf(suggestions, rejected, spans) {
  const seen = new Set();
  return suggestions.filter((s) => {
    const key = suggestionKey(s);
    if (seen.has(key) || rejected.has(key) || spans.some((span) => overlaps(span, s))) return false;
    seen.add(key);
    return true;
  });
}

/** The span that covers token i, or null. */
export function spanAt(spans, tokens, i) {
  if (i === null || !tokens[i]) return null;
  const t = tokens[i];
  return spans.find((s) => s.start_char < t.end && s.end_char > t.start) || null;
}
