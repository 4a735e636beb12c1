"""Pairwise F1 on incidents (``annotator.incidents``): do two annotators group the same spans together?

An incident is a set of span keys ``(start_char, end_char, label)``. Two incidents of one sentence match

- **strictly** when they link exactly the same spans (same offsets and labels, same number of spans);
- **partially** when they link spans of the same labels and each span of one overlaps the span of the same
  label in the other (an incident holds at most one span of each label's kind, so the pairing is by label).

Matching is one to one: strict matches are taken first, then each remaining incident of the first
annotator takes the first remaining incident of the second that matches it partially, in the
incidents' sorted order (greedy, like ``span_metrics``). A pair's F1 is 2 x matched / (incidents of
both), pooled over the sentences both annotated (status done or flagged), then averaged over pairs;
None when neither linked any incident. Each figure comes with the sentences and incidents it rests on.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import Any

from ..records import AnnotationRecord, IncidentRecord, SpanKey
from .disagreements import COUNTED
from .summary import mean_defined, pair_key

__all__ = ["MATCHES", "incident_agreement", "matched_incidents"]

MATCHES = ("strict", "partial")
# Why the figure is None ("n/a: ..." on the dashboard and in `annotator agreement`).
NO_PAIR = "no sentence has two annotators yet"
NO_INCIDENTS = "no incidents yet on the sentences two annotators share"
Incident = frozenset[SpanKey]


def _overlap(a: SpanKey, b: SpanKey) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _partial(a: Incident, b: Incident) -> bool:
    by_label = {key[2]: key for key in b}
    if len(by_label) != len(b) or sorted(k[2] for k in a) != sorted(by_label):
        return False
    return all(_overlap(key, by_label[key[2]]) for key in a)


def matched_incidents(first: Iterable[IncidentRecord], second: Iterable[IncidentRecord], match: str) -> int:
    """How many incidents of ``first`` are matched one to one by incidents of ``second``, by ``match``.

    ``match`` is ``strict`` or ``partial`` (see the module doc); an incident given twice counts once.
    Raises ValueError for another ``match``.
    """
    if match not in MATCHES:
        raise ValueError(f"unknown incident match {match!r}: use one of {', '.join(MATCHES)}")
    a = sorted({frozenset(i.spans) for i in first}, key=sorted)
    b = sorted({frozenset(i.spans) for i in second}, key=sorted)
    common = set(a) & set(b)
    matched = len(common)
    if match == "partial":
        rest_b = [i for i in b if i not in common]
        for incident in (i for i in a if i not in common):
            hit = next((j for j, other in enumerate(rest_b) if _partial(incident, other)), None)
            if hit is not None:
                matched += 1
                del rest_b[hit]
    return matched


def incident_agreement(annotations: Iterable[AnnotationRecord]) -> dict[str, Any]:
    """Pairwise incident F1, strict and partial, as a JSON-ready dict.

    ``{"overall": strict mean over pairs, "partial": {"overall", "pairs"}, "pairs": {"A|B": {"overall",
    "sentences", "incidents", "matched"}}, "support": {"sentences", "pairs", "incidents"}, "match": ...,
    "reason"}``: ``reason`` says why ``overall`` is None (no shared sentence, or no incident on one), else None.
    Only annotations with status done or flagged count; a pair counts the sentences both annotated, with or
    without incidents (a sentence one of them left without incidents counts their incidents as unmatched).
    Raises ValueError for two annotations of one sentence by one annotator.
    """
    by_sentence: dict[int, dict[str, tuple[IncidentRecord, ...]]] = {}
    for a in annotations:
        if a.status not in COUNTED:
            continue
        held = by_sentence.setdefault(a.sentence_id, {})
        if a.annotator in held:
            raise ValueError(f"sentence {a.sentence_id} has two annotations by {a.annotator!r}")
        held[a.annotator] = a.incidents
    tallies: dict[tuple[str, str], dict[str, int]] = {}
    shared: set[int] = set()
    for sentence_id, held in by_sentence.items():
        for x, y in combinations(sorted(held), 2):
            first, second = held[x], held[y]
            tally = tallies.setdefault((x, y), {"sentences": 0, "incidents": 0, "strict": 0, "partial": 0})
            tally["sentences"] += 1
            shared.add(sentence_id)
            tally["incidents"] += len({frozenset(i.spans) for i in first}) + len({frozenset(i.spans) for i in second})
            if first or second:
                for match in MATCHES:
                    tally[match] += matched_incidents(first, second, match)
    sections: dict[str, dict[str, Any]] = {}
    for match in MATCHES:
        pairs = {
            pair_key(x, y): {
                "overall": 2 * t[match] / t["incidents"] if t["incidents"] else None,
                "sentences": t["sentences"],
                "incidents": t["incidents"],
                "matched": t[match],
            }
            for (x, y), t in tallies.items()
        }
        sections[match] = {"overall": mean_defined(p["overall"] for p in pairs.values()), "pairs": pairs}
    strict = sections["strict"]
    return {
        **strict,
        "reason": None if strict["overall"] is not None else NO_PAIR if not tallies else NO_INCIDENTS,
        "match": "strict: the same spans linked; partial: spans of the same labels that overlap; "
        "pooled over the sentences a pair shares, then the mean over pairs",
        "support": {
            "sentences": len(shared),
            "pairs": len(tallies),
            "incidents": sum(t["incidents"] for t in tallies.values()),
        },
        "partial": sections["partial"],
    }
