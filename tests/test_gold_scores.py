"""Annotator vs gold: never scored against gold their own vote made (core, dashboard, CLI, manifest)."""

from __future__ import annotations

import json

import pytest

from annotator.metrics.gold_scores import annotator_vs_gold
from annotator.models import Annotation, Span
from annotator.records import AnnotationRecord, GoldRecord, GoldSpanRecord, SentenceRecord, SpanRecord
from annotator.services.projects import get_or_create_project
from annotator.services.users import get_or_create_annotator
from tests.helpers import add_report

TEXTS = ["Two drones hit Kyiv oblast at night .", "Three drones hit Lviv at dawn ."]
LABELS = ["REGION", "COUNT", "OUTCOME"]


def test_gold_scores_leave_one_out_majority_of_three():
    sentence = SentenceRecord(1, 1, 0, TEXTS[0])
    count, kyiv = SpanRecord(0, 3, "COUNT"), SpanRecord(15, 19, "REGION")
    annotations = [
        AnnotationRecord(1, "ann", "done", (count, kyiv)),
        AnnotationRecord(1, "bob", "done", (count, kyiv)),
        AnnotationRecord(1, "cy", "done", (count,)),
    ]
    scores = annotator_vs_gold([sentence], annotations, (), LABELS)["annotators"]
    # cy against ann + bob: {COUNT, REGION}; ann against bob + cy: a tie on REGION, so no gold.
    assert (scores["cy"]["precision"], scores["cy"]["recall"]) == (1.0, 0.5)
    assert scores["cy"]["leave_one_out"] == 1
    assert scores["ann"]["f1"] is None and scores["ann"]["reason"]
    gold = [GoldRecord(1, (GoldSpanRecord(0, 3, "COUNT"),))]
    scores = annotator_vs_gold([sentence], annotations, gold, LABELS)["annotators"]
    assert {name: s["precision"] for name, s in scores.items()} == {"ann": 0.5, "bob": 0.5, "cy": 1.0}
    assert all(s["adjudicated"] == 1 and s["leave_one_out"] == 0 for s in scores.values())


def build(db) -> list[int]:
    """Two annotators who agree exactly on two sentences; nothing adjudicated."""
    project, _ = get_or_create_project(db, "pair")
    ids = add_report(db, project, TEXTS, "p" * 64)
    for sentence_id, text in zip(ids, TEXTS, strict=True):
        region = text.split(" ")[3]
        start = text.index(region)
        for name in ("bob", "chen"):
            a = Annotation(sentence_id=sentence_id, user_id=get_or_create_annotator(db, name).id, status="done")
            a.spans = [
                Span(start_char=0, end_char=len(text.split(" ")[0]), label="COUNT"),
                Span(start_char=start, end_char=start + len(region), label="REGION"),
            ]
            db.add(a)
    db.commit()
    return ids


def _export_manifest(runner, tmp_path, name: str) -> dict:
    out = tmp_path / name
    result = runner.invoke(["export", "--project", "pair", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "manifest.json").read_text())


def test_gold_scores_two_annotators_without_adjudication_are_na_everywhere(db, runner, login, tmp_path):
    ids = build(db)
    reviewer = login("rev", "reviewer")
    page = reviewer.get("/projects/pair/review").get_data(as_text=True)
    for name in ("bob", "chen"):
        row = page[page.index(f'<tr data-annotator="{name}">') :]
        row = row[: row.index("</tr>")]
        assert "n/a: no adjudicated sentence" in row
        assert "1.000" not in row
    text = runner.invoke(["agreement", "--project", "pair", "--resamples", "20"])
    assert text.exit_code == 0, text.output
    assert "Annotator vs gold" in text.output
    assert "bob   n/a: no adjudicated sentence" in text.output
    assert "Token label confusion" in text.output
    report = json.loads(runner.invoke(["agreement", "--project", "pair", "--json", "--resamples", "20"]).output)
    assert report["gold"]["annotators"]["bob"]["f1"] is None
    assert report["gold"]["annotators"]["bob"]["reason"].startswith("no adjudicated sentence")
    manifest = _export_manifest(runner, tmp_path, "before")
    in_manifest = manifest["agreement"]["annotator_vs_gold"]
    assert in_manifest["annotators"] == report["gold"]["annotators"]

    # Adjudicate the first sentence: COUNT kept, the REGION dropped on purpose.
    text0 = TEXTS[0]
    saved = reviewer.put(
        f"/projects/pair/review/{ids[0]}/gold",
        json={
            "version": None,
            "spans": [{"start_char": 0, "end_char": 3, "label": "COUNT", "value": None}],
            "dropped": [{"start_char": 15, "end_char": 19, "label": "REGION"}],
            "reason": "guideline",
        },
    )
    assert saved.status_code == 200, saved.get_json()
    assert text0[15:19] == "Kyiv"
    report = json.loads(runner.invoke(["agreement", "--project", "pair", "--json", "--resamples", "20"]).output)
    for name in ("bob", "chen"):
        scores = report["gold"]["annotators"][name]
        assert scores["sentences"] == scores["adjudicated"] == 1  # the adjudicated sentence only
        assert (scores["precision"], scores["recall"], scores["reason"]) == (0.5, 1.0, None)
    page = reviewer.get("/projects/pair/review").get_data(as_text=True)
    row = page[page.index('<tr data-annotator="bob">') :]
    assert "<td>0.500</td><td>1.000</td><td>0.667</td><td>1</td>" in row[: row.index("</tr>")]
    text = runner.invoke(["agreement", "--project", "pair", "--resamples", "20"]).output
    assert "bob   P 0.500  R 1.000  F1 0.667  (1 sentence: 1 adjudicated, 0 leave-one-out)" in text
    manifest = _export_manifest(runner, tmp_path, "after")
    assert manifest["agreement"]["annotator_vs_gold"]["annotators"]["chen"]["precision"] == pytest.approx(0.5)
