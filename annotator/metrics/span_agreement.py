"""Span agreement between annotators: pairwise F1, token projection, label confusion.

Pure functions on plain records (numpy-free): ``(annotator, sentence_id,
spans)`` triples or ``AnnotationRecord``-like objects, spans as ``(start,
end, label)`` with ``end`` exclusive. Re-exported by ``annotator.metrics.coefficients``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain, combinations
from operator import itemgetter
from typing import Any

from .span_metrics import Span, as_span, overlaps
from .summary import pair_f1, pair_key, pairs_mean

__all__ = ["confusion", "matched_count", "pairwise_span_f1", "token_labels"]


def token_labels(tokens: int | Sequence[tuple[int, int]], spans: Iterable[Any]) -> list[str]:
    """Project spans onto tokens: one label per token, "O" where none.

    ``tokens`` is the token (start, end) offsets (end exclusive, same units as
    the spans), or a token count when the spans are in token indices. A token
    takes a span's label when it lies wholly within the span; a token only
    partly covered takes none, so a misaligned span shows up as disagreement.
    Where spans overlap, the first span listed wins.
    """
    offsets = [(i, i + 1) for i in range(tokens)] if isinstance(tokens, int) else list(tokens)
    labels = ["O"] * len(offsets)
    for start, end, label in map(as_span, spans):
        for i, (token_start, token_end) in enumerate(offsets):
            if labels[i] == "O" and start <= token_start and token_end <= end:
                labels[i] = label
    return labels


def matched_count(spans_a: list[Span], spans_b: list[Span], match: str) -> int:
    """Size of the largest one-to-one matching of same-label spans."""
    if match == "strict":
        return sum((Counter(spans_a) & Counter(spans_b)).values())
    owner: dict[int, int] = {}  # index in spans_b -> index in spans_a

    def augment(i: int, seen: set[int]) -> bool:  # Kuhn's augmenting path
        for j, span in enumerate(spans_b):
            if j not in seen and span[2] == spans_a[i][2] and overlaps(span, spans_a[i]):
                seen.add(j)
                if j not in owner or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return sum(augment(i, set()) for i in range(len(spans_a)))


def _spans_by_sentence(annotations: Iterable[Any]) -> dict[Any, dict[Any, tuple[Span, ...]]]:
    """{annotator: {sentence_id: spans}} from (annotator, sentence_id, spans) records.

    Spans go through ``as_span`` once and keep the order given, duplicates
    included. Raises ValueError for an invalid span or for two annotations of
    one sentence by one annotator.
    """
    table: dict[Any, dict[Any, tuple[Span, ...]]] = {}
    for record in annotations:
        if hasattr(record, "annotator"):
            annotator, sentence_id, spans = record.annotator, record.sentence_id, record.spans
        else:
            annotator, sentence_id, spans = record
        done = table.get(annotator)
        if done is None:
            done = table[annotator] = {}
        if sentence_id in done:
            raise ValueError(
                f"annotator {annotator!r} has two annotations of sentence {sentence_id!r}; pass one per sentence"
            )
        done[sentence_id] = tuple(map(as_span, spans))
    return table


def _by_annotator(annotations: Iterable[Any]) -> dict[Any, dict[Any, list[Span]]]:
    """{annotator: {sentence_id: spans}}, each sentence's spans sorted."""
    table = _spans_by_sentence(annotations)
    return {name: {sentence_id: sorted(spans) for sentence_id, spans in done.items()} for name, done in table.items()}


def _strict_counts(
    spans_a: dict[Any, tuple[Span, ...]], spans_b: dict[Any, tuple[Span, ...]], shared: set[Any]
) -> tuple[Counter[str], Counter[str]]:
    """(matched, marked) per label for one pair: spans equal in start, end and label.

    A span given twice counts twice in marked and matches min(times in a,
    times in b), as ``matched_count`` does. Labels are tallied in bulk at the end;
    most sentences hold the same spans in the same order for both and need
    one tuple comparison.
    """
    same: list[Any] = []  # sentences where every span matches
    hits: list[Span] = []  # matched spans of the other sentences
    for sentence_id in shared:
        at_a, at_b = spans_a[sentence_id], spans_b[sentence_id]
        if at_a == at_b:
            same.append(sentence_id)
        elif at_a and at_b:
            set_a, set_b = set(at_a), set(at_b)
            if len(set_a) == len(at_a) and len(set_b) == len(at_b):
                hits.extend(set_a & set_b)
            else:
                hits.extend((Counter(at_a) & Counter(at_b)).elements())
    matched = Counter(map(itemgetter(2), hits))
    matched.update(map(itemgetter(2), chain.from_iterable(map(spans_a.__getitem__, same))))
    marked = Counter(map(itemgetter(2), chain.from_iterable(map(spans_a.__getitem__, shared))))
    marked.update(map(itemgetter(2), chain.from_iterable(map(spans_b.__getitem__, shared))))
    return matched, marked


def _partial_counts(
    spans_a: dict[Any, tuple[Span, ...]], spans_b: dict[Any, tuple[Span, ...]], shared: set[Any]
) -> tuple[Counter[str], Counter[str]]:
    """(matched, marked) per label for one pair: maximum matching per sentence and label."""
    matched: Counter[str] = Counter()
    marked: Counter[str] = Counter()
    for sentence_id in shared:
        at_a, at_b = spans_a[sentence_id], spans_b[sentence_id]
        marked.update(s[2] for s in at_a)
        marked.update(s[2] for s in at_b)
        for label in {s[2] for s in at_a} & {s[2] for s in at_b}:
            matched[label] += matched_count(
                [s for s in at_a if s[2] == label], [s for s in at_b if s[2] == label], "partial"
            )
    return matched, marked


def pairwise_span_f1(annotations: Iterable[Any], match: str = "strict") -> dict[str, Any]:
    """Span F1 between every pair of annotators, pooled over shared sentences.

    ``annotations``: (annotator, sentence_id, spans) triples or
    ``AnnotationRecord``-like objects, one per annotator and sentence; a
    sentence done with no spans counts. ``match``: "strict" (same start, end
    and label) or "partial" (same label and overlapping; each span matched at
    most once, maximum matching, full credit). For a pair, F1 =
    2 * matched / (spans_a + spans_b) over the sentences both did: this equals
    the F1 of either annotator scored against the other, is 0 when they share
    no span, and None only when neither marked any span. A span given twice
    by one annotator counts twice in spans_a and matches at most as often as
    the other annotator gave it.

    Returns ``{"pairs": {"A|B": {"overall", "by_label", "sentences"}},
    "overall": mean over pairs, "by_label": {label: mean over pairs}}``;
    names are sorted within a pair, means skip None and are None with no
    pairs. Pairs that share no sentence are left out.
    """
    if match not in ("strict", "partial"):
        raise ValueError(f'match must be "strict" or "partial", not {match!r}')
    table = _spans_by_sentence(annotations)
    pairs: dict[str, dict[str, Any]] = {}
    for first, second in combinations(sorted(table), 2):
        shared = table[first].keys() & table[second].keys()
        if not shared:
            continue
        if match == "strict":
            matched, marked = _strict_counts(table[first], table[second], shared)
        else:
            matched, marked = _partial_counts(table[first], table[second], shared)
        pairs[pair_key(first, second)] = {**pair_f1(matched, marked), "sentences": len(shared)}
    labels = sorted({label for pair in pairs.values() for label in pair["by_label"]})
    return {"pairs": pairs, **pairs_mean(pairs, labels)}


def confusion(
    annotations: Iterable[Any], tokens: Mapping[Any, int | Sequence[tuple[int, int]]] | None = None
) -> dict[tuple[str | None, str | None], int]:
    """Label confusion counts between annotators: {(label_a, label_b): count}.

    For every pair of annotators (a = the name that sorts first) and every
    sentence both did, each unit counts once under the labels the two gave
    it, None meaning "no span there". Without ``tokens`` the units are the
    extents (start, end) that either annotator marked, so a boundary
    disagreement counts as (label, None) plus (None, label) and (None, None)
    never occurs; several labels on one extent pair up in sorted order.
    With ``tokens`` ({sentence_id: token offsets or count}) the units are the
    tokens, labelled by ``token_labels``, and (None, None) counts unlabelled
    tokens. The result is not symmetric: add (a, b) and (b, a) to pool.
    """
    table = _by_annotator(annotations)
    counts: Counter[tuple[str | None, str | None]] = Counter()
    for first, second in combinations(sorted(table), 2):
        for sentence_id in table[first].keys() & table[second].keys():
            spans_a, spans_b = table[first][sentence_id], table[second][sentence_id]
            if tokens is not None:
                if sentence_id not in tokens:
                    raise ValueError(f"confusion has no token offsets for sentence {sentence_id!r}")
                labels_a = token_labels(tokens[sentence_id], spans_a)
                labels_b = token_labels(tokens[sentence_id], spans_b)
                counts.update((a if a != "O" else None, b if b != "O" else None) for a, b in zip(labels_a, labels_b))
                continue
            for extent in {s[:2] for s in spans_a + spans_b}:
                at_a: list[str | None] = [*sorted(s[2] for s in spans_a if s[:2] == extent)]
                at_b: list[str | None] = [*sorted(s[2] for s in spans_b if s[:2] == extent)]
                width = max(len(at_a), len(at_b))
                at_a += [None] * (width - len(at_a))
                at_b += [None] * (width - len(at_b))
                counts.update(zip(at_a, at_b))
    return dict(counts)
