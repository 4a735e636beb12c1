"""CoNLL-2003 and IOB files: parsed (annotator.corpus.conll), imported and exported again, on each backend."""

import json

import pytest

from annotator.corpus.conll import parse_conll
from annotator.corpus.parse import CorpusError, parse_file

# As the CoNLL-2003 shared task wrote it: token, part of speech, chunk, then the IOB2 tag.
CONLL = """-DOCSTART- -X- -X- O

Forty CD B-NP B-COUNT
drones NNS I-NP O
were VBD B-VP O
shot VBN I-VP B-OUTCOME
down RP B-PRT I-OUTCOME
over IN B-PP O
Kursk NNP B-NP B-REGION
Oblast NNP I-NP I-REGION
. . O O

Debris NN B-NP O
damaged VBD B-VP O
a DT B-NP O
house NN I-NP O
. . O O

-DOCSTART- -X- -X- O

Two CD B-NP B-COUNT
missiles NNS I-NP O
were VBD B-VP O
intercepted VBN I-VP B-OUTCOME
near IN B-PP O
Belgorod NNP B-NP B-REGION
and CC O O
Kharkiv NNP B-NP B-REGION
. . O O
"""


def test_import_conll_documents_become_reports_with_their_spans():
    reports = parse_conll("train.conll", CONLL)
    assert len(reports) == 2
    first, second = reports
    assert first.text == "Forty drones were shot down over Kursk Oblast .\n\nDebris damaged a house ."
    assert first.line == 3 and second.line == 21
    spans = [(first.text[s.start_char : s.end_char], s.label) for s in first.annotations[0].spans]
    assert spans == [("Forty", "COUNT"), ("shot down", "OUTCOME"), ("Kursk Oblast", "REGION")]
    assert [(second.text[s.start_char : s.end_char], s.label) for s in second.annotations[0].spans] == [
        ("Two", "COUNT"),
        ("intercepted", "OUTCOME"),
        ("Belgorod", "REGION"),
        ("Kharkiv", "REGION"),
    ]
    assert first.annotations[0].annotator is None  # the importer names one


def test_import_conll_reads_iob1_and_files_without_docstart():
    # IOB (IOB1): a chunk starts with I-; B- only splits two adjacent chunks of one label.
    text = "Kursk I-REGION\nBelgorod B-REGION\nand O\nSumy I-REGION\nOblast I-REGION\n\nTwo I-COUNT\ndrones O\n"
    reports = parse_file("old.iob", text.encode())
    assert [r.text for r in reports] == ["Kursk Belgorod and Sumy Oblast", "Two drones"]  # one per sentence
    assert [(s.start_char, s.end_char, s.label) for s in reports[0].annotations[0].spans] == [
        (0, 5, "REGION"),
        (6, 14, "REGION"),
        (19, 30, "REGION"),
    ]
    assert reports[1].line == 7


def test_import_conll_round_trip_keeps_the_spans(runner, tmp_path):
    path = tmp_path / "train.conll"
    path.write_text(CONLL, encoding="utf-8")
    result = runner.invoke(args=["import", str(path), "--project", "p", "--as-annotator", "conll"])
    assert result.exit_code == 0, result.output
    assert "2 reports added, 3 sentences added" in result.output
    out = tmp_path / "out"
    result = runner.invoke(
        args=["export", "--project", "p", "--out", str(out), "--dev-fraction", "0", "--policy", "annotator:conll"]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "annotations.jsonl").read_text(encoding="utf-8").splitlines()]
    exported = {
        record["text"]: [(record["text"][s["start"] : s["end"]], s["label"]) for s in record["spans"]]
        for record in records
    }
    assert exported == {
        "Forty drones were shot down over Kursk Oblast .": [
            ("Forty", "COUNT"),
            ("shot down", "OUTCOME"),
            ("Kursk Oblast", "REGION"),
        ],
        "Debris damaged a house .": [],
        "Two missiles were intercepted near Belgorod and Kharkiv .": [
            ("Two", "COUNT"),
            ("intercepted", "OUTCOME"),
            ("Belgorod", "REGION"),
            ("Kharkiv", "REGION"),
        ],
    }
    assert all(set(r["_annotators"]) == {"conll"} for r in records)


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("bad.conll", "Two B-COUNT\ndrones O\nhit O\nKursk I-REGION\n", "bad.conll, line 4: I-REGION after O"),
        ("bad.conll", "Two B-COUNT\nKursk I-REGION\n", "line 2: I-REGION after B-COUNT"),
        ("bad.conll", "Two B-COUNT\n\nOblast I-REGION\n", "line 3: I-REGION after the sentence start"),
        ("bad.conll", "Two CD B-NP X-COUNT\n", "line 1: tag 'X-COUNT' is not O, B-LABEL or I-LABEL"),
        ("bad.conll", "Two CD B-NP B-\n", "line 1: tag 'B-' is not O"),
        ("bad.iob", "Two B-COUNT\ndrones\n", "bad.iob, line 2: expected a token and its tag"),
        ("bad.conllu", "1\tTwo\ttwo\tNUM\tCD\t_\t2\tnummod\t_\t_\n", "unsupported file type .conllu"),
        ("bad.conll", "\n\n-DOCSTART- -X- -X- O\n\n", "holds no reports"),
    ],
)
def test_import_conll_hostile_input_is_a_clear_error(name, raw, expected):
    with pytest.raises(CorpusError) as caught:
        parse_file(name, raw.encode("utf-8"))
    assert expected in str(caught.value)


def test_import_conll_unknown_label_imports_nothing(runner, tmp_path):
    path = tmp_path / "ner.conll"
    path.write_text(CONLL.replace("B-REGION\nand", "B-LOC\nand"), encoding="utf-8")
    result = runner.invoke(args=["import", str(path), "--project", "p", "--as-annotator", "conll"])
    assert result.exit_code == 1
    assert "ner.conll, line 21" in result.output  # where the report starts and "LOC" in result.output
    assert "Nothing was imported" in result.output
    assert runner.invoke(args=["status", "--project", "p", "--json"]).exit_code == 1
