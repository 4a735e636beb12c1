"""Rule-based suggestions, and the demo corpus they are shown on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
import spacy

from annotator.labels.normalise import Gazetteer, OutcomeVocabulary, normalise
from annotator.labels.suggest import RuleSuggester
from annotator.records import SpanRecord

REPO = Path(__file__).resolve().parents[1]
FIRST_SENTENCE = (
    "Last night, anti-aircraft defenses destroyed 40 UAVs over the territory of Kaluga Oblast, "
    "according to a statement from local authorities."
)


@pytest.fixture(scope="session")
def nlp():
    return spacy.blank("en")


@pytest.fixture(scope="session")
def suggester(nlp) -> RuleSuggester:
    return RuleSuggester(nlp, Gazetteer.default(), OutcomeVocabulary.default())


@pytest.fixture(scope="session")
def demo_lines() -> list[str]:
    source = resources.files("annotator.data").joinpath("demo_reports.jsonl")
    return source.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def demo_reports(demo_lines) -> list[dict]:
    return [json.loads(line) for line in demo_lines]


def spans_of(suggester: RuleSuggester, text: str) -> list[tuple[str, str, str | None]]:
    return [(s.label, text[s.start_char : s.end_char], s.value) for s in suggester.suggest(text)]


def assert_well_formed(nlp, text: str, suggestions: list[SpanRecord]) -> None:
    """Sorted, non-overlapping, strictly token-aligned, flagged, values as normalise gives them."""
    doc = nlp.make_doc(text)
    end = 0
    for s in suggestions:
        assert s.start_char >= end, f"overlap or disorder at {s}"
        end = s.end_char
        span = doc.char_span(s.start_char, s.end_char, alignment_mode="strict")
        assert span is not None, f"{s} is not on token boundaries of {text!r}"
        assert span.text == text[s.start_char : s.end_char]
        assert s.suggested is True
        assert s.value is not None
        assert normalise(s.label, span.text) == s.value


# --- what the suggester finds


def test_suggest_first_sentence_of_example_report(suggester):
    assert spans_of(suggester, FIRST_SENTENCE) == [
        ("OUTCOME", "destroyed", "destroyed"),
        ("COUNT", "40", "40"),
        ("REGION", "Kaluga Oblast", "Kaluga Oblast"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # REGION: the longest alias wins; "the" and "'s" stay outside
        (
            "Drones were destroyed over Kaluga Oblast.",
            [("OUTCOME", "destroyed", "destroyed"), ("REGION", "Kaluga Oblast", "Kaluga Oblast")],
        ),
        ("Sirens sounded in the Kiev region’s north.", [("REGION", "Kiev region", "Kyiv Oblast")]),
        ("Flights left Moscow’s airports.", [("REGION", "Moscow", "Moscow")]),
        (
            "Debris hit Moscow region and Moscow.",
            [("REGION", "Moscow region", "Moscow Oblast"), ("REGION", "Moscow", "Moscow")],
        ),
        ("Rostov-on-Don was calm.", [("REGION", "Rostov-on-Don", "Rostov Oblast")]),
        ("Белгород was attacked again.", [("REGION", "Белгород", "Belgorod Oblast")]),
        (
            "The regional perm was cancelled in Perm.",
            [("OUTCOME", "cancelled", "disruption"), ("REGION", "Perm", "Perm Krai")],
        ),
        ("Russia said the region was calm.", []),
        # COUNT: the number alone, only before a drone or missile noun
        ("Air defence shot down 27 drones.", [("OUTCOME", "shot down", "shot down"), ("COUNT", "27", "27")]),
        (
            "Twenty-three UAVs were intercepted.",
            [("COUNT", "Twenty-three", "23"), ("OUTCOME", "intercepted", "intercepted")],
        ),
        ("A single drone struck a depot.", [("COUNT", "A single", "1")]),
        ("Two dozen unmanned aerial vehicles flew in.", [("COUNT", "Two dozen", "24")]),
        ("Half a dozen Shahed drones flew in.", [("COUNT", "Half a dozen", "6")]),
        ("In total, thirteen\u00a0drones flew in.", [("COUNT", "thirteen", "13")]),
        ("Some 1,200 attack drones were launched.", [("COUNT", "1,200", "1200")]),
        ("Two million drones were launched.", [("COUNT", "Two million", "2000000")]),
        # COUNT in digits: with its scale or spaced groups, never a part of a number
        ("5 thousand drones were launched.", [("COUNT", "5 thousand", "5000")]),
        ("2 million three hundred thousand drones.", [("COUNT", "2 million three hundred thousand", "2300000")]),
        ("Some 1 300 drones were launched.", [("COUNT", "1 300", "1300")]),
        ("Some 1\u00a0300 drones were launched.", []),
        ("About 5 K drones flew in.", [("COUNT", "5 K", "5000")]),
        ("On May 24, 100 drones flew in.", [("COUNT", "100", "100")]),
        ("On May 24 100 drones flew in.", []),  # a date and a count, or 24,100 drones: not guessed
        ("In 2025, 300 drones flew in.", [("COUNT", "300", "300")]),
        ("5-6 drones flew in.", []),
        ("Five or six drones flew in.", []),
        ("5m drones flew in.", []),
        ("5 thousands drones flew in.", []),
        (
            "Nine of the 14 UAVs were downed.",
            [("COUNT", "Nine", "9"), ("COUNT", "14", "14"), ("OUTCOME", "downed", "shot down")],
        ),
        ("Dozens of drones and several missiles flew in.", []),
        ("Three people were injured in 2026.", [("OUTCOME", "injured", "injuries")]),
        ("It was one of the most significant attacks.", []),
        ("A drone flew in.", []),
        # OUTCOME: the longest phrase wins, negation inside the span
        ("There were no casualties.", [("OUTCOME", "no casualties", "no casualties")]),
        ("No one was injured.", [("OUTCOME", "No one was injured", "no casualties")]),
        ("A fire broke out at a depot.", [("OUTCOME", "fire broke out", "fire")]),
        ("The house was partially destroyed.", [("OUTCOME", "partially destroyed", "damage")]),
        ("Power supply was also disrupted.", [("OUTCOME", "disrupted", "disruption")]),
        (
            "Two people were killed and nine were wounded.",
            [("OUTCOME", "killed", "casualties"), ("OUTCOME", "wounded", "injuries")],
        ),
        # tricky text
        (
            "A post read: “We are fine 🙏 12 drones shot down over Kursk.”",
            [("COUNT", "12", "12"), ("OUTCOME", "shot down", "shot down"), ("REGION", "Kursk", "Kursk Oblast")],
        ),
        (
            "Five  drones were destroyed — over Sumy.",
            [("COUNT", "Five", "5"), ("OUTCOME", "destroyed", "destroyed"), ("REGION", "Sumy", "Sumy Oblast")],
        ),
        ("", []),
    ],
)
def test_suggest_spans(nlp, suggester, text, expected):
    assert spans_of(suggester, text) == expected
    assert_well_formed(nlp, text, suggester.suggest(text))


def test_suggest_count_nouns_none_proposes_every_exact_number(nlp):
    text = "It was one of 2 attacks on 3 March; dozens fled."
    suggester = RuleSuggester(nlp, count_nouns=None)
    assert spans_of(suggester, text) == [("COUNT", "one", "1"), ("COUNT", "2", "2"), ("COUNT", "3", "3")]


def test_suggest_uses_the_vocabularies_given(nlp):
    places = Gazetteer([{"canonical": "Atlantis", "aliases": ["Atlantida"], "kind": "city"}])
    results = OutcomeVocabulary([{"category": "sunk", "description": "", "phrases": ["sank"]}])
    suggester = RuleSuggester(nlp, places, results)
    assert spans_of(suggester, "Two drones sank over Atlantida, not Kursk.") == [
        ("COUNT", "Two", "2"),
        ("OUTCOME", "sank", "sunk"),
        ("REGION", "Atlantida", "Atlantis"),
    ]


def test_suggest_doc_offsets_match_suggest(nlp, suggester):
    doc = nlp.make_doc(FIRST_SENTENCE)
    assert suggester.suggest_doc(doc) == suggester.suggest(FIRST_SENTENCE)


@pytest.mark.slow
def test_suggest_imports_neither_flask_nor_sqlalchemy():
    code = (
        "import sys, annotator.labels.normalise, annotator.labels.suggest; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy', 'flask_sqlalchemy'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- the demo corpus


def test_suggest_demo_reports_are_valid(demo_lines, demo_reports):
    assert len(demo_reports) >= 30
    assert all(line.strip() for line in demo_lines), "blank line in the demo corpus"
    ids = [report["id"] for report in demo_reports]
    assert len(ids) == len(set(ids))
    for report in demo_reports:
        assert set(report) == {"id", "text", "source", "meta"}
        assert re.fullmatch(r"demo-\d{3}", report["id"])
        assert isinstance(report["source"], str) and report["source"]
        assert date.fromisoformat(report["meta"]["date"]).year == 2026
        text = report["text"]
        assert text == text.strip() and "\n" not in text
        sentences = re.split(r"[.!?][”\"]?\s+(?=[A-ZА-Я“])", text)
        assert 3 <= len(sentences) <= 8, report["id"]


@pytest.mark.parametrize(
    ("what", "needle"),
    [
        ("curly quotes", "“"),
        ("a curly apostrophe", "’"),
        ("an em dash", "\u2014"),
        ("a non-breaking space", "\u00a0"),
        ("a Cyrillic place name", "Белгород"),
        ("an emoji", "🙏"),
        ("a double space", "  "),
    ],
)
def test_suggest_demo_reports_keep_tricky_strings(demo_reports, what, needle):
    assert any(needle in report["text"] for report in demo_reports), f"no {what} in the demo corpus"


def test_suggest_demo_reports_give_every_label_aligned(nlp, suggester, demo_reports):
    labels: Counter[str] = Counter()
    for report in demo_reports:
        suggestions = suggester.suggest(report["text"])
        assert_well_formed(nlp, report["text"], suggestions)
        labels.update(s.label for s in suggestions)
    assert set(labels) == {"REGION", "COUNT", "OUTCOME"}
    assert min(labels.values()) >= 20


# --- the same as spaCy's matchers


def spacy_matcher_suggestions(nlp):
    """A function giving what spaCy's PhraseMatcher, Matcher (greedy LONGEST) and filter_spans give a text."""
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokens import Span
    from spacy.util import filter_spans

    from annotator.labels.normalise import NUMBER_WORDS, count_prefix, count_stands_alone, starts_spaced_groups
    from annotator.labels.suggest import COUNT_NOUNS, COUNT_WINDOW

    def phrases(patterns):
        matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for pattern in patterns:
            matcher.add(pattern["id"], [nlp.make_doc(pattern["pattern"])])
        return matcher

    regions, outcomes = phrases(Gazetteer.default().patterns()), phrases(OutcomeVocabulary.default().patterns())
    continues = sorted(NUMBER_WORDS | {"-", "and", "a", "single"})
    months = set("january february march april may june july august september october november december".split())
    months |= set("jan feb mar apr jun jul aug sep sept oct nov dec".split())
    numbers = Matcher(nlp.vocab)
    numbers.add(
        "count",
        [
            [
                {"TEXT": {"REGEX": r"^(?:\d{1,3}(?:,\d{3})+|\d+)$"}},
                {"LOWER": {"REGEX": r"^(?:\d{3}|k|" + "|".join(map(re.escape, continues)) + ")$"}, "OP": "*"},
            ],
            [
                {"LOWER": {"IN": sorted(NUMBER_WORDS | {"a", "an", "half", "single"})}},
                {"LOWER": {"IN": continues}, "OP": "*"},
            ],
        ],
        greedy="LONGEST",
    )
    nouns = {tuple(noun.split()) for noun in COUNT_NOUNS}
    passable = {"-", "/", "'", "\u2018", "\u2019", '"', "\u201c", "\u201d"}
    strings = nlp.vocab.strings

    def weapon_after(doc, after: int) -> bool:
        seen = 0
        for i in range(after, len(doc)):
            if doc[i].is_space:
                continue
            if seen == COUNT_WINDOW or (doc[i].is_punct and doc[i].text not in passable):
                return False
            if any(tuple(t.lower_ for t in doc[i : i + len(noun)]) == noun for noun in nouns):
                return True
            seen += 1
        return False

    def suggest(text: str) -> list[tuple[int, int, str, str]]:
        doc = nlp.make_doc(text)
        spans = [Span(doc, s, e, label="REGION", kb_id=strings[k]) for k, s, e in regions(doc) if not doc[s].is_lower]
        spans += [Span(doc, s, e, label="OUTCOME", kb_id=strings[k]) for k, s, e in outcomes(doc)]
        words = [t.lower_ for t in doc if not t.is_space]  # the words around a number, white space left out
        at = {t.i: n for n, t in enumerate(t for t in doc if not t.is_space)}
        for _, s, e in numbers(doc):
            spaced = not (at[s] and words[at[s] - 1] in months) and starts_spaced_groups(doc.text[doc[s].idx :])
            parsed = count_prefix([t.lower_ for t in doc[s:e]], spaced_groups=spaced)
            if parsed is None or not count_stands_alone(words, at[s], at[s] + parsed[1]):
                continue
            if weapon_after(doc, s + parsed[1]):
                spans.append(Span(doc, s, s + parsed[1], label="COUNT", kb_id=str(parsed[0])))
        return [
            (x.start_char, x.end_char, x.label_, x.kb_id_) for x in sorted(filter_spans(spans), key=lambda x: x.start)
        ]

    return suggest


def generated_sentences(n: int, seed: int) -> list[str]:
    """Sentences made of the rules' own words, in any case, with odd white space and punctuation between."""
    import random

    from annotator.labels.normalise import NUMBER_WORDS
    from annotator.labels.suggest import COUNT_NOUNS

    rng = random.Random(seed)
    words = [p["pattern"] for p in Gazetteer.default().patterns() + OutcomeVocabulary.default().patterns()]
    words += sorted(NUMBER_WORDS) + sorted(COUNT_NOUNS) + ["a", "an", "half", "single", "and", "the", "over", "of"]
    words += [
        "40",
        "1,000",
        "12",
        "2026",
        "300",
        "5",
        "k",
        "m",
        "May",
        "to",
        "or",
        "dozens",
        "people",
        "Kursk's",
        "UAVs.",
        "(Belgorod)",
        "«Shahed»",
        "🙏",
    ]
    glue = [" ", " ", " ", " ", "  ", "\u00a0", "\n", "-", ", ", ". ", " - ", "—", "'", "’", " “", "” ", "/", ""]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 14)):
            word = rng.choice(words)
            word = rng.choice([word, word.lower(), word.upper(), word.title(), word])
            parts.append(word + rng.choice(glue))
        out.append("".join(parts).strip())
    return out


def generated_counts(n: int, seed: int) -> list[str]:
    """Numbers in digits and words, with scales, joiners and dates, before a counted noun."""
    import random

    rng = random.Random(seed)
    before = "On In About May March 2026 24 to or".split()
    numbers = "5 24 1 300 000 1,200 2026 thousand million hundred three twenty k K m to or and - ,".split()
    glue = [" "] * 8 + ["\u00a0", "", "-", ", "]
    out = []
    for _ in range(n):
        words = rng.sample(before, rng.randint(0, 2)) + [rng.choice(numbers) for _ in range(rng.randint(1, 4))]
        out.append("".join(word + rng.choice(glue) for word in words) + rng.choice(["drones", "UAVs flew in."]))
    return out


def tokenised_apart(nlp, text: str, start: int, end: int) -> bool:
    """Whether the phrase at ``text[start:end]`` is tokenised otherwise in the vocabularies than in ``text``.

    spaCy's tokenizer exceptions depend on case (the alias "St.Petersburg" is
    two tokens, "ST.PETERSBURG" in a text one), so its PhraseMatcher misses such
    a phrase where the rules, comparing the phrase's text between token
    boundaries, find it.
    """
    inside = [t.lower_ for t in nlp.make_doc(text) if start <= t.idx < end]
    phrases = [p["pattern"] for p in Gazetteer.default().patterns() + OutcomeVocabulary.default().patterns()]
    return any(
        [t.lower_ for t in nlp.make_doc(phrase)] != inside
        for phrase in phrases
        if phrase.lower() == text[start:end].lower()
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_suggest_gives_what_spacys_matchers_give(nlp, suggester, demo_reports, seed):
    """The same spans as spaCy's matchers, from a text or its stored tokens.

    The one difference allowed: a phrase tokenised otherwise alone than in the
    text (and what it outweighs where spans overlap).
    """
    from annotator.corpus.text import token_offsets

    texts = generated_sentences(1500, seed) + generated_counts(500, seed)
    if seed == 0:
        texts += [report["text"] for report in demo_reports] + [FIRST_SENTENCE]
    apart, spacy_suggest = 0, spacy_matcher_suggestions(nlp)
    for text in texts:
        expected = spacy_suggest(text)
        found = [(s.start_char, s.end_char, s.label, s.value) for s in suggester.suggest(text)]
        stored = token_offsets(nlp, text)  # the tokens a sentence keeps: white space left out
        assert [(s.start_char, s.end_char, s.label, s.value) for s in suggester.suggest_tokens(text, stored)] == found
        if found == expected:
            continue
        explained = [x for x in set(found) - set(expected) if tokenised_apart(nlp, text, x[0], x[1])]
        assert explained, text
        apart += 1
        for x in set(found) ^ set(expected):
            assert any(x[0] < y[1] and y[0] < x[1] for y in explained), (text, x)
    assert apart <= len(texts) // 50  # the difference is the exception


def test_suggest_tokens_needs_no_spacy():
    code = (
        "import sys; from annotator.labels.suggest import RuleSuggester; "
        "s = RuleSuggester().suggest_tokens('Forty drones hit Kursk.', [(0, 5), (6, 12), (13, 16), (17, 22), (22, 23)]); "
        "print([(x.label, x.value) for x in s], 'spacy' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[('COUNT', '40'), ('REGION', 'Kursk Oblast')] False"
