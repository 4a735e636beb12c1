"""Incidents without an app: the rules of a group, relations both ways, the JSON shape, the rule baseline."""

from __future__ import annotations

import pytest

from annotator.incidents import (
    IncidentError,
    Relation,
    check_incidents,
    incident_relations,
    incidents_from_json,
    incidents_from_relations,
    incidents_to_json,
    link_nearest,
)
from annotator.records import IncidentRecord

TWO = "Air defences destroyed 17 UAVs over Kaluga Oblast and 4 over Bryansk Oblast."


def key(text, part, label, nth=0):
    start = -1
    for _ in range(nth + 1):
        start = text.index(part, start + 1)
    return (start, start + len(part), label)


def words(text, incidents):
    return [[text[s:e] for s, e, _ in incident.spans] for incident in incidents]


@pytest.fixture
def two_spans():
    return [
        key(TWO, "destroyed", "OUTCOME"),
        key(TWO, "17", "COUNT"),
        key(TWO, "Kaluga Oblast", "REGION"),
        key(TWO, "4", "COUNT"),
        key(TWO, "Bryansk Oblast", "REGION"),
    ]


def test_incidents_rule_baseline_splits_the_two_incident_sentence(two_spans):
    incidents = link_nearest(TWO, two_spans)
    assert words(TWO, incidents) == [["destroyed", "17", "Kaluga Oblast"], ["destroyed", "4", "Bryansk Oblast"]]
    assert check_incidents(incidents, two_spans) == []


def test_incidents_rule_baseline_links_a_countless_outcome_to_its_region_and_stops_at_a_clause():
    text = "A drone damaged a house in Kursk; 3 were shot down."
    spans = [key(text, "damaged", "OUTCOME"), key(text, "Kursk", "REGION"), key(text, "3", "COUNT")]
    spans.append(key(text, "shot down", "OUTCOME"))
    assert words(text, link_nearest(text, spans)) == [["3", "shot down"], ["damaged", "Kursk"]]


def test_incidents_rule_baseline_reads_roles_from_kinds_not_names():
    text = "Crews downed 5 drones near Orel."
    scheme = [
        {"name": "HOW_MANY", "kind": "count"},
        {"name": "WHERE", "kind": "region"},
        {"name": "NOTE", "kind": "text"},
    ]
    spans = [key(text, "5", "HOW_MANY"), key(text, "Orel", "WHERE"), key(text, "drones", "NOTE")]
    assert words(text, link_nearest(text, spans, scheme)) == [["5", "Orel"]]
    # Under the default scheme these labels are of no linked kind: no incident.
    assert link_nearest(text, spans) == []


def test_incidents_relations_both_ways_are_lossless(two_spans):
    incidents = link_nearest(TWO, two_spans)
    relations = incident_relations(incidents)
    count17, outcome, kaluga = (
        key(TWO, "17", "COUNT"),
        key(TWO, "destroyed", "OUTCOME"),
        key(TWO, "Kaluga Oblast", "REGION"),
    )
    assert relations[:2] == [Relation(count17, outcome, "outcome"), Relation(count17, kaluga, "location")]
    assert incidents_from_relations(relations) == incidents
    countless = [IncidentRecord((outcome, kaluga))]
    assert incident_relations(countless) == [Relation(outcome, kaluga, "location")]
    assert incidents_from_relations(incident_relations(countless)) == countless


@pytest.mark.parametrize(
    ("incident", "problem"),
    [
        ([(23, 25, "COUNT")], "links 1 span"),
        ([(23, 25, "COUNT"), (0, 3, "REGION")], "no REGION span at 0-3"),
        ([(23, 25, "COUNT"), (54, 55, "COUNT")], "more than one count span"),
        ([(36, 49, "REGION"), (61, 75, "REGION")], "more than one region span"),
        ([(23, 25, "COUNT"), (23, 25, "COUNT")], "names a span twice"),
    ],
)
def test_incidents_check_names_each_broken_rule(two_spans, incident, problem):
    problems = check_incidents([IncidentRecord(tuple(incident))], two_spans)
    assert len(problems) == 1 and problems[0].startswith("incident 1: ") and problem in problems[0]


def test_incidents_check_refuses_a_repeated_group_a_shared_head_and_unlinked_kinds(two_spans):
    count, outcome, kaluga, bryansk = two_spans[1], two_spans[0], two_spans[2], two_spans[4]
    same = [IncidentRecord((outcome, count)), IncidentRecord((count, outcome))]
    assert check_incidents(same, two_spans) == ["incident 2: is the same as incident 1"]
    shared = [IncidentRecord((count, kaluga)), IncidentRecord((count, bryansk))]
    assert check_incidents(shared, two_spans)[0].startswith("incident 2: its head COUNT 23-25 already heads incident 1")
    scheme = [
        {"name": "OUTCOME", "kind": "text"},
        {"name": "COUNT", "kind": "count"},
        {"name": "REGION", "kind": "region"},
    ]
    problems = check_incidents([IncidentRecord((outcome, kaluga))], two_spans, scheme)
    assert problems == [
        "incident 1: OUTCOME spans do not take part in incidents (only count, category and region labels)"
    ]


def test_incidents_json_round_trip_and_bad_shapes(two_spans):
    incidents = [IncidentRecord(tuple(sorted(two_spans[:3])), provenance="adjudicated")]
    assert incidents_from_json(incidents_to_json(incidents)) == incidents
    assert incidents_from_json(None) == []
    for bad in ({"spans": []}, [{"spans": "x"}], [{"spans": [{"start_char": "1", "end_char": 2, "label": "COUNT"}]}]):
        with pytest.raises(IncidentError):
            incidents_from_json(bad)
    # A label is named exactly, as a span names it: a scheme may have a label "Region".
    mixed = incidents_from_json([{"spans": [{"start_char": 1, "end_char": 2, "label": "Region"}]}])
    assert mixed == [IncidentRecord(((1, 2, "Region"),))]
