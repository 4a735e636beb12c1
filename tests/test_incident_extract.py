"""Extraction of incidents from new reports and its evaluation: the pure parts, the commands (both databases)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from annotator.incidents import incidents_to_json
from annotator.incidents.extract import incident_fields, link_sentence, score_incidents
from annotator.models import GoldAnnotation, GoldSpan, Sentence
from annotator.records import IncidentRecord

TWO = "Air defences destroyed 17 UAVs over Kaluga Oblast and 4 over Bryansk Oblast."
HOUSE = "A drone damaged a house in Kursk."
DESTROYED, C17, KALUGA = (13, 22, "OUTCOME"), (23, 25, "COUNT"), (36, 49, "REGION")
C4, BRYANSK = (54, 55, "COUNT"), (61, 75, "REGION")
DAMAGED, KURSK = (8, 15, "OUTCOME"), (27, 32, "REGION")


def test_incident_extract_links_a_sentence_with_values_by_kind():
    values = {"COUNT": "17", "REGION": "Kaluga Oblast", "OUTCOME": "destroyed"}
    incidents, found = link_sentence(TWO, [C17, KALUGA, DESTROYED], lambda label, text: values[label])
    assert incidents == [IncidentRecord(tuple(sorted((DESTROYED, C17, KALUGA))))]
    assert incident_fields(TWO, incidents, found) == [("Kaluga Oblast", 17, "destroyed")]
    # Without values: the region and outcome by their text, case-folded; the count parsed from its text.
    assert incident_fields(TWO, incidents, {}) == [("kaluga oblast", 17, "destroyed")]


def test_incident_extract_scores_fields_and_whole_incidents_by_hand():
    gold = [("Kaluga Oblast", 17, "destroyed"), ("Bryansk Oblast", 4, "destroyed")]
    predicted = [("Kaluga Oblast", 17, "destroyed"), ("Bryansk Oblast", 17, "destroyed"), (None, 3, None)]
    scores = score_incidents([(predicted, gold), ([], [("Kursk Oblast", None, "damage")])])
    region, count, outcome = (scores["fields"][f] for f in ("region", "count", "outcome"))
    assert (region["correct"], region["predicted"], region["gold"]) == (2, 2, 3)
    assert (count["correct"], count["predicted"], count["gold"]) == (1, 3, 2)
    assert count["precision"] == pytest.approx(1 / 3) and count["recall"] == 0.5 and count["f"] == pytest.approx(0.4)
    assert (outcome["correct"], outcome["predicted"], outcome["gold"]) == (2, 2, 3)
    whole = scores["incident"]
    assert (whole["correct"], whole["predicted"], whole["gold"]) == (1, 3, 3) and whole["f"] == pytest.approx(1 / 3)
    assert scores["sentences"] == 2
    empty = score_incidents([([], [])])["incident"]
    assert empty["precision"] is None and empty["f"] is None


def test_incident_extract_command_writes_the_table(runner, tmp_path):
    reports = tmp_path / "new.txt"
    reports.write_text(f"{TWO}\n\nOn Monday: {HOUSE}\n", encoding="utf-8")
    (tmp_path / "seed.txt").write_text("Seed report.\n", encoding="utf-8")
    assert runner.invoke(args=["import", str(tmp_path / "seed.txt"), "--project", "p"]).exit_code == 0
    result = runner.invoke(args=["extract", "--project", "p", str(reports), "--out", str(tmp_path / "t.csv")])
    assert result.exit_code == 0, result.output
    assert (
        "Note: no active model version" in result.output and "2 incidents in 2 reports, spans by rules" in result.output
    )
    rows = list(csv.DictReader(io.StringIO((tmp_path / "t.csv").read_text(encoding="utf-8"))))
    assert [(r["report"], r["sentence"], r["region"], r["count"], r["outcome"]) for r in rows] == [
        ("new.txt#1", "1", "Kaluga Oblast", "17", "destroyed"),
        ("new.txt#2", "1", "Kursk Oblast", "", "damage"),
    ]
    # Offsets into the report: the second report starts with "On Monday: ".
    assert int(rows[1]["region_start"]) == len("On Monday: ") + HOUSE.index("Kursk")
    result = runner.invoke(args=["extract", "--project", "p", str(reports), "--out", str(tmp_path / "t.jsonl")])
    lines = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["count"] for line in lines] == [17, None] and lines[0]["gold_source"] == "rules"
    bad = runner.invoke(args=["extract", "--project", "p", str(reports), "--out", str(tmp_path / "t.xlsx")])
    # A wrong --out is a wrong argument, told before anything is read: exit 2, like click's own checks.
    assert bad.exit_code == 2 and "Invalid value for '--out': t.xlsx: name a .csv or .jsonl file" in bad.output
    (tmp_path / "folder.csv").mkdir()
    for out, message in ((tmp_path / "folder.csv", "is a directory"), (tmp_path / "no" / "t.csv", "does not exist")):
        refused = runner.invoke(args=["extract", "--project", "p", str(reports), "--out", str(out)])
        assert refused.exit_code == 2 and f"'--out': {out}: " in refused.output and message in refused.output
    assert not (tmp_path / "no").exists() and list((tmp_path / "folder.csv").iterdir()) == []
    (tmp_path / "a-file").write_text("mine", encoding="utf-8")
    under_a_file = runner.invoke(
        args=["extract", "--project", "p", str(reports), "--out", str(tmp_path / "a-file" / "t.csv")]
    )
    assert under_a_file.exit_code == 2 and "is a file, not a folder" in under_a_file.output
    # A report file that is missing or a folder is a wrong argument, refused by click before anything is read:
    # exit 2, like every command's (exit 1 is for input or a database that refuses the work).
    for path, message in ((tmp_path / "missing.txt", "does not exist"), (tmp_path / "folder.csv", "is a directory")):
        wrong = runner.invoke(args=["extract", "--project", "p", str(path)])
        assert wrong.exit_code == 2 and f"'{path}' {message}" in wrong.output
    unknown = runner.invoke(args=["extract", "--project", "nope", str(reports)])
    assert unknown.exit_code == 1 and "No project named 'nope'" in unknown.output
    (tmp_path / "broken.jsonl").write_text('{"txt": 1}\n', encoding="utf-8")
    broken = runner.invoke(args=["extract", "--project", "p", str(tmp_path / "broken.jsonl")])
    assert broken.exit_code == 1 and "broken.jsonl, line 1" in broken.output


def add_gold(db, sentence, spans, incidents, values):
    gold = GoldAnnotation(sentence_id=sentence.id, incidents=incidents_to_json(incidents))
    gold.spans = [
        GoldSpan(start_char=s, end_char=e, label=lab, value=values.get((s, e, lab)), provenance="adjudicated")
        for s, e, lab in spans
    ]
    db.add(gold)


def test_incident_extract_evaluation_scores_the_chain_and_the_linker(runner, db, tmp_path):
    (tmp_path / "r.txt").write_text(f"{TWO} {HOUSE}\n", encoding="utf-8")
    assert runner.invoke(args=["import", str(tmp_path / "r.txt"), "--project", "p"]).exit_code == 0
    none = runner.invoke(args=["evaluate-incidents", "--project", "p"])
    assert none.exit_code == 1  # no model, so no training reports to name: the rules had none
    assert (
        "Error: no adjudicated sentence to score against; adjudicate some on the project's Review page" in none.output
    )
    two, house = db.scalars(select(Sentence).order_by(Sentence.position)).all()
    values = {C17: "17", C4: "4", KALUGA: "Kaluga Oblast", BRYANSK: "Bryansk Oblast", DESTROYED: "destroyed"}
    first, second = tuple(sorted((DESTROYED, C17, KALUGA))), tuple(sorted((DESTROYED, C4, BRYANSK)))
    add_gold(db, two, list(values), [IncidentRecord(first), IncidentRecord(second)], values)
    add_gold(
        db, house, [DAMAGED, KURSK], [IncidentRecord((DAMAGED, KURSK))], {KURSK: "Kursk Oblast", DAMAGED: "damage"}
    )
    db.commit()
    result = runner.invoke(args=["evaluate-incidents", "--project", "p", "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert (scores["model"], scores["sentences"], scores["gold_incidents"]) == ("rules", 2, 3)
    # The rules find no "4": they predict (Kaluga Oblast, 17, destroyed) and (Kursk Oblast, -, damage).
    extract = scores["extract"]
    assert extract["incident"] == {
        "precision": 1.0,
        "recall": pytest.approx(2 / 3),
        "f": pytest.approx(0.8),
        "correct": 2,
        "predicted": 2,
        "gold": 3,
    }
    assert (extract["fields"]["count"]["correct"], extract["fields"]["count"]["gold"]) == (1, 2)
    assert scores["linker"]["incident"]["f"] == 1.0
    table = runner.invoke(args=["evaluate-incidents", "--project", "p"])
    assert "extract (spans found, linked):" in table.output and "incident   1.000  0.667  0.800  2/2/3" in table.output
