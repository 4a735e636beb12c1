"""The two small figures every agreement table shares: a pair's span F1 from its counts, and a mean over pairs.

Span F1 is counted three ways (all annotations at once in ``span_agreement``, batch by batch in ``tally``,
per sentence for the bootstrap in ``project``); each turns its counts into figures here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["mean_defined", "pair_f1", "pair_key", "pairs_mean"]


def pair_key(first: str, second: str) -> str:
    """The key of an annotator pair in every pairs table: ``"first|second"``, with a ``|`` or ``\\`` in a name
    escaped by a backslash, so that no two pairs share a key (``x`` and ``y|z`` against ``x|y`` and ``z``)."""
    return f"{_escaped(first)}|{_escaped(second)}"


def _escaped(name: str) -> str:
    return name.replace("\\", "\\\\").replace("|", "\\|")


def mean_defined(values: Iterable[float | None]) -> float | None:
    """The mean of the values that are not None; None when none is."""
    defined = [float(v) for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def pair_f1(
    matched: Mapping[str, int], marked: Mapping[str, int], labels: Sequence[str] | None = None
) -> dict[str, Any]:
    """``{"overall", "by_label"}`` span F1 of one annotator pair: 2 x matched / (spans of both).

    ``matched[label]``: spans both gave; ``marked[label]``: spans of either, counted for both. ``labels`` gives
    the order of ``by_label`` (default: sorted); a label neither marked is left out. ``overall`` is None when
    neither marked any span.
    """
    total = sum(int(n) for n in marked.values())
    order = sorted(marked) if labels is None else labels
    return {
        "overall": 2 * sum(int(n) for n in matched.values()) / total if total else None,
        "by_label": {
            label: 2 * int(matched.get(label, 0)) / int(marked[label]) for label in order if marked.get(label)
        },
    }


def pairs_mean(pairs: Mapping[Any, Mapping[str, Any]], labels: Iterable[str]) -> dict[str, Any]:
    """``{"overall", "by_label"}``: the mean over pairs of each pair's figures, skipping undefined ones."""
    return {
        "overall": mean_defined(p["overall"] for p in pairs.values()),
        "by_label": {label: mean_defined(p["by_label"].get(label) for p in pairs.values()) for label in labels},
    }
