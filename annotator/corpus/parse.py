"""Parse report files: plain text, JSON lines and CSV, with or without spans.

Every parser takes the file's name and raw bytes and returns
:class:`~annotator.records.ReportRecord` s, or raises :class:`CorpusError`
naming the file and line. Texts are kept exactly as written (line ends
included) once decoded from UTF-8 and stripped of byte-order marks (the
file's, and one at the start of a later line, where files were joined), so
that offsets into them stay exact.

JSON lines may carry spans in Prodigy's shape (``"spans": [{"start", "end",
"label"}]``, the annotator in ``_annotator_id`` or ``_session_id``) or in
doccano's (``"label": [[start, end, "LABEL"], ...]``). With Prodigy's spans, a
line may carry Prodigy's relations (``rel.manual``: ``"relations": [{"head_span",
"child_span", "label"}]``, optionally ``"head"``/``"child"`` token indices): they
become the annotation's incidents (``annotator.incidents.incidents_from_relations``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from ..incidents.links import Relation, incidents_from_relations
from ..limits import (
    DEFAULT_LIMITS,
    LimitExceeded,
    Limits,
    is_int,
    parse_json,
    shown,
    strings_problem,
    text_problem,
)
from ..records import ImportedAnnotation, IncidentRecord, ReportRecord, SpanRecord


@dataclass
class CorpusError(Exception):
    """A file that cannot be imported, with where and why."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


MAX_ANNOTATOR_NAME = 80  # a username's length (the column's size)
ANNOTATOR_FIELDS = ("_annotator_id", "_session_id", "annotator")  # a JSON line's annotator: the first given


def parse_file(name: str, data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[ReportRecord]:
    """Parse one file by its extension; raises CorpusError.

    Every report is checked against ``limits`` here, before any database sees
    it: its length (MAX_REPORT_CHARS), its id and source against their
    columns' sizes, and every string for NUL and unpaired surrogates.
    """
    from .formats import FORMATS, extensions_text  # the table names this module's parsers

    suffix = PurePath(name).suffix.lower()
    if suffix not in FORMATS:
        what = f"unsupported file type {suffix}" if suffix not in ("", ".") else "the file name has no extension"
        raise CorpusError(name, None, f"{what}; name the file by its format: {extensions_text()}")
    text = decode(name, data)
    if not text.strip():
        raise CorpusError(name, None, "the file is empty")
    if "\x00" in text:  # PostgreSQL cannot store it, and no report holds one on purpose
        raise CorpusError(name, _line_of(text, text.index("\x00")), "a NUL character (byte 0x00); remove it")
    reports = FORMATS[suffix].parse(name, text, limits)
    if not reports:
        raise CorpusError(name, None, "the file holds no reports")
    for report in reports:
        check_report(name, report, limits)
    return reports


def check_report(name: str, report: ReportRecord, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a report beyond a limit or with unstorable text; CorpusError names the file, line and limit."""
    line = report.line
    if len(report.text) > limits.max_report_chars:
        raise CorpusError(
            name,
            line,
            f"the report is {len(report.text):,} characters long; the limit is {limits.max_report_chars:,} "
            "(MAX_REPORT_CHARS): split it into several reports",
        )
    for field, value, limit, setting in (
        ("id", report.external_id, limits.max_external_id_chars, "MAX_EXTERNAL_ID_CHARS"),
        ("source", report.source, limits.max_source_chars, "MAX_SOURCE_CHARS"),
    ):
        if value is not None and len(value) > limit:
            raise CorpusError(
                name, line, f'"{field}" is {len(value):,} characters long; the limit is {limit:,} ({setting})'
            )
    for annotation in report.annotations:
        if annotation.annotator is not None and not 0 < len(annotation.annotator.strip()) <= MAX_ANNOTATOR_NAME:
            raise CorpusError(name, line, f"the annotator's name must be 1 to {MAX_ANNOTATOR_NAME} characters")
    for field, value in (("text", report.text), ("id", report.external_id), ("source", report.source)):
        problem = None if value is None else text_problem(value)
        if problem is not None:
            raise CorpusError(name, line, f'"{field}" {problem}')


def decode(name: str, data: bytes) -> str:
    """The file's text from UTF-8; CorpusError (with the line) for bytes that are not UTF-8.

    A byte-order mark is dropped at the start of the file and at the start of any later line, where it
    marks the start of a file joined on there: the joined file reads as its parts do. Elsewhere a U+FEFF
    is text and stays.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16's byte order mark (Excel's "Unicode text")
            raise CorpusError(name, 1, "not UTF-8: the file is UTF-16; save it as UTF-8 and import it again") from None
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(
            name, line, f"not UTF-8: undecodable byte 0x{data[exc.start]:02x}; save the file as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")
    if "\ufeff" in text:  # rare; the test is a twentieth of the decoding's time, the replacing more than half
        # After a line end (LF, CRLF or CR) it is where files that each began with one were joined
        # (cat a.jsonl b.jsonl): dropped as the first is.
        text = text.replace("\n\ufeff", "\n").replace("\r\ufeff", "\r")
    return text


def _line_of(text: str, index: int) -> int:
    """The 1-based line of ``text[index]``, counting LF, CRLF and CR line ends."""
    return len(_lines(text[:index]))


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def parse_txt(name: str, text: str) -> list[ReportRecord]:
    """One report per blank-line separated block (a file without blank lines is one report).

    Lines end at LF, CRLF or CR only (a form feed or U+2028 inside a line is
    text); a blank line holds nothing but white space.
    """
    reports: list[ReportRecord] = []
    block: list[str] = []
    block_line = 1  # the line the current block starts on
    for number, line in enumerate(_LINE.findall(text), start=1):
        if line.strip():
            if not block:
                block_line = number
            block.append(line)
        elif block:
            reports.append(_txt_report(name, block, block_line))
            block = []
    if block:
        reports.append(_txt_report(name, block, block_line))
    return reports


def _txt_report(name: str, lines: list[str], line: int) -> ReportRecord:
    body = "".join(lines)
    # Drop the final line end only: everything inside stays as written.
    for ending in ("\r\n", "\n", "\r"):
        if body.endswith(ending):
            body = body[: -len(ending)]
            break
    return ReportRecord(text=body, source=name, line=line)


def parse_jsonl(name: str, text: str, max_depth: int = DEFAULT_LIMITS.max_json_depth) -> list[ReportRecord]:
    reports = []
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        try:
            record = parse_json(line, max_depth)
        except json.JSONDecodeError as exc:
            raise CorpusError(name, number, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
        except LimitExceeded as exc:
            raise CorpusError(name, number, f"{exc.message}; flatten the record") from None
        except ValueError as exc:  # NonFiniteNumber: NaN, Infinity, a float out of range, an integer too long
            raise CorpusError(name, number, f"invalid JSON: {exc}") from None
        if not isinstance(record, dict):
            raise CorpusError(name, number, 'each line must be a JSON object with a "text" field')
        _check_strings(name, number, record)
        reports.append(_json_report(name, number, record))
    return reports


def _lines(text: str) -> list[str]:
    # JSON strings cannot hold a raw CR or LF, so splitting on them is safe; they
    # may hold U+2028 and friends, which str.splitlines would also split on.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _check_strings(name: str, number: int, value) -> None:
    """Refuse what a database cannot store: \\u0000 and unpaired surrogate escapes (\\ud800), anywhere in the record."""
    problem = strings_problem(value)
    if problem is not None:
        raise CorpusError(name, number, problem)


def _json_report(name: str, number: int, record: dict) -> ReportRecord:
    text = record.get("text")
    if not isinstance(text, str):
        raise CorpusError(name, number, 'missing "text" (a string)')
    if not text.strip():
        raise CorpusError(name, number, '"text" is empty')
    meta = record.get("meta", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise CorpusError(name, number, '"meta" must be an object')
    external_id = _name_field(name, number, "id", record, meta)
    source = _name_field(name, number, "source", record, meta)
    # The annotator: the first of the fields that names someone (an empty string names no one).
    field = next((f for f in ANNOTATOR_FIELDS if record.get(f) not in (None, "")), None)
    annotator = None if field is None else _name_field(name, number, field, record)
    annotations = _json_annotations(name, number, record, text, annotator)
    return ReportRecord(
        text=text,
        external_id=external_id,
        source=source,
        meta={k: v for k, v in meta.items() if k not in ("id", "source")},
        line=number,
        annotations=annotations,
    )


def _json_annotations(
    name: str, number: int, record: dict, text: str, annotator: str | None
) -> tuple[ImportedAnnotation, ...]:
    if "spans" in record:
        raw = record["spans"]
        if not isinstance(raw, list):
            raise CorpusError(name, number, '"spans" must be a list')
        spans = [_prodigy_span(name, number, span, text) for span in raw]
        incidents = _prodigy_incidents(name, number, record.get("relations"), raw, spans)
    elif isinstance(record.get("label"), list):
        spans = [_doccano_span(name, number, span, text) for span in record["label"]]
        incidents = ()
    else:
        return ()
    answer = record.get("answer", "accept")
    if answer not in ("accept", "reject", "ignore"):
        raise CorpusError(name, number, f'"answer" must be accept, reject or ignore, not {answer!r}')
    status = "done" if answer == "accept" else "skipped"
    return (ImportedAnnotation(annotator, tuple(spans), status, incidents),)


def _name_field(name: str, number: int, field: str, record: dict, meta: dict | None = None) -> str | None:
    """``record[field]`` (an id, source or annotator; else ``meta[field]`` if ``meta`` is given) as
    text, None if absent or null.

    A string or an integer; any other JSON value (an object, a list, a fraction, true or
    false) names nothing, and is a CorpusError rather than its Python spelling stored.
    """
    where = field
    if meta is not None and field not in record:
        record, where = meta, f"meta.{field}"
    value = record.get(field)
    if value is None or isinstance(value, str):
        return value
    if is_int(value):
        return str(value)
    spelled = json.dumps(value, ensure_ascii=False)
    spelled = spelled if len(spelled) <= 40 else spelled[:39] + "\u2026"
    raise CorpusError(name, number, f'"{where}" must be a string or an integer, not {spelled}')


def _prodigy_span(name: str, number: int, span, text: str) -> SpanRecord:
    if not isinstance(span, dict) or not {"start", "end", "label"} <= span.keys():
        raise CorpusError(name, number, 'each span needs "start", "end" and "label"')
    return _span(name, number, span["start"], span["end"], span["label"], text)


def _prodigy_incidents(
    name: str, number: int, raw, raw_spans: list, spans: list[SpanRecord]
) -> tuple[IncidentRecord, ...]:
    """The incidents behind a line's Prodigy ``relations`` (None: none); CorpusError names the relation at fault.

    Each relation's ``head_span`` and ``child_span`` must be spans of the line (same ``start``, ``end`` and
    ``label``); ``head`` and ``child``, when given, must be the index of that span's last token where the
    span gives ``token_end``. The relations' labels are not checked here: the labels' kinds give the roles.
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise CorpusError(name, number, '"relations" must be a list')
    token_end = {(s.start_char, s.end_char, s.label): r.get("token_end") for s, r in zip(spans, raw_spans, strict=True)}
    relations = []
    for index, item in enumerate(raw, start=1):
        where = f"relation {index}"
        if not isinstance(item, dict):
            raise CorpusError(name, number, f'{where}: must be an object with "head_span", "child_span" and "label"')
        if not isinstance(item.get("label"), str) or not item["label"]:
            raise CorpusError(name, number, f'{where}: "label" must be a non-empty string')
        ends = []
        for side in ("head", "child"):
            span = item.get(f"{side}_span")
            if not isinstance(span, dict) or not {"start", "end", "label"} <= span.keys():
                raise CorpusError(name, number, f'{where}: "{side}_span" needs "start", "end" and "label"')
            start, end, label = span["start"], span["end"], span["label"]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
                raise CorpusError(name, number, f'{where}: "{side}_span" offsets must be integers')
            if not isinstance(label, str):
                raise CorpusError(name, number, f'{where}: "{side}_span" label must be a string')
            key = (start, end, label)
            if key not in token_end:
                raise CorpusError(
                    name, number, f'{where}: its {side}_span {label} [{start}, {end}) is not one of the line\'s "spans"'
                )
            index_given = item.get(side)
            # Each token holds a character at least: the last token of a span ending at character `end` is below it.
            if index_given is not None and (
                not isinstance(index_given, int) or isinstance(index_given, bool) or not 0 <= index_given < end
            ):
                raise CorpusError(
                    name,
                    number,
                    f'{where}: "{side}" is {shown(index_given)}; it must be the index (an integer from 0) of its '
                    f"{side}_span's last token",
                )
            if index_given is not None and token_end[key] is not None and index_given != token_end[key]:
                raise CorpusError(
                    name,
                    number,
                    f'{where}: "{side}" is {index_given!r}, but its {side}_span ends at token {shown(token_end[key])}',
                )
            ends.append(key)
        relations.append(Relation(ends[0], ends[1], item["label"]))
    return tuple(incidents_from_relations(relations))


def _doccano_span(name: str, number: int, span, text: str) -> SpanRecord:
    if not isinstance(span, list) or len(span) != 3:
        raise CorpusError(name, number, 'each doccano label must be [start, end, "LABEL"]')
    start, end, label = span
    return _span(name, number, start, end, label, text)


def _span(name: str, number: int, start, end, label, text: str) -> SpanRecord:
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) or isinstance(end, bool):
        raise CorpusError(name, number, f"span offsets must be integers, not {start!r}, {end!r}")
    if not isinstance(label, str) or not label:
        raise CorpusError(name, number, f"span label must be a non-empty string, not {label!r}")
    if start >= end:
        raise CorpusError(name, number, f"span [{start}, {end}) {label} is empty: start must be before end")
    if start < 0 or end > len(text):
        raise CorpusError(name, number, f"span [{start}, {end}) {label} is outside the text (length {len(text)})")
    return SpanRecord(start, end, label)


# What the csv module's terse errors mean for a person fixing the file.
_CSV_HINTS = {
    "unexpected end of data": " (a quote that opens a field on this line is never closed)",
    "expected after '\"'": ' (a quoted field ends at its closing quote; write a quote inside it as "")',
}


def parse_csv(name: str, text: str) -> list[ReportRecord]:
    # The csv module's default limit (128 KiB a field) would refuse a long report.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    # strict: a quote never closed, or text after a closing quote, is an error, not a report
    # that swallows the rest of the file or silently loses its quotes.
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        fieldnames = reader.fieldnames  # reads the header line, which can be malformed too
    except csv.Error as exc:
        raise CorpusError(name, 1, f"malformed CSV header: {exc}{_csv_hint(exc)}") from None
    if not fieldnames or "text" not in fieldnames:
        named = ", ".join(repr(column[:40]) for column in (fieldnames or [])[:10]) or "no column"
        raise CorpusError(name, 1, f'the header has no "text" column (it names {named})')
    seen: set[str] = set()
    for column in fieldnames:
        if column in seen:  # a row would keep one of the two cells and drop the other
            raise CorpusError(name, 1, f"the header names the column {column[:80]!r} twice; rename one of them")
        seen.add(column)
    reports = []
    line = reader.line_num + 1
    try:
        for row in reader:
            if None in row:
                raise CorpusError(name, line, "the row has more fields than the header")
            body = row.pop("text") or ""
            if body.strip():
                external_id, source = row.pop("id", None), row.pop("source", None)
                meta = {k: v for k, v in row.items() if v not in (None, "")}
                reports.append(
                    ReportRecord(
                        text=body, external_id=external_id or None, source=source or None, meta=meta, line=line
                    )
                )
            line = reader.line_num + 1
    except csv.Error as exc:
        raise CorpusError(name, line, f"malformed CSV: {exc}{_csv_hint(exc)}") from None
    return reports


def _csv_hint(exc: csv.Error) -> str:
    return next((h for problem, h in _CSV_HINTS.items() if problem in str(exc)), "")


def parse_files(
    files: Iterable[tuple[str, bytes]], limits: Limits = DEFAULT_LIMITS
) -> tuple[list[tuple[str, list[ReportRecord]]], list[CorpusError]]:
    """Parse several files; returns (name, reports) of each good file, in order, and every error.

    Two files of the same name are an error: messages could not tell them apart.
    """
    parsed, errors, seen = [], [], set()
    for name, data in files:
        if name in seen:
            errors.append(CorpusError(name, None, "two files have this name; rename one or upload them separately"))
            continue
        seen.add(name)
        try:
            parsed.append((name, parse_file(name, data, limits)))
        except CorpusError as exc:
            errors.append(exc)
    return parsed, errors
