// Grouping the spans into incidents, keyboard first: k starts an incident from the span under the
// cursor, a label key adds the nearest span of that label (pressed again: the next one), k on
// another span adds or removes it, Backspace takes the last one back, Enter closes the incident,
// Escape drops it; K removes the last incident the span under the cursor is in. Proposed incidents
// are taken with y / n (after the span suggestions) and a / A. Every change is one undo step.
import { incidentKey, incidentProblem, makeIncident, roleOf, spanKey, withPartner } from "./incidents.js";
import { S, hint, kindOf, pendingIncidentSuggestions, spanAtToken } from "./label-state.js";
import { render } from "./label-view.js";
import { changed, pushUndo } from "./label-spans.js";

const HOW = "a label key adds its nearest span (again, or Tab: the next one), k adds the span under the cursor, Backspace takes one back, Enter closes, Esc drops it";

function linkingHint() {
  const words = S.linking.spans.map((s) => s.label).join(" + ");
  hint(`Incident: ${words}. ${HOW}.`);
}

/** k: start an incident from the span under the cursor; while one is being built, add or remove that span. */
export function link() {
  const span = spanAtToken(S.cursor);
  if (!S.linking) {
    if (!span) return hint("Move the cursor onto a span (a count, an outcome or a region), then press k to start an incident.");
    if (!roleOf(kindOf, span.label)) return hint(`${span.label} spans take no part in incidents.`);
    S.linking = makeIncident([span]);
    render();
    return linkingHint();
  }
  if (!span) return hint("Move the cursor onto a span to add it to the incident.");
  const key = spanKey(span);
  const has = S.linking.spans.some((s) => spanKey(s) === key);
  S.linking = { spans: has ? S.linking.spans.filter((s) => spanKey(s) !== key) : [...S.linking.spans, makeIncident([span]).spans[0]] };
  if (!S.linking.spans.length) S.linking = null;
  render();
  return S.linking ? linkingHint() : hint("Incident dropped.");
}

/** A label key while an incident is being built: add (or move on to the next) span of that label. */
export function addPartner(label) {
  const next = withPartner(S.linking, S.spans, label, kindOf);
  if (!next) return hint(`No ${label} span to add to this incident.`);
  S.linking = next;
  render();
  linkingHint();
}

/** Tab while building: the last partner added gives way to the next span of its label. */
export function nextPartner() {
  if (S.linking.spans.length < 2) return hint(`Add a partner first: ${HOW}.`);
  return addPartner(S.linking.spans[S.linking.spans.length - 1].label);
}

/** Backspace while building: take the last span back; with only the first left, drop the incident. */
export function takeBack() {
  S.linking = S.linking.spans.length > 1 ? { spans: S.linking.spans.slice(0, -1) } : null;
  render();
  return S.linking ? linkingHint() : hint("Incident dropped.");
}

/** Escape while building: drop the incident being built. */
export function dropLinking() {
  S.linking = null;
  render();
  hint("Incident dropped.");
}

/** Enter while building: close the incident, if it keeps the rules. */
export function closeIncident() {
  const incident = makeIncident(S.linking.spans);
  const problem = incidentProblem(incident, S.incidents, kindOf);
  if (problem) return hint(`Not an incident yet: ${problem}. ${HOW}.`);
  pushUndo();
  S.incidents = [...S.incidents, incident];
  S.linking = null;
  changed();
  hint(`Incident ${S.incidents.length} made. Enter saves the sentence; k starts another incident.`);
}

/** Remove one incident (its row's ×). */
export function deleteIncident(incident) {
  pushUndo();
  S.incidents = S.incidents.filter((i) => i !== incident);
  changed();
}

/** K: remove the last incident the span under the cursor is in. */
export function unlink() {
  const span = spanAtToken(S.cursor);
  const key = span && spanKey(span);
  const found = key ? S.incidents.filter((i) => i.spans.some((s) => spanKey(s) === key)) : [];
  if (!found.length) return hint("Move the cursor onto a span of an incident, then press K to remove that incident.");
  deleteIncident(found[found.length - 1]);
  hint("Incident removed (z brings it back).");
}

/** y with no span suggestion left: take the first proposed incident. */
export function acceptIncidentSuggestion(incident = pendingIncidentSuggestions()[0]) {
  if (!incident) return hint("No suggestions left.");
  pushUndo();
  S.incidents = [...S.incidents, makeIncident(incident.spans)];
  changed();
}

/** n with no span suggestion left: turn down the first proposed incident. */
export function rejectIncidentSuggestion(incident = pendingIncidentSuggestions()[0]) {
  if (!incident) return hint("No suggestions left.");
  pushUndo();
  S.rejectedIncidents.add(incidentKey(incident));
  changed();
}
