"""Label kinds: what a label's spans are, and so how their values are normalised and suggested.

A label in a scheme names its ``kind``; behaviour follows the kind, never the label's name. To add a kind,
add an entry to ``KINDS`` (its normaliser here; its rule suggester, if any, in ``RuleSuggester.SUGGESTERS``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .normalise import Gazetteer, OutcomeVocabulary, parse_count

__all__ = ["KINDS", "TEXT", "LabelKind", "kind_of", "labels_of_kind"]

TEXT = "text"


@dataclass(frozen=True)
class LabelKind:
    """A kind of label: its name, what its spans are, and how a span's text becomes its value (None: no value)."""

    name: str
    description: str
    normalise: Callable[[str, Gazetteer | None, OutcomeVocabulary | None], str | None] | None = None


def _count(text: str, gazetteer: Gazetteer | None, outcomes: OutcomeVocabulary | None) -> str | None:
    count = parse_count(text)
    return None if count is None else str(count)


def _region(text: str, gazetteer: Gazetteer | None, outcomes: OutcomeVocabulary | None) -> str | None:
    return (gazetteer or Gazetteer.default()).lookup(text)


def _category(text: str, gazetteer: Gazetteer | None, outcomes: OutcomeVocabulary | None) -> str | None:
    return (outcomes or OutcomeVocabulary.default()).categorise(text)


KINDS: dict[str, LabelKind] = {
    kind.name: kind
    for kind in (
        LabelKind("region", "a place: the value is its canonical name from the gazetteer", _region),
        LabelKind("count", "a number: the value is the integer, from digits or words", _count),
        LabelKind("category", "a phrase of a closed vocabulary: the value is its category", _category),
        LabelKind(TEXT, "a span with no value"),
    )
}


def kind_of(label: str, scheme: Iterable[Mapping[str, Any]] | None = None) -> str:
    """The kind of the label named ``label`` (any case) in ``scheme`` (label dicts; default: the default scheme).

    A label ``scheme`` does not have (a deleted label, a model's label) is ``text``: no value. The kind
    is read from the scheme alone, never guessed from the name (stored schemes name every label's kind
    since migration 0006). A kind stored under an earlier name reads as its current name (``plain`` is
    ``text``).
    """
    from .scheme import OLD_KIND_NAMES, default_scheme

    wanted = label.upper()
    for entry in default_scheme() if scheme is None else scheme:
        if str(entry.get("name", "")).upper() == wanted and entry.get("kind"):
            kind = str(entry["kind"])
            return OLD_KIND_NAMES.get(kind, kind)
    return TEXT


def labels_of_kind(kind: str, scheme: Iterable[Mapping[str, Any]] | None = None) -> list[str]:
    """The names of the labels of ``kind`` in ``scheme`` (default: the default scheme), in scheme order."""
    from .scheme import default_scheme

    entries = default_scheme() if scheme is None else list(scheme)
    return [str(e["name"]) for e in entries if kind_of(str(e["name"]), entries) == kind]
