"""Pairwise F1 on incidents, strict and partial, on hand-computed examples (no app)."""

from __future__ import annotations

import pytest

from annotator.metrics import agreement_report, incident_agreement, matched_incidents
from annotator.records import AnnotationRecord, IncidentRecord, SentenceRecord, SpanRecord

TWO = "Air defences destroyed 17 UAVs over Kaluga Oblast and 4 over Bryansk Oblast."


def key(part, label, text=TWO):
    start = text.index(part)
    return (start, start + len(part), label)


DESTROYED, C17, C4 = key("destroyed", "OUTCOME"), key("17", "COUNT"), key("4 ", "COUNT")
C4 = (C4[0], C4[0] + 1, "COUNT")
KALUGA, KALUGA_SHORT, BRYANSK = key("Kaluga Oblast", "REGION"), key("Kaluga", "REGION"), key("Bryansk Oblast", "REGION")


def incident(*keys):
    return IncidentRecord(tuple(sorted(keys)))


def annotation(annotator, incidents, sentence_id=1, status="done"):
    keys = sorted({k for i in incidents for k in i.spans})
    spans = tuple(SpanRecord(*k) for k in keys)
    return AnnotationRecord(sentence_id, annotator, status, spans, incidents=tuple(incidents))


BOTH = [incident(DESTROYED, C17, KALUGA), incident(DESTROYED, C4, BRYANSK)]
NO_REGION = [incident(DESTROYED, C17, KALUGA), incident(DESTROYED, C4)]
SHORT = [incident(DESTROYED, C17, KALUGA_SHORT), incident(DESTROYED, C4, BRYANSK)]


@pytest.mark.parametrize(
    ("first", "second", "strict", "partial"),
    [
        (BOTH, BOTH, 2, 2),
        (BOTH, NO_REGION, 1, 1),  # an incident without its region is another group of labels
        (BOTH, SHORT, 1, 2),  # "Kaluga" overlaps "Kaluga Oblast"
        (NO_REGION, SHORT, 0, 1),
        (BOTH, [], 0, 0),
        (BOTH + BOTH[:1], BOTH, 2, 2),  # an incident given twice counts once
    ],
)
def test_incident_agreement_matches_one_to_one(first, second, strict, partial):
    assert matched_incidents(first, second, "strict") == strict
    assert matched_incidents(first, second, "partial") == partial
    assert matched_incidents(second, first, "partial") == partial


def test_incident_agreement_partial_needs_every_span_to_overlap():
    moved = [incident(DESTROYED, C17, BRYANSK)]
    assert matched_incidents([incident(DESTROYED, C17, KALUGA)], moved, "partial") == 0
    with pytest.raises(ValueError, match="unknown incident match"):
        matched_incidents([], [], "loose")


def test_incident_agreement_pairs_pooled_and_averaged_by_hand():
    annotations = [
        annotation("ana", BOTH),
        annotation("bob", NO_REGION),
        annotation("cy", SHORT),
        # Sentence 2: ana and bob linked nothing; cy skipped it (not counted).
        annotation("ana", [], sentence_id=2),
        annotation("bob", [], sentence_id=2),
        annotation("cy", BOTH, sentence_id=2, status="skipped"),
    ]
    report = incident_agreement(annotations)
    pairs = report["pairs"]
    # ana|bob: 1 of 2 + 2 incidents match strictly -> 2 x 1 / 4; over both sentences.
    assert pairs["ana|bob"] == {"overall": 0.5, "sentences": 2, "incidents": 4, "matched": 1}
    assert pairs["ana|cy"]["overall"] == 0.5 and pairs["bob|cy"]["overall"] == 0.0
    assert report["overall"] == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    partial = report["partial"]["pairs"]
    assert [partial[p]["overall"] for p in ("ana|bob", "ana|cy", "bob|cy")] == [0.5, 1.0, 0.5]
    assert report["partial"]["overall"] == pytest.approx(2 / 3)
    assert report["support"] == {"sentences": 2, "pairs": 3, "incidents": 12}


def test_incident_agreement_undefined_without_incidents_and_refuses_a_double_annotation():
    report = incident_agreement([annotation("ana", []), annotation("bob", [])])
    assert report["overall"] is None and report["pairs"]["ana|bob"]["sentences"] == 1
    assert report["reason"] == "no incidents yet on the sentences two annotators share"
    alone = incident_agreement([annotation("ana", BOTH)])
    assert alone["overall"] is None and alone["reason"] == "no sentence has two annotators yet"  # no pair
    assert incident_agreement([annotation("ana", BOTH), annotation("bob", BOTH)])["reason"] is None
    with pytest.raises(ValueError, match="two annotations"):
        incident_agreement([annotation("ana", BOTH), annotation("ana", [])])


def test_incident_agreement_is_in_the_project_report():
    sentence = SentenceRecord(1, 1, 0, TWO)
    report = agreement_report([sentence], [annotation("ana", BOTH), annotation("bob", SHORT)], n_resamples=10)
    assert report["incident_f1"]["overall"] == 0.5
    assert report["incident_f1"]["partial"]["overall"] == 1.0
