"""What makes a group of spans an incident, and an incident as Prodigy-shaped relations.

A span's role in an incident is its label's kind (``annotator.labels.kinds``), never its name:

- ``count``: how many; the incident's head when it has one.
- ``category``: the outcome (destroyed, intercepted, damaged); the head of an incident without a count.
- ``region``: where.

An incident holds two spans or more, at most one of each role, all spans of the annotation it belongs
to. A span may take part in several incidents ("destroyed" shared by two counts), but a head heads
one incident only: as relations, an incident is its head linked to each other span, and the
incidents of a sentence are read back by grouping the relations by head. Two incidents of one
sentence are never the same group.

The stored and JSON shape of one incident is ``{"spans": [{"start_char", "end_char", "label"}, ...]}``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..labels.kinds import kind_of
from ..records import IncidentRecord, SpanKey

__all__ = [
    "HEAD_KINDS",
    "RELATION_OF_KIND",
    "IncidentError",
    "Relation",
    "check_incidents",
    "incident_relations",
    "incidents_from_json",
    "incidents_from_relations",
    "incidents_to_json",
    "role_kind",
]

# The kinds that take part in incidents, in the order that picks the head.
HEAD_KINDS = ("count", "category")
# The relation label from the head to a span of each kind.
RELATION_OF_KIND = {"category": "outcome", "region": "location"}
LINKED_KINDS = frozenset((*HEAD_KINDS, *RELATION_OF_KIND))

Scheme = Iterable[Mapping[str, Any]] | None


class IncidentError(ValueError):
    """Incidents that break a rule of this module; ``problems`` lists each, naming the incident by index."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Relation:
    """A link from an incident's head to one of its other spans; ``label`` is ``outcome`` or ``location``."""

    head: SpanKey
    child: SpanKey
    label: str


def role_kind(label: str, scheme: Scheme = None) -> str | None:
    """The kind of ``label`` if spans of it take part in incidents, else None."""
    kind = kind_of(label, scheme)
    return kind if kind in LINKED_KINDS else None


def _head(spans: Sequence[SpanKey], scheme: Scheme) -> SpanKey | None:
    kinds = {role_kind(s[2], scheme): s for s in spans}
    return next((kinds[k] for k in HEAD_KINDS if k in kinds), None)


def _shown(label: str) -> str:
    """A label as a problem quotes it: whatever was sent, cut short (a client may send a megabyte)."""
    return label if len(label) <= 40 else label[:39] + "\u2026"


def check_incidents(incidents: Sequence[IncidentRecord], spans: Iterable[SpanKey], scheme: Scheme = None) -> list[str]:
    """The problems of ``incidents`` (empty when they are all right), each naming the incident (1-based).

    ``spans`` are the keys of the spans the incidents may use (the annotation's or the gold's).
    """
    present = set(spans)
    scheme = None if scheme is None else list(scheme)
    problems: list[str] = []
    seen: dict[tuple[SpanKey, ...], int] = {}
    heads: dict[SpanKey, int] = {}
    for number, incident in enumerate(incidents, start=1):
        keys = incident.spans
        where = f"incident {number}"
        if len(keys) < 2:
            problems.append(f"{where}: links {len(keys)} span; an incident links two spans or more")
            continue
        if len(set(keys)) != len(keys):
            problems.append(f"{where}: names a span twice")
            continue
        missing = [k for k in keys if k not in present]
        if missing:
            start, end, label = missing[0]
            problems.append(f"{where}: no {_shown(label)} span at {start}-{end} in this annotation")
            continue
        roles = [role_kind(k[2], scheme) for k in keys]
        if None in roles:
            label = keys[roles.index(None)][2]
            problems.append(
                f"{where}: {_shown(label)} spans do not take part in incidents (only count, category and region labels)"
            )
            continue
        doubled = sorted(
            r for r, n in Counter(roles).items() if r is not None and n > 1
        )  # linear: a line may link 100,000 spans
        if doubled:
            problems.append(f"{where}: has more than one {doubled[0]} span")
            continue
        if not any(r in HEAD_KINDS for r in roles):
            problems.append(f"{where}: needs a count or a category span")
            continue
        group = tuple(sorted(keys))
        if group in seen:
            problems.append(f"{where}: is the same as incident {seen[group]}")
            continue
        seen[group] = number
        head = _head(keys, scheme)
        assert head is not None
        if head in heads:
            problems.append(f"{where}: its head {head[2]} {head[0]}-{head[1]} already heads incident {heads[head]}")
            continue
        heads[head] = number
    return problems


def incident_relations(incidents: Iterable[IncidentRecord], scheme: Scheme = None) -> list[Relation]:
    """The relations of checked ``incidents``: each head to each other span of its incident, in order."""
    scheme = None if scheme is None else list(scheme)
    relations = []
    for incident in incidents:
        head = _head(incident.spans, scheme)
        if head is None:
            continue
        for key in sorted(incident.spans):
            kind = role_kind(key[2], scheme)
            if key != head and kind in RELATION_OF_KIND:
                relations.append(Relation(head, key, RELATION_OF_KIND[kind]))
    return relations


def incidents_from_relations(relations: Iterable[Relation]) -> list[IncidentRecord]:
    """The incidents behind ``relations``: one per head, with all the spans it links to, in head order.

    The inverse of :func:`incident_relations` for incidents that pass :func:`check_incidents`; the
    relations' labels are not needed (the kinds give them) and are not checked here.
    """
    groups: dict[SpanKey, set[SpanKey]] = {}
    for relation in relations:
        groups.setdefault(relation.head, {relation.head}).add(relation.child)
    return [IncidentRecord(tuple(sorted(groups[head]))) for head in sorted(groups)]


def incidents_to_json(incidents: Iterable[IncidentRecord]) -> list[dict[str, Any]]:
    """``incidents`` in their JSON and stored shape (see the module's docstring), provenance kept when set."""
    out = []
    for incident in incidents:
        item: dict[str, Any] = {
            "spans": [{"start_char": s, "end_char": e, "label": label} for s, e, label in incident.spans]
        }
        if incident.provenance is not None:
            item["provenance"] = incident.provenance
        out.append(item)
    return out


def incidents_from_json(data: Any) -> list[IncidentRecord]:
    """Incidents from their JSON shape; raises :class:`IncidentError` naming what is malformed.

    Checks the shape only (a list of objects with a list of span keys); :func:`check_incidents` checks
    the spans against an annotation. Labels are kept as sent: a span key names its label exactly, case and
    all, as the span does (a scheme may name a label "Region").
    """
    if data is None:
        return []
    if not isinstance(data, list | tuple):  # a tuple: as msgpack reads a Doc's user data back
        raise IncidentError(["incidents must be a list"])
    incidents, problems = [], []
    for number, item in enumerate(data, start=1):
        where = f"incident {number}"
        spans = item.get("spans") if isinstance(item, dict) else None
        if not isinstance(spans, list | tuple):
            problems.append(f"{where}: must be an object with a list of spans")
            continue
        keys = []
        for ref in spans:
            start = ref.get("start_char") if isinstance(ref, dict) else None
            end = ref.get("end_char") if isinstance(ref, dict) else None
            label = ref.get("label") if isinstance(ref, dict) else None
            if not (
                isinstance(start, int)
                and isinstance(end, int)
                and not isinstance(start, bool)
                and not isinstance(end, bool)
                and isinstance(label, str)
            ):
                problems.append(f"{where}: each span is {{start_char, end_char, label}} with integer offsets")
                break
            keys.append((start, end, label))
        else:
            provenance = item.get("provenance")
            incidents.append(IncidentRecord(tuple(sorted(keys)), provenance if isinstance(provenance, str) else None))
    if problems:
        raise IncidentError(problems)
    return incidents
