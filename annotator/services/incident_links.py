"""An annotation's or a gold's incidents as the services check, store and compare them.

The rules are ``annotator.incidents``; this module applies them to what a client sent (the spans of
the same request) and to the stored JSON column (``Annotation.incidents``, ``GoldAnnotation.incidents``):
sorted by their span keys, so the same grouping is always stored the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..incidents import IncidentError, check_incidents, incidents_from_json, incidents_to_json
from ..records import IncidentRecord, SpanKey

# Sent for "the client did not send incidents": the stored ones are kept where their spans still are.
KEEP: Any = object()


class InvalidIncidents(ValueError):
    """Incidents that cannot be stored as sent; ``problems`` names each incident (1-based)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def checked_incidents(sent: Any, spans: Iterable[SpanKey], scheme: Iterable[Mapping[str, Any]]) -> list[IncidentRecord]:
    """The incidents ``sent`` (their JSON shape) over the spans ``spans``, sorted; raises InvalidIncidents."""
    try:
        incidents = incidents_from_json(sent)
    except IncidentError as exc:
        raise InvalidIncidents(exc.problems) from None
    problems = check_incidents(incidents, spans, scheme)
    if problems:
        raise InvalidIncidents(problems)
    return sorted(incidents, key=lambda i: i.spans)


def stored_incidents(column: Any) -> list[IncidentRecord]:
    """The incidents of a stored column (NULL: none); a malformed value reads as none."""
    try:
        return incidents_from_json(column)
    except (IncidentError, AttributeError):
        return []


def pruned(
    incidents: Iterable[IncidentRecord], spans: Iterable[SpanKey], scheme: Iterable[Mapping[str, Any]] | None = None
) -> list[IncidentRecord]:
    """``incidents`` without the spans not in ``spans``; an incident left broken (one span, no head, a
    repeat, a head shared with an earlier one) goes."""
    present = set(spans)
    scheme = None if scheme is None else list(scheme)
    out: list[IncidentRecord] = []
    for incident in incidents:
        kept = IncidentRecord(tuple(k for k in incident.spans if k in present), incident.provenance)
        if not check_incidents([*out, kept], present, scheme):
            out.append(kept)
    return out


def incidents_column(incidents: Iterable[IncidentRecord]) -> list[dict[str, Any]] | None:
    """What the JSON column stores: the incidents sorted by their spans, or NULL for none."""
    ordered = sorted(incidents, key=lambda i: i.spans)
    return incidents_to_json(ordered) or None


def renamed_incidents(column: Any, old: str, new: str) -> list[dict[str, Any]] | None:
    """A stored incidents column with the label ``old`` renamed to ``new`` in every span key."""
    incidents = [
        IncidentRecord(tuple(sorted((s, e, new if label == old else label) for s, e, label in i.spans)), i.provenance)
        for i in stored_incidents(column)
    ]
    return incidents_column(incidents)
