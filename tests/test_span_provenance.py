"""Provenance of accepted suggestions: the save API checks and stores it; GET, audit, dashboard and CLI show it."""

from __future__ import annotations

import json

import pytest
from alembic import command
from jsonschema import Draft202012Validator
from sqlalchemy import func, inspect, select

from annotator import db as database
from annotator.models import Annotation, AuditEvent, Span
from annotator.web.openapi import document
from tests.helpers import COUNT, REGION, sentences_of

OUTCOME = {"start_char": 18, "end_char": 27, "label": "OUTCOME"}  # "shot down" in the first sentence


def put(client, sentence_id, spans, base_version=None):
    return client.put(
        f"/api/sentences/{sentence_id}/annotation",
        json={"status": "done", "spans": spans, "base_version": base_version},
    )


def conforms(data, schema_name: str) -> None:
    doc = document()
    Draft202012Validator({"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}).validate(
        data
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"suggested": True, "source": "human"}, "source 'human' is not a suggestion source"),
        ({"suggested": True, "source": 3}, "is not a suggestion source"),
        ({"suggested": True, "model_version": 2}, 'only for a span suggested by a model (source "model")'),
        ({"suggested": True, "source": "rules", "model_version": 2}, "only for a span suggested by a model"),
        ({"suggested": True, "source": "model", "model_version": 0}, "model_version 0 must be a positive integer"),
        ({"suggested": True, "source": "model", "model_version": -4}, "must be a positive integer"),
        ({"suggested": True, "source": "model", "model_version": "3"}, "must be a positive integer"),
        ({"suggested": True, "source": "model", "model_version": True}, "must be a positive integer"),
        (
            {"suggested": True, "source": "model", "model_version": 2**31},
            "must be a positive integer up to 2,147,483,647",
        ),
        ({"suggested": False, "source": "rules"}, "only for an accepted suggestion (suggested true)"),
        ({"source": "model", "model_version": 1}, "only for an accepted suggestion"),
    ],
)
def test_span_provenance_bad_source_or_version_is_422_and_nothing_is_stored(login, db, first, extra, message):
    ann = login("ann")
    response = put(ann, first.id, [COUNT, {**REGION, **extra}])
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["error"] == "invalid_annotation"
    assert [d["span"] for d in body["details"]] == [1] and message in body["details"][0]["problem"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Annotation)) == 0
    assert db.scalar(select(func.count()).select_from(Span)) == 0


def test_span_provenance_is_stored_returned_and_audited(login, db, first):
    ann = login("ann")
    spans = [
        {**COUNT, "suggested": True, "source": "rules"},
        {**REGION, "suggested": True, "source": "model", "model_version": 3},
        {**OUTCOME, "suggested": True, "source": "model", "model_version": None},  # a model path without versions
    ]
    response = put(ann, first.id, spans)
    assert response.status_code == 200, response.get_json()
    saved = response.get_json()["annotation"]
    conforms(saved, "Annotation")
    got = {(s["label"], s["suggested"], s["source"], s["model_version"]) for s in saved["spans"]}
    assert got == {("COUNT", True, "rules", None), ("REGION", True, "model", 3), ("OUTCOME", True, "model", None)}
    assert ann.get(f"/api/sentences/{first.id}/annotation").get_json()["annotation"] == saved
    db.expire_all()
    rows = {s.label: (s.source, s.model_version) for s in db.scalars(select(Span))}
    assert rows == {"COUNT": ("rules", None), "REGION": ("model", 3), "OUTCOME": ("model", None)}
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "annotation.save"))
    assert {(s["label"], s["source"], s["model_version"]) for s in event.detail["new_spans"]} == {
        ("COUNT", "rules", None),
        ("REGION", "model", 3),
        ("OUTCOME", "model", None),
    }


def test_span_provenance_hand_made_spans_carry_none(login, db, first):
    ann = login("ann")
    response = put(ann, first.id, [COUNT, {**REGION, "suggested": True}])  # an older client: suggested, no source
    assert response.status_code == 200, response.get_json()
    spans = response.get_json()["annotation"]["spans"]
    assert [(s["suggested"], s["source"], s["model_version"]) for s in spans] == [
        (False, None, None),
        (True, None, None),
    ]


def test_span_provenance_change_is_a_change_and_a_retry_is_not(login, db, first):
    """Same spans, another source: a new version with the old and new provenance in the audit; the same content
    sent again on an old base version is a retry (200, unchanged); another provenance on it is a conflict."""
    ann = login("ann")
    rules = [{**COUNT, "suggested": True, "source": "rules"}]
    model = [{**COUNT, "suggested": True, "source": "model", "model_version": 2}]
    assert put(ann, first.id, rules).get_json()["annotation"]["version"] == 1
    second = put(ann, first.id, model, base_version=1)
    assert second.status_code == 200 and second.get_json()["annotation"]["version"] == 2
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "annotation.save").order_by(AuditEvent.id)).all()[
        -1
    ]
    assert event.detail["old_spans"][0]["source"] == "rules" and event.detail["new_spans"][0]["model_version"] == 2
    retry = put(ann, first.id, model, base_version=1)
    assert retry.status_code == 200 and retry.get_json()["annotation"]["version"] == 2
    stale = put(ann, first.id, rules, base_version=1)
    assert stale.status_code == 409
    assert stale.get_json()["current"]["spans"][0]["source"] == "model"


def test_span_provenance_openapi_describes_it():
    schemas = document()["components"]["schemas"]
    for name in ("Span", "SpanInput"):
        assert set(schemas[name]["properties"]["source"]["enum"]) == {"import", "rules", "model", None}
        assert "model_version" in schemas[name]["properties"]
    assert schemas["SpanInput"]["properties"]["model_version"]["minimum"] == 1


def _gold(reviewer, sentence_id, spans, dropped):
    response = reviewer.put(
        f"/projects/incidents/review/{sentence_id}/gold",
        json={
            "version": None,
            "spans": [{**s, "value": None} for s in spans],
            "dropped": dropped,
            "reason": "guideline",
        },
    )
    assert response.status_code == 200, response.get_json()


def test_span_provenance_dashboard_and_cli_show_suggestions_against_gold(login, db, project, runner):
    """ann accepts a rules COUNT (right) and a model v3 REGION (wrong: gold has none), and marks OUTCOME by
    hand (right); bob marks all three by hand. Gold: COUNT and OUTCOME."""
    first = sentences_of(db, project)[0]
    ann, bob = login("ann"), login("bob")
    ann_spans = [
        {**COUNT, "suggested": True, "source": "rules"},
        {**REGION, "suggested": True, "source": "model", "model_version": 3},
        OUTCOME,
    ]
    assert put(ann, first.id, ann_spans).status_code == 200
    assert put(bob, first.id, [COUNT, REGION, OUTCOME]).status_code == 200
    reviewer = login("rev", "reviewer")
    _gold(reviewer, first.id, [COUNT, OUTCOME], [REGION])

    report = json.loads(runner.invoke(["agreement", "--project", "incidents", "--json", "--resamples", "5"]).output)
    figures = report["suggestions"]["annotators"]["ann"]
    assert (figures["spans"], figures["suggested"]) == (3, 2)
    assert figures["by_source"]["model"]["model_versions"] == [{"version": 3, "spans": 1}]
    assert figures["vs_gold"]["suggested"] == {"precision": 0.5, "correct": 1, "spans": 2}
    assert figures["vs_gold"]["hand_made"] == {"precision": 1.0, "correct": 1, "spans": 1}
    overall = report["suggestions"]["overall"]["vs_gold"]
    # hand-made: ann's OUTCOME, bob's COUNT and OUTCOME right, bob's REGION wrong: 3 of 4.
    assert overall["hand_made"] == {"precision": 0.75, "correct": 3, "spans": 4}
    summary = (
        "On 1 adjudicated sentence, spans that agree with gold exactly: "
        "accepted suggestions 50% (1 of 2 spans); hand-made spans 75% (3 of 4 spans)."
    )
    assert report["suggestions"]["summary"] == summary

    text = runner.invoke(["agreement", "--project", "incidents", "--resamples", "5"]).output
    assert "Suggestions: " + summary in text
    assert (
        "ann  3 spans, 67% from suggestions (model 1, rules 1; model v3); = gold: suggested 50% (1/2), hand-made 100% (1/1)"
        in text
    )

    page = reviewer.get("/projects/incidents/review").get_data(as_text=True)
    section = page[page.index('<section class="card" id="suggestions">') :]
    section = section[: section.index("</section>")]
    assert summary in section
    row = section[section.index('<tr data-suggestions="ann">') :]
    row = row[: row.index("</tr>")]
    assert "v3 (1)" in row
    assert '<td class="gold-suggested">50% <span class="muted">1/2</span></td>' in row
    assert '<td class="gold-hand">100% <span class="muted">1/1</span></td>' in row
    bob_row = section[section.index('<tr data-suggestions="bob">') :]
    bob_row = bob_row[: bob_row.index("</tr>")]
    assert '<td class="gold-suggested"><span class="na">n/a</span> <span class="muted">0/0</span></td>' in bob_row


def test_span_provenance_migration_adds_two_nullable_columns_and_drops_them_again(empty_database_url):
    from alembic.script import ScriptDirectory

    engine = database.make_engine(empty_database_url)
    config = database.alembic_config(engine)
    (ours,) = [r for r in ScriptDirectory.from_config(config).walk_revisions() if r.doc.startswith("span provenance")]

    def names() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns("spans")}

    try:
        command.upgrade(config, ours.revision)
        columns = {c["name"]: c for c in inspect(engine).get_columns("spans")}
        assert columns["source"]["nullable"] and columns["model_version"]["nullable"]
        command.downgrade(config, ours.down_revision)
        assert {"source", "model_version"}.isdisjoint(names())
        database.upgrade(engine)
        assert database.current_revision(engine) == database.SCHEMA_HEAD
        assert {"source", "model_version"} <= names()
    finally:
        engine.dispose()
