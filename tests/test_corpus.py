"""Parsing report files: formats, encodings, exact offsets, bad input."""

import json

import pytest

from annotator.corpus.parse import CorpusError, parse_file


def test_corpus_txt_one_report_per_blank_line_block():
    reports = parse_file("r.txt", b"First report.\nStill first.\n\nSecond report.\n")
    assert [r.text for r in reports] == ["First report.\nStill first.", "Second report."]
    assert [r.line for r in reports] == [1, 4]
    assert reports[0].source == "r.txt"


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"\xef\xbb\xbfBOM first.", ["BOM first."]),
        (b"One.\r\nTwo.\r\n\r\nThree.\r\n", ["One.\r\nTwo.", "Three."]),
        (b"Old Mac.\rLine two.\r\rNext.", ["Old Mac.\rLine two.", "Next."]),
        ("Дроны над Белгородом  🚀\u00a0сбиты.".encode(), ["Дроны над Белгородом  🚀\u00a0сбиты."]),
    ],
    ids=["bom", "crlf", "cr", "unicode"],
)
def test_corpus_txt_keeps_text_exactly(raw, expected):
    assert [r.text for r in parse_file("r.txt", raw)] == expected


BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    "name, first, second",
    [
        ("r.jsonl", b'{"text": "One."}\n', b'{"text": "Two.", "label": [[0, 3, "COUNT"]]}\n'),
        ("r.jsonl", b'{"text": "One."}\r\n', b'{"text": "Two."}\r\n'),
        ("r.txt", b"One.\r\rStill one.\r\r", b"Two.\r"),
        ("r.csv", b'text,id\n"One, first",1\n', b'"Two, second",2\n'),  # a second file's rows, BOM and all
        ("r.conll", b"-DOCSTART- O\n\nKursk B-REGION\n\n", b"-DOCSTART- O\n\nSumy B-REGION\n"),
        ("r.iob", b"Kursk B-REGION\n\n", b"Two B-COUNT\n"),
    ],
    ids=["jsonl", "jsonl-crlf", "txt-cr", "csv", "conll", "iob"],
)
def test_corpus_files_joined_with_their_byte_order_marks_read_as_their_parts(name, first, second):
    # cat a.jsonl b.jsonl: each part's byte-order mark is dropped, as the file's first one is, and
    # never read as text (nor, in a JSON line, as an error).
    header = b"text,id\n" if name.endswith(".csv") else b""
    joined = parse_file(name, BOM + first + BOM + second)
    parts = parse_file(name, BOM + first) + parse_file(name, BOM + header + second)
    assert [(r.text, r.annotations) for r in joined] == [(r.text, r.annotations) for r in parts]
    assert all("\ufeff" not in r.text for r in joined)


def test_corpus_byte_order_mark_inside_a_line_is_text():
    assert [r.text for r in parse_file("r.txt", BOM + "One.\n\nTwo\ufeff.\n".encode())] == ["One.", "Two\ufeff."]


def test_corpus_jsonl_fields_and_meta():
    lines = [
        {"id": 7, "text": "Forty drones were destroyed.", "source": "wire", "meta": {"date": "2026-01-02"}},
        {"text": "No source here."},
    ]
    reports = parse_file("r.jsonl", "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode())
    assert reports[0].external_id == "7" and reports[0].source == "wire" and reports[0].meta == {"date": "2026-01-02"}
    assert reports[1].external_id is None and reports[1].meta == {}
    assert [r.line for r in reports] == [1, 2]


def test_corpus_jsonl_keeps_line_separator_inside_strings():
    text = "A\u2028B and C."
    reports = parse_file("r.jsonl", json.dumps({"text": text}, ensure_ascii=False).encode())
    assert reports[0].text == text


def test_corpus_csv_text_column_and_metadata():
    raw = b'id,text,outlet\r\n1,"Two drones, shot down.\nNext line.",Wire\r\n2,Second,\r\n'
    reports = parse_file("r.csv", raw)
    assert reports[0].text == "Two drones, shot down.\nNext line."
    assert reports[0].external_id == "1" and reports[0].meta == {"outlet": "Wire"}
    assert reports[1].meta == {}
    assert [r.line for r in reports] == [2, 4]


def test_corpus_prodigy_spans_with_annotator():
    record = {
        "text": "Kaluga Oblast: 40 UAVs destroyed.",
        "spans": [{"start": 0, "end": 13, "label": "REGION"}],
        "_annotator_id": "ds-alice",
        "answer": "accept",
    }
    report = parse_file("p.jsonl", json.dumps(record).encode())[0]
    (annotation,) = report.annotations
    assert annotation.annotator == "ds-alice" and annotation.status == "done"
    assert [(s.start_char, s.end_char, s.label) for s in annotation.spans] == [(0, 13, "REGION")]


def test_corpus_doccano_labels():
    record = {"text": "Forty drones over Kursk.", "label": [[0, 5, "COUNT"], [18, 23, "REGION"]]}
    (annotation,) = parse_file("d.jsonl", json.dumps(record).encode())[0].annotations
    assert annotation.annotator is None
    assert [(s.start_char, s.end_char, s.label) for s in annotation.spans] == [(0, 5, "COUNT"), (18, 23, "REGION")]


@pytest.mark.parametrize(
    "name, raw, line, message",
    [
        ("bad.jsonl", b'{"text": "ok"}\n' * 6 + b"{not json}\n", 7, "invalid JSON"),
        ("bad.jsonl", b'{"text": "ok"}\n{"title": "no text"}\n', 2, 'missing "text"'),
        ("bad.jsonl", b'{"text": "ok"}\n[1, 2]\n', 2, "JSON object"),
        ("bad.jsonl", b'{"text": "   "}\n', 1, '"text" is empty'),
        ("bad.jsonl", b'{"text": "abc", "spans": [{"start": 2, "end": 9, "label": "X"}]}\n', 1, "outside the text"),
        (
            "bad.jsonl",
            b'{"text": "abc", "spans": [{"start": 2, "end": 2, "label": "X"}]}\n',
            1,
            "start must be before end",
        ),
        ("bad.jsonl", b'{"text": "abc", "label": [[0, 1]]}\n', 1, "doccano"),
        ("bad.txt", b"fine line\nsecond \xff\xfe line\n", 2, "not UTF-8"),
        ("bad.csv", b"title,body\nx,y\n", 1, 'no "text" column'),
        ("bad.csv", b"text,a\nok,1\nbad,1,2\n", 3, "more fields"),
        # A quote never closed would take the rest of the file into one report; text after a
        # closing quote would lose the quotes.
        ("bad.csv", b'text,id\nok,1\n"never closed,2\nthird,3\n', 3, "malformed CSV"),
        ("bad.csv", b'text\nok\n"quoted" then more\n', 3, "malformed CSV"),
        ("bad.csv", b'"text\nok\n', 1, "malformed CSV header: unexpected end of data (a quote that opens"),
        # A second byte order mark stays in the first column's name: the message shows the header it read.
        ("bad.csv", b"\xef\xbb\xbf\xef\xbb\xbftext,id\nok,1\n", 1, "no \"text\" column (it names '\\ufefftext', 'id')"),
        ("bad.csv", "text\nok\n".encode("utf-16"), 1, "not UTF-8: the file is UTF-16; save it as UTF-8"),
        # Two columns of one name: a reader keeps one of them and drops the other without a word.
        ("bad.csv", b"text,id,text\nfirst,1,second\n", 1, "column 'text' twice"),
        ("empty.txt", b"", None, "empty"),
        ("blank.jsonl", b"\n  \n", None, "empty"),
        ("report.pdf", b"%PDF", None, "unsupported file type .pdf; name the file by its format: .txt"),
        (".txt", b"x", None, "the file name has no extension; name the file by its format"),
        ("ok.txt.", b"x", None, "the file name has no extension"),
    ],
)
def test_corpus_bad_input_names_file_and_line(name, raw, line, message):
    with pytest.raises(CorpusError) as info:
        parse_file(name, raw)
    assert info.value.file == name
    assert info.value.line == line
    assert message in str(info.value)
    assert str(info.value).startswith(name)


def test_corpus_txt_splits_only_at_lf_crlf_cr():
    text = "Page one ends here\n\x0cpage two continues.\n\nSecond\u2028report.\r\n \t\r\nThird."
    reports = parse_file("r.txt", text.encode())
    assert [r.text for r in reports] == ["Page one ends here\n\x0cpage two continues.", "Second\u2028report.", "Third."]
    assert [r.line for r in reports] == [1, 4, 6]


def test_corpus_txt_line_of_only_unicode_white_space_is_blank():
    assert [r.text for r in parse_file("r.txt", "A\n\u2028\nB".encode())] == ["A", "B"]
