"""Counts, the region gazetteer, the outcome vocabulary and span normalisation."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from importlib import resources

import pytest

from annotator.labels.normalise import (
    Gazetteer,
    GazetteerEntry,
    OutcomeVocabulary,
    VocabularyError,
    count_prefix,
    count_stands_alone,
    normalise,
    parse_count,
    starts_spaced_groups,
)


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return Gazetteer.default()


@pytest.fixture(scope="session")
def outcomes() -> OutcomeVocabulary:
    return OutcomeVocabulary.default()


# --- counts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("40", 40),
        ("3", 3),
        ("forty", 40),
        ("Forty", 40),
        ("32 drones", 32),
        ("two dozen", 24),
        ("a dozen", 12),
        ("half a dozen", 6),
        ("1,200", 1200),
        ("12,000 rounds", 12000),
        ("twenty-three", 23),
        ("Twenty\u2011three", 23),  # non-breaking hyphen
        ("twenty three", 23),
        ("one hundred and five", 105),
        ("a hundred", 100),
        ("fifteen hundred", 1500),
        ("two thousand five hundred", 2500),
        ("a single drone", 1),
        ("single", 1),
        ("zero", 0),
        ("thirteen\u00a0drones", 13),
        ("  eleven ", 11),
        ("about 40", 40),
        ("up to 12 missiles", 12),
        ("40-odd drones", 40),
        ("one hundred and", 100),  # a dangling "and" is not part of the number
    ],
)
def test_normalise_parse_count_reads_numbers(text, expected):
    assert parse_count(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "dozens",
        "dozens of drones",
        "several",
        "hundreds",
        "a couple of drones",
        "a drone",
        "3.5",
        "1,20",
        "",
        "   ",
        "drones",
        "hundred",
        "and five",
        "a",
        "1e308",  # scientific notation: not "1"
        "1E5",
        "½",  # a fraction (NFKC: "1⁄2"): not "1"
        "⅓",
        "1/2",
        "1 1/2",  # mixed fractions: not the whole part
        "10 ½ tons",
        "twenty 1/2",
        "one and a half",
        "dozens of drones",
        "tens of drones",
        "tens of thousands",
        "several thousand",
        "hundreds of drones",
        "millions",
        "2.5 million",  # decimals are refused, scaled or not
        "2,5 million",
        "2.5K",
        "half a million",  # a fraction of a scale, as "one and a half million"
        "one and a half million",
        "1" * 256,  # longer than a stored value
        "9" * 5000,  # longer than int() reads
    ],
)
def test_normalise_parse_count_rejects_vague_or_non_numbers(text):
    assert parse_count(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("two million", 2_000_000),
        ("one billion", 1_000_000_000),
        ("one trillion", 1_000_000_000_000),
        ("a million drones", 1_000_000),
        ("5 million drones", 5_000_000),
        ("two million three hundred thousand", 2_300_000),
        ("twenty-five thousand", 25_000),
        ("5 thousand", 5000),
        ("5 thousand five hundred", 5500),
        ("5 hundred", 500),
        ("5 dozen", 60),
        ("1,200 thousand", 1_200_000),
        ("5K", 5000),
        ("5k drones", 5000),
        ("1 300", 1300),  # a space groups thousands
        ("1\u00a0300 drones", 1300),
        ("1\u202f300", 1300),  # narrow no-break space
        ("12 000 rounds", 12000),
        ("over 1 300 000", 1_300_000),
        pytest.param("9" * 243 + " trillion", int("9" * 243) * 10**12, id="255 digits"),  # still a value
    ],
)
def test_normalise_parse_count_reads_scales_and_spaced_thousands(text, expected):
    assert parse_count(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1 30",  # a space then not a group of three: two numbers, not 130 nor 1
        "2026 300",
        "1,200 300",
        "two dozens",
        "two hundreds",
        "5 thousands",
        "five k",  # "k" is read after digits only
        "5m",  # millions or metres
        "5bn",
        "5 тыс. дронов",
        "0 300",  # no group of thousands starts with 0
        "3rd",
        "5-6 drones",
        "5\u20136 drones",
        "5 to 6 drones",
        "five or six",
        "three twenty",
        "twenty 5",
        "5 thousand million",  # scales rise: no one reading
        "one million million",
        "zero thousand",
        # A calibre or weight after the count is no group of thousands: "2 500-lb" is not 2500.
        "2 500-lb bombs",
        "4 155mm shells",
        "15 122mm rockets",
        "2 120-mm mortars",
        "3 152 mm shells",
        "4 500-kg FAB bombs",
        "5 K-band radars",
        "2 k-rations",
        # Ordinals, fractions, a comma, an apostrophe or a slash inside, scales in other scripts, superscripts.
        "twenty-first",
        "thirty-second attack",
        "ninety-ninth",
        "one hundred first",
        "two thirds",
        "two-thirds",
        "three quarters",
        "three thousand, five hundred",
        "two million, three hundred thousand",
        "1'300",
        "1\u2019300",
        "5 / 6",
        "5 тысяч",
        "5\u00b2",
        "40\u00b9 drones",
        pytest.param("9" * 250 + " trillion", id="262 digits"),  # past the digits a stored value holds
        pytest.param("1" + " 000" * 85, id="256 digits in groups"),
    ],
)
def test_normalise_parse_count_refuses_what_only_starts_with_a_number(text):
    assert parse_count(text) is None


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["forty", "drones"], (40, 1)),
        (["twenty", "-", "three", "uavs"], (23, 3)),
        (["a", "single", "drone"], (1, 2)),
        (["two", "dozen", "and"], (24, 2)),
        (["one", "hundred", "and", "five"], (105, 4)),
        (["one", "hundred", "and", "drones"], (100, 2)),
        (["twenty", "-", "drones"], (20, 1)),
        (["three", "twenty"], (3, 1)),
        (["1,200", "drones"], (1200, 1)),
        (["two", "million", "drones"], (2_000_000, 2)),
        (["a", "million"], (1_000_000, 2)),
        (["5", "thousand", "drones"], (5000, 2)),
        (["5", "k", "drones"], (5000, 2)),
        (["1", "300", "drones"], (1, 1)),  # words alone do not show the spaces: no groups read
        (["1", "30"], (1, 1)),
        (["zero", "thousand"], (0, 1)),
        (["a", "drone"], None),
        (["several"], None),
        ([], None),
    ],
)
def test_normalise_count_prefix_reports_words_consumed(words, expected):
    assert count_prefix(words) == expected


def test_normalise_count_prefix_reads_spaced_groups_when_told_the_spaces_are_there():
    assert count_prefix(["1", "300", "drones"], spaced_groups=True) == (1300, 2)
    assert count_prefix(["1", "30"], spaced_groups=True) == (1, 1)


@pytest.mark.parametrize(
    ("words", "start", "end", "alone"),
    [
        (["in", "2025", ",", "300", "drones"], 3, 4, True),  # a comma before: a new number
        (["some", "5", "thousand", "drones"], 1, 3, True),
        (["5", "-", "6", "drones"], 2, 3, False),  # a range
        (["five", "or", "six", "drones"], 2, 3, False),
        (["five", "or", "six", "drones"], 0, 1, False),
        (["may", "24", "100", "drones"], 2, 3, False),  # another number just before
        (["5", "m", "drones"], 0, 1, False),  # an abbreviated scale after
        (["1", "300"], 0, 1, False),
    ],
)
def test_normalise_count_stands_alone_looks_both_ways(words, start, end, alone):
    assert count_stands_alone(words, start, end) is alone


@pytest.mark.parametrize(
    ("text", "spaced"),
    [("1 300 drones", True), ("1\u00a0300", True), ("2 500-lb bombs", False), ("4 155mm", False), ("1 30", False)],
)
def test_normalise_starts_spaced_groups(text, spaced):
    assert starts_spaced_groups(text) is spaced


# --- gazetteer


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Kaluga Oblast", "Kaluga Oblast"),
        ("Kaluga region", "Kaluga Oblast"),
        ("Kaluzhskaya oblast", "Kaluga Oblast"),
        ("Kaluga", "Kaluga Oblast"),
        ("KALUGA   OBLAST", "Kaluga Oblast"),
        ("kaluga\u00a0oblast", "Kaluga Oblast"),
        ("the Kursk region", "Kursk Oblast"),
        ("The Kursk region’s", "Kursk Oblast"),
        ("Moscow's", "Moscow"),
        ("Moscow’s", "Moscow"),
        ("Moscow", "Moscow"),
        ("Moscow region", "Moscow Oblast"),
        ("St. Petersburg", "Saint Petersburg"),
        ("Kiev", "Kyiv"),
        ("Kyiv", "Kyiv"),
        ("Kiev region", "Kyiv Oblast"),
        ("Kyivska oblast", "Kyiv Oblast"),
        ("Odessa", "Odesa Oblast"),
        ("Dnipro", "Dnipropetrovsk Oblast"),
        ("Zaporozhye", "Zaporizhzhia Oblast"),
        ("Kharkov", "Kharkiv Oblast"),
        ("Lwów", "Lviv Oblast"),
        ("Lwow", "Lviv Oblast"),
        ("Белгород", "Belgorod Oblast"),
        ("Орел", "Oryol Oblast"),
        ("Орёл", "Oryol Oblast"),
        ("Rostov on Don", "Rostov Oblast"),
        ("Rostov-on-Don", "Rostov Oblast"),
        ("Nizhny Novgorod", "Nizhny Novgorod Oblast"),
        ("Novgorod", "Novgorod Oblast"),
        ("Novorossiysk", "Krasnodar Krai"),
        ("Krasnodarsky krai", "Krasnodar Krai"),
        ("Kazan", "Republic of Tatarstan"),
        ("Tatarstan", "Republic of Tatarstan"),
        ("Crimea", "Crimea"),
        ("Sevastopol", "Sevastopol"),
        ("“Sumy”", "Sumy Oblast"),
    ],
)
def test_normalise_gazetteer_lookup_finds_canonical(gazetteer, text, canonical):
    assert gazetteer.lookup(text) == canonical


@pytest.mark.parametrize("text", ["Russia", "Ukraine", "the region", "the capital", "Vladimir", "perm hair", "", "the"])
def test_normalise_gazetteer_lookup_unknown_is_none(gazetteer, text):
    assert gazetteer.lookup(text) is None


@pytest.mark.parametrize(
    "name",
    [
        "Moscow",
        "Moscow Oblast",
        "Kaluga",
        "Bryansk",
        "Kursk",
        "Belgorod",
        "Voronezh",
        "Rostov",
        "Krasnodar Krai",
        "Crimea",
        "Tula",
        "Oryol",
        "Smolensk",
        "Lipetsk",
        "Tambov",
        "Ryazan",
        "Saratov",
        "Tatarstan",
        "Bashkortostan",
        "Leningrad Oblast",
        "Saint Petersburg",
        "Novgorod",
        "Pskov",
        "Tver",
        "Yaroslavl",
        "Nizhny Novgorod",
        "Volgograd",
        "Astrakhan",
        "Samara",
        "Penza",
        "Kaliningrad",
        "Kyiv",
        "Kharkiv",
        "Odesa",
        "Dnipropetrovsk",
        "Zaporizhzhia",
        "Lviv",
        "Sumy",
        "Chernihiv",
        "Poltava",
        "Mykolaiv",
        "Kherson",
    ],
)
def test_normalise_gazetteer_covers_regions_in_reports(gazetteer, name):
    assert gazetteer.lookup(name) is not None


def test_normalise_gazetteer_shipped_entries_are_well_formed(gazetteer):
    raw = json.loads(resources.files("annotator.data").joinpath("gazetteer.json").read_text("utf-8"))
    assert len(raw) == len(gazetteer) > 60
    assert {entry.kind for entry in gazetteer.entries} <= {"oblast", "krai", "republic", "city"}
    canonicals = [entry.canonical for entry in gazetteer.entries]
    assert len(canonicals) == len(set(canonicals))
    for entry in gazetteer.entries:
        assert entry.canonical in entry.aliases
        assert all(gazetteer.lookup(alias) == entry.canonical for alias in entry.aliases)


def test_normalise_gazetteer_patterns_cover_every_alias(gazetteer):
    patterns = gazetteer.patterns()
    assert {"label": "REGION", "pattern": "Kaluga Oblast", "id": "Kaluga Oblast"} in patterns
    assert {"label": "REGION", "pattern": "Kaluga", "id": "Kaluga Oblast"} in patterns
    assert len(patterns) == sum(len(set(e.aliases) | {e.canonical}) for e in gazetteer.entries)
    assert {p["label"] for p in gazetteer.patterns("PLACE")} == {"PLACE"}


def test_normalise_gazetteer_builds_from_plain_dicts(gazetteer):
    extra = {"canonical": "Tiraspol", "aliases": ["Tiraspol city"], "kind": "city"}
    extended = Gazetteer([*gazetteer.entries, extra])
    assert extended.lookup("tiraspol city") == "Tiraspol"
    assert extended.lookup("Tiraspol") == "Tiraspol"  # the canonical is always an alias
    assert extended.lookup("Kaluga") == "Kaluga Oblast"
    assert GazetteerEntry.from_dict(extra).to_dict() == extra


def test_normalise_gazetteer_rejects_an_alias_owned_by_another_region():
    entries = [
        {"canonical": "Kursk Oblast", "aliases": ["Kursk"], "kind": "oblast"},
        {"canonical": "Kursk City", "aliases": ["the Kursk"], "kind": "city"},
    ]
    with pytest.raises(VocabularyError, match="entry 1.*'the Kursk'.*Kursk Oblast"):
        Gazetteer(entries)


@pytest.mark.parametrize(
    "entry",
    [
        {"aliases": ["X"], "kind": "city"},
        {"canonical": "X", "aliases": "X", "kind": "city"},
        {"canonical": "X", "aliases": [""], "kind": "city"},
        {"canonical": "X", "aliases": []},
        "X",
    ],
)
def test_normalise_gazetteer_rejects_malformed_entries(entry):
    with pytest.raises(VocabularyError, match="gazetteer entry 0"):
        Gazetteer([entry])


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"canonical": "X\ud800", "aliases": ["X"], "kind": "city"}, "'canonical' holds an unpaired surrogate \\ud800"),
        ({"canonical": "X\x00", "aliases": ["X"], "kind": "city"}, "'canonical' holds a NUL"),
        ({"canonical": "X", "aliases": ["Y\udfff"], "kind": "city"}, "alias 'Y\\udfff' holds an unpaired surrogate"),
        ({"canonical": "X", "aliases": ["Y\x00"], "kind": "city"}, "alias 'Y\\x00' holds a NUL"),
        ({"canonical": "X", "aliases": [], "kind": "city\x00"}, "'kind' holds a NUL"),
        ({"canonical": "X" * 256, "aliases": [], "kind": "city"}, "at most 255 characters; this one has 256"),
    ],
)
def test_normalise_gazetteer_refuses_names_no_span_value_can_hold(entry, message):
    with pytest.raises(VocabularyError, match=f"gazetteer entry 0: .*{re.escape(message)}"):
        Gazetteer([entry])
    with pytest.raises(VocabularyError, match=re.escape(message)):
        Gazetteer([GazetteerEntry(entry["canonical"], tuple(entry["aliases"]), entry["kind"])])


def test_normalise_gazetteer_takes_a_canonical_name_as_long_as_a_value():
    assert Gazetteer([{"canonical": "X" * 255, "aliases": [], "kind": "city"}]).lookup("x" * 255) == "X" * 255


# --- outcomes


def test_normalise_outcomes_default_is_a_small_clean_set(outcomes):
    assert 8 <= len(outcomes.categories) <= 10
    assert {
        "destroyed",
        "shot down",
        "intercepted",
        "damage",
        "no damage",
        "fire",
        "disruption",
        "injuries",
        "casualties",
        "no casualties",
    } == set(outcomes.categories)
    for entry in outcomes.entries:
        assert entry.description and entry.phrases
        assert all(outcomes.categorise(phrase) == entry.category for phrase in entry.phrases)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("destroyed", "destroyed"),
        ("Destroyed", "destroyed"),
        ("shot down", "shot down"),
        ("were shot down", "shot down"),
        ("downed", "shot down"),
        ("intercepted", "intercepted"),
        ("neutralised", "intercepted"),
        ("neutralized", "intercepted"),
        ("no casualties", "no casualties"),
        ("no casualties were recorded", "no casualties"),
        ("no injuries were reported", "no casualties"),
        ("No one was injured.", "no casualties"),
        ("were injured", "injuries"),
        ("two people were injured", "injuries"),
        ("killed", "casualties"),
        ("fire broke out", "fire"),
        ("A fire broke out", "fire"),
        ("power supply was disrupted", "disruption"),
        ("Power supply was also disrupted", "disruption"),
        ("damage to", "damage"),
        ("shattered", "damage"),
        ("partially destroyed", "damage"),
        ("no structural damage", "no damage"),
        ("burned down", "destroyed"),
    ],
)
def test_normalise_outcomes_categorise(outcomes, text, category):
    assert outcomes.categorise(text) == category


@pytest.mark.parametrize("text", ["explosions", "attacked", "the governor said", "", "firefighters"])
def test_normalise_outcomes_categorise_unknown_is_none(outcomes, text):
    assert outcomes.categorise(text) is None


def test_normalise_outcomes_rejects_a_phrase_in_two_categories():
    entries = [
        {"category": "destroyed", "phrases": ["destroyed"]},
        {"category": "gone", "phrases": ["Destroyed"]},
    ]
    with pytest.raises(VocabularyError, match="'Destroyed' already belongs to 'destroyed'"):
        OutcomeVocabulary(entries)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"category": "destroyed\udc00", "phrases": ["shot down"]}, "'category' holds an unpaired surrogate \\udc00"),
        ({"category": "destroyed\x00", "phrases": ["shot down"]}, "'category' holds a NUL"),
        ({"category": "destroyed", "phrases": ["shot \ud800down"]}, "phrase 'shot \\ud800down' holds an unpaired"),
        ({"category": "destroyed", "phrases": ["shot\x00down"]}, "phrase 'shot\\x00down' holds a NUL"),
        ({"category": "d", "description": "\ud800", "phrases": ["x"]}, "'description' holds an unpaired surrogate"),
        ({"category": "c" * 300, "phrases": ["shot down"]}, "'category' becomes a span's value, which is at most 255"),
    ],
)
def test_normalise_outcomes_refuse_text_no_page_or_span_value_can_hold(entry, message):
    with pytest.raises(VocabularyError, match=f"outcome entry 0: {re.escape(message)}"):
        OutcomeVocabulary([entry])


def test_normalise_outcomes_take_a_category_as_long_as_a_value():
    assert OutcomeVocabulary([{"category": "c" * 255, "phrases": ["shot down"]}]).categorise("shot down") == "c" * 255


def test_normalise_outcomes_builds_from_plain_dicts():
    vocabulary = OutcomeVocabulary(
        [{"category": "jammed", "description": "Lost to electronic warfare.", "phrases": ["jammed"]}]
    )
    assert vocabulary.categories == ("jammed",)
    assert vocabulary.categorise("were jammed") == "jammed"
    assert vocabulary.patterns() == [{"label": "OUTCOME", "pattern": "jammed", "id": "jammed"}]


# --- normalise


@pytest.mark.parametrize(
    ("label", "text", "value"),
    [
        ("COUNT", "forty", "40"),
        ("COUNT", "two dozen", "24"),
        ("COUNT", "dozens", None),
        ("REGION", "the Kaluga region", "Kaluga Oblast"),
        ("REGION", "Atlantis", None),
        ("OUTCOME", "shot down", "shot down"),
        ("OUTCOME", "no casualties", "no casualties"),
        ("outcome", "destroyed", "destroyed"),
        ("PERSON", "Alexander Gusev", None),
    ],
)
def test_normalise_normalise_by_label(gazetteer, outcomes, label, text, value):
    assert normalise(label, text, gazetteer, outcomes) == value


def test_normalise_normalise_uses_shipped_vocabularies_by_default():
    assert normalise("REGION", "Kiev") == "Kyiv"
    assert normalise("OUTCOME", "intercepted") == "intercepted"


def test_normalise_normalise_uses_the_vocabularies_given():
    places = Gazetteer([{"canonical": "Atlantis", "aliases": ["Atlantida"], "kind": "city"}])
    assert normalise("REGION", "Atlantida", places) == "Atlantis"
    assert normalise("REGION", "Kaluga", places) is None


def test_normalise_normalise_gives_no_value_longer_than_the_column(monkeypatch):
    from annotator.labels.kinds import KINDS

    too_long = replace(KINDS["category"], normalise=lambda text, gazetteer, outcomes: "c" * 256)
    monkeypatch.setitem(KINDS, "category", too_long)
    assert normalise("OUTCOME", "shot down") is None
    monkeypatch.setitem(KINDS, "category", replace(too_long, normalise=lambda text, gazetteer, outcomes: "c" * 255))
    assert normalise("OUTCOME", "shot down") == "c" * 255


def test_normalise_value_bound_is_the_size_of_every_value_column():
    from annotator.limits import MAX_STORED_VALUE_CHARS
    from annotator.models import GoldSpan, Span, Suggestion

    assert {model.__table__.c.value.type.length for model in (Span, Suggestion, GoldSpan)} == {MAX_STORED_VALUE_CHARS}
