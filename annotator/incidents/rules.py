"""The rule baseline that groups a sentence's spans into incidents: nearest partners within the clause.

For each count span, in order: its outcome is the nearest category span in its clause (before or
after; one outcome may serve several counts), its region the first region span after it and before
the next count, else the nearest region span before it in its clause. A category span that no count
took is an incident of its own with the nearest region span in its clause ("a drone damaged a house
in Kursk"). Clauses end at ``;`` and at line breaks. Roles come from the labels' kinds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..records import IncidentRecord, SpanKey
from .links import role_kind

__all__ = ["link_nearest"]

_CLAUSE_END = re.compile(r"[;\n]")


def _clause_of(text: str) -> list[int]:
    """For each character offset of ``text`` (and its end), the number of the clause it is in."""
    clause, out = 0, []
    for char in text:
        out.append(clause)
        if _CLAUSE_END.match(char):
            clause += 1
    out.append(clause)
    return out


def _distance(a: SpanKey, b: SpanKey) -> int:
    return max(b[0] - a[1], a[0] - b[1], 0)


def link_nearest(
    text: str, spans: Iterable[SpanKey], scheme: Iterable[Mapping[str, Any]] | None = None
) -> list[IncidentRecord]:
    """Incidents proposed for the spans ``spans`` of the sentence ``text`` (offsets into ``text``).

    Spans of labels that take no part in incidents are ignored; the result passes
    ``links.check_incidents``.
    """
    scheme = None if scheme is None else list(scheme)
    clause = _clause_of(text)
    by_kind: dict[str, list[SpanKey]] = {"count": [], "category": [], "region": []}
    for key in sorted(set(spans)):
        kind = role_kind(key[2], scheme)
        if kind is not None and 0 <= key[0] < key[1] <= len(text):
            by_kind[kind].append(key)

    def same_clause(a: SpanKey, b: SpanKey) -> bool:
        return clause[a[0]] == clause[b[0]]

    def nearest(key: SpanKey, candidates: Sequence[SpanKey]) -> SpanKey | None:
        near = [c for c in candidates if same_clause(key, c)]
        return min(near, key=lambda c: (_distance(key, c), c)) if near else None

    counts = by_kind["count"]
    incidents: list[IncidentRecord] = []
    taken: set[SpanKey] = set()
    for i, count in enumerate(counts):
        limit = counts[i + 1][0] if i + 1 < len(counts) else len(text) + 1
        after = [r for r in by_kind["region"] if count[1] <= r[0] < limit and same_clause(count, r)]
        before = [r for r in by_kind["region"] if r[1] <= count[0]]
        region = after[0] if after else nearest(count, before)
        outcome = nearest(count, by_kind["category"])
        partners = [p for p in (outcome, region) if p is not None]
        if partners:
            incidents.append(IncidentRecord(tuple(sorted((count, *partners)))))
            if outcome is not None:
                taken.add(outcome)
    for outcome in by_kind["category"]:
        if outcome in taken:
            continue
        region = nearest(outcome, by_kind["region"])
        if region is not None:
            incidents.append(IncidentRecord(tuple(sorted((outcome, region)))))
    return incidents
