"""Labels: the scheme and its kinds (``scheme``), normalised values (``normalise``), rule-based
suggestions (``suggest``).

Names load on first use, so that a light module (``annotator.labels.scheme``)
does not pull in spaCy with the package.
"""

from __future__ import annotations

from ..lazy import lazy_attributes

_WHERE = {
    "KINDS": "kinds",
    "TEXT": "kinds",
    "LabelKind": "kinds",
    "kind_of": "kinds",
    "labels_of_kind": "kinds",
    "Gazetteer": "normalise",
    "GazetteerEntry": "normalise",
    "NUMBER_WORDS": "normalise",
    "OutcomeCategory": "normalise",
    "OutcomeVocabulary": "normalise",
    "VocabularyError": "normalise",
    "count_prefix": "normalise",
    "count_stands_alone": "normalise",
    "parse_count": "normalise",
    "starts_spaced_groups": "normalise",
    "COMMAND_KEYS": "scheme",
    "DEFAULT_SCHEME": "scheme",
    "Label": "scheme",
    "SchemeError": "scheme",
    "active_labels": "scheme",
    "check_label": "scheme",
    "check_scheme": "scheme",
    "default_scheme": "scheme",
    "format_scheme_lines": "scheme",
    "lost_labels": "scheme",
    "parse_scheme_lines": "scheme",
    "COUNT_NOUNS": "suggest",
    "COUNT_WINDOW": "suggest",
    "RuleSuggester": "suggest",
}

__all__ = sorted(_WHERE)

__getattr__ = lazy_attributes(__name__, _WHERE)
