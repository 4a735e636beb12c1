"""Where spans come from and how accepted suggestions fare against gold: the pure metric, by hand."""

from __future__ import annotations

import subprocess
import sys

from annotator.metrics.suggestion_sources import describe, suggestion_sources
from annotator.records import AnnotationRecord, GoldRecord, GoldSpanRecord, SpanRecord


def rules(start: int, end: int, label: str) -> SpanRecord:
    return SpanRecord(start, end, label, suggested=True, source="rules")


def model(start: int, end: int, label: str, version: int | None) -> SpanRecord:
    return SpanRecord(start, end, label, suggested=True, source="model", model_version=version)


def hand(start: int, end: int, label: str) -> SpanRecord:
    return SpanRecord(start, end, label)


# Sentence 1 is adjudicated: gold {(0,3,COUNT), (10,14,REGION), (20,25,OUTCOME)}. Sentence 2 is not.
GOLD = [
    GoldRecord(1, (GoldSpanRecord(0, 3, "COUNT"), GoldSpanRecord(10, 14, "REGION"), GoldSpanRecord(20, 25, "OUTCOME")))
]
ANNOTATIONS = [
    # ann on the gold sentence: rules COUNT right, model v2 REGION right, model v3 wrong label, hand OUTCOME right.
    AnnotationRecord(
        1,
        "ann",
        "done",
        (rules(0, 3, "COUNT"), model(10, 14, "REGION", 2), model(20, 25, "COUNT", 3), hand(20, 25, "OUTCOME")),
    ),
    # ann elsewhere: an import suggestion and a hand span, no gold to score them on.
    AnnotationRecord(
        2, "ann", "done", (SpanRecord(0, 4, "REGION", suggested=True, source="import"), hand(5, 9, "COUNT"))
    ),
    # bob: everything by hand, one right and one wrong (offsets off by one); flagged counts too.
    AnnotationRecord(1, "bob", "flagged", (hand(0, 3, "COUNT"), hand(10, 15, "REGION")), "unsure"),
    # bob's skip is left out, spans and all.
    AnnotationRecord(2, "bob", "skipped", (rules(0, 4, "REGION"),)),
    # cy: a suggestion accepted before sources were kept (source unknown), on the gold sentence, right.
    AnnotationRecord(1, "cy", "done", (SpanRecord(0, 3, "COUNT", suggested=True),)),
]


def test_suggestion_sources_shares_per_annotator_and_source():
    report = suggestion_sources(ANNOTATIONS, GOLD)
    ann = report["annotators"]["ann"]
    # 6 spans, 4 accepted: rules 1, model 2, import 1; 1/6, 2/6, 1/6.
    assert (ann["spans"], ann["suggested"], ann["share"]) == (6, 4, 4 / 6)
    assert {s: b["spans"] for s, b in ann["by_source"].items()} == {"import": 1, "rules": 1, "model": 2, "unknown": 0}
    assert ann["by_source"]["model"]["share"] == 2 / 6
    assert ann["by_source"]["model"]["model_versions"] == [{"version": 2, "spans": 1}, {"version": 3, "spans": 1}]
    assert ann["by_source"]["rules"]["model_versions"] == []
    assert ann["by_source"]["unknown"]["share"] == 0.0
    bob = report["annotators"]["bob"]
    assert (bob["spans"], bob["suggested"], bob["share"]) == (2, 0, 0.0)
    cy = report["annotators"]["cy"]
    assert cy["by_source"]["unknown"]["spans"] == 1 and cy["share"] == 1.0
    assert report["sources"] == ["import", "model", "rules", "unknown"]
    # overall: 9 spans, 5 from suggestions
    assert (report["overall"]["spans"], report["overall"]["suggested"]) == (9, 5)


def test_suggestion_sources_precision_against_gold_with_counts():
    report = suggestion_sources(ANNOTATIONS, GOLD)
    ann = report["annotators"]["ann"]["vs_gold"]
    # On sentence 1 only: suggested 2 of 3 match gold (the model v3 COUNT does not), hand-made 1 of 1.
    assert ann["sentences"] == 1
    assert ann["suggested"] == {"precision": 2 / 3, "correct": 2, "spans": 3}
    assert ann["hand_made"] == {"precision": 1.0, "correct": 1, "spans": 1}
    by_source = report["annotators"]["ann"]["by_source"]
    assert by_source["model"]["vs_gold"] == {"precision": 0.5, "correct": 1, "spans": 2}
    assert by_source["rules"]["vs_gold"] == {"precision": 1.0, "correct": 1, "spans": 1}
    bob = report["annotators"]["bob"]["vs_gold"]
    assert bob["hand_made"] == {"precision": 0.5, "correct": 1, "spans": 2}
    overall = report["overall"]["vs_gold"]
    # ann 2/3 + cy's unknown 1/1 = 3 of 4 suggested; ann 1/1 + bob 1/2 = 2 of 3 hand-made; one sentence.
    assert overall["suggested"] == {"precision": 0.75, "correct": 3, "spans": 4}
    assert overall["hand_made"] == {"precision": 2 / 3, "correct": 2, "spans": 3}
    assert overall["sentences"] == 1


def test_suggestion_sources_undefined_figures_are_none_not_zero():
    report = suggestion_sources(ANNOTATIONS, GOLD)
    # bob accepted no suggestion: no precision for suggestions, no share for the import source's gold figure.
    bob = report["annotators"]["bob"]
    assert bob["vs_gold"]["suggested"] == {"precision": None, "correct": 0, "spans": 0}
    assert bob["by_source"]["import"]["vs_gold"]["precision"] is None
    # No gold at all: every precision None, the sentence count 0; shares still defined.
    plain = suggestion_sources(ANNOTATIONS)
    assert plain["overall"]["vs_gold"]["sentences"] == 0
    assert plain["overall"]["vs_gold"]["suggested"]["precision"] is None
    assert plain["annotators"]["ann"]["share"] == 4 / 6
    # An annotator whose only annotation has no spans: share None.
    empty = suggestion_sources([AnnotationRecord(1, "dee", "done", ())])
    assert empty["annotators"]["dee"]["share"] is None
    assert empty["annotators"]["dee"]["by_source"]["rules"]["share"] is None
    assert suggestion_sources([])["annotators"] == {}


def test_suggestion_sources_model_suggestion_without_a_version_is_listed_last():
    report = suggestion_sources([AnnotationRecord(1, "ann", "done", (model(0, 3, "X", None), model(5, 8, "X", 4)))])
    assert report["annotators"]["ann"]["by_source"]["model"]["model_versions"] == [
        {"version": 4, "spans": 1},
        {"version": None, "spans": 1},
    ]


def test_suggestion_sources_summary_says_it_in_words():
    report = suggestion_sources(ANNOTATIONS, GOLD)
    assert report["summary"] == (
        "On 1 adjudicated sentence, spans that agree with gold exactly: "
        "accepted suggestions 75% (3 of 4 spans); hand-made spans 67% (2 of 3 spans)."
    )
    assert describe(suggestion_sources(ANNOTATIONS)["overall"]).startswith("No adjudicated sentence")
    only_hand = suggestion_sources([AnnotationRecord(1, "bob", "done", (hand(0, 3, "COUNT"),))], GOLD)
    assert "no accepted suggestions to compare" in only_hand["summary"]
    assert "hand-made spans 100% (1 of 1 span)" in only_hand["summary"]


def test_suggestion_sources_imports_neither_flask_nor_the_orm():
    code = (
        "import sys, annotator.metrics.suggestion_sources; "
        "print(any(m in sys.modules for m in ('flask', 'sqlalchemy', 'spacy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
