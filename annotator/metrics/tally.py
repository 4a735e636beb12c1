"""Pairwise span F1 tallied batch by batch, for exports that stream.

``agreement.pairwise_span_f1`` needs every annotation at once; an export of a
million sentences reads them in batches and must not hold them all. Strict
span F1 pooled over sentences is a sum over sentences of per-label counts,
so ``SpanF1Tally`` keeps only those counts (pairs x labels integers) and
gives the same figures as ``pairwise_span_f1(..., match="strict")`` on the
same annotations (tests/test_agreement_tally.py checks that they agree).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import combinations
from typing import Any

from ..records import SpanRecord
from .span_metrics import as_span
from .summary import pair_f1, pairs_mean


class SpanF1Tally:
    """Matched and marked spans per annotator pair and label, added up batch by batch.

    ``add`` takes ``AnnotationRecord``-like objects or (annotator,
    sentence_id, spans) triples; every sentence must come in one call (its
    annotations all in the same batch), and once. ``summary`` returns
    ``{"overall", "by_label", "pairs"}`` as ``pairwise_span_f1`` computes
    them (a pair's F1 = 2 * matched / (spans_a + spans_b) over the sentences
    both did; means over pairs skip None), with ``pairs`` the number of pairs
    that share a sentence.
    """

    def __init__(self) -> None:
        self._matched: dict[tuple[Any, Any], Counter[str]] = defaultdict(Counter)
        self._marked: dict[tuple[Any, Any], Counter[str]] = defaultdict(Counter)
        self._shared: Counter[tuple[Any, Any]] = Counter()

    def add(self, annotations: Iterable[Any]) -> None:
        by_sentence: dict[Any, dict[Any, tuple]] = defaultdict(dict)
        for record in annotations:
            if hasattr(record, "annotator"):
                annotator, sentence_id, spans = record.annotator, record.sentence_id, record.spans
            else:
                annotator, sentence_id, spans = record
            if annotator in by_sentence[sentence_id]:
                raise ValueError(
                    f"annotator {annotator!r} has two annotations of sentence {sentence_id!r}; pass one per sentence"
                )
            by_sentence[sentence_id][annotator] = tuple(
                (s.start_char, s.end_char, s.label)  # a stored span: as_span's triple, without a call per span
                if type(s) is SpanRecord and s.start_char < s.end_char
                else as_span(s)
                for s in spans
            )
        for done in by_sentence.values():
            if len(done) < 2:
                continue
            counted = {name: _counted(spans) for name, spans in done.items()}  # once per sentence, not per pair
            for first, second in combinations(sorted(done), 2):
                pair, at_a, at_b = (first, second), done[first], done[second]
                self._shared[pair] += 1
                marked = self._marked[pair]
                for span in at_a:
                    marked[span[2]] += 1
                for span in at_b:
                    marked[span[2]] += 1
                if at_a and at_b:  # a span given twice matches at most as often as the other gave it
                    matched = self._matched[pair]
                    for label in _matched_labels(counted[first], counted[second]):
                        matched[label] += 1

    def summary(self) -> dict[str, Any]:
        pairs = {}
        for pair in sorted(self._shared):
            matched, marked = self._matched[pair], self._marked[pair]
            pairs[pair] = pair_f1(matched, marked)
        labels = sorted({label for pair in pairs.values() for label in pair["by_label"]})
        return {**pairs_mean(pairs, labels), "pairs": len(pairs)}


def _counted(spans: tuple) -> set | Counter:
    """``spans`` as a set when each is given once (most annotations), else as a Counter."""
    unique = set(spans)
    return unique if len(unique) == len(spans) else Counter(spans)


def _matched_labels(a: set | Counter, b: set | Counter) -> list[str]:
    """The label of each span both gave, as often as the one who gave it fewer times did."""
    if isinstance(a, set) and isinstance(b, set):
        return [s[2] for s in a & b]
    return [s[2] for s in (Counter(a) & Counter(b)).elements()]
