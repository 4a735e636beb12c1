"""Sentence splitting and tokens: offsets exact for tricky text."""

import pytest

from annotator.corpus.text import make_nlp, split_report

TRICKY = [
    "Last night  40 UAVs were destroyed over Kaluga Oblast. A second sentence 🚀 follows.",
    "Над Белгородом сбили два дрона. Пострадавших нет.",
    "Line one of a report\r\nwrapped by hand. Next sentence.\r\n\r\nNew paragraph here.",
    "Two dozen\u00a0drones — “fast air targets” — were shot down.",
    "Emoji 👩‍👩‍👧 family and flag 🇺🇦 stay intact. Done.",
]


@pytest.mark.parametrize("text", TRICKY)
def test_text_sentence_offsets_are_exact(text):
    nlp = make_nlp("en")
    sentences = split_report(nlp, text)
    assert sentences
    for sentence in sentences:
        assert text[sentence.start_char : sentence.start_char + len(sentence.text)] == sentence.text
        assert sentence.text == sentence.text.strip()
        for start, end in sentence.tokens:
            assert sentence.text[start:end].strip() == sentence.text[start:end] != ""


def test_text_paragraph_break_ends_sentence_but_single_line_break_does_not():
    sentences = split_report(make_nlp("en"), TRICKY[2])
    assert [s.text for s in sentences] == [
        "Line one of a report\r\nwrapped by hand.",
        "Next sentence.",
        "New paragraph here.",
    ]


def test_text_tokens_match_make_doc(nlp):
    sentence = split_report(make_nlp("en"), TRICKY[0])[0]
    doc = nlp.make_doc(sentence.text)
    assert list(sentence.tokens) == [(t.idx, t.idx + len(t.text)) for t in doc if not t.is_space]
