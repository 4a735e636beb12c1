"""Rule-based pre-annotation: REGION, COUNT and OUTCOME suggestions for a text.

Pure core: spaCy's ``PhraseMatcher`` and ``Matcher`` over ``nlp.make_doc(text)``,
so every suggestion starts and ends on a token boundary of that Doc and
``doc.char_span(start_char, end_char, alignment_mode="strict")`` finds it.

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

from collections.abc import Iterable, Mapping
from typing import Any

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from ..records import SpanRecord
from .kinds import labels_of_kind
from .normalise import NUMBER_WORDS, Gazetteer, OutcomeVocabulary, count_prefix

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


class RuleSuggester:
    """Proposes region, count and category spans for a text, values filled in.

    ``nlp`` supplies only the tokenizer and vocab (``spacy.blank("en")`` is
    enough). ``count_nouns=None`` proposes every exact number as a count.
    ``scheme`` (label dicts; default: the default scheme, REGION, COUNT and
    OUTCOME) names the label each kind's spans get: the first label of that
    kind; a kind with no label in the scheme is not suggested.
    """

    # Kind -> the method that finds its spans. To suggest a new kind, add its method here.
    SUGGESTERS: dict[str, str] = {"region": "_region_spans", "category": "_outcome_spans", "count": "_count_spans"}

    def __init__(
        self,
        nlp: Language,
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
        # One matcher per label, keyed by the value, so a match id is its value.
        self._regions = self._phrase_matcher(self.gazetteer.patterns())
        self._outcomes = self._phrase_matcher(self.outcomes.patterns())
        self._numbers = Matcher(nlp.vocab)
        starts = sorted(NUMBER_WORDS | {"a", "an", "half", "single"})
        continues = sorted(NUMBER_WORDS | {"-", "and", "a", "single"})
        self._numbers.add(
            "count",
            [
                [{"TEXT": {"REGEX": r"^(?:\d{1,3}(?:,\d{3})+|\d+)$"}}],
                [{"LOWER": {"IN": starts}}, {"LOWER": {"IN": continues}, "OP": "*"}],
            ],
            greedy="LONGEST",
        )

    def _phrase_matcher(self, patterns: list[dict[str, str]]) -> PhraseMatcher:
        matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        by_value: dict[str, list[str]] = {}
        for pattern in patterns:
            by_value.setdefault(pattern["id"], []).append(pattern["pattern"])
        for value, phrases in by_value.items():
            matcher.add(value, list(self.nlp.tokenizer.pipe(phrases)))  # type: ignore[union-attr]  # a Tokenizer has pipe
        return matcher

    def suggest(self, text: str) -> list[SpanRecord]:
        """Suggested spans of ``text``: non-overlapping, sorted by start, ``suggested=True``.

        Offsets are code points into ``text``, end exclusive, on token
        boundaries of ``nlp.make_doc(text)``.
        """
        return self.suggest_doc(self.nlp.make_doc(text))

    def suggest_doc(self, doc: Doc) -> list[SpanRecord]:
        """Like ``suggest`` for a Doc made by this suggester's ``nlp``; offsets into ``doc.text``."""
        candidates = [span for kind in self._labels for span in getattr(self, self.SUGGESTERS[kind])(doc)]
        return [
            SpanRecord(span.start_char, span.end_char, span.label_, span.kb_id_, suggested=True)
            for span in sorted(filter_spans(candidates), key=lambda span: span.start)
        ]

    # The value rides on Span.kb_id so that filter_spans keeps it with its span.

    def _region_spans(self, doc: Doc) -> list[Span]:
        strings = self.nlp.vocab.strings
        return [
            Span(doc, start, end, label=self._labels["region"], kb_id=strings[match_id])
            for match_id, start, end in self._regions(doc)
            # Place names are capitalised; this keeps "perm" or "kuban" in running text out.
            if not doc[start].is_lower
        ]

    def _outcome_spans(self, doc: Doc) -> list[Span]:
        strings = self.nlp.vocab.strings
        return [
            Span(doc, start, end, label=self._labels["category"], kb_id=strings[match_id])
            for match_id, start, end in self._outcomes(doc)
        ]

    def _count_spans(self, doc: Doc) -> list[Span]:
        spans = []
        for _, start, end in self._numbers(doc):
            # The matcher over-reaches ("forty and", "a"); keep the exact number it starts with.
            parsed = count_prefix([token.lower_ for token in doc[start:end]])
            if parsed is None:
                continue
            value, length = parsed
            if self.count_nouns is None or self._counts_a_weapon(doc, start + length):
                spans.append(Span(doc, start, start + length, label=self._labels["count"], kb_id=str(value)))
        return spans

    def _counts_a_weapon(self, doc: Doc, after: int) -> bool:
        """Whether a counted noun starts within ``COUNT_WINDOW`` tokens from index ``after``."""
        seen = 0
        for i in range(after, len(doc)):
            token = doc[i]
            if token.is_space:
                continue  # "12\u00a0drones": the non-breaking space is a token of its own
            if seen == COUNT_WINDOW or (token.is_punct and token.text not in _PASSABLE_PUNCT):
                return False
            for noun in self.count_nouns or ():
                if tuple(t.lower_ for t in doc[i : i + len(noun)]) == noun:
                    return True
            seen += 1
        return False
