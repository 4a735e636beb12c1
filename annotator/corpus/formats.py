"""The import formats: one entry per file extension, with its parser and what it holds.

To add a format, write its parser (``(file name, text, limits) -> reports``, raising ``CorpusError``) and add
an entry to ``FORMATS``: ``parse_file``, ``annotator import``, the upload form (its label, its check and the
file picker's ``accept``) and the README's table (tests/test_corpus_formats.py) all read this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..limits import Limits
from ..records import ReportRecord
from .conll import parse_conll
from .label_studio import parse_label_studio
from .parse import parse_csv, parse_jsonl, parse_txt

__all__ = ["FORMATS", "ImportFormat", "accept", "extensions_or", "extensions_text"]


@dataclass(frozen=True)
class ImportFormat:
    """A file extension (with its dot, lower case), the parser of its decoded text, and a one-line description."""

    extension: str
    parse: Callable[[str, str, Limits], list[ReportRecord]]
    description: str


FORMATS: dict[str, ImportFormat] = {
    f.extension: f
    for f in (
        ImportFormat(
            ".txt",
            lambda name, text, limits: parse_txt(name, text),
            "one report per file, or reports separated by blank lines.",
        ),
        ImportFormat(
            ".jsonl",
            lambda name, text, limits: parse_jsonl(name, text, limits.max_json_depth),
            "one object per line: `text`, optional `id`, `source`, `meta`.",
        ),
        ImportFormat(
            ".csv",
            lambda name, text, limits: parse_csv(name, text),
            "a `text` column; `id` and `source` columns are used as such, other columns are kept as metadata.",
        ),
        ImportFormat(
            ".json",
            parse_label_studio,
            "Label Studio's JSON export: a list of tasks with `data.text`; each annotation's `labels` results "
            "become spans of its annotator (`completed_by`: the email, or `label-studio-ID`).",
        ),
        ImportFormat(
            ".conll",
            lambda name, text, limits: parse_conll(name, text),
            "CoNLL-2003: one token per line, its IOB or IOB2 tag in the last column, a blank line between "
            "sentences, `-DOCSTART-` between documents (one report each).",
        ),
        ImportFormat(
            ".iob",
            lambda name, text, limits: parse_conll(name, text),
            "the same as `.conll` (e.g. two columns: token and tag). CoNLL-U (`.conllu`) is not read.",
        ),
    )
}


def extensions_text() -> str:
    """``.txt, .jsonl, .csv, ...``: the extensions for a message."""
    return ", ".join(FORMATS)


def extensions_or() -> str:
    """``.txt, .jsonl or .csv``: the extensions for a sentence."""
    *rest, last = FORMATS
    return f"{', '.join(rest)} or {last}" if rest else last


def accept() -> str:
    """``.txt,.jsonl,.csv``: the file picker's ``accept`` attribute."""
    return ",".join(FORMATS)
