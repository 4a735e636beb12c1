"""The table of import formats is the one list: the README, the upload form and parse_file follow it."""

import re
from pathlib import Path

import pytest

from annotator.corpus.formats import FORMATS, accept, extensions_or, extensions_text
from annotator.corpus.parse import CorpusError, parse_file

README = Path(__file__).resolve().parents[1] / "README.md"


def test_corpus_formats_readme_lists_exactly_the_registry():
    section = README.read_text(encoding="utf-8").split("### Import formats", 1)[1].split("\n#", 1)[0]
    listed = dict(re.findall(r"^- `(\.\w+)`: (.*)$", section, re.M))
    assert list(listed) == list(FORMATS)
    for extension, line in listed.items():
        assert line.startswith(FORMATS[extension].description), extension


def test_corpus_formats_words_and_accept_come_from_the_table():
    assert accept() == ",".join(FORMATS) == ".txt,.jsonl,.csv,.json,.conll,.iob"
    assert extensions_text() == ".txt, .jsonl, .csv, .json, .conll, .iob"
    assert extensions_or() == ".txt, .jsonl, .csv, .json, .conll or .iob"


@pytest.mark.parametrize("extension", list(FORMATS))
def test_corpus_formats_parse_file_dispatches_by_extension(extension, monkeypatch):
    seen = []
    entry = FORMATS[extension]
    monkeypatch.setitem(
        FORMATS,
        extension,
        type(entry)(extension, lambda name, text, limits: seen.append(text) or [], entry.description),
    )
    with pytest.raises(CorpusError, match="holds no reports"):
        parse_file(f"a{extension.upper()}", b"hello")
    assert seen == ["hello"]
