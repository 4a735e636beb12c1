"""The incident table: one row per incident, what an extraction model exists to produce.

Each row names where the incident was found (``report``: the report's number in its project, or the
file name and position of a report read from a file; ``sentence``: the sentence's position in the
report, counted from 1) and its three fields, read from the spans by their labels' kinds:

- ``region``: the region span's value (its canonical name in the gazetteer), else None;
- ``count``: the count span's value as an integer, else None;
- ``outcome``: the category span's value (destroyed, intercepted, ...), else None;

then each field's span: ``region_start``/``region_end``/``region_text`` and so on, with character
offsets into the report's text (end exclusive; None where the incident has no such span), and
``gold_source``: where the incident came from (a gold policy's source and the incident's provenance, or
the model that extracted it). ``incidents.csv`` and ``incidents.jsonl`` hold the same rows; in the
CSV, which people open in spreadsheets, a text cell that a spreadsheet would run as a formula (one
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: report text is untrusted) is
written with a leading ``'``, so it shows as text. ``incidents.jsonl`` keeps every text exact.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..labels.normalise import parse_count
from ..records import IncidentRecord, SpanKey
from .links import role_kind

__all__ = ["FIELDS", "INCIDENT_COLUMNS", "csv_header", "csv_line", "incident_rows", "jsonl_row"]

# Field of the table -> the kind of the span it is read from.
FIELDS = {"region": "region", "count": "count", "outcome": "category"}
INCIDENT_COLUMNS = (
    "report",
    "sentence",
    *FIELDS,
    *(f"{field}_{part}" for field in FIELDS for part in ("start", "end", "text")),
    "gold_source",
)


def _count(value: str | None, text: str) -> int | None:
    if value is not None:
        try:
            return int(value)
        except ValueError:
            pass
    return parse_count(text)


def incident_rows(
    text: str,
    incidents: Iterable[IncidentRecord],
    values: Mapping[SpanKey, str | None],
    *,
    report: int | str,
    sentence: int,
    offset: int = 0,
    gold_source: str | None = None,
    scheme: Iterable[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The table rows of one sentence's ``incidents``, in their order.

    ``text`` is the sentence, the incidents' span keys are offsets into it; ``offset`` is the sentence's
    start in its report, added to the offsets written. ``values`` gives each span's normalised value
    (a missing count value is read from the span's text). ``gold_source`` is written as given, followed by
    the incident's provenance when it has one and differs (``majority / unanimous``).
    """
    scheme = None if scheme is None else list(scheme)
    kind_field = {kind: field for field, kind in FIELDS.items()}
    rows = []
    for incident in incidents:
        row: dict[str, Any] = dict.fromkeys(INCIDENT_COLUMNS)
        row["report"], row["sentence"] = report, sentence
        for key in incident.spans:
            field = kind_field.get(role_kind(key[2], scheme) or "")
            if field is None:
                continue
            start, end, _ = key
            value = values.get(key)
            row[field] = _count(value, text[start:end]) if field == "count" else value
            row[f"{field}_start"], row[f"{field}_end"] = start + offset, end + offset
            row[f"{field}_text"] = text[start:end]
        provenance = incident.provenance
        if gold_source is None or provenance in (None, gold_source):
            row["gold_source"] = gold_source if gold_source is not None else provenance
        else:
            row["gold_source"] = f"{gold_source} / {provenance}"
        rows.append(row)
    return rows


def csv_header() -> str:
    """The CSV table's header line."""
    return _csv(INCIDENT_COLUMNS)


def csv_line(row: Mapping[str, Any]) -> str:
    """One row as a CSV line (None as an empty field, a text a spreadsheet would run as a formula quoted)."""
    return _csv([_spreadsheet_safe(row[c]) for c in INCIDENT_COLUMNS])


# What makes a spreadsheet read a cell as a formula (OWASP, "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value: Any) -> Any:
    """``value`` for a CSV cell: None as empty, a text starting like a formula with a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def jsonl_row(row: Mapping[str, Any]) -> str:
    """One row as a JSON line, columns in order (None as null)."""
    line = json.dumps({c: row[c] for c in INCIDENT_COLUMNS}, ensure_ascii=False)
    for char in ("\u2028", "\u2029", "\x85"):  # str.splitlines() would break a line on them
        line = line.replace(char, f"\\u{ord(char):04x}")
    return line + "\n"


def _csv(cells: Iterable[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(list(cells))
    return out.getvalue()
