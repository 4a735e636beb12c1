// Incidents in the browser code: the rules as the server's, pruning after span edits, partners by label keys.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  incidentProblem, incidentWords, makeIncident, pendingIncidents, pruneIncidents, sameIncidents, withPartner,
} from "../../static/incidents.js";

const TEXT = "Air defences destroyed 17 UAVs over Kaluga Oblast and 4 over Bryansk Oblast.";
const KINDS = { COUNT: "count", OUTCOME: "category", REGION: "region", NOTE: "text" };
const kindOf = (label) => KINDS[label] || "text";
const at = (part, label, from = 0) => {
  const start = TEXT.indexOf(part, from);
  return { start_char: start, end_char: start + part.length, label };
};
const DESTROYED = at("destroyed", "OUTCOME");
const N17 = at("17", "COUNT");
const KALUGA = at("Kaluga Oblast", "REGION");
const N4 = at("4 ", "COUNT");
N4.end_char = N4.start_char + 1;
const BRYANSK = at("Bryansk Oblast", "REGION");
const SPANS = [DESTROYED, N17, KALUGA, N4, BRYANSK];
const words = (incident) => incidentWords(incident, kindOf, (s) => TEXT.slice(s.start_char, s.end_char));

test("incidents_label_keys_pick_the_nearest_partner_then_the_next", () => {
  let building = { spans: [N4] };
  building = withPartner(building, SPANS, "REGION", kindOf);
  assert.deepEqual(words(building), ["4", "Bryansk Oblast"]);
  building = withPartner(building, SPANS, "OUTCOME", kindOf);
  assert.deepEqual(words(makeIncident(building.spans)), ["4", "destroyed", "Bryansk Oblast"]);
  // Pressed again: the next REGION replaces the one picked.
  assert.deepEqual(words(withPartner(building, SPANS, "REGION", kindOf)), ["4", "Kaluga Oblast", "destroyed"]);
  assert.equal(withPartner(building, SPANS, "NOTE", kindOf), null);
});

test("incidents_problems_mirror_the_server_rules", () => {
  const kaluga = makeIncident([N17, DESTROYED, KALUGA]);
  assert.equal(incidentProblem(kaluga, [], kindOf), null);
  assert.match(incidentProblem(makeIncident([N17]), [], kindOf), /two spans/);
  assert.match(incidentProblem(makeIncident([N17, N4]), [], kindOf), /more than one count/);
  assert.match(incidentProblem(makeIncident([KALUGA, BRYANSK]), [], kindOf), /more than one region/);
  assert.match(incidentProblem(makeIncident([DESTROYED, N17, KALUGA]), [kaluga], kindOf), /same incident/);
  assert.match(incidentProblem(makeIncident([N17, BRYANSK]), [kaluga], kindOf), /head/);
  assert.equal(incidentProblem(makeIncident([N4, DESTROYED, BRYANSK]), [kaluga], kindOf), null);
});

test("incidents_a_deleted_or_relabelled_span_leaves_its_incidents", () => {
  const two = [makeIncident([N17, DESTROYED, KALUGA]), makeIncident([N4, DESTROYED, BRYANSK])];
  const withoutKaluga = pruneIncidents(two, SPANS.filter((s) => s !== KALUGA), kindOf);
  assert.deepEqual(withoutKaluga.map(words), [["17", "destroyed"], ["4", "destroyed", "Bryansk Oblast"]]);
  // Without the counts both would be headed by "destroyed": the second goes; without 17 and Kaluga the first goes.
  assert.deepEqual(pruneIncidents(two, [DESTROYED, KALUGA, BRYANSK], kindOf).map(words), [["destroyed", "Kaluga Oblast"]]);
  assert.deepEqual(pruneIncidents(two, [DESTROYED, N4, BRYANSK], kindOf).map(words), [["4", "destroyed", "Bryansk Oblast"]]);
});

test("incidents_proposals_wait_for_their_spans_and_go_when_decided", () => {
  const proposed = [makeIncident([N17, DESTROYED, KALUGA]), makeIncident([N4, DESTROYED, BRYANSK])];
  assert.equal(pendingIncidents(proposed, new Set(), [], [N17, DESTROYED, KALUGA], kindOf).length, 1);
  assert.equal(pendingIncidents(proposed, new Set(), [proposed[0]], SPANS, kindOf).length, 1);
  const rejected = new Set(["17-19-COUNT"]);
  assert.equal(pendingIncidents(proposed, rejected, [], SPANS, kindOf).length, 2);
  assert.ok(sameIncidents([proposed[1], proposed[0]], proposed));
  assert.ok(!sameIncidents([proposed[0]], proposed));
});
