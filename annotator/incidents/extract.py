"""From a model's spans to incidents, and incidents scored against gold, field by field.

``link_sentence`` gives a sentence's spans their values (by their labels' kinds) and links them with the
rule baseline (``rules.link_nearest``). ``incident_fields`` reads an incident's three fields as the
incident table does; ``score_incidents`` compares predicted incidents with gold ones:

- **per field** (region, count, outcome): per sentence, the multiset of the field's values over the
  incidents that have it, predicted against gold; a value counts as correct as often as both have it;
- **whole incident**: per sentence, the multiset of (region, count, outcome) triples; an incident is
  correct when all three fields are the same (a missing field must be missing in both).

A region or outcome without a normalised value is compared by its text (case-folded), so that a place
missing from the gazetteer still counts. Precision is correct / predicted, recall correct / gold, F their
harmonic mean; each is None when undefined, and comes with its counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..records import IncidentRecord, SpanKey
from .rules import link_nearest
from .table import FIELDS, incident_rows

__all__ = ["Fields", "incident_fields", "link_sentence", "score_incidents"]

# (region, count, outcome) of one incident; None where it has no such span.
Fields = tuple[Any, Any, Any]
Scheme = Iterable[Mapping[str, Any]] | None


def link_sentence(
    text: str, spans: Iterable[SpanKey], normalise: Callable[[str, str], str | None], scheme: Scheme = None
) -> tuple[list[IncidentRecord], dict[SpanKey, str | None]]:
    """The incidents of a sentence's ``spans`` (offsets into ``text``) and each span's value.

    ``normalise(label, span_text)`` gives a span's value (``labels.normalise`` with the project's gazetteer
    and vocabulary).
    """
    scheme = None if scheme is None else list(scheme)
    keys = sorted(set(spans))
    values = {key: normalise(key[2], text[key[0] : key[1]]) for key in keys}
    return link_nearest(text, keys, scheme), values


def incident_fields(
    text: str, incidents: Iterable[IncidentRecord], values: Mapping[SpanKey, str | None], scheme: Scheme = None
) -> list[Fields]:
    """Each incident's (region, count, outcome), read as the incident table reads them, text where no value."""
    out = []
    for row in incident_rows(text, incidents, values, report=0, sentence=0, scheme=scheme):
        fields = []
        for field in FIELDS:
            value = row[field]
            if value is None and field != "count" and row[f"{field}_text"] is not None:
                value = row[f"{field}_text"].casefold()
            fields.append(value)
        out.append((fields[0], fields[1], fields[2]))
    return out


def _prf(correct: int, predicted: int, gold: int) -> dict[str, Any]:
    precision = correct / predicted if predicted else None
    recall = correct / gold if gold else None
    f = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall > 0
        else (0.0 if precision is not None and recall is not None else None)
    )
    return {"precision": precision, "recall": recall, "f": f, "correct": correct, "predicted": predicted, "gold": gold}


def score_incidents(sentences: Iterable[tuple[Sequence[Fields], Sequence[Fields]]]) -> dict[str, Any]:
    """Scores of (predicted, gold) incident fields, one pair per sentence (see the module doc).

    ``{"fields": {"region"|"count"|"outcome": {precision, recall, f, correct, predicted, gold}},
    "incident": {...}, "sentences": n}``.
    """
    totals = {name: [0, 0, 0] for name in (*FIELDS, "incident")}
    n = 0
    for predicted, gold in sentences:
        n += 1
        for index, name in enumerate(FIELDS):
            p = Counter(f[index] for f in predicted if f[index] is not None)
            g = Counter(f[index] for f in gold if f[index] is not None)
            totals[name][0] += sum((p & g).values())
            totals[name][1] += sum(p.values())
            totals[name][2] += sum(g.values())
        p_all, g_all = Counter(predicted), Counter(gold)
        totals["incident"][0] += sum((p_all & g_all).values())
        totals["incident"][1] += len(predicted)
        totals["incident"][2] += len(gold)
    return {
        "fields": {name: _prf(*totals[name]) for name in FIELDS},
        "incident": _prf(*totals["incident"]),
        "sentences": n,
    }
