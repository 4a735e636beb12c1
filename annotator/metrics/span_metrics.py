"""Entity-level comparison of labelled spans: the SemEval-2013 task 9.1 schemes.

Spans are ``(start, end, label)`` with ``end`` exclusive (character or token
offsets, as long as both sides use the same), or any record with
``start_char``/``end_char``/``label`` attributes such as ``SpanRecord``.
Counts follow David Batista's "Named-Entity evaluation metrics based on
entity-level" (2018) and reproduce the ``nervaluate`` package's Evaluator,
including its greedy, order-dependent matching (see ``span_scores``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Span = tuple[int, int, str]

SCHEMES = ("strict", "exact", "partial", "type")
_COUNTS = ("correct", "incorrect", "partial", "missed", "spurious")


def as_span(span: Any) -> Span:
    """Return ``span`` as a ``(start, end, label)`` triple.

    Accepts a 3-sequence or a record with ``start_char``, ``end_char`` and
    ``label``. Raises ValueError for an empty or reversed span.
    """
    if hasattr(span, "start_char"):
        start, end, label = span.start_char, span.end_char, span.label
    else:
        start, end, label = span
    if not start < end:
        raise ValueError(f"span {span!r} is empty or reversed: start must be below end (end is exclusive)")
    return int(start), int(end), label


def overlaps(a: Span, b: Span) -> bool:
    """True when the two spans share at least one offset (ends exclusive)."""
    return a[0] < b[1] and b[0] < a[1]


def _classify(reference: Sequence[Span], candidate: Sequence[Span], scheme: str) -> dict[str, int]:
    """Count correct/incorrect/partial/missed/spurious for one document.

    Mirrors nervaluate's strategies: each candidate span, in order, takes the
    first unclaimed reference span that matches the scheme; failing that, the
    first unclaimed overlapping one (incorrect, or partial under "partial").
    Under "type" the match is the same-label overlapping reference span with
    the smallest boundary distance. A claimed reference span is never reused.
    """
    counts = dict.fromkeys(_COUNTS, 0)
    claimed: set[int] = set()
    for cand in candidate:
        hit: int | None = None
        near: int | None = None
        best: int | None = None
        for i, ref in enumerate(reference):
            if i in claimed:
                continue
            if scheme == "type":
                if not overlaps(ref, cand):
                    continue
                if ref[2] == cand[2]:
                    distance = abs(ref[0] - cand[0]) + abs(ref[1] - cand[1])
                    if best is None or distance < best:
                        hit, best = i, distance
                elif near is None:
                    near = i
                continue
            if ref[:2] == cand[:2] and (scheme != "strict" or ref[2] == cand[2]):
                hit = i
                break
            if near is None and overlaps(ref, cand):
                near = i
        if hit is not None:
            counts["correct"] += 1
            claimed.add(hit)
        elif near is not None:
            counts["partial" if scheme == "partial" else "incorrect"] += 1
            claimed.add(near)
        else:
            counts["spurious"] += 1
    counts["missed"] = len(reference) - len(claimed)
    return counts


def _ratio(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _score(counts: dict[str, int]) -> dict[str, Any]:
    """Add possible/actual and precision/recall/f1 (None where undefined)."""
    c = counts
    result: dict[str, Any] = dict(c)
    result["possible"] = c["correct"] + c["incorrect"] + c["partial"] + c["missed"]
    result["actual"] = c["correct"] + c["incorrect"] + c["partial"] + c["spurious"]
    # "partial" is only ever non-zero under the partial scheme, so one formula
    # serves all four schemes.
    credit = c["correct"] + 0.5 * c["partial"]
    precision = _ratio(credit, result["actual"])
    recall = _ratio(credit, result["possible"])
    if precision is None or recall is None:
        f1 = None
    elif precision + recall == 0:
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    result.update(precision=precision, recall=recall, f1=f1)
    return result


def _scheme_scores(reference: list[list[Span]], candidate: list[list[Span]]) -> dict[str, dict[str, Any]]:
    scores = {}
    for scheme in SCHEMES:
        total = dict.fromkeys(_COUNTS, 0)
        for ref_doc, cand_doc in zip(reference, candidate):
            for key, value in _classify(ref_doc, cand_doc, scheme).items():
                total[key] += value
        scores[scheme] = _score(total)
    return scores


def span_scores(reference: Sequence[Iterable[Any]], candidate: Sequence[Iterable[Any]]) -> dict[str, Any]:
    """Score candidate spans against reference spans, document by document.

    ``reference`` and ``candidate`` are equally long lists of documents, each a
    list of spans. Returns ``{"strict", "exact", "partial", "type"}`` score
    dicts plus ``"by_label": {label: {scheme: scores}}`` for every label seen
    on either side. Each score dict holds the counts ``correct, incorrect,
    partial, missed, spurious, possible, actual`` and ``precision, recall,
    f1`` as fractions in [0, 1], higher is better:

    - strict: same boundaries and label; exact: same boundaries, any label
      (overlap with other boundaries is incorrect); partial: same boundaries
      correct, other overlap partial, any label; type: any overlap with the
      same label.
    - precision = (correct + 0.5 * partial) / actual and recall = ... /
      possible; ``partial`` is 0 outside the partial scheme.
    - Undefined values are None, not 0 (nervaluate reports 0): precision when
      actual == 0, recall when possible == 0, and f1 whenever precision or
      recall is None. f1 is 0.0 when both are defined and 0.

    Like nervaluate, a label's scores compare only the spans of that label on
    both sides, so a label confusion is a missed span of one label and a
    spurious one of the other, not an "incorrect". Matching is greedy: spans
    are sorted by (start, end, label) within each document first, so the result
    does not depend on input order. Unlike nervaluate (min_overlap_percentage
    of the reference span's length, default 1%), any shared offset counts as
    overlap; the two agree whenever spans are at most 100 offsets long.

    Raises ValueError when the document counts differ or a span is empty.
    """
    if len(reference) != len(candidate):
        raise ValueError(
            f"span_scores needs one candidate document per reference document; "
            f"got {len(reference)} reference and {len(candidate)} candidate documents"
        )
    ref_docs = [sorted(as_span(s) for s in doc) for doc in reference]
    cand_docs = [sorted(as_span(s) for s in doc) for doc in candidate]
    scores: dict[str, Any] = _scheme_scores(ref_docs, cand_docs)
    labels = {s[2] for doc in ref_docs + cand_docs for s in doc}
    scores["by_label"] = {
        label: _scheme_scores(
            [[s for s in doc if s[2] == label] for doc in ref_docs],
            [[s for s in doc if s[2] == label] for doc in cand_docs],
        )
        for label in sorted(labels)
    }
    return scores
