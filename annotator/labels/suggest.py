"""Rule-based pre-annotation: REGION, COUNT and OUTCOME suggestions for a text.

Pure core, and free of spaCy: the rules run over a sentence's token offsets
(the ones stored for it at import, ``corpus.text.token_offsets``, or those
of ``nlp.make_doc(text)``), so every suggestion starts and ends on a token
boundary and ``doc.char_span(start_char, end_char, alignment_mode="strict")``
finds it. A serving process therefore suggests without importing spaCy.
They give what spaCy's ``PhraseMatcher`` (attribute ``LOWER``) and
``Matcher`` (``greedy="LONGEST"``) give over the same tokens, and resolve
overlaps like ``spacy.util.filter_spans``; ``tests/test_suggest.py`` checks
both against spaCy's matchers on the demo corpus and generated reports.

What each label covers (see ``annotator/data/guidelines.md``):

- REGION: any gazetteer alias whose first token is not all lower case
  ("Kursk", not "perm"); the longest alias wins ("Kaluga Oblast" over
  "Kaluga"). A leading "the" and a possessive "'s" stay outside the span.
- COUNT: the number alone, digits or words ("40", "forty", "twenty-three",
  "two dozen", "a single"), never the noun after it, and only when a weapon
  noun (drone, UAV, missile, target, ...) follows within four tokens, so that
  "one of the most", "2026" and "two people" are not proposed. Vague
  quantities ("dozens", "several") have no value and are not proposed.
- OUTCOME: any phrase of the outcome vocabulary; the longest wins ("no
  casualties" over "casualties").

Overlaps between labels are resolved like ``spacy.util.filter_spans``: the
longer span (in tokens) wins, then the earlier one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..records import SpanRecord
from .kinds import labels_of_kind
from .normalise import (
    NUMBER_WORDS,
    Gazetteer,
    OutcomeVocabulary,
    count_prefix,
    count_stands_alone,
    starts_spaced_groups,
)

if TYPE_CHECKING:  # spaCy only tokenises texts given without their tokens
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = ["COUNT_NOUNS", "COUNT_WINDOW", "RuleSuggester"]

# What a COUNT counts: the attacking objects. Multi-word entries match token by token.
COUNT_NOUNS: frozenset[str] = frozenset(
    {
        "drone",
        "drones",
        "uav",
        "uavs",
        "unmanned aerial vehicle",
        "unmanned aerial vehicles",
        "aerial vehicle",
        "aerial vehicles",
        "missile",
        "missiles",
        "rocket",
        "rockets",
        "target",
        "targets",
        "shahed",
        "shaheds",
        "geran",
        "gerans",
        "quadcopter",
        "quadcopters",
        "fpv",
        "fpvs",
        "projectile",
        "projectiles",
        "bpla",
        "бпла",
    }
)
COUNT_WINDOW = 4  # tokens after the number in which the counted noun must appear

# Punctuation that may sit between a number and its noun: "40-odd drones", "12 ‘Shahed’ drones".
_PASSABLE_PUNCT = frozenset({"-", "/", "'", "\u2018", "\u2019", '"', "\u201c", "\u201d"})


_NUMBER = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)$")  # a count in digits: its first token
_COUNT_STARTS = frozenset(NUMBER_WORDS | {"a", "an", "half", "single"})  # a count in words: its first token
_COUNT_CONTINUES = frozenset(NUMBER_WORDS | {"-", "and", "a", "single"})  # ... and the tokens that may follow
# After digits, also a group of thousands ("1 300") and "k" ("5 k"): "5 thousand", "2 million three hundred thousand".
_DIGITS_CONTINUE = re.compile(r"^(?:\d{3}|k|" + "|".join(map(re.escape, sorted(_COUNT_CONTINUES))) + r")$")
# Before these, digits then a group of three are a date and a count ("May 24 100 drones"), not one spaced number.
_MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


def _is_punct(text: str) -> bool:
    """spaCy's ``Token.is_punct``: every character is Unicode punctuation."""
    return all(unicodedata.category(char).startswith("P") for char in text)


@dataclass(frozen=True)
class _Tokens:
    """A text's tokens as spaCy numbers them.

    ``offsets`` are the non-space tokens; spaCy also makes a token of any
    white space between two tokens other than a single space (a double space,
    a line break, a non-breaking space), and counts it in a span's length.
    ``index[i]`` is token ``i``'s index among all of them, ``joined[i]``
    whether token ``i + 1`` follows it with no such white-space token between.
    """

    text: str
    offsets: Sequence[tuple[int, int]]
    lower: tuple[str, ...]
    index: tuple[int, ...]
    joined: tuple[bool, ...]

    @classmethod
    def of(cls, text: str, offsets: Sequence[Sequence[int]]) -> _Tokens:
        pairs = [(int(start), int(end)) for start, end in offsets]
        index, joined, position, previous_end = [], [], 0, None
        for start, end in pairs:
            gap = text[0 if previous_end is None else previous_end : start]
            if previous_end is None:
                position += 1 if gap else 0  # leading white space is a token of its own
            else:
                joined.append(gap in ("", " "))
                position += 1 + (gap not in ("", " "))
            index.append(position)
            previous_end = end
        joined.append(False)
        return cls(text, pairs, tuple(text[start:end].lower() for start, end in pairs), tuple(index), tuple(joined))

    def words(self, start: int, n: int) -> tuple[str, ...] | None:
        """The lower-cased tokens ``start`` to ``start + n`` when no white-space token lies between, else None."""
        if start + n > len(self.offsets) or not all(self.joined[start : start + n - 1]):
            return None
        return self.lower[start : start + n]


@dataclass(frozen=True)
class _Match:
    """A candidate span over tokens ``start`` to ``end`` (exclusive), its label and value."""

    start: int
    end: int
    label: str
    value: str


class _PhraseIndex:
    """Phrases found in a text, compared lower-cased, starting and ending on token boundaries.

    What spaCy's ``PhraseMatcher(attr="LOWER")`` finds: a phrase matches the
    tokens whose lower-cased text, white space included, is the phrase's.
    """

    def __init__(self, patterns: Iterable[Mapping[str, str]]):
        self._values: dict[str, list[str]] = {}
        for pattern in patterns:
            values = self._values.setdefault(pattern["pattern"].lower(), [])
            if pattern["id"] not in values:
                values.append(pattern["id"])
        self._longest = max(map(len, self._values), default=0)

    def __call__(self, tokens: _Tokens) -> list[tuple[int, int, str]]:
        """(first token, last token + 1, value) of each phrase found, by position."""
        found = []
        text, offsets = tokens.text, tokens.offsets
        for first, (start, _) in enumerate(offsets):
            for last in range(first, len(offsets)):
                end = offsets[last][1]
                if end - start > self._longest:  # lower-casing never shortens a text
                    break
                for value in self._values.get(text[start:end].lower(), ()):
                    found.append((first, last + 1, value))
        return found


class RuleSuggester:
    """Proposes region, count and category spans for a text, values filled in.

    ``nlp`` is needed only to tokenise a text given without its tokens
    (``suggest``; ``spacy.blank("en")`` is enough): ``suggest_tokens`` takes the
    tokens stored for a sentence and loads nothing. ``count_nouns=None``
    proposes every exact number as a count. ``scheme`` (label dicts; default:
    the default scheme, REGION, COUNT and OUTCOME) names the label each kind's
    spans get: the first label of that kind; a kind with no label in the
    scheme is not suggested.
    """

    # Kind -> the method that finds its spans. To suggest a new kind, add its method here.
    SUGGESTERS: dict[str, str] = {"region": "_region_spans", "category": "_outcome_spans", "count": "_count_spans"}

    def __init__(
        self,
        nlp: Language | None = None,
        gazetteer: Gazetteer | None = None,
        outcomes: OutcomeVocabulary | None = None,
        *,
        count_nouns: Iterable[str] | None = COUNT_NOUNS,
        scheme: Iterable[Mapping[str, Any]] | None = None,
    ):
        self.nlp = nlp
        self._labels = {}
        for kind in self.SUGGESTERS:
            names = labels_of_kind(kind, scheme)
            if names:
                self._labels[kind] = names[0]
        self.gazetteer = gazetteer or Gazetteer.default()
        self.outcomes = outcomes or OutcomeVocabulary.default()
        self.count_nouns = None if count_nouns is None else {tuple(noun.lower().split()) for noun in count_nouns}
        self._regions = _PhraseIndex(self.gazetteer.patterns())
        self._outcomes = _PhraseIndex(self.outcomes.patterns())

    def suggest(self, text: str) -> list[SpanRecord]:
        """Suggested spans of ``text``: non-overlapping, sorted by start, ``suggested=True``.

        Offsets are code points into ``text``, end exclusive, on token
        boundaries of ``nlp.make_doc(text)``. Needs the suggester's ``nlp``.
        """
        if self.nlp is None:
            raise ValueError("this RuleSuggester has no nlp to tokenise with: use suggest_tokens")
        return self.suggest_doc(self.nlp.make_doc(text))

    def suggest_doc(self, doc: Doc) -> list[SpanRecord]:
        """Like ``suggest`` for a Doc already made; offsets into ``doc.text``."""
        return self.suggest_tokens(doc.text, [(t.idx, t.idx + len(t)) for t in doc if not t.is_space])

    def suggest_tokens(self, text: str, tokens: Iterable[Sequence[int]]) -> list[SpanRecord]:
        """Like ``suggest`` over ``text``'s non-space tokens, given as (start_char, end_char) pairs.

        ``tokens`` are those ``nlp.make_doc(text)`` gives (a sentence's stored
        tokens); white-space tokens may be left out.
        """
        words = _Tokens.of(text, [t for t in tokens if not text[t[0] : t[1]].isspace()])
        candidates = [match for kind in self._labels for match in getattr(self, self.SUGGESTERS[kind])(words)]
        return [
            SpanRecord(words.offsets[m.start][0], words.offsets[m.end - 1][1], m.label, m.value, suggested=True)
            for m in _filter_spans(candidates, words)
        ]

    def _region_spans(self, tokens: _Tokens) -> list[_Match]:
        return [
            _Match(start, end, self._labels["region"], value)
            for start, end, value in self._regions(tokens)
            # Place names are capitalised; this keeps "perm" or "kuban" in running text out.
            if not _first_word(tokens, start).islower()
        ]

    def _outcome_spans(self, tokens: _Tokens) -> list[_Match]:
        return [_Match(start, end, self._labels["category"], value) for start, end, value in self._outcomes(tokens)]

    def _count_spans(self, tokens: _Tokens) -> list[_Match]:
        spans = []
        for start, end in _numbers(tokens):
            # The match over-reaches ("forty and", "a"); keep the exact number it starts with,
            # and only where no other number runs into it ("5-6", "five or six", "1 30", "5m").
            spaced = not (start and tokens.lower[start - 1] in _MONTHS) and starts_spaced_groups(
                tokens.text[tokens.offsets[start][0] : tokens.offsets[end - 1][1] + 8]  # and what may be a unit
            )
            parsed = count_prefix(tokens.lower[start:end], spaced_groups=spaced)
            if parsed is None or not count_stands_alone(tokens.lower, start, start + parsed[1]):
                continue
            value, length = parsed
            if self.count_nouns is None or self._counts_a_weapon(tokens, start + length):
                spans.append(_Match(start, start + length, self._labels["count"], str(value)))
        return spans

    def _counts_a_weapon(self, tokens: _Tokens, after: int) -> bool:
        """Whether a counted noun starts within ``COUNT_WINDOW`` tokens from token ``after``.

        White-space tokens ("12\u00a0drones") are passed over and not counted.
        """
        for seen, i in enumerate(range(after, len(tokens.offsets))):
            start, end = tokens.offsets[i]
            word = tokens.text[start:end]
            if seen == COUNT_WINDOW or (_is_punct(word) and word not in _PASSABLE_PUNCT):
                return False
            if any(tokens.words(i, len(noun)) == noun for noun in self.count_nouns or ()):
                return True
        return False


def _first_word(tokens: _Tokens, i: int) -> str:
    start, end = tokens.offsets[i]
    return tokens.text[start:end]


def _numbers(tokens: _Tokens) -> list[tuple[int, int]]:
    """(start, end) of the counts a text may hold, longest first where they overlap.

    Spans of a number in digits ("40", "1,000", "1 300", "5 thousand") or words
    ("forty", "twenty - three", "a single"), as spaCy's ``Matcher`` with
    ``greedy="LONGEST"`` gives them.
    """
    pairs = []
    for i, (start, end) in enumerate(tokens.offsets):
        digits = bool(_NUMBER.search(tokens.text[start:end]))
        if digits or tokens.lower[i] in _COUNT_STARTS:
            pairs.append((i, i + 1))
            j = i + 1
            while j < len(tokens.offsets) and tokens.joined[j - 1] and _continues(tokens.lower[j], digits):
                j += 1
                pairs.append((i, j))
    taken: set[int] = set()
    kept = []
    for start, end in sorted(set(pairs), key=lambda pair: (pair[1] - pair[0], -pair[0]), reverse=True):
        if taken.isdisjoint(range(start, end)):
            kept.append((start, end))
            taken.update(range(start, end))
    return kept


def _continues(word: str, after_digits: bool) -> bool:
    return bool(_DIGITS_CONTINUE.match(word)) if after_digits else word in _COUNT_CONTINUES


def _filter_spans(matches: list[_Match], tokens: _Tokens) -> list[_Match]:
    """``spacy.util.filter_spans`` over token matches: the longest first, then the earliest; by start.

    Lengths count white-space tokens, as spaCy's token indices do.
    """
    index = tokens.index

    def length(m: _Match) -> tuple[int, int]:
        return index[m.end - 1] + 1 - index[m.start], -index[m.start]

    kept: list[_Match] = []
    seen: set[int] = set()
    for m in sorted(matches, key=length, reverse=True):
        if m.start not in seen and m.end - 1 not in seen:
            kept.append(m)
            seen.update(range(m.start, m.end))
    return sorted(kept, key=lambda m: m.start)
