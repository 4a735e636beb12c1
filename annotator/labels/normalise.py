"""Normalised values for labelled spans: counts, canonical regions, outcome categories.

Pure core: no Flask, no ORM. The region gazetteer and the outcome vocabulary
ship as JSON in ``annotator/data``; projects extend them by building their own
``Gazetteer`` / ``OutcomeVocabulary`` from plain dicts.

Matching is case-insensitive and ignores accents, hyphens, dots and runs of
whitespace (including non-breaking spaces), so "Rostov-on-Don", "rostov on don"
and "ROSTOV ON DON" are one key.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..limits import MAX_STORED_VALUE_CHARS, text_problem

__all__ = [
    "Gazetteer",
    "GazetteerEntry",
    "NUMBER_WORDS",
    "OutcomeCategory",
    "OutcomeVocabulary",
    "VocabularyError",
    "count_prefix",
    "count_stands_alone",
    "normalise",
    "parse_count",
    "starts_spaced_groups",
]


class VocabularyError(ValueError):
    """A gazetteer or outcome entry is malformed, or claims an alias another entry owns."""


# ---------------------------------------------------------------------------
# Counts

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
# Short scale, as English news writes it: a billion is 10**9.
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
NUMBER_WORDS = frozenset({*_UNITS, *_TEENS, *_TENS, "hundred", *_SCALES, "dozen"})
# hyphen-minus, hyphen, non-breaking hyphen, figure dash, en dash
_HYPHENS = frozenset("-\u2010\u2011\u2012\u2013")
_HYPHEN_CLASS = r"\-\u2010\u2011\u2012\u2013"  # the same, inside a regex character class
# Whole integers only: "40", "1200", "1,200". "3.5" and "1,20" are not counts.
_DIGITS = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")
# A group of thousands after a space: "1 300", "12 000 000" (the space may be a non-breaking one).
_SPACED_HEAD = re.compile(r"[1-9]\d{0,2}")
_SPACED_GROUP = re.compile(r"\d{3}")
# Hedges before a number that do not change which number is meant.
_QUALIFIERS = re.compile(
    r"^(?:(?:about|around|approximately|roughly|some|nearly|almost|over|the|"
    r"more than|at least|up to|as many as|an estimated|a total of)\s+)+"
)
# A fraction anywhere ("1/2", "10 1/2", "½" is "1⁄2" once NFKC-normalised; "and a half") or a number
# in scientific notation ("1e308"): no exact count, though the first digits or words would read as one.
_NOT_WHOLE = re.compile(r"\d[\d,]*(?:[/\u2044]\d|e[+-]?\d)|\band an? (?:half|quarter)\b")
# Words that, right after a number, show that the number read is not the whole of what the text
# states: another number ("1 30", "three twenty"), a plural or abbreviated scale ("two dozens",
# "5 thousands", "5m", "5bn", read as neither millions nor metres; "5 тыс."), an ordinal ending ("3rd").
_NUMBER_GOES_ON = NUMBER_WORDS | {
    "dozens",
    "hundreds",
    "thousands",
    "millions",
    "billions",
    "trillions",
    "tens",
    "scores",
    "k",
    "m",
    "mn",
    "mln",
    "b",
    "bn",
    "bln",
    "тыс",
    "тис",
    "млн",
    "млрд",
    "st",
    "nd",
    "rd",
    "th",
    # ordinals ("twenty-first", "one hundred first") and fractions ("two thirds", "three quarters")
    *(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
        "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth thirtieth fortieth fiftieth sixtieth "
        "seventieth eightieth ninetieth hundredth thousandth millionth billionth"
    ).split(),
    *"half halves thirds quarter quarters fifths sixths eighths tenths".split(),
    # the scales written out in Russian and Ukrainian news ("5 тысяч"), not read, so not a count
    *"тысяча тысячи тысяч тисяча тисячі тисяч миллион миллиона миллионов мільйон мільйони мільйонів".split(),
}
# Between two numbers, these make a range, a choice or a number not read ("5-6", "5 to 6", "five or six",
# "5 / 6", "three thousand, five hundred", "1'300"): no exact count.
_RANGE_JOINERS = _HYPHENS | {"\u2014", "to", "or", "and", "/", ",", "'", "\u2019"}
# Thousands grouped by spaces ("1 300", "12 000 000"; NFKC makes a no-break space a space), read only where
# the last group ends the text or a word: not "2 500-lb bombs", "4 155mm shells" or "3 152 mm" (calibres, weights).
_SPACED_NUMBER = re.compile(r"[1-9]\d{0,2}(?: \d{3})+(?=$| (?!(?:mm|cm|km|kg|lbs?|t|m|g|in|ft)\b))")
MAX_COUNT_DIGITS = MAX_STORED_VALUE_CHARS  # a count is a span's value: no more digits than the column holds
_WORD_SPLIT = re.compile(rf"\d[\d,.]*\d|\d|[^\W\d_]+|[{_HYPHEN_CLASS}]|\S")


def count_prefix(words: Sequence[str], *, spaced_groups: bool = False) -> tuple[int, int] | None:
    """Parse the number at the start of ``words`` (lower-cased tokens).

    Returns ``(value, consumed)``: the integer and how many words it took, so
    that ``["forty", "drones"]`` gives ``(40, 1)`` and ``["twenty", "-",
    "three"]`` gives ``(23, 3)``. Returns ``None`` when the words do not start
    with an exact number: vague quantities ("dozens", "several", "tens", "a
    couple") have no value. Hyphens join only tens and units; "and" only
    follows "hundred" or a scale; "a"/"an" counts as one only before "single",
    "dozen", "hundred" or a scale.

    Digits may be grouped by commas ("1,200", one word) or, with
    ``spaced_groups`` (the caller has seen the spaces: ``parse_count``), by
    spaces ("1", "300": 1300, only a head of one to three digits followed by
    groups of exactly three). Scales ("thousand", "million", "billion", "trillion"; short scale)
    multiply what comes before them, words or digits ("two million",
    "5 thousand"), in falling order ("two million three hundred thousand");
    "dozen" multiplies by 12 and ends the number; "k" multiplies digits by
    1000 ("5k", "5 k"). A number of more than ``MAX_COUNT_DIGITS`` digits gives
    ``None``. Reading stops at the first word that does not continue the
    number: what follows is left to the caller (``parse_count``).
    """
    if not words:
        return None
    if list(words[:3]) == ["half", "a", "dozen"]:
        return 6, 3
    if words[0] == "single" or list(words[:2]) in (["a", "single"], ["an", "single"]):
        return 1, 1 if words[0] == "single" else 2

    total = current = 0
    last: str | None = None  # kind of the previous word, None at the start
    smallest_scale: int | None = None  # scales come largest first: "two million three thousand"
    consumed = 0  # words that make up a complete number so far
    i = 0
    while i < len(words):
        word = words[i]
        following = words[i + 1] if i + 1 < len(words) else None
        if i == 0 and _DIGITS.fullmatch(word):
            digits = word.replace(",", "")
            if spaced_groups and _SPACED_HEAD.fullmatch(word):
                while i + 1 < len(words) and _SPACED_GROUP.fullmatch(words[i + 1]) and len(digits) <= MAX_COUNT_DIGITS:
                    i += 1
                    digits += words[i]
            # More digits than a stored value holds is no count of anything (and past 4,300 int() refuses it).
            if len(digits) > MAX_COUNT_DIGITS:
                return None
            current, last = int(digits), "numeral"
        elif i == 0 and word in ("a", "an"):
            if following != "dozen" and following != "hundred" and following not in _SCALES:
                return None
            current, last = 1, "a"
            i += 1
            continue  # "a" is one only together with what follows
        elif word == "k" and last == "numeral" and following not in _HYPHENS:  # not "5 K-band radars"
            current *= 1000
            consumed = i + 1
            break  # "5k" takes no more words
        elif word in _UNITS and last in (None, "tens", "hyphen", "hundred", "scale", "and"):
            current += _UNITS[word]
            last = "unit"
        elif word in _TEENS and last in (None, "hundred", "scale", "and"):
            current += _TEENS[word]
            last = "teen"
        elif word in _TENS and last in (None, "hundred", "scale", "and"):
            current += _TENS[word]
            last = "tens"
        elif word in _HYPHENS and last == "tens" and following in _UNITS:
            last = "hyphen"
            i += 1
            continue  # a joiner never ends a number
        elif (
            word == "and"
            and last in ("hundred", "scale")
            and (following in _UNITS or following in _TEENS or following in _TENS)
        ):
            last = "and"
            i += 1
            continue
        elif word == "hundred" and last in ("a", "unit", "teen", "numeral") and 0 < current < 100:
            current *= 100
            last = "hundred"
        elif (
            word in _SCALES
            and last in ("a", "unit", "teen", "tens", "hundred", "numeral")
            and current > 0
            and (smallest_scale is None or _SCALES[word] < smallest_scale)
        ):
            smallest_scale = _SCALES[word]
            total, current = total + current * smallest_scale, 0
            last = "scale"
        elif word == "dozen" and last in ("a", "unit", "teen", "tens", "numeral"):
            current *= 12
            consumed = i + 1
            break  # nothing continues a dozen ("two dozen and five" is not said)
        else:
            break
        consumed = i + 1
        i += 1
    if consumed == 0:
        return None
    value = total + current
    # A scale can lengthen digits past what a stored value holds ("999...9 trillion").
    return (value, consumed) if len(str(value)) <= MAX_COUNT_DIGITS else None


def count_stands_alone(words: Sequence[str], start: int, end: int) -> bool:
    """Whether the number ``words[start:end]`` is all the number the words state there.

    Not when another number, a plural or abbreviated scale or an ordinal ending
    follows ("1 30", "two dozens", "5m", "3rd"), nor a range or a choice
    ("5-6", "5 to 6", "five or six"); nor when a number comes just before it,
    alone or with such a joiner ("24 100", "5-6", "five or six", not a comma:
    "In 2025, 300 drones"). A noun, other words or nothing may lie around it.
    """

    def numeric(word: str) -> bool:
        return word[:1].isdigit() or word in _NUMBER_GOES_ON

    def runs_on(near: Sequence[str], joiners: frozenset[str] | set[str]) -> bool:
        if not near:
            return False
        return numeric(near[0]) or (near[0] in joiners and len(near) == 2 and numeric(near[1]))

    before = words[max(0, start - 2) : start][::-1]
    return not runs_on(words[end : end + 2], _RANGE_JOINERS) and not runs_on(before, _RANGE_JOINERS - {","})


def starts_spaced_groups(text: str) -> bool:
    """Whether ``text`` starts with digits grouped by spaces that end it or a word ("1 300 drones").

    Not before a unit or a hyphen ("2 500-lb bombs", "4 155mm shells", "3 152 mm"):
    there the digits are two numbers. A no-break space counts as a space.
    ``count_prefix(..., spaced_groups=True)`` reads such groups as one number.
    """
    return bool(_SPACED_NUMBER.match(unicodedata.normalize("NFKC", text).casefold()))


def parse_count(text: str) -> int | None:
    """The integer a COUNT span states, or ``None`` if it states no exact number.

    Digits ("40", "1,200", "1 300") and English number words ("forty",
    "twenty-three", "one hundred and five", "two dozen", "a single") are
    read, with their scales ("two million", "5 thousand", "5k"); a trailing
    noun and a leading hedge ("about", "up to") are ignored. ``None``, never a
    nearby number, for: vague quantities ("dozens", "tens of", "several",
    "hundreds", "two dozens"); decimals ("3.5", "2.5 million"), fractions
    ("1/2", "½", "half a million", "one and a half million") and scientific
    notation ("1e308"); ranges and choices ("5-6", "five or six"); a number
    followed by another ("1 30", "three twenty", "2 500-lb bombs", "4 155mm
    shells": spaced groups are read only where the last one ends the text or a
    word, not before a unit) or by a scale that is not read ("5m", "5bn",
    "5 thousand million", "5 тысяч"); ordinals ("3rd", "twenty-first") and
    fractions in words ("two thirds"); a comma, apostrophe or slash between
    numbers ("three thousand, five hundred", "1'300", "5 / 6"); superscript
    digits ("5²"); and numbers of more than 255 digits. "half a dozen" is 6
    and "40-odd" is 40.
    """
    if any(unicodedata.category(c) == "No" for c in text):
        return None  # NFKC would make "5²" 52 and "40¹" 401; "½" is a fraction
    cleaned = unicodedata.normalize("NFKC", text).casefold().strip()
    cleaned = _QUALIFIERS.sub("", cleaned)
    if _NOT_WHOLE.search(cleaned):
        return None
    words = _WORD_SPLIT.findall(cleaned)
    parsed = count_prefix(words, spaced_groups=starts_spaced_groups(cleaned))
    if parsed is None or not count_stands_alone(words, 0, parsed[1]):
        return None
    return parsed[0]


# ---------------------------------------------------------------------------
# Keys shared by the gazetteer and the outcome vocabulary

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_SEPARATORS = re.compile(rf"[\s{_HYPHEN_CLASS}\u2014_./]+")
_EDGE_PUNCT = " \"'\u201c\u201d\u00ab\u00bb,;:!?()[]{}"
_POSSESSIVE = re.compile(r"'s?$")


def _key(text: str) -> str:
    """Case-, accent-, hyphen- and whitespace-insensitive matching key."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = stripped.translate(_APOSTROPHES).casefold()
    return _SEPARATORS.sub(" ", folded).strip(_EDGE_PUNCT)


def _place_key(text: str) -> str:
    """Like ``_key``, also dropping a leading "the" and a possessive "'s"."""
    key = _POSSESSIVE.sub("", _key(text)).strip(_EDGE_PUNCT)
    if key.startswith("the "):
        key = key[4:]
    return key


def _read_json(name: str) -> Any:
    source = resources.files("annotator.data").joinpath(name)
    return json.loads(source.read_text(encoding="utf-8"))


def _require(data: Mapping[str, Any], field: str, kind: type, where: str) -> Any:
    value = data.get(field)
    if not isinstance(value, kind) or not value:
        raise VocabularyError(f"{where}: {field!r} must be a non-empty {kind.__name__}")
    return value


def _check_text(where: str, texts: Iterable[tuple[str, str]]) -> None:
    """VocabularyError for the first of ``texts`` ((what, text) pairs) holding a NUL or an unpaired
    surrogate (``limits.text_problem``): no page can show it and PostgreSQL cannot store it."""
    for what, text in texts:
        problem = text_problem(text)
        if problem is not None:
            raise VocabularyError(f"{where}: {what} {problem}")


def _check_value(where: str, what: str, value: str) -> None:
    """VocabularyError if ``value``, which becomes a span's value, is longer than the column holds."""
    if len(value) > MAX_STORED_VALUE_CHARS:
        raise VocabularyError(
            f"{where}: {what} becomes a span's value, which is at most {MAX_STORED_VALUE_CHARS} characters; "
            f"this one has {len(value):,}"
        )


# ---------------------------------------------------------------------------
# Regions


@dataclass(frozen=True)
class GazetteerEntry:
    """One region: its canonical name, the ways reports write it, and its kind."""

    canonical: str
    aliases: tuple[str, ...]
    kind: str  # "oblast" | "krai" | "republic" | "city" | ...

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "gazetteer entry") -> GazetteerEntry:
        if not isinstance(data, Mapping):
            raise VocabularyError(f"{where}: expected an object, got {type(data).__name__}")
        canonical = _require(data, "canonical", str, where)
        aliases = data.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise VocabularyError(f"{where}: 'aliases' must be a list of non-empty strings")
        return cls(canonical, tuple(aliases), _require(data, "kind", str, where))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "aliases": list(self.aliases)}


def _check_gazetteer_entry(entry: GazetteerEntry, where: str) -> None:
    """VocabularyError if a text of ``entry`` cannot be stored or its canonical name is too long for a value."""
    _check_text(
        where,
        (("'canonical'", entry.canonical), ("'kind'", entry.kind), *((f"alias {a[:40]!r}", a) for a in entry.aliases)),
    )
    _check_value(where, "'canonical'", entry.canonical)


class Gazetteer:
    """Maps the ways a place is written to one canonical region name.

    City names map to the first-level region they lie in ("Novorossiysk" ->
    "Krasnodar Krai"), except cities that are regions of their own (Moscow,
    Saint Petersburg, Sevastopol, Kyiv). The canonical name is always an alias.

    VocabularyError for an entry that is malformed, holds a NUL or an unpaired surrogate, has a
    canonical name longer than a span's value may be (MAX_STORED_VALUE_CHARS), or claims another's alias.
    """

    def __init__(self, entries: Iterable[GazetteerEntry | Mapping[str, Any]]):
        self._entries: list[GazetteerEntry] = []
        self._by_key: dict[str, str] = {}
        for index, raw in enumerate(entries):
            entry = (
                raw if isinstance(raw, GazetteerEntry) else GazetteerEntry.from_dict(raw, f"gazetteer entry {index}")
            )
            _check_gazetteer_entry(entry, f"gazetteer entry {index}")
            self._entries.append(entry)
            for alias in (entry.canonical, *entry.aliases):
                key = _place_key(alias)
                owner = self._by_key.setdefault(key, entry.canonical)
                if owner != entry.canonical:
                    raise VocabularyError(f"gazetteer entry {index}: alias {alias!r} already names {owner!r}")

    @classmethod
    @cache
    def default(cls) -> Gazetteer:
        """The gazetteer shipped in ``annotator/data/gazetteer.json`` (built once)."""
        return cls(_read_json("gazetteer.json"))

    @property
    def entries(self) -> tuple[GazetteerEntry, ...]:
        return tuple(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, text: str) -> str | None:
        """Canonical name for ``text`` ("the Kiev region's" -> "Kyiv Oblast"), or ``None``."""
        return self._by_key.get(_place_key(text))

    def patterns(self, label: str = "REGION") -> list[dict[str, str]]:
        """EntityRuler-style phrase patterns, one per alias, with the canonical as ``id``."""
        return [
            {"label": label, "pattern": alias, "id": entry.canonical}
            for entry in self._entries
            for alias in dict.fromkeys((entry.canonical, *entry.aliases))
        ]


# ---------------------------------------------------------------------------
# Outcomes


@dataclass(frozen=True)
class OutcomeCategory:
    """One OUTCOME category and the phrases that trigger it."""

    category: str
    description: str
    phrases: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "outcome entry") -> OutcomeCategory:
        if not isinstance(data, Mapping):
            raise VocabularyError(f"{where}: expected an object, got {type(data).__name__}")
        phrases = _require(data, "phrases", list, where)
        if not all(isinstance(p, str) and p.strip() for p in phrases):
            raise VocabularyError(f"{where}: 'phrases' must be non-empty strings")
        return cls(
            _require(data, "category", str, where),
            str(data.get("description", "")),
            tuple(phrases),
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "phrases": list(self.phrases)}


def _check_outcome_entry(entry: OutcomeCategory, where: str) -> None:
    """VocabularyError if a text of ``entry`` cannot be stored or its category is too long for a value."""
    _check_text(
        where,
        (
            ("'category'", entry.category),
            ("'description'", entry.description),
            *((f"phrase {p[:40]!r}", p) for p in entry.phrases),
        ),
    )
    _check_value(where, "'category'", entry.category)


class OutcomeVocabulary:
    """The controlled OUTCOME categories and the wording that maps to each.

    A phrase belongs to one category. Negated phrases ("no casualties", "no
    damage") are their own categories and win over the words inside them
    because the longest phrase found wins.

    VocabularyError for an entry that is malformed, holds a NUL or an unpaired surrogate, has a
    category longer than a span's value may be (MAX_STORED_VALUE_CHARS), repeats a category or
    claims another's phrase. This is the one check of a vocabulary, whoever saves it.
    """

    def __init__(self, entries: Iterable[OutcomeCategory | Mapping[str, Any]]):
        self._entries: list[OutcomeCategory] = []
        self._by_key: dict[str, str] = {}
        for index, raw in enumerate(entries):
            entry = (
                raw if isinstance(raw, OutcomeCategory) else OutcomeCategory.from_dict(raw, f"outcome entry {index}")
            )
            _check_outcome_entry(entry, f"outcome entry {index}")
            if any(e.category == entry.category for e in self._entries):
                raise VocabularyError(f"outcome entry {index}: category {entry.category!r} repeated")
            self._entries.append(entry)
            for phrase in entry.phrases:
                owner = self._by_key.setdefault(_key(phrase), entry.category)
                if owner != entry.category:
                    raise VocabularyError(f"outcome entry {index}: phrase {phrase!r} already belongs to {owner!r}")
        # Longest first, so that "no injuries" is tried before "injuries".
        self._searches = [
            (re.compile(rf"(?<!\w){re.escape(key)}(?!\w)"), category)
            for key, category in sorted(self._by_key.items(), key=lambda kv: -len(kv[0]))
        ]

    @classmethod
    @cache
    def default(cls) -> OutcomeVocabulary:
        """The vocabulary shipped in ``annotator/data/outcomes.json`` (built once)."""
        return cls(_read_json("outcomes.json"))

    @property
    def entries(self) -> tuple[OutcomeCategory, ...]:
        return tuple(self._entries)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(entry.category for entry in self._entries)

    def categorise(self, text: str) -> str | None:
        """The category of the outcome ``text`` states, or ``None``.

        An exact phrase wins; otherwise the longest phrase found inside the
        text at word boundaries ("two people were injured" -> "injuries").
        """
        key = _key(text)
        if key in self._by_key:
            return self._by_key[key]
        for search, category in self._searches:
            if search.search(key):
                return category
        return None

    def patterns(self, label: str = "OUTCOME") -> list[dict[str, str]]:
        """EntityRuler-style phrase patterns, one per phrase, with the category as ``id``."""
        return [
            {"label": label, "pattern": phrase, "id": entry.category}
            for entry in self._entries
            for phrase in entry.phrases
        ]


# ---------------------------------------------------------------------------


def normalise(
    label: str,
    text: str,
    gazetteer: Gazetteer | None = None,
    outcomes: OutcomeVocabulary | None = None,
    scheme: Iterable[Mapping[str, Any]] | None = None,
) -> str | None:
    """The normalised value of a span of ``label`` covering ``text``, by the label's kind in ``scheme``
    (``annotator.labels.kinds``; default: the default scheme).

    count -> the integer as a string ("forty" -> "40"); region -> the canonical
    region; category -> the outcome category. ``None`` when the text has no value (a vague
    count, an unknown place), the kind has no normalisation, or the value would be longer
    than a span's value column holds (MAX_STORED_VALUE_CHARS; the vocabularies refuse names
    that long, and this keeps any kind to the column too). The shipped gazetteer and
    vocabulary are used when none is given.
    """
    from .kinds import KINDS, kind_of  # the kinds are built from this module's parsers

    kind = KINDS.get(kind_of(label, scheme))
    if kind is None or kind.normalise is None:
        return None
    value = kind.normalise(text, gazetteer, outcomes)
    return value if value is None or len(value) <= MAX_STORED_VALUE_CHARS else None
