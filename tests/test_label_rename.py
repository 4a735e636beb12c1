"""Renaming a label rewrites every stored use of its name; the export and the agreement report follow."""

from __future__ import annotations

import json

import pytest
import spacy
from spacy.tokens import DocBin
from sqlalchemy import select

from annotator.models import AuditEvent, GoldAnnotation, GoldSpan, Project, Span, Suggestion
from annotator.services.annotations import save_annotation
from annotator.services.exports import export_project
from annotator.services.label_scheme import LabelChangeError, edit_label
from annotator.services.review import project_report
from tests.helpers import make_project, sentences_of, users

SENTENCE = "Forty drones were shot down over Kursk."
KURSK = {"start_char": 33, "end_char": 38, "label": "REGION"}
FORTY = {"start_char": 0, "end_char": 5, "label": "COUNT"}


@pytest.fixture
def labelled(db):
    """Two annotators' spans, gold with a dropped span, and a stored suggestion, all using REGION."""
    project = make_project(db, "p", reports=[SENTENCE])
    alice, bob = users(db, "alice", "bob")
    sentence = sentences_of(db, project)[0]
    save_annotation(db, sentence, alice, "done", [KURSK, FORTY])
    save_annotation(db, sentence, bob, "done", [KURSK])
    gold = GoldAnnotation(
        sentence_id=sentence.id,
        dropped=[{"start_char": 18, "end_char": 27, "label": "REGION", "annotator": "bob", "decision": "drop"}],
    )
    gold.spans = [
        GoldSpan(start_char=33, end_char=38, label="REGION", value="Kursk Oblast", provenance="unanimous"),
        GoldSpan(start_char=0, end_char=5, label="COUNT", value="40", provenance="adjudicated"),
    ]
    db.add(gold)
    db.add(Suggestion(sentence_id=sentence.id, start_char=33, end_char=38, label="REGION", source="import"))
    db.commit()
    return project


def _stored_labels(db) -> set[str]:
    db.rollback()  # end any read transaction, and
    db.expire_all()  # reload rows loaded before (the sessions keep them on commit)
    return {
        *db.scalars(select(Span.label)),
        *db.scalars(select(GoldSpan.label)),
        *db.scalars(select(Suggestion.label)),
        *(d["label"] for g in db.scalars(select(GoldAnnotation)) for d in g.dropped or []),
    }


def test_label_rename_rewrites_spans_gold_and_suggestions(db, labelled, tmp_path):
    edit_label(db, labelled, "REGION", {"name": "PLACE"}, None)
    db.commit()
    assert _stored_labels(db) == {"PLACE", "COUNT"}
    project = db.scalar(select(Project).where(Project.name == "p"))
    assert [label["name"] for label in project.labels] == ["PLACE", "COUNT", "OUTCOME"]
    assert project.labels[0]["kind"] == "region"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "label.rename"))
    assert event.detail["old"]["name"] == "REGION" and event.detail["new"]["name"] == "PLACE"
    assert event.detail["renamed"] == {"spans": 2, "gold_spans": 1, "suggestions": 1}

    out, manifest = export_project(db, project, tmp_path / "out", policy="adjudicated", dev_fraction=0)
    (doc,) = DocBin().from_disk(out / "train.spacy").get_docs(spacy.blank("en").vocab)
    assert {(e.label_, e.kb_id_) for e in doc.ents} == {("PLACE", "Kursk Oblast"), ("COUNT", "")}
    jsonl = (out / "annotations.jsonl").read_text(encoding="utf-8")
    assert "REGION" not in jsonl
    record = json.loads(jsonl)
    assert {s["label"] for s in record["spans"]} == {"PLACE", "COUNT"}
    assert {s["label"] for a in record["_annotators"].values() for s in a["spans"]} == {"PLACE", "COUNT"}
    assert "REGION" not in json.dumps(manifest)

    report = project_report(db, project, n_resamples=10)
    assert report["labels"] == ["PLACE", "COUNT", "OUTCOME"]
    assert "PLACE" in report["span_f1"]["by_label"]
    assert "REGION" not in json.dumps(report, default=str)


def test_label_rename_to_another_case_keeps_the_spans(db, labelled):
    edit_label(db, labelled, "REGION", {"name": "Region"}, None)
    db.commit()
    assert _stored_labels(db) == {"Region", "COUNT"}


@pytest.mark.parametrize("name", ["COUNT", "count", "bad name!", "", "x" * 41])
def test_label_rename_refused_changes_nothing(db, labelled, name):
    before = [dict(label) for label in labelled.labels]
    with pytest.raises(LabelChangeError):
        edit_label(db, labelled, "REGION", {"name": name}, None)
    db.rollback()
    assert _stored_labels(db) == {"REGION", "COUNT"}
    project = db.scalar(select(Project).where(Project.name == "p").execution_options(populate_existing=True))
    assert project.labels == before
    assert db.scalar(select(AuditEvent).where(AuditEvent.action.like("label.%"))) is None


def test_label_rename_refused_where_stored_rows_have_the_new_name(db, labelled):
    sentence = sentences_of(db, labelled)[0]
    db.add(Suggestion(sentence_id=sentence.id, start_char=33, end_char=38, label="PLACE", source="model"))
    db.commit()
    with pytest.raises(LabelChangeError, match="named 'PLACE' already"):
        edit_label(db, labelled, "REGION", {"name": "PLACE"}, None)
    db.rollback()
    assert "REGION" in _stored_labels(db)


def test_label_rename_through_the_admin_page(login, db, labelled):
    admin = login("root", "admin")
    response = admin.post(
        "/admin/projects/p/labels/edit",
        data={"label": "REGION", "name": "PLACE", "kind": "region", "colour": "#8ecae6", "key": "r"},
        follow_redirects=True,
    )
    assert "Label REGION renamed to PLACE" in response.get_data(as_text=True)
    assert _stored_labels(db) == {"PLACE", "COUNT"}
