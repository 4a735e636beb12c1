"""Gold policy resolution on hand-built records."""

from __future__ import annotations

import pytest

from annotator.export.gold import Resolution, check_policy, resolve_gold
from annotator.records import AnnotationRecord, GoldRecord, GoldSpanRecord, SentenceRecord, SpanRecord

TEXT = "Two drones were shot down over Kharkiv region."
SENTENCE = SentenceRecord(id=7, report_id=1, position=0, text=TEXT)

KHARKIV = SpanRecord(31, 38, "REGION", "Kharkiv Oblast")
KHARKIV_REGION = SpanRecord(31, 45, "REGION", "Kharkiv Oblast")
TWO = SpanRecord(0, 3, "COUNT", "2")
SHOT = SpanRecord(16, 25, "OUTCOME")


def ann(name: str, *spans: SpanRecord, status: str = "done") -> AnnotationRecord:
    return AnnotationRecord(sentence_id=SENTENCE.id, annotator=name, status=status, spans=spans)


def keys(resolution: Resolution) -> list[tuple[int, int, str]]:
    return [(s.start_char, s.end_char, s.label) for s in resolution.spans]


def test_gold_majority_takes_spans_of_more_than_half_of_voters():
    annotations = [ann("ana", KHARKIV, TWO), ann("bo", KHARKIV, TWO), ann("cy", KHARKIV_REGION, TWO)]
    resolution = resolve_gold(SENTENCE, annotations, None, "majority")
    assert resolution.included and resolution.source == "majority"
    assert keys(resolution) == [(0, 3, "COUNT"), (31, 38, "REGION")]
    provenance = {s.label: s.provenance for s in resolution.spans}
    assert provenance == {"COUNT": "unanimous", "REGION": "majority"}


def test_gold_majority_is_unanimous_source_when_all_voters_agree():
    annotations = [ann("ana", TWO), ann("bo", TWO)]
    resolution = resolve_gold(SENTENCE, annotations, None, "majority")
    assert resolution.source == "unanimous"
    assert [s.provenance for s in resolution.spans] == ["unanimous"]


def test_gold_majority_tie_on_boundaries_excludes_sentence():
    annotations = [ann("ana", KHARKIV), ann("bo", KHARKIV_REGION)]
    resolution = resolve_gold(SENTENCE, annotations, None, "majority")
    assert not resolution.included
    assert resolution.excluded == "no majority"
    assert resolution.spans == ()


def test_gold_majority_minority_span_is_left_out():
    annotations = [ann("ana", TWO, SHOT), ann("bo", TWO), ann("cy", TWO)]
    resolution = resolve_gold(SENTENCE, annotations, None)
    assert keys(resolution) == [(0, 3, "COUNT")]
    assert resolution.source == "majority"


def test_gold_majority_skipped_annotations_do_not_vote():
    annotations = [ann("ana", KHARKIV), ann("bo", status="skipped"), ann("cy", status="skipped")]
    resolution = resolve_gold(SENTENCE, annotations, None, "majority")
    assert keys(resolution) == [(31, 38, "REGION")]
    # One voter is nobody's agreement: named for what it is, not "unanimous".
    assert resolution.source == "single annotator"
    assert [s.provenance for s in resolution.spans] == ["single annotator"]


@pytest.mark.parametrize("policy", ["majority", "unanimous"])
def test_gold_flagged_sentence_waits_for_review(policy):
    # A flag is a question: no vote answers it, not even an outvoting majority.
    annotations = [ann("ana", TWO), ann("bo", TWO, SHOT, status="flagged"), ann("cy", TWO)]
    resolution = resolve_gold(SENTENCE, annotations, None, policy)
    assert resolution.excluded == "flagged, awaiting review"
    assert (
        resolve_gold(SENTENCE, [ann("bo", SHOT, status="flagged")], None, policy).excluded == "flagged, awaiting review"
    )


def test_gold_flagged_annotations_vote_once_adjudicated():
    gold = GoldRecord(SENTENCE.id, (GoldSpanRecord(0, 3, "COUNT"), GoldSpanRecord(16, 25, "OUTCOME")))
    annotations = [ann("ana", TWO), ann("bo", TWO, SHOT, status="flagged")]
    resolution = resolve_gold(SENTENCE, annotations, gold, "majority")
    assert resolution.source == "adjudicated"
    assert keys(resolution) == [(0, 3, "COUNT"), (16, 25, "OUTCOME")]


def test_gold_done_without_spans_is_a_negative():
    resolution = resolve_gold(SENTENCE, [ann("ana"), ann("bo")], None, "majority")
    assert resolution.included and resolution.spans == ()
    assert resolution.source == "unanimous"


@pytest.mark.parametrize("policy", ["majority", "unanimous"])
def test_gold_everyone_skipped_is_excluded(policy):
    annotations = [ann("ana", status="skipped"), ann("bo", status="skipped")]
    assert resolve_gold(SENTENCE, annotations, None, policy).excluded == "skipped by all"


@pytest.mark.parametrize("policy", ["majority", "unanimous"])
def test_gold_no_annotations_is_excluded(policy):
    assert resolve_gold(SENTENCE, [], None, policy).excluded == "no annotations"


@pytest.mark.parametrize("policy", ["adjudicated", "majority", "unanimous"])
def test_gold_adjudication_wins_when_present(policy):
    gold = GoldRecord(SENTENCE.id, (GoldSpanRecord(31, 45, "REGION", "Kharkiv Oblast", "majority"),), "rev")
    annotations = [ann("ana", KHARKIV), ann("bo", KHARKIV)]
    resolution = resolve_gold(SENTENCE, annotations, gold, policy)
    assert resolution.source == "adjudicated"
    assert keys(resolution) == [(31, 45, "REGION")]
    assert resolution.spans[0].provenance == "adjudicated"
    assert resolution.spans[0].value == "Kharkiv Oblast"


def test_gold_adjudicated_negative_is_included():
    resolution = resolve_gold(SENTENCE, [ann("ana", TWO)], GoldRecord(SENTENCE.id), "adjudicated")
    assert resolution.included and resolution.spans == ()


def test_gold_adjudicated_policy_without_gold_is_excluded():
    resolution = resolve_gold(SENTENCE, [ann("ana", TWO), ann("bo", TWO)], None, "adjudicated")
    assert resolution.excluded == "no adjudication"


def test_gold_unanimous_requires_identical_span_sets():
    agreeing = [ann("ana", TWO, KHARKIV), ann("bo", KHARKIV, TWO), ann("cy", status="skipped")]
    resolution = resolve_gold(SENTENCE, agreeing, None, "unanimous")
    assert resolution.source == "unanimous"
    assert keys(resolution) == [(0, 3, "COUNT"), (31, 38, "REGION")]
    assert {s.provenance for s in resolution.spans} == {"unanimous"}

    disagreeing = [ann("ana", TWO, KHARKIV), ann("bo", TWO, KHARKIV), ann("cy", TWO)]
    assert resolve_gold(SENTENCE, disagreeing, None, "unanimous").excluded == "not unanimous"


def test_gold_annotator_policy_takes_one_annotators_spans():
    gold = GoldRecord(SENTENCE.id, (GoldSpanRecord(0, 3, "COUNT"),))
    annotations = [ann("ana", KHARKIV_REGION, status="flagged"), ann("bo", KHARKIV)]
    resolution = resolve_gold(SENTENCE, annotations, gold, "annotator:ana")
    assert resolution.source == "annotator:ana"
    assert keys(resolution) == [(31, 45, "REGION")]
    assert resolution.spans[0].provenance == "annotator"


def test_gold_annotator_policy_exclusions():
    annotations = [ann("ana", status="skipped"), ann("bo", TWO)]
    assert resolve_gold(SENTENCE, annotations, None, "annotator:ana").excluded == "skipped by ana"
    assert resolve_gold(SENTENCE, annotations, None, "annotator:cy").excluded == "not annotated by cy"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Kharkiv Oblast", "Kharkiv Oblast", "Kharkiv"], "Kharkiv Oblast"),
        (["Kharkiv Oblast", "Kharkiv"], None),
        (["Kharkiv Oblast", None], "Kharkiv Oblast"),
        ([None, None, None], None),
    ],
)
def test_gold_value_is_majority_of_agreeing_annotators(values, expected):
    annotations = [ann(f"a{i}", SpanRecord(31, 38, "REGION", value)) for i, value in enumerate(values)]
    resolution = resolve_gold(SENTENCE, annotations, None, "majority")
    assert resolution.spans[0].value == expected


def test_gold_value_ignores_annotators_with_other_boundaries():
    annotations = [
        ann("ana", SpanRecord(31, 38, "REGION", "Kharkiv Oblast")),
        ann("bo", SpanRecord(31, 38, "REGION", "Kharkiv Oblast")),
        ann("cy", SpanRecord(31, 45, "REGION", "Kharkiv")),
        ann("di", SpanRecord(31, 45, "REGION", "Kharkiv")),
        ann("ed", SpanRecord(31, 38, "REGION", "Kharkiv")),
    ]
    resolution = resolve_gold(SENTENCE, annotations, None)
    assert keys(resolution) == [(31, 38, "REGION")]
    assert resolution.spans[0].value == "Kharkiv Oblast"


def test_gold_same_span_twice_by_one_annotator_is_one_vote():
    annotations = [ann("ana", TWO, TWO), ann("bo"), ann("cy")]
    resolution = resolve_gold(SENTENCE, annotations, None)
    assert resolution.spans == () and resolution.source == "majority"


@pytest.mark.parametrize("policy", ["gold", "annotator:", "Majority"])
def test_gold_unknown_policy_raises(policy):
    with pytest.raises(ValueError, match="unknown gold policy"):
        check_policy(policy)
    with pytest.raises(ValueError):
        resolve_gold(SENTENCE, [], None, policy)


def test_gold_rejects_records_of_other_sentences_and_duplicates():
    other = AnnotationRecord(sentence_id=99, annotator="ana", status="done")
    with pytest.raises(ValueError, match="sentence 99"):
        resolve_gold(SENTENCE, [other], None)
    with pytest.raises(ValueError, match="two annotations"):
        resolve_gold(SENTENCE, [ann("ana"), ann("ana", TWO)], None)
    with pytest.raises(ValueError, match="gold of sentence 99"):
        resolve_gold(SENTENCE, [], GoldRecord(99))


def test_gold_policies_table_is_what_check_and_resolve_read():
    from annotator.export.gold import POLICIES

    for policy in POLICIES.values():
        spelled = policy.spelled.replace(f":{policy.argument}", ":ana") if policy.argument else policy.spelled
        assert check_policy(spelled) == spelled
        assert resolve_gold(SENTENCE, [ann("ana", TWO)], None, spelled).sentence_id == SENTENCE.id
        assert policy.description
        if policy.argument is not None:  # a parametrised policy needs its argument
            with pytest.raises(ValueError, match="unknown gold policy"):
                check_policy(policy.name)
