// Pure helpers about incidents: a sentence's spans grouped into what happened (how many, what
// outcome, where). No DOM here: node's test runner imports this module (tests/js/). The rules are
// annotator/incidents/links.py's: two spans or more, at most one of each role (count, category,
// region, by the label's kind, never its name), a count or a category among them, no group twice,
// and a head (the count, else the category) heads one incident only. An incident is
// {spans: [{start_char, end_char, label}, ...]}, its spans sorted as the server sorts them.

export const ROLES = ["count", "category", "region"];
const HEADS = ["count", "category"];

/** A span's key as one string: "start-end-LABEL". */
export const spanKey = (span) => `${span.start_char}-${span.end_char}-${span.label}`;

/** The key of an incident: its spans' keys, sorted. */
export const incidentKey = (incident) => incident.spans.map(spanKey).sort().join("|");

const ref = (span) => ({ start_char: span.start_char, end_char: span.end_char, label: span.label });
const byOffset = (a, b) => a.start_char - b.start_char || a.end_char - b.end_char || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);

/** An incident of span references (start_char, end_char, label only), sorted by offset. */
export function makeIncident(spans) {
  return { spans: spans.map(ref).sort(byOffset) };
}

/** The role of a label: its kind when that kind takes part in incidents, else null. kindOf(name) → kind. */
export function roleOf(kindOf, label) {
  const kind = kindOf(label);
  return ROLES.includes(kind) ? kind : null;
}

/** The incident's head: its count span, else its category span; null if it has neither. */
export function headOf(incident, kindOf) {
  for (const role of HEADS) {
    const span = incident.spans.find((s) => roleOf(kindOf, s.label) === role);
    if (span) return span;
  }
  return null;
}

/**
 * What is wrong with incident among the others (the sentence's incidents it would join), or null.
 * The same rules as the server's check, so a closed incident always saves.
 */
export function incidentProblem(incident, others, kindOf) {
  const spans = incident.spans;
  if (spans.length < 2) return "an incident links two spans or more";
  const roles = spans.map((s) => roleOf(kindOf, s.label));
  if (roles.includes(null)) return `${spans[roles.indexOf(null)].label} spans take no part in incidents`;
  const doubled = ROLES.find((r) => roles.filter((x) => x === r).length > 1);
  if (doubled) return `it has more than one ${doubled} span`;
  if (!roles.some((r) => HEADS.includes(r))) return "it needs a count or a category span";
  const key = incidentKey(incident);
  if (others.some((o) => incidentKey(o) === key)) return "the same incident is there already";
  const head = spanKey(headOf(incident, kindOf));
  if (others.some((o) => headOf(o, kindOf) && spanKey(headOf(o, kindOf)) === head)) {
    return "its head is the head of another incident";
  }
  return null;
}

/**
 * The incidents kept after the spans changed: a span no longer in spans leaves every incident, and
 * an incident left broken (under two spans, headless, a repeat, a shared head) goes.
 */
export function pruneIncidents(incidents, spans, kindOf) {
  const present = new Set(spans.map(spanKey));
  const kept = [];
  for (const incident of incidents) {
    const left = makeIncident(incident.spans.filter((s) => present.has(spanKey(s))));
    if (!incidentProblem(left, kept, kindOf)) kept.push(left);
  }
  return kept;
}

/** Incidents sorted as the server stores them (by their spans' keys, in offset order). */
export function sortIncidents(incidents) {
  const cmp = (a, b) => {
    for (let i = 0; i < Math.min(a.spans.length, b.spans.length); i += 1) {
      const d = byOffset(a.spans[i], b.spans[i]);
      if (d) return d;
    }
    return a.spans.length - b.spans.length;
  };
  return [...incidents].sort(cmp);
}

const distance = (a, b) => Math.max(b.start_char - a.end_char, a.start_char - b.end_char, 0);

/**
 * The incident being built with a partner of label added: the span of that label nearest to the
 * incident's first span (one between it and the next span of its role first), not yet in it. Pressed again (the incident already has a span of that
 * label's role), the next nearest replaces it, round the spans of that label. null when there is none.
 */
export function withPartner(incident, spans, label, kindOf) {
  const role = roleOf(kindOf, label);
  if (!role || !incident.spans.length) return null;
  const first = incident.spans[0];
  // As the rule baseline reads such sentences: a partner after the first span and before the next
  // span of the first's role ("17 UAVs over Kaluga Oblast and 4 over Bryansk Oblast") comes first.
  const firstRole = roleOf(kindOf, first.label);
  const following = spans.filter((s) => s.start_char >= first.end_char && roleOf(kindOf, s.label) === firstRole).sort(byOffset)[0];
  const limit = following ? following.start_char : Infinity;
  const ahead = (s) => (s.start_char >= first.end_char && s.start_char < limit ? 0 : 1);
  const candidates = spans
    .filter((s) => s.label === label && spanKey(s) !== spanKey(first))
    .sort((a, b) => ahead(a) - ahead(b) || distance(first, a) - distance(first, b) || byOffset(a, b));
  if (!candidates.length) return null;
  const current = incident.spans.findIndex((s, i) => i > 0 && roleOf(kindOf, s.label) === role);
  if (current < 0) {
    const free = candidates.find((c) => !incident.spans.some((s) => spanKey(s) === spanKey(c)));
    return free ? { spans: [...incident.spans, ref(free)] } : null;
  }
  const at = candidates.findIndex((c) => spanKey(c) === spanKey(incident.spans[current]));
  const next = candidates[(at + 1) % candidates.length];
  const spansNow = [...incident.spans];
  spansNow[current] = ref(next);
  return { spans: spansNow };
}

/** The suggested incidents still to decide on: all their spans taken, not rejected, not there, and valid. */
export function pendingIncidents(suggested, rejected, incidents, spans, kindOf) {
  const present = new Set(spans.map(spanKey));
  const out = [];
  for (const incident of suggested || []) {
    if (rejected.has(incidentKey(incident))) continue;
    if (!incident.spans.every((s) => present.has(spanKey(s)))) continue;
    if (incidentProblem(incident, [...incidents, ...out], kindOf)) continue;
    out.push(makeIncident(incident.spans));
  }
  return out;
}

/** Two lists of incidents hold the same groups (order aside). */
export function sameIncidents(a, b) {
  const keys = (list) => (list || []).map(incidentKey).sort().join("\n");
  return keys(a) === keys(b);
}

/** An incident's words, head first then in text order: ["17", "destroyed", "Kaluga Oblast"]. textOf(span) → its text. */
export function incidentWords(incident, kindOf, textOf) {
  const head = headOf(incident, kindOf);
  const rest = incident.spans.filter((s) => s !== head);
  return [head, ...rest].filter(Boolean).map(textOf);
}
