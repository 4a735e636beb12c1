"""Prodigy relations read back on import, and import -> export -> import kept whole (both databases)."""

from __future__ import annotations

import json

import pytest

from annotator.corpus.parse import CorpusError, parse_jsonl
from annotator.records import IncidentRecord
from annotator.services.projects import get_project
from annotator.services.rows import project_records

TWO = "Air defences destroyed 17 UAVs over Kaluga Oblast and 4 over Bryansk Oblast."
DESTROYED, C17, KALUGA = (13, 22, "OUTCOME"), (23, 25, "COUNT"), (36, 49, "REGION")
C4, BRYANSK = (54, 55, "COUNT"), (61, 75, "REGION")
HOUSE = "A drone damaged a house in Kursk."
DAMAGED, KURSK = (8, 15, "OUTCOME"), (27, 32, "REGION")


def span(key):
    return {"start": key[0], "end": key[1], "label": key[2]}


def relation(head_key, child_key, label, **extra):
    return {"head_span": span(head_key), "child_span": span(child_key), "label": label, **extra}


def line(text, keys, relations, **extra):
    return json.dumps({"text": text, "spans": [span(k) for k in keys], "relations": relations, **extra})


TWO_LINE = line(
    TWO,
    [DESTROYED, C17, KALUGA, C4, BRYANSK],
    [
        relation(C17, DESTROYED, "outcome"),
        relation(C17, KALUGA, "location"),
        relation(C4, DESTROYED, "outcome"),
        relation(C4, BRYANSK, "location"),
    ],
    _annotator_id="ana",
)
HOUSE_LINE = line(HOUSE, [DAMAGED, KURSK], [relation(DAMAGED, KURSK, "location", head=2, child=6)], _annotator_id="ana")


def test_incident_import_reads_prodigy_relations_into_incidents():
    (two, house) = parse_jsonl("a.jsonl", TWO_LINE + "\n" + HOUSE_LINE + "\n")
    assert two.annotations[0].incidents == (
        IncidentRecord(tuple(sorted((DESTROYED, C17, KALUGA)))),
        IncidentRecord(tuple(sorted((DESTROYED, C4, BRYANSK)))),
    )
    assert house.annotations[0].incidents == (IncidentRecord((DAMAGED, KURSK)),)
    assert parse_jsonl("b.jsonl", line(HOUSE, [DAMAGED], []))[0].annotations[0].incidents == ()


@pytest.mark.parametrize(
    ("relations", "message"),
    [
        ({"head": 1}, '"relations" must be a list'),
        (["x"], 'relation 1: must be an object with "head_span", "child_span" and "label"'),
        ([relation(DAMAGED, KURSK, "")], 'relation 1: "label" must be a non-empty string'),
        (
            [{"head_span": span(DAMAGED), "label": "location"}],
            'relation 1: "child_span" needs "start", "end" and "label"',
        ),
        (
            [relation(DAMAGED, (27, 31, "REGION"), "location")],
            "relation 1: its child_span REGION [27, 31) is not one of",
        ),
        ([relation(DAMAGED, KURSK, "location", head="2")], "relation 1: \"head\" is '2'"),
        ([relation(DAMAGED, KURSK, "location", child=6.0)], 'relation 1: "child" is 6.0; it must be the index'),
        # Where the spans give no token_end there is nothing to compare with, but a token index is never
        # negative nor as large as the span's end offset.
        ([relation(DAMAGED, KURSK, "location", child=-5)], 'relation 1: "child" is -5; it must be the index'),
        ([relation(DAMAGED, KURSK, "location", child=10**30)], 'relation 1: "child" is 1000000000000000000000000'),
        (
            [{**relation(DAMAGED, KURSK, "location"), "child_span": {**span(KURSK), "label": {"x": 1}}}],
            'relation 1: "child_span" label must be a string',
        ),
        (
            [{**relation(DAMAGED, KURSK, "location"), "head_span": {**span(DAMAGED), "label": ["OUTCOME"]}}],
            'relation 1: "head_span" label must be a string',
        ),
    ],
)
def test_incident_import_names_the_line_and_relation_of_a_malformed_one(relations, message):
    with pytest.raises(CorpusError) as caught:
        parse_jsonl("a.jsonl", "\n" + line(HOUSE, [DAMAGED, KURSK], relations))
    assert caught.value.line == 2 and message in caught.value.message


def test_incident_import_checks_token_indices_against_the_spans():
    spans = [{**span(DAMAGED), "token_start": 2, "token_end": 2}, {**span(KURSK), "token_start": 6, "token_end": 6}]
    record = {"text": HOUSE, "spans": spans, "relations": [relation(DAMAGED, KURSK, "location", head=2, child=5)]}
    with pytest.raises(CorpusError, match='relation 1: "child" is 5, but its child_span ends at token 6'):
        parse_jsonl("a.jsonl", json.dumps(record))


def test_incident_import_refuses_incidents_that_break_the_rules(runner, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(line(TWO, [C17, C4], [relation(C17, C4, "outcome")], _annotator_id="ana") + "\n", encoding="utf-8")
    result = runner.invoke(args=["import", str(path), "--project", "p"])
    assert result.exit_code == 1
    assert "line 1: sentence 1 of the report: incident 1: has more than one count span" in result.output


def sentence_view(db, name):
    records = project_records(db, get_project(db, name))
    text = {s.id: s.text for s in records.sentences}
    return {
        text[a.sentence_id]: (sorted((s.start_char, s.end_char, s.label) for s in a.spans), list(a.incidents))
        for a in records.annotations
    }


def test_incident_import_export_import_round_trip_is_lossless(runner, db, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(TWO_LINE + "\n" + HOUSE_LINE + "\n", encoding="utf-8")
    assert runner.invoke(args=["import", str(source), "--project", "first"]).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(
        args=["export", "--project", "first", "--out", str(out), "--policy", "annotator:ana", "--dev-fraction", "0"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["import", str(out / "annotations.jsonl"), "--project", "second", "--as-annotator", "ana"]
    )
    assert result.exit_code == 0, result.output
    first, second = sentence_view(db, "first"), sentence_view(db, "second")
    assert first == second
    assert len(first[TWO][1]) == 2 and len(first[HOUSE][1]) == 1
    rows = (out / "incidents.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 4 and rows[1].startswith("1,1,") and rows[3].startswith("2,1,")
