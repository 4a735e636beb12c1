"""Bad input: property-based tests of the import parsers and of the import service.

Whatever the bytes, ``parse_file`` returns reports whose texts are exactly
what the file holds, or raises CorpusError naming the file (and the line,
for an error in one line); never another exception. Imported reports keep
exact sentence and span offsets on each backend.
"""

import csv
import io
import json
import uuid

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from annotator.corpus.parse import CorpusError, parse_file
from annotator.db import write_transaction
from annotator.models import Annotation, Report, Sentence, Span
from annotator.services.corpus import import_reports
from annotator.services.projects import get_or_create_project

FORMATS = ("a.txt", "a.jsonl", "a.csv", "a.json", "a.conll", "a.iob")
WHOLE_FILE = ("the file is empty", "the file holds no reports", "unsupported file type", "the file is not")
# Characters that break naive code: line ends str.splitlines knows and files do not, NUL, BOM, emoji.
SPECIAL = [
    "\r",
    "\n",
    "\r\n",
    "\u2028",
    "\u2029",
    "\x85",
    "\x0c",
    "\x00",
    "\ufeff",
    "\u00a0",
    "🚀",
    "e\u0301",
    " ",
    "  ",
    "\t",
]
UNICODE = st.characters(blacklist_categories=("Cs",))  # every code point UTF-8 can carry
TEXT = st.lists(st.one_of(st.text(UNICODE, max_size=12), st.sampled_from(SPECIAL)), max_size=25).map("".join)
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
JSON = st.recursive(
    JSON_SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=6,
)
LABEL = st.one_of(st.sampled_from(["REGION", "COUNT", "OUTCOME"]), JSON)
OFFSET = st.one_of(st.integers(-3, 60), JSON)


def _check(name: str, data: bytes):
    """Parse; a CorpusError must name the file, and a line unless it is about the whole file."""
    try:
        reports = parse_file(name, data)
    except CorpusError as exc:
        assert exc.file == name
        if exc.line is None:
            assert exc.message.startswith(WHOLE_FILE), exc.message
        else:
            assert 1 <= exc.line <= data.count(b"\n") + data.count(b"\r") + 1
        assert str(exc).startswith(name)
        return None
    assert reports
    for report in reports:
        assert isinstance(report.text, str) and report.text.strip()
        assert "\x00" not in report.text
        report.text.encode("utf-8")  # storable: no lone surrogates
    return reports


@given(name=st.sampled_from(FORMATS), data=st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
@example(name="a.csv", data=b"text\nab\x00c\n")
@example(name="a.jsonl", data=b'{"text": "a\\ud800b"}\n')
@example(name="a.jsonl", data=b'{"text": "x", "id": "a\\u0000"}\n')
@example(name="a.txt", data=b"\xef\xbb\xbf\xef\xbb\xbf")
def test_fuzz_import_random_bytes(name, data):
    _check(name, data)


def _without_joined_boms(text: str) -> str:
    return text.replace("\n\ufeff", "\n").replace("\r\ufeff", "\r")


@given(name=st.sampled_from(FORMATS), text=TEXT, bom=st.booleans())
@settings(max_examples=300, deadline=None)
def test_fuzz_import_random_unicode(name, text, bom):
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    reports = _check(name, data)
    if reports and name == "a.txt":
        decoded = _without_joined_boms(text)
        position = 0
        for report in reports:  # each report is the next exact piece of the file
            found = decoded.find(report.text, position)
            assert found >= 0
            position = found + len(report.text)


@given(text=TEXT, bom=st.booleans())
@settings(max_examples=200, deadline=None)
def test_fuzz_import_txt_keeps_every_character(text, bom):
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    # One byte-order mark is dropped at the start, and one after each line end (where files were joined).
    decoded = _without_joined_boms(text if bom else text.removeprefix("\ufeff"))
    reports = _check("a.txt", data)
    if reports is None:
        assert not decoded.strip() or "\x00" in decoded
    else:  # blank lines and the last line end of each block go; nothing else
        assert "".join("".join(r.text for r in reports).split()) == "".join(decoded.split())


@given(values=st.lists(JSON, min_size=1, max_size=6), ascii=st.booleans())
@settings(max_examples=300, deadline=None)
def test_fuzz_import_jsonl_random_json_values(values, ascii):
    lines = [json.dumps(v, ensure_ascii=ascii) for v in values]
    data = "\n".join(lines).encode("utf-8")
    reports = _check("a.jsonl", data)
    if reports is not None:
        good = [v for v in values if isinstance(v, dict)]
        assert len(good) == len(values)  # every line was an object
        assert [r.text for r in reports] == [v["text"] for v in good]


SPAN_REF = st.one_of(st.fixed_dictionaries({"start": OFFSET, "end": OFFSET, "label": LABEL}), JSON)
RECORD = st.fixed_dictionaries(
    {"text": st.one_of(TEXT, JSON)},
    optional={
        "id": JSON,
        "source": JSON,
        "meta": st.one_of(st.dictionaries(TEXT, JSON, max_size=3), JSON),
        "spans": st.one_of(
            st.lists(
                st.one_of(st.fixed_dictionaries({"start": OFFSET, "end": OFFSET, "label": LABEL}), JSON), max_size=3
            ),
            JSON,
        ),
        "label": st.one_of(st.lists(st.one_of(st.tuples(OFFSET, OFFSET, LABEL).map(list), JSON), max_size=3), JSON),
        "answer": st.one_of(st.sampled_from(["accept", "reject", "ignore"]), JSON),
        "_annotator_id": JSON,
        "relations": st.one_of(
            st.lists(
                st.one_of(
                    st.fixed_dictionaries(
                        {"head_span": SPAN_REF, "child_span": SPAN_REF, "label": LABEL},
                        optional={"head": OFFSET, "child": OFFSET},
                    ),
                    JSON,
                ),
                max_size=3,
            ),
            JSON,
        ),
    },
)


@given(records=st.lists(RECORD, min_size=1, max_size=5), crlf=st.booleans())
@settings(max_examples=150, deadline=None)
@example(records=[{"text": "ok", "spans": [{"start": True, "end": 2, "label": "COUNT"}]}], crlf=False)
@example(records=[{"text": "ok", "meta": [], "label": [[0, 1.0, "X"]]}], crlf=False)
@example(records=[{"text": "ok", "spans": [{"start": 0, "end": 10**30, "label": "COUNT"}]}], crlf=False)
@example(
    records=[
        {
            "text": "ok",
            "spans": [{"start": 0, "end": 2, "label": "COUNT"}],
            "relations": [{"head_span": {"start": 0, "end": 2, "label": {}}, "child_span": {}, "label": "outcome"}],
        }
    ],
    crlf=False,
)
def test_fuzz_import_jsonl_wrong_types(records, crlf):
    data = ("\r\n" if crlf else "\n").join(json.dumps(r, ensure_ascii=False) for r in records).encode("utf-8")
    reports = _check("a.jsonl", data)
    if reports is not None:
        assert [r.text for r in reports] == [r["text"] for r in records]
        for report, record in zip(reports, records, strict=True):
            for annotation in report.annotations:
                for span in annotation.spans:
                    assert 0 <= span.start_char < span.end_char <= len(record["text"])
                    assert isinstance(span.label, str) and span.label


@given(rows=st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=5), dialect=st.sampled_from(["excel", "unix"]))
@settings(max_examples=300, deadline=None)
def test_fuzz_import_csv_texts_are_the_cells(rows, dialect):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, dialect=dialect)
    writer.writerow(["text", "outlet"])
    writer.writerows(rows)
    reports = _check("a.csv", buffer.getvalue().encode("utf-8"))
    cells = rows
    if "\ufeff" in buffer.getvalue():  # the cells as the file holds them once a line's byte-order mark is dropped
        cells = [tuple(row) for row in csv.reader(io.StringIO(_without_joined_boms(buffer.getvalue()), newline=""))][1:]
    if reports is not None:
        assert [r.text for r in reports] == [text for text, _ in cells if text.strip()]
    else:
        assert not any(text.strip() for text, _ in cells) or any("\x00" in t + o for t, o in cells)


@pytest.mark.parametrize("name", ["a.txt", "a.jsonl", "a.csv"])
def test_fuzz_import_huge_text(name):
    body = ("Forty drones were destroyed over Kursk Oblast 🚀. " * 21000)[:1_000_000]
    data = {
        "a.txt": body.encode("utf-8"),
        "a.jsonl": json.dumps({"text": body}, ensure_ascii=False).encode("utf-8"),
        "a.csv": ('text\r\n"' + body.replace('"', '""') + '"\r\n').encode("utf-8"),  # a quoted field
    }[name]
    reports = parse_file(name, data)
    assert [r.text for r in reports] == [body]


def test_fuzz_import_error_lines_point_at_the_bad_line():
    with pytest.raises(CorpusError) as exc:
        parse_file("a.csv", b'text\nfine\n"' + b"x" * 10 + b"\x00\n")
    assert exc.value.line == 3
    with pytest.raises(CorpusError) as exc:
        parse_file("a.jsonl", b'{"text": "fine"}\n{"text": "a\\u0000b"}\n')
    assert exc.value.line == 2 and "NUL" in exc.value.message
    with pytest.raises(CorpusError) as exc:
        parse_file("a.jsonl", b'{"text": "fine"}\n\n{"text": "ok", "source": "\\udc80"}\n')
    assert exc.value.line == 3 and "surrogate" in exc.value.message
    with pytest.raises(CorpusError) as exc:
        parse_file("a.txt", b"fine\n\nbad\x00\n")
    assert exc.value.line == 3 and "NUL" in exc.value.message


# --- The service, on each backend ------------------------------------------------------------


@st.composite
def annotated_reports(draw):
    """A .jsonl of random texts, each with random spans inside it."""
    records = []
    for text in draw(st.lists(TEXT.filter(lambda t: t.strip()), min_size=1, max_size=4)):
        spans = []
        for _ in range(draw(st.integers(0, 3))):
            start = draw(st.integers(0, len(text) - 1))
            end = draw(st.integers(start + 1, len(text)))
            spans.append({"start": start, "end": end, "label": draw(st.sampled_from(["REGION", "COUNT", "OUTCOME"]))})
        records.append({"text": text, "spans": spans, "_annotator_id": "alice"})
    return records


@given(records=annotated_reports())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(
    records=[
        {
            "text": "Two drones\u2028 over Kursk.\r\n\r\nНад Белгородом 🚀 сбили.\x85Done.",
            "spans": [{"start": 0, "end": 3, "label": "COUNT"}],
            "_annotator_id": "alice",
        }
    ]
)
@example(records=[{"text": "\ufeffA\x00B", "spans": [], "_annotator_id": "alice"}])
@example(
    records=[
        {"text": "Two drones fell.", "spans": [{"start": 0, "end": 3, "label": "COUNT"}] * 2, "_annotator_id": "alice"}
    ]
)
def test_fuzz_import_service_keeps_offsets_exact(db, records):
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode("utf-8")
    try:
        parsed = parse_file("f.jsonl", data)
    except CorpusError:
        assume(False)  # NUL or similar, refused before the database
    write_transaction(db)
    try:
        project, _ = get_or_create_project(db, f"p-{uuid.uuid4().hex}")  # a new project per example
        try:
            import_reports(db, project, "f.jsonl", parsed)
        except CorpusError as exc:
            refusals = (
                "does not lie within one sentence",
                "is not the start of a token",
                "is not the end of a token",
                "is not one of",
            )
            assert exc.file == "f.jsonl" and any(r in exc.message for r in refusals), exc.message
            return
        db.flush()
        db.expire_all()
        by_text = {}
        for r in records:
            by_text.setdefault(r["text"], r)
        for report in db.scalars(select(Report).where(Report.project_id == project.id)):
            assert report.text in by_text  # stored exactly as written
            record = by_text[report.text]
            sentences = db.scalars(
                select(Sentence).where(Sentence.report_id == report.id).order_by(Sentence.position)
            ).all()
            for sentence in sentences:
                assert report.text[sentence.start_char : sentence.start_char + len(sentence.text)] == sentence.text
                for start, end in sentence.tokens:
                    assert 0 <= start < end <= len(sentence.text)
            stored = sorted(
                (s.start_char + sentence.start_char, s.end_char + sentence.start_char, s.label)
                for sentence in sentences
                for a in db.scalars(select(Annotation).where(Annotation.sentence_id == sentence.id))
                for s in db.scalars(select(Span).where(Span.annotation_id == a.id))
            )
            # A repeated text is one report; its first record's spans are the ones kept.
            assert stored == sorted({(s["start"], s["end"], s["label"]) for s in record["spans"]})
    finally:
        db.rollback()
