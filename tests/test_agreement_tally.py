"""SpanF1Tally: pairwise span F1 added up batch by batch equals pairwise_span_f1 on everything."""

import random

import pytest

from annotator.metrics.coefficients import pairwise_span_f1
from annotator.metrics.tally import SpanF1Tally
from annotator.records import AnnotationRecord, SpanRecord

LABELS = ("COUNT", "REGION", "OUTCOME")


def random_annotations(seed: int) -> list[AnnotationRecord]:
    """Annotators who do some sentences, often agree, sometimes repeat a span or mark none."""
    rng = random.Random(seed)
    names = ["ana", "bo", "cy", "di"][: rng.randint(1, 4)]
    out = []
    for sentence_id in range(rng.randint(0, 40)):
        truth = [(s, s + rng.randint(1, 4), rng.choice(LABELS)) for s in rng.sample(range(30), rng.randint(0, 3))]
        for name in names:
            if rng.random() < 0.3:
                continue  # not done by this annotator
            spans = [t for t in truth if rng.random() < 0.8]
            if spans and rng.random() < 0.1:
                spans.append(spans[0])  # the same span twice
            if rng.random() < 0.2:
                spans.append((40, 42, rng.choice(LABELS)))
            out.append(AnnotationRecord(sentence_id, name, "done", tuple(SpanRecord(*s) for s in spans)))
    return out


@pytest.mark.parametrize("seed", range(30))
def test_agreement_tally_equals_pairwise_span_f1_over_batches(seed):
    annotations = random_annotations(seed)
    expected = pairwise_span_f1(annotations)
    tally = SpanF1Tally()
    batch: list[AnnotationRecord] = []
    for annotation in annotations:  # batches of whole sentences, of varying size
        if (
            batch
            and batch[-1].sentence_id != annotation.sentence_id
            and random.Random(annotation.sentence_id).random() < 0.5
        ):
            tally.add(batch)
            batch = []
        batch.append(annotation)
    tally.add(batch)
    assert tally.summary() == {
        "overall": expected["overall"],
        "by_label": expected["by_label"],
        "pairs": len(expected["pairs"]),
    }


def test_agreement_tally_rejects_two_annotations_of_a_sentence_by_one_annotator():
    with pytest.raises(ValueError, match="two annotations"):
        SpanF1Tally().add([("ana", 1, [(0, 2, "X")]), ("ana", 1, [])])
    assert SpanF1Tally().summary() == {"overall": None, "by_label": {}, "pairs": 0}
