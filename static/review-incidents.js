// The adjudication page's incidents: each annotator's grouping of the spans is offered (and the saved
// gold's); the reviewer takes one (a click, or a/b and 1–9 once the span decisions are made), and
// the gold keeps the incidents whose spans the gold has. Text is only ever set with textContent.
import { incidentWords, makeIncident, pruneIncidents, sameIncidents } from "./incidents.js";

/**
 * section: the #incidents-decision element (absent: nothing to decide, no incidents anywhere).
 * chars: the sentence as code points. Returns {open(), reconsider(), take(who), chosen(goldSpans), render(goldSpans)}.
 */
export function createIncidentChoice({ data, section, chars }) {
  const kinds = Object.fromEntries((data.label_info || []).map((l) => [l.name, l.kind]));
  const kindOf = (label) => kinds[label] || "text";
  const versions = { ...(data.incident_versions || {}) };
  if (data.gold && (data.gold.incidents || []).length) versions["saved gold"] = data.gold.incidents;
  const names = Object.keys(versions);
  const first = data.annotators.length ? versions[data.annotators[0]] || [] : [];
  // With no annotator there is nothing they agree on: the saved gold's incidents stand.
  const allSame = data.annotators.length > 0 && data.annotators.every((n) => sameIncidents(versions[n] || [], first));
  // Agreed incidents are pre-accepted; otherwise the saved gold's, else the reviewer decides.
  let who = allSame ? data.annotators[0] || "none" : data.gold ? "saved gold" : null;
  if (!section) who = who || "none";

  const incidentsOf = (name) => (name === "none" || !name ? [] : (versions[name] || []).map((i) => makeIncident(i.spans)));
  const chosen = (goldSpans) => pruneIncidents(incidentsOf(who), goldSpans, kindOf);
  const words = (incident) => incidentWords(incident, kindOf, (s) => chars.slice(s.start_char, s.end_char).join("")).join(" · ");

  function render(goldSpans) {
    if (!section) return;
    section.classList.toggle("decided", who !== null);
    for (const li of section.querySelectorAll("[data-incidents]")) li.classList.toggle("chosen", li.dataset.incidents === who);
    const list = section.querySelector("#gold-incidents");
    list.replaceChildren(...chosen(goldSpans).map((incident) => {
      const li = document.createElement("li");
      li.textContent = words(incident);
      return li;
    }));
    if (!list.children.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = who === null ? "not decided yet" : "no incidents";
      list.append(li);
    }
  }

  return {
    open: () => who === null,
    /**
     * A span decision changed from the saved gold's: the incidents it had were grouped for its spans, so
     * where the annotators' groupings differ the reviewer chooses again (a/b, 1–9 or a click).
     */
    reconsider() {
      if (who === "saved gold" && !allSame) who = null;
    },
    /** Take a version by name ("none": no incidents); false when there is no such version. */
    take(name) {
      if (name !== "none" && !names.includes(name)) return false;
      who = name;
      return true;
    },
    chosen,
    render,
    section,
  };
}
