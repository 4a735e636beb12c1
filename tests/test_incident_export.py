"""Incidents in an export (no app): Prodigy relations, the Docs' user data, the incident table."""

from __future__ import annotations

import csv
import io
import json

from spacy.tokens import DocBin

from annotator.export.build import build_export, write_export
from annotator.incidents import INCIDENT_COLUMNS, incident_rows, incidents_from_json
from annotator.records import AnnotationRecord, IncidentRecord, SentenceRecord, SpanRecord

TWO = "Air defences destroyed 17 UAVs over Kaluga Oblast and 4 over Bryansk Oblast."
DESTROYED, C17, KALUGA = (13, 22, "OUTCOME"), (23, 25, "COUNT"), (36, 49, "REGION")
C4, BRYANSK = (54, 55, "COUNT"), (61, 75, "REGION")
VALUES = {DESTROYED: "destroyed", C17: "17", KALUGA: "Kaluga Oblast", C4: "4", BRYANSK: "Bryansk Oblast"}
FIRST = IncidentRecord(tuple(sorted((DESTROYED, C17, KALUGA))))
SECOND = IncidentRecord(tuple(sorted((DESTROYED, C4, BRYANSK))))


def two_incidents(sentence_id=1):
    spans = tuple(SpanRecord(*k, value=v) for k, v in sorted(VALUES.items()))
    return AnnotationRecord(sentence_id, "ana", "done", spans, incidents=(FIRST, SECOND))


def test_incident_export_table_rows_read_fields_by_kind():
    rows = incident_rows(TWO, [FIRST, SECOND], VALUES, report=7, sentence=2, offset=100, gold_source="adjudicated")
    assert [(r["region"], r["count"], r["outcome"]) for r in rows] == [
        ("Kaluga Oblast", 17, "destroyed"),
        ("Bryansk Oblast", 4, "destroyed"),
    ]
    assert rows[0]["count_start"] == 123 and rows[0]["count_end"] == 125 and rows[0]["count_text"] == "17"
    assert rows[0]["report"] == 7 and rows[0]["sentence"] == 2 and rows[0]["gold_source"] == "adjudicated"
    # No values: the count is read from its text; the region and outcome stay empty.
    (bare,) = incident_rows(
        TWO, [IncidentRecord((C4, BRYANSK), "majority")], {}, report=1, sentence=1, gold_source="adjudicated"
    )
    assert (bare["count"], bare["region"], bare["outcome_start"]) == (4, None, None)
    assert bare["gold_source"] == "adjudicated / majority"


def test_incident_export_writes_relations_user_data_and_the_table(nlp, tmp_path):
    sentences = [SentenceRecord(1, 10, 0, TWO, start_char=0), SentenceRecord(2, 10, 1, "Nothing else.", start_char=78)]
    annotations = [two_incidents(), AnnotationRecord(2, "ana", "done")]
    result = build_export(
        nlp, sentences, annotations, [], project="p", policy="annotator:ana", dev_fraction=0, report_numbers={10: 3}
    )
    out = write_export(result, tmp_path / "x")
    record = json.loads((out / "annotations.jsonl").read_text(encoding="utf-8").splitlines()[0])
    first = record["relations"][0]
    # Prodigy's rel.manual shape: head and child are each span's last token.
    assert first == {
        "head": 3,
        "child": 2,
        "head_span": {"start": 23, "end": 25, "token_start": 3, "token_end": 3, "label": "COUNT", "value": "17"},
        "child_span": {
            "start": 13,
            "end": 22,
            "token_start": 2,
            "token_end": 2,
            "label": "OUTCOME",
            "value": "destroyed",
        },
        "label": "outcome",
    }
    kaluga = record["relations"][1]
    assert (kaluga["child"], kaluga["child_span"]["token_start"], kaluga["label"]) == (7, 6, "location")
    assert len(record["relations"]) == 4 and record["_annotators"]["ana"]["relations"] == record["relations"]

    (doc, _) = DocBin().from_disk(out / "train.spacy").get_docs(nlp.vocab)
    # user_data["incidents"]: the stored JSON shape, which incidents_from_json reads back.
    assert incidents_from_json(doc.user_data["incidents"]) == [
        IncidentRecord(FIRST.spans, "annotator"),
        IncidentRecord(SECOND.spans, "annotator"),
    ]

    with open(out / "incidents.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(INCIDENT_COLUMNS)
    assert [(r["report"], r["sentence"], r["region"], r["count"], r["outcome"]) for r in rows] == [
        ("3", "1", "Kaluga Oblast", "17", "destroyed"),
        ("3", "1", "Bryansk Oblast", "4", "destroyed"),
    ]
    assert rows[0]["gold_source"] == "annotator:ana / annotator"
    lines = [json.loads(line) for line in (out / "incidents.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["count"] for line in lines] == [17, 4] and lines[1]["region_start"] == 61
    assert result.manifest["incidents"] == 2 and "incidents.csv" in result.manifest["files"]


def test_incident_export_drops_incidents_of_labels_left_out(nlp):
    sentence = SentenceRecord(1, 10, 0, TWO)
    result = build_export(
        nlp, [sentence], [two_incidents()], [], project="p", policy="annotator:ana", labels=["COUNT", "OUTCOME"]
    )
    assert result.incident_rows == [] and result.prodigy_records[0]["relations"] == []


def test_incident_export_csv_quotes_what_a_spreadsheet_would_run():
    from annotator.incidents.table import csv_line

    row = dict.fromkeys(INCIDENT_COLUMNS)
    row.update(report='=HYPERLINK("http://x")', sentence=1, count=-3, region_text="+cmd|' /C calc'!A0")
    row.update(outcome_text="@SUM(1)", count_text="\tx", region="-Kursk", gold_source="annotator:ana")
    cells = next(csv.DictReader(io.StringIO(csv_line(row)), fieldnames=INCIDENT_COLUMNS))
    assert cells["report"] == '\'=HYPERLINK("http://x")'
    assert (cells["region_text"], cells["outcome_text"], cells["count_text"]) == (
        "'+cmd|' /C calc'!A0",
        "'@SUM(1)",
        "'\tx",
    )
    assert (cells["region"], cells["count"], cells["sentence"]) == ("'-Kursk", "-3", "1")  # numbers stay numbers
    assert cells["gold_source"] == "annotator:ana" and cells["region_start"] == ""
