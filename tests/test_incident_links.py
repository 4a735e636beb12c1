"""Incidents through the API and services: validation, storage, versions, rename, suggested incidents."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from annotator.models import Annotation, AuditEvent, GoldAnnotation, Project, Suggestion
from annotator.services.adjudication import AdjudicationError, adjudicate, adjudication_view
from annotator.services.annotations import save_annotation
from annotator.services.label_scheme import edit_label
from annotator.services.review import project_disagreements, review_queue
from annotator.web.openapi import document
from tests.helpers import make_project, sentences_of, users

TWO = "Air defences destroyed 17 UAVs over Kaluga Oblast and 4 over Bryansk Oblast."


def key(part: str, label: str) -> dict:
    start = TWO.index(part)
    return {"start_char": start, "end_char": start + len(part), "label": label}


DESTROYED, N17, KALUGA = key("destroyed", "OUTCOME"), key("17", "COUNT"), key("Kaluga Oblast", "REGION")
N4, BRYANSK = key("4 ", "COUNT") | {"end_char": TWO.index("4 ") + 1}, key("Bryansk Oblast", "REGION")
SPANS = [DESTROYED, N17, KALUGA, N4, BRYANSK]
KALUGA_INCIDENT = {"spans": [DESTROYED, N17, KALUGA]}
BRYANSK_INCIDENT = {"spans": [DESTROYED, N4, BRYANSK]}


@pytest.fixture
def two(db):
    project = make_project(db, "two", reports=[TWO])
    return sentences_of(db, project)[0]


def put(client, sentence_id, spans=SPANS, **fields):
    return client.put(f"/api/sentences/{sentence_id}/annotation", json={"status": "done", "spans": spans, **fields})


def words(incidents) -> list[list[str]]:
    return [[TWO[s["start_char"] : s["end_char"]] for s in i["spans"]] for i in incidents]


def test_incident_links_put_stores_sorted_incidents_and_get_returns_them(login, db, two):
    ann = login("ann")
    response = put(ann, two.id, incidents=[BRYANSK_INCIDENT, {"spans": [KALUGA, N17, DESTROYED]}])
    assert response.status_code == 200, response.get_json()
    saved = response.get_json()["annotation"]
    assert words(saved["incidents"]) == [["destroyed", "17", "Kaluga Oblast"], ["destroyed", "4", "Bryansk Oblast"]]
    assert ann.get(f"/api/sentences/{two.id}/annotation").get_json()["annotation"]["incidents"] == saved["incidents"]
    assert db.scalar(select(Annotation.incidents)) == saved["incidents"]


@pytest.mark.parametrize(
    ("incidents", "problem"),
    [
        ([{"spans": [N17, {**KALUGA, "start_char": 0}]}], "incident 1: no REGION span at 0-"),
        ([KALUGA_INCIDENT, {"spans": [N17, KALUGA]}], "incident 2: its head COUNT"),
        ([{"spans": [N17]}], "incident 1: links 1 span"),
        ({"spans": []}, "incidents must be a list"),
        ([{"spans": [{"start_char": "x"}]}], "incident 1: each span is"),
    ],
)
def test_incident_links_put_refuses_broken_incidents_with_422_and_stores_nothing(login, db, two, incidents, problem):
    ann = login("ann")
    response = put(ann, two.id, incidents=incidents)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid_incidents" and problem in body["message"]
    assert db.scalar(select(Annotation)) is None


def test_incident_links_resave_with_other_incidents_is_a_new_version_with_audit(login, db, two):
    ann = login("ann")
    first = put(ann, two.id, incidents=[KALUGA_INCIDENT]).get_json()["annotation"]
    second = put(ann, two.id, incidents=[KALUGA_INCIDENT, BRYANSK_INCIDENT], base_version=first["version"])
    assert second.status_code == 200
    assert second.get_json()["annotation"]["version"] == first["version"] + 1
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "annotation.save").order_by(AuditEvent.id)).all()
    assert events[-1].detail["old_incidents"] == first["incidents"]
    assert words(events[-1].detail["new_incidents"]) == [
        ["destroyed", "17", "Kaluga Oblast"],
        ["destroyed", "4", "Bryansk Oblast"],
    ]
    # A stale save of the same spans with other incidents is a conflict, not "already saved".
    stale = put(ann, two.id, incidents=[], base_version=first["version"])
    assert stale.status_code == 409


def test_incident_links_a_save_without_incidents_keeps_those_whose_spans_remain(login, db, two):
    ann = login("ann")
    first = put(ann, two.id, incidents=[KALUGA_INCIDENT, BRYANSK_INCIDENT]).get_json()["annotation"]
    kept = put(ann, two.id, spans=[DESTROYED, N17, KALUGA, N4], base_version=first["version"]).get_json()
    # Bryansk Oblast is gone: its incident keeps "destroyed" and 4.
    assert words(kept["annotation"]["incidents"]) == [["destroyed", "17", "Kaluga Oblast"], ["destroyed", "4"]]
    # Without the counts both would be headed by "destroyed": the later one goes.
    both = put(ann, two.id, incidents=[KALUGA_INCIDENT, BRYANSK_INCIDENT], base_version=kept["annotation"]["version"])
    version = both.get_json()["annotation"]["version"]
    headless = put(ann, two.id, spans=[DESTROYED, KALUGA, BRYANSK], base_version=version)
    assert words(headless.get_json()["annotation"]["incidents"]) == [["destroyed", "Kaluga Oblast"]]
    kept = put(ann, two.id, incidents=[KALUGA_INCIDENT], base_version=headless.get_json()["annotation"]["version"])
    kept = kept.get_json()
    cleared = put(ann, two.id, incidents=None, base_version=kept["annotation"]["version"]).get_json()
    assert cleared["annotation"]["incidents"] == [] and db.scalar(select(Annotation.incidents)) is None


def test_incident_links_openapi_describes_incidents(login, two):
    from jsonschema import Draft202012Validator

    ann = login("ann")
    saved = put(ann, two.id, incidents=[KALUGA_INCIDENT]).get_json()["annotation"]
    components = document()["components"]
    assert "incidents" in components["schemas"]["AnnotationInput"]["properties"]
    Draft202012Validator({"$ref": "#/components/schemas/Annotation", "components": components}).validate(saved)
    nxt = ann.get(f"/api/sentences/{two.id}").get_json()
    Draft202012Validator({"$ref": "#/components/schemas/SentenceView", "components": components}).validate(nxt)


def test_incident_links_next_sentence_proposes_incidents_over_suggested_spans(login, db, two):
    # The rules find all but the bare "4"; an imported suggestion adds it.
    db.add(Suggestion(sentence_id=two.id, source="import", **N4))
    db.commit()
    data = login("ann").get("/api/projects/two/next").get_json()
    suggested = {(s["start_char"], s["end_char"], s["label"]) for s in data["suggestions"]}
    assert {(s["start_char"], s["end_char"], s["label"]) for s in SPANS} <= suggested
    assert words(data["suggested_incidents"]) == [
        ["destroyed", "17", "Kaluga Oblast"],
        ["destroyed", "4", "Bryansk Oblast"],
    ]


def test_incident_links_rename_rewrites_annotation_and_gold_incident_keys(login, db, two):
    put(login("ann"), two.id, incidents=[KALUGA_INCIDENT])
    db.add(GoldAnnotation(sentence_id=two.id, incidents=[{**BRYANSK_INCIDENT, "provenance": "adjudicated"}]))
    db.commit()
    project = db.get(Project, two.project_id)
    edit_label(db, project, "REGION", {"name": "PLACE"}, None)
    db.commit()
    db.expire_all()
    stored = db.scalar(select(Annotation.incidents))
    gold = db.scalar(select(GoldAnnotation.incidents))
    assert [s["label"] for s in stored[0]["spans"]] == ["OUTCOME", "COUNT", "PLACE"]
    assert [s["label"] for s in gold[0]["spans"]] == ["OUTCOME", "COUNT", "PLACE"]
    assert gold[0]["provenance"] == "adjudicated"


def _two_linkings(db, two):
    """alice and bob mark the same spans; alice makes both incidents, bob links 4 to Kaluga Oblast."""
    alice, bob = users(db, "alice", "bob")
    save_annotation(db, two, alice, "done", SPANS, incidents=[KALUGA_INCIDENT, BRYANSK_INCIDENT])
    save_annotation(db, two, bob, "done", SPANS, incidents=[{"spans": [DESTROYED, N4, KALUGA]}])
    db.commit()
    return alice, bob


def test_incident_links_same_spans_other_incidents_is_a_link_disagreement_in_the_queue(db, two):
    _two_linkings(db, two)
    project = db.get(Project, two.project_id)
    (item,) = project_disagreements(db, project)
    assert item["types"] == ["link"] and item["conflicts"][0]["pairs"] == ["alice|bob"]
    assert [len(v) for v in item["conflicts"][0]["versions"].values()] == [2, 1]
    assert project_disagreements(db, project, types=["label"]) == []
    assert [q["types"] for q in review_queue(db, project)] == [["link"]]


def test_incident_links_adjudication_stores_gold_incidents_with_provenance_and_audit(db, two):
    _two_linkings(db, two)
    reviewer = users(db, "rev", role="reviewer")[0]
    view = adjudication_view(db, db.get(Project, two.project_id), two)
    assert view["link"]["type"] == "link" and set(view["incident_versions"]) == {"alice", "bob"}
    gold = adjudicate(
        db, two, reviewer, {"spans": SPANS, "incidents": [BRYANSK_INCIDENT, KALUGA_INCIDENT], "version": None}
    )
    db.commit()
    assert words(gold.incidents) == [["destroyed", "17", "Kaluga Oblast"], ["destroyed", "4", "Bryansk Oblast"]]
    assert [i["provenance"] for i in gold.incidents] == ["adjudicated", "adjudicated"]
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "gold.create"))
    assert len(event.detail["incidents"]) == 2 and event.detail["old_incidents"] == []
    assert review_queue(db, db.get(Project, two.project_id)) == []
    # Gold incidents name gold spans only.
    with pytest.raises(AdjudicationError, match="do not fit the gold spans: incident 1: no COUNT span"):
        adjudicate(
            db,
            two,
            reviewer,
            {"spans": SPANS[:3], "dropped": SPANS[3:], "incidents": [BRYANSK_INCIDENT], "version": 1},
        )


def test_incident_links_gold_refusal_lists_a_few_broken_incidents_and_stores_nothing(login, db, two):
    """A reviewer's thousand incidents over spans not in the gold: a short 422 naming the first, no gold."""
    reviewer = login("rev", "reviewer")
    broken = [{"spans": [N17, DESTROYED]}] * 1000
    response = reviewer.put(f"/projects/two/review/{two.id}/gold", json={"spans": [N17, KALUGA], "incidents": broken})
    assert response.status_code == 422
    message = response.get_json()["message"]
    assert message.startswith("the incidents do not fit the gold spans: incident 1: no OUTCOME span at 13-22")
    assert "and 980 more" in message and len(message) < 3000
    assert db.scalar(select(GoldAnnotation)) is None


def test_incident_links_put_quotes_a_huge_label_cut_short(login, db, two):
    """A half-megabyte label in an incident is refused with a message that quotes it cut short."""
    response = put(login("ann"), two.id, incidents=[{"spans": [{**N17, "label": "x" * 500_000}, KALUGA]}])
    assert response.status_code == 422
    body = response.get_json()
    assert body["details"] == [f"incident 1: no {'x' * 39}\u2026 span at 23-25 in this annotation"]
    assert len(body["message"]) < 200 and db.scalar(select(Annotation)) is None


def test_incident_links_a_mixed_case_label_takes_part_in_incidents(login, db, two):
    """A scheme's label "Place" (of kind region): its spans join incidents, and the stored ones stay."""
    edit_label(db, db.get(Project, two.project_id), "REGION", {"name": "Place"}, None)
    db.commit()
    ann = login("ann")
    place = {**KALUGA, "label": "Place"}
    first = put(ann, two.id, spans=[DESTROYED, N17, place], incidents=[{"spans": [DESTROYED, N17, place]}])
    assert first.status_code == 200, first.get_json()
    assert words(first.get_json()["annotation"]["incidents"]) == [["destroyed", "17", "Kaluga Oblast"]]
    # A save without incidents keeps them where their spans still are.
    again = put(ann, two.id, spans=[DESTROYED, N17, place], base_version=first.get_json()["annotation"]["version"])
    assert again.get_json()["annotation"]["incidents"] == first.get_json()["annotation"]["incidents"]
    db.rollback()  # a fresh read: the session's snapshot predates the saves
    assert [s["label"] for s in db.scalar(select(Annotation.incidents))[0]["spans"]] == ["OUTCOME", "COUNT", "Place"]
