"""A project whose labels have other names behaves as the default scheme does: behaviour follows the kind."""

from __future__ import annotations

import json

import spacy
from spacy.tokens import DocBin

from annotator.services.annotations import save_annotation
from annotator.services.exports import export_project
from annotator.services.suggestions import suggestions_for
from tests.helpers import make_project, sentences_of, users

OWN_SCHEME = [
    {"name": "PLACE", "kind": "region", "colour": "#8ecae6", "key": "r", "description": "where"},
    {"name": "HOWMANY", "kind": "count", "colour": "#ffb703", "key": "c", "description": "how many"},
    {"name": "RESULT", "kind": "category", "colour": "#95d5b2", "key": "o", "description": "what happened"},
    {"name": "NOTE", "kind": "text", "colour": "#cdb4db", "key": "m", "description": "anything"},
]
RENAMED = {"REGION": "PLACE", "COUNT": "HOWMANY", "OUTCOME": "RESULT"}
SENTENCE = "Forty drones were shot down over Kursk."


def _projects(db):
    default = make_project(db, "default", reports=[SENTENCE])
    own = make_project(db, "own", reports=[SENTENCE])
    own.labels = OWN_SCHEME
    db.commit()
    return default, own


def test_scheme_kinds_suggestions_follow_the_kind(db):
    default, own = _projects(db)
    expected = {
        (s["start_char"], s["end_char"], RENAMED[s["label"]], s["value"])
        for s in suggestions_for(db, default, sentences_of(db, default)[0])
    }
    assert {label for _, _, label, _ in expected} == {"PLACE", "HOWMANY", "RESULT"}
    got = {
        (s["start_char"], s["end_char"], s["label"], s["value"])
        for s in suggestions_for(db, own, sentences_of(db, own)[0])
    }
    assert got == expected


def test_scheme_kinds_values_and_export_follow_the_kind(db, tmp_path):
    _, own = _projects(db)
    (alice,) = users(db, "alice")
    sentence = sentences_of(db, own)[0]
    spans = [
        {"start_char": 0, "end_char": 5, "label": "HOWMANY"},  # Forty
        {"start_char": 18, "end_char": 27, "label": "RESULT"},  # shot down
        {"start_char": 33, "end_char": 38, "label": "PLACE"},  # Kursk
        {"start_char": 6, "end_char": 12, "label": "NOTE"},  # drones
    ]
    annotation = save_annotation(db, sentence, alice, "done", spans)
    db.commit()
    values = {s.label: s.value for s in annotation.spans}
    assert values["PLACE"] == "Kursk Oblast"
    assert values["HOWMANY"] == "40"
    assert values["RESULT"] is not None
    assert values["NOTE"] is None

    out, _ = export_project(db, own, tmp_path / "out", policy="annotator:alice", dev_fraction=0, task="spancat")
    (doc,) = DocBin().from_disk(out / "train.spacy").get_docs(spacy.blank("en").vocab)
    kb = {s.label_: s.kb_id_ for s in doc.spans["sc"]}
    assert kb == {"PLACE": "Kursk Oblast", "HOWMANY": "", "RESULT": "", "NOTE": ""}
    (line,) = (out / "annotations.jsonl").read_text(encoding="utf-8").splitlines()
    exported = {s["label"]: s.get("value") for s in json.loads(line)["spans"]}
    assert exported == values
