"""Incidents: the spans of a sentence grouped into what happened (how many, what outcome, where).

An incident is a group of spans of one sentence, each named by its key ``(start_char, end_char,
label)``; the spans' *kinds* give their roles (``links``): at most one ``count``, one ``category``
(the outcome) and one ``region`` each, two spans at least. As relations, an incident is its head
(the count, else the outcome) linked to each other span: ``outcome`` to a category span,
``location`` to a region span, the shape of Prodigy's ``relations``.

Pure: no Flask, no ORM. ``links`` holds the rules and the relation conversions, ``rules`` the rule
baseline that proposes incidents from spans, ``table`` the incident table (one row per incident:
report, sentence, region, count, outcome, their spans and where the incident came from).
"""

from __future__ import annotations

from .links import (
    HEAD_KINDS,
    RELATION_OF_KIND,
    IncidentError,
    Relation,
    check_incidents,
    incident_relations,
    incidents_from_json,
    incidents_from_relations,
    incidents_to_json,
    role_kind,
)
from .rules import link_nearest
from .table import INCIDENT_COLUMNS, incident_rows

__all__ = [
    "HEAD_KINDS",
    "INCIDENT_COLUMNS",
    "RELATION_OF_KIND",
    "IncidentError",
    "Relation",
    "check_incidents",
    "incident_relations",
    "incident_rows",
    "incidents_from_json",
    "incidents_from_relations",
    "incidents_to_json",
    "link_nearest",
    "role_kind",
]
