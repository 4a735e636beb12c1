"""CoNLL-2003 and IOB files, as ``spacy convert`` reads them: one token per line, the tag in the last column.

A blank line ends a sentence; a ``-DOCSTART-`` line starts a document. Each
document becomes one report (a file without ``-DOCSTART-`` lines: one report
per sentence) whose sentences are their tokens joined by single spaces,
separated by a blank line; the tags become spans on those tokens. Other
columns (part of speech, chunk) are read past.

Tags are ``O``, ``B-LABEL`` or ``I-LABEL``, in IOB2 (every chunk starts with
``B-``) or IOB (IOB1: a chunk starts with ``I-``; ``B-`` only splits two
adjacent chunks of one label). A file where some ``B-`` starts a chunk after
``O``, a sentence start or another label is IOB2; there, an ``I-`` that does
not continue a chunk of its label (after ``O``, say) is an error, with its line.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..records import ImportedAnnotation, ReportRecord, SpanRecord
from .parse import CorpusError, _lines

DOCSTART = "-DOCSTART-"


@dataclass(frozen=True)
class _Token:
    word: str
    tag: str  # "O", or "B"/"I"
    label: str | None
    line: int


def parse_conll(name: str, text: str) -> list[ReportRecord]:
    """Reports of the file's documents with their spans (annotator unnamed: the importer names one)."""
    documents = _documents(name, text)
    iob2 = any(_starts_with_b(sentence) for document in documents for sentence, _ in document)
    reports: list[ReportRecord] = []
    for document in documents:
        if iob2:
            for sentence, _ in document:
                _check_iob2(name, sentence)
        if any(marker == 0 for _, marker in document):
            reports.extend(_report([(sentence, marker)]) for sentence, marker in document)
        else:
            reports.append(_report(document))
    return reports


def _documents(name: str, text: str) -> list[list[tuple[list[_Token], int]]]:
    """Documents of (sentence, marker) where marker is 1 in a -DOCSTART- document, else 0."""
    documents: list[list[tuple[list[_Token], int]]] = [[]]
    sentence: list[_Token] = []
    in_document = 0
    for number, line in enumerate(_lines(text), start=1):
        columns = line.split()
        if columns and columns[0] == DOCSTART:
            if sentence:
                documents[-1].append((sentence, in_document))
                sentence = []
            documents.append([])
            in_document = 1
            continue
        if not columns:
            if sentence:
                documents[-1].append((sentence, in_document))
                sentence = []
            continue
        if len(columns) < 2:
            raise CorpusError(name, number, f"expected a token and its tag separated by white space, got {line!r}")
        sentence.append(_token(name, number, columns[0], columns[-1]))
    if sentence:
        documents[-1].append((sentence, in_document))
    return [document for document in documents if document]


def _token(name: str, number: int, word: str, tag: str) -> _Token:
    if tag == "O":
        return _Token(word, "O", None, number)
    prefix, dash, label = tag.partition("-")
    if dash and prefix in ("B", "I") and label:
        return _Token(word, prefix, label, number)
    raise CorpusError(name, number, f"tag {tag!r} is not O, B-LABEL or I-LABEL (IOB or IOB2)")


def _starts_with_b(sentence: list[_Token]) -> bool:
    before: _Token | None = None
    for token in sentence:
        if token.tag == "B" and (before is None or before.label != token.label):
            return True
        before = token
    return False


def _check_iob2(name: str, sentence: list[_Token]) -> None:
    before: _Token | None = None
    for token in sentence:
        if token.tag == "I" and (before is None or before.label != token.label):
            after = (
                "the sentence start"
                if before is None
                else "O"
                if before.label is None
                else f"{before.tag}-{before.label}"
            )
            raise CorpusError(
                name,
                token.line,
                f"I-{token.label} after {after}: in IOB2 (this file has B- tags) a chunk starts with B-{token.label}",
            )
        before = token


def _report(document: list[tuple[list[_Token], int]]) -> ReportRecord:
    parts: list[str] = []
    spans: list[SpanRecord] = []
    offset = 0
    for sentence, _ in document:
        if parts:
            parts.append("\n\n")
            offset += 2
        words = [token.word for token in sentence]
        starts = []
        for word in words:
            starts.append(offset)
            offset += len(word) + 1
        offset -= 1
        parts.append(" ".join(words))
        spans.extend(_chunks(sentence, starts))
    annotations = (ImportedAnnotation(None, tuple(spans)),) if spans else ()
    return ReportRecord(text="".join(parts), line=document[0][0][0].line, annotations=annotations)


def _chunks(sentence: list[_Token], starts: list[int]) -> list[SpanRecord]:
    """Spans of a checked sentence (IOB or IOB2), offsets from ``starts`` (each token's offset in the report)."""
    spans: list[SpanRecord] = []
    open_label, open_start, end = None, 0, 0
    for token, start in zip(sentence, starts, strict=True):
        continues = token.tag == "I" and token.label == open_label
        if open_label is not None and not continues:
            spans.append(SpanRecord(open_start, end, open_label))
            open_label = None
        if token.label is not None and not continues:
            open_label, open_start = token.label, start
        end = start + len(token.word)
    if open_label is not None:
        spans.append(SpanRecord(open_start, end, open_label))
    return spans
