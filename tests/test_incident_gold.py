"""Gold incidents under each export policy (no app)."""

from __future__ import annotations

from annotator.export.gold import resolve_gold
from annotator.records import AnnotationRecord, GoldRecord, GoldSpanRecord, IncidentRecord, SentenceRecord, SpanRecord

TWO = "Air defences destroyed 17 UAVs over Kaluga Oblast and 4 over Bryansk Oblast."
SENTENCE = SentenceRecord(1, 1, 0, TWO)
DESTROYED, C17, KALUGA = (13, 22, "OUTCOME"), (23, 25, "COUNT"), (36, 49, "REGION")
C4, BRYANSK = (54, 55, "COUNT"), (61, 75, "REGION")
SPANS = (DESTROYED, C17, KALUGA, C4, BRYANSK)
FIRST = IncidentRecord(tuple(sorted((DESTROYED, C17, KALUGA))))
SECOND = IncidentRecord(tuple(sorted((DESTROYED, C4, BRYANSK))))
WRONG = IncidentRecord(tuple(sorted((DESTROYED, C4, KALUGA))))


def annotation(name, incidents, spans=SPANS, status="done"):
    return AnnotationRecord(1, name, status, tuple(SpanRecord(*k) for k in spans), incidents=tuple(incidents))


def groups(resolution):
    return [(i.spans, i.provenance) for i in resolution.incidents]


def test_incident_gold_adjudicated_keeps_the_stored_incidents_with_provenance():
    gold = GoldRecord(
        1, tuple(GoldSpanRecord(*k) for k in SPANS), incidents=(FIRST, IncidentRecord(SECOND.spans, "ana"))
    )
    for policy in ("adjudicated", "majority", "unanimous"):
        resolution = resolve_gold(SENTENCE, [annotation("ana", [WRONG])], gold, policy)
        assert groups(resolution) == [(FIRST.spans, "adjudicated"), (SECOND.spans, "ana")]


def test_incident_gold_majority_takes_incidents_most_voters_have_on_gold_spans():
    annotations = [
        annotation("ana", [FIRST, SECOND]),
        annotation("bob", [FIRST, SECOND]),
        annotation("cy", [FIRST, WRONG]),
    ]
    resolution = resolve_gold(SENTENCE, annotations, None, "majority")
    assert resolution.source == "unanimous"  # the spans are the same for all three
    assert groups(resolution) == [(FIRST.spans, "unanimous"), (SECOND.spans, "majority")]
    # Unanimous: only what all three linked.
    assert groups(resolve_gold(SENTENCE, annotations, None, "unanimous")) == [(FIRST.spans, "unanimous")]


def test_incident_gold_leaves_out_incidents_whose_spans_are_not_gold_and_tied_ones():
    # bob lacks the Bryansk span: 1 of 2 voters has it, so the sentence has no majority.
    no_span = [annotation("ana", [FIRST, SECOND]), annotation("bob", [FIRST], spans=SPANS[:4])]
    assert resolve_gold(SENTENCE, no_span, None, "majority").excluded == "no majority"
    # Same spans, incidents differ: the tied incident is left out, the sentence kept.
    tied = [annotation("ana", [FIRST, SECOND]), annotation("bob", [FIRST, WRONG])]
    resolution = resolve_gold(SENTENCE, tied, None, "majority")
    assert resolution.included and groups(resolution) == [(FIRST.spans, "unanimous")]
    three = [annotation("ana", [SECOND]), annotation("bob", [SECOND]), annotation("cy", [], spans=SPANS[:3])]
    # The Bryansk span is in 2 of 3 (gold), so is SECOND.
    assert groups(resolve_gold(SENTENCE, three, None, "majority")) == [(SECOND.spans, "majority")]


def test_incident_gold_one_annotators_own_incidents():
    annotations = [annotation("ana", [FIRST, WRONG]), annotation("bob", [SECOND])]
    resolution = resolve_gold(SENTENCE, annotations, None, "annotator:ana")
    assert groups(resolution) == [(FIRST.spans, "annotator"), (WRONG.spans, "annotator")]
    assert groups(resolve_gold(SENTENCE, [annotation("one", [SECOND])], None, "majority")) == [
        (SECOND.spans, "single annotator")
    ]
