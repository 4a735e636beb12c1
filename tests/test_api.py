"""The labelling JSON API: shapes, every error, blind annotation, routing, suggestions, OpenAPI."""

from __future__ import annotations

from dataclasses import replace

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from annotator.models import Annotation, AuditEvent, ProjectMember, Span, Suggestion
from annotator.services.suggestions import suggestions_for
from annotator.services.users import get_user, issue_api_token
from annotator.web.openapi import document
from tests.helpers import COUNT, REGION, make_project, sentences_of

FIRST = "Forty drones were shot down over Kursk."
OUTCOME = {"start_char": 18, "end_char": 27, "label": "OUTCOME"}


def conforms(data, schema_name: str) -> None:
    """Assert ``data`` matches a schema of the OpenAPI document."""
    doc = document()
    Draft202012Validator({"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}).validate(
        data
    )


def put(client, sentence_id, status="done", spans=(), **fields):
    return client.put(
        f"/api/sentences/{sentence_id}/annotation", json={"status": status, "spans": list(spans), **fields}
    )


# --- Happy paths ----------------------------------------------------------------------


def test_api_next_returns_the_sentence_with_context_suggestions_and_project(login, project):
    ann = login("ann")
    response = ann.get(f"/api/projects/{project.name}/next")
    assert response.status_code == 200
    data = response.get_json()
    conforms(data, "NextSentence")
    assert data["sentence"]["text"] == FIRST
    assert data["sentence"]["context"] == {"before": [], "after": ["Debris damaged a house.", "No one was injured."]}
    assert data["sentence"]["tokens"][0] == {"start_char": 0, "end_char": 5}
    assert [label["name"] for label in data["project"]["labels"]] == ["REGION", "COUNT", "OUTCOME"]
    assert "shot down" in data["project"]["outcomes"] and data["project"]["guideline_version"] == 1
    assert data["annotation"] is None and data["progress"]["project_sentences"] == 5
    found = {(s["start_char"], s["end_char"], s["label"], s["value"], s["source"]) for s in data["suggestions"]}
    assert (0, 5, "COUNT", "40", "rules") in found and (18, 27, "OUTCOME", "shot down", "rules") in found


def test_api_next_reload_gives_the_same_sentence_then_204_when_nothing_is_left(login, db):
    project = make_project(db, reports=("One drone was shot down.",), quota=1)
    ann = login("ann")
    first = ann.get(f"/api/projects/{project.name}/next").get_json()["sentence"]["id"]
    assert ann.get(f"/api/projects/{project.name}/next").get_json()["sentence"]["id"] == first
    assert login("bo").get(f"/api/projects/{project.name}/next").status_code == 204
    assert put(ann, first).status_code == 200
    response = ann.get(f"/api/projects/{project.name}/next")
    assert response.status_code == 204 and response.data == b""


def test_api_put_saves_with_normalised_values_and_audit(login, db, first):
    ann = login("ann")
    response = put(
        ann, first.id, spans=[COUNT, REGION, {**OUTCOME, "value": "intercepted", "suggested": True}], seconds_spent=12.5
    )
    assert response.status_code == 200, response.get_json()
    saved = response.get_json()["annotation"]
    conforms(saved, "Annotation")
    values = {(s["label"], s["value"], s["suggested"]) for s in saved["spans"]}
    # COUNT "Forty" -> "40"; REGION alias -> canonical; a value the client sent is kept
    assert values == {("COUNT", "40", False), ("REGION", "Kursk Oblast", False), ("OUTCOME", "intercepted", True)}
    assert saved["version"] == 1 and saved["guideline_version"] == 1 and saved["seconds_spent"] == 12.5
    assert ann.get(f"/api/sentences/{first.id}/annotation").get_json()["annotation"] == saved
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "annotation.save"))
    assert event.entity == "annotation" and event.detail["old_spans"] == [] and len(event.detail["new_spans"]) == 3


def test_api_put_region_alias_of_a_project_gazetteer_entry(login, db):
    from annotator.models import GazetteerEntry

    project = make_project(db, name="plants", reports=("Drones attacked the ZNPP again.",))
    db.add(GazetteerEntry(project_id=project.id, canonical="Zaporizhzhia Nuclear Plant", aliases=["ZNPP"]))
    db.commit()
    sentence = sentences_of(db, project)[0]
    response = put(login("ann"), sentence.id, spans=[{"start_char": 20, "end_char": 24, "label": "REGION"}])
    assert response.get_json()["annotation"]["spans"][0]["value"] == "Zaporizhzhia Nuclear Plant"


def test_api_put_a_span_whose_text_gives_a_value_too_long_to_store_is_saved_without_one(login, first, monkeypatch):
    from annotator.labels.kinds import KINDS

    monkeypatch.setitem(KINDS, "category", replace(KINDS["category"], normalise=lambda text, g, o: "c" * 300))
    response = put(login("ann"), first.id, spans=[OUTCOME])
    assert response.status_code == 200
    assert response.get_json()["annotation"]["spans"][0]["value"] is None


def test_api_get_sentence_for_revisiting(login, first, project):
    ann = login("ann")
    put(ann, first.id, spans=[COUNT])
    data = ann.get(f"/api/sentences/{first.id}").get_json()
    conforms(data, "SentenceView")
    assert data["annotation"]["spans"][0]["value"] == "40" and data["sentence"]["id"] == first.id


def test_api_history_newest_first_with_paging(login, db, project):
    ann = login("ann")
    s = sentences_of(db, project)
    for sentence in (s[2], s[0], s[1]):
        assert put(ann, sentence.id, "skipped" if sentence is s[0] else "done").status_code == 200
    history = ann.get(f"/api/projects/{project.name}/history").get_json()
    assert [h["sentence_id"] for h in history] == [s[1].id, s[0].id, s[2].id]
    assert history[1]["status"] == "skipped" and history[1]["text"] == FIRST
    for item in history:
        conforms(item, "HistoryItem")
    paged = ann.get(f"/api/projects/{project.name}/history?limit=1&offset=1").get_json()
    assert [h["sentence_id"] for h in paged] == [s[0].id]
    assert ann.get(f"/api/projects/{project.name}/history?limit=zero").status_code == 400


def test_api_progress_and_project_list(login, db, project, first):
    make_project(db, name="secret", restricted=True)
    ann = login("ann")
    put(ann, first.id)
    progress = ann.get(f"/api/projects/{project.name}/progress").get_json()
    assert progress == {
        "mine_done": 1,
        "mine_flagged": 0,
        "mine_skipped": 0,
        "project_complete": 0,
        "project_sentences": 5,
    }
    listed = ann.get("/api/projects").get_json()
    assert [p["name"] for p in listed] == ["incidents"]  # not the restricted one
    conforms(listed[0], "ProjectWithProgress")


# --- Errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "problem"),
    [
        ({"start_char": "0", "end_char": 5, "label": "COUNT"}, "must be integers"),
        ({"start_char": 0, "end_char": 99, "label": "COUNT"}, "0 <= start_char < end_char"),
        ({"start_char": 5, "end_char": 5, "label": "COUNT"}, "0 <= start_char < end_char"),
        ({"start_char": 1, "end_char": 5, "label": "COUNT"}, "start_char 1 is not the start of a token"),
        ({"start_char": 0, "end_char": 4, "label": "COUNT"}, "end_char 4 is not the end of a token"),
        ({"start_char": 0, "end_char": 5, "label": "WEAPON"}, "label 'WEAPON' is not one of"),
        ({"start_char": 33, "end_char": 38, "label": "REGION"}, "duplicate of span 0"),
        ({"start_char": 6, "end_char": 12, "label": "COUNT", "value": "x" * 256}, "value must be a string"),
        ({"start_char": 6, "end_char": 12, "label": "COUNT", "suggested": "yes"}, "suggested must be true or false"),
        ("COUNT 0 5", "a span is an object"),
    ],
)
def test_api_put_invalid_span_is_422_naming_the_span(login, db, first, span, problem):
    ann = login("ann")
    response = put(ann, first.id, spans=[REGION, span])
    assert response.status_code == 422
    data = response.get_json()
    conforms(data, "ValidationError")
    assert data["details"][0]["span"] == 1 and problem in data["details"][0]["problem"], data
    assert db.scalar(select(func.count()).select_from(Annotation)) == 0


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"status": "maybe"}, "status must be one of"),
        ({"status": "flagged"}, "needs a comment"),
        ({"seconds_spent": -1}, "seconds_spent"),
    ],
)
def test_api_put_invalid_annotation_is_422(login, first, fields, problem):
    response = login("ann").put(f"/api/sentences/{first.id}/annotation", json={"status": "done", "spans": [], **fields})
    assert response.status_code == 422
    assert response.get_json()["details"][0]["span"] is None and problem in response.get_json()["details"][0]["problem"]


def test_api_put_flagged_and_skipped_keep_the_comment(login, db, first, project):
    ann = login("ann")
    assert (
        put(ann, first.id, "flagged", comment="Two places, which one?").get_json()["annotation"]["comment"]
        == "Two places, which one?"
    )
    second = sentences_of(db, project)[1]
    assert (
        put(ann, second.id, "skipped", comment=" not an incident ").get_json()["annotation"]["comment"]
        == "not an incident"
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'[{"status": "done"}]', "application/json"),
        (b'{"status": "done", "spans": {}}', "application/json"),
        (b'{"spans": []}', "application/json"),
        (b'{"status": "done", "base_version": "1"}', "application/json"),
        (b'{"status": "done", "comment": 5}', "application/json"),
        (b'{"status": "done"}', "text/plain"),
    ],
)
def test_api_put_malformed_is_400(login, first, body, content_type):
    response = login("ann").put(f"/api/sentences/{first.id}/annotation", data=body, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request" and response.get_json()["message"]


def test_api_put_stale_version_is_409_with_the_stored_annotation(login, db, first):
    ann = login("ann")
    assert put(ann, first.id, spans=[COUNT]).status_code == 200
    assert put(ann, first.id, spans=[COUNT, REGION], base_version=1).get_json()["annotation"]["version"] == 2
    stale = put(ann, first.id, spans=[OUTCOME], base_version=1)
    assert stale.status_code == 409
    data = stale.get_json()
    conforms(data, "ConflictError")
    assert data["error"] == "conflict" and data["current"]["version"] == 2 and len(data["current"]["spans"]) == 2
    new_but_exists = put(ann, first.id, spans=[OUTCOME])
    assert new_but_exists.status_code == 409


def test_api_put_retry_is_idempotent(login, db, first):
    ann = login("ann")
    body = {"spans": [COUNT, REGION], "comment": None, "seconds_spent": 3}
    one, two = put(ann, first.id, **body), put(ann, first.id, **body)
    assert one.status_code == two.status_code == 200
    assert one.get_json() == two.get_json() and two.get_json()["annotation"]["version"] == 1
    assert db.scalar(select(func.count()).select_from(Annotation)) == 1
    assert db.scalar(select(func.count()).select_from(Span)) == 2
    # A retry of a later save (base_version 1 already applied as version 2) is also harmless.
    assert put(ann, first.id, spans=[COUNT], base_version=1).get_json()["annotation"]["version"] == 2
    assert put(ann, first.id, spans=[COUNT], base_version=1).get_json()["annotation"]["version"] == 2


def test_api_unknown_things_are_404(login, first):
    ann = login("ann")
    assert ann.get("/api/sentences/999999").status_code == 404
    assert put(ann, 999999).status_code == 404
    assert ann.get("/api/projects/nope/next").get_json()["error"] == "not_found"
    assert ann.get(f"/api/sentences/{first.id}/annotation").status_code == 404  # not annotated yet


def test_api_restricted_project_is_403_for_non_members(login, db):
    project = make_project(db, name="secret", restricted=True)
    sentence = sentences_of(db, project)[0]
    outsider, member = login("out"), login("mem")
    db.add(ProjectMember(project_id=project.id, user_id=get_user(db, "mem").id))
    db.commit()
    for url in ("/next", "/progress", "/history"):
        assert outsider.get(f"/api/projects/secret{url}").status_code == 403
    assert outsider.get(f"/api/sentences/{sentence.id}").status_code == 403
    assert put(outsider, sentence.id).status_code == 403
    assert outsider.get(f"/api/sentences/{sentence.id}/annotation").get_json()["error"] == "forbidden"
    assert member.get("/api/projects/secret/next").status_code == 200
    assert put(member, sentence.id).status_code == 200


@pytest.mark.parametrize(
    "url", ["/api/projects", "/api/projects/incidents/next", "/api/sentences/1", "/api/sentences/1/annotation"]
)
def test_api_unauthenticated_is_401_json(app, project, url):
    response = app.test_client().get(url)
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_api_bearer_token_needs_no_csrf_but_a_cookie_put_does(app, db, login, first):
    ann = login("ann")
    no_csrf = ann.client.put(f"/api/sentences/{first.id}/annotation", json={"status": "done", "spans": []})
    assert no_csrf.status_code == 400 and "CSRF" in no_csrf.get_json()["error"]
    token = issue_api_token(get_user(db, "ann"))
    db.commit()
    script = app.test_client()
    response = script.put(
        f"/api/sentences/{first.id}/annotation",
        json={"status": "done", "spans": [COUNT]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert script.get("/api/projects", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_api_annotation_is_blind_to_other_annotators(login, db, project, first):
    ann, bo = login("ann"), login("bo")
    assert put(ann, first.id, spans=[COUNT, REGION], comment=None).status_code == 200
    assert bo.get(f"/api/projects/{project.name}/next").get_json()["annotation"] is None
    assert bo.get(f"/api/sentences/{first.id}").get_json()["annotation"] is None
    assert bo.get(f"/api/sentences/{first.id}/annotation").status_code == 404
    assert bo.get(f"/api/projects/{project.name}/history").get_json() == []
    # bo's first save is bo's own, not a conflict with ann's
    saved = put(bo, first.id, spans=[OUTCOME]).get_json()["annotation"]
    assert saved["version"] == 1 and [s["label"] for s in saved["spans"]] == ["OUTCOME"]
    assert len(ann.get(f"/api/sentences/{first.id}/annotation").get_json()["annotation"]["spans"]) == 2


# --- Routing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routing", "second", "extra", "review"),
    [
        ("extra_annotator", [OUTCOME], 1, False),
        ("extra_annotator", [COUNT], 0, False),
        ("review", [OUTCOME], 0, True),
        ("review", [COUNT], 0, False),
        ("none", [OUTCOME], 0, False),
    ],
)
def test_api_disagreement_routing(login, db, routing, second, extra, review):
    project = make_project(db, quota=2, routing=routing)
    first = sentences_of(db, project)[0]
    assert put(login("ann"), first.id, spans=[COUNT]).status_code == 200
    assert put(login("bo"), first.id, spans=second).status_code == 200
    db.rollback()  # end the read snapshot
    db.refresh(first)
    assert (first.extra_annotators, first.needs_review) == (extra, review)


def test_api_routing_counts_a_flagged_version(login, db):
    project = make_project(db, quota=2, routing="review")
    first = sentences_of(db, project)[0]
    assert put(login("ann"), first.id, spans=[COUNT]).status_code == 200
    assert (
        put(login("bo"), first.id, spans=[COUNT, OUTCOME], status="flagged", comment="is this an outcome?").status_code
        == 200
    )
    db.rollback()  # end the read snapshot
    db.refresh(first)
    assert first.needs_review is True


@pytest.mark.parametrize("routing", ["review", "extra_annotator"])
def test_api_routing_counts_incidents_linked_otherwise(login, db, routing):
    """The same spans grouped into other incidents disagree: the sentence is routed like a span conflict."""
    project = make_project(db, quota=2, routing=routing)
    first = sentences_of(db, project)[0]
    incident = {"spans": [COUNT, OUTCOME]}
    assert put(login("ann"), first.id, spans=[COUNT, OUTCOME], incidents=[incident]).status_code == 200
    assert put(login("bo"), first.id, spans=[COUNT, OUTCOME], incidents=[]).status_code == 200
    db.rollback()  # end the read snapshot
    db.refresh(first)
    assert (first.extra_annotators, first.needs_review) == ((1, False) if routing == "extra_annotator" else (0, True))
    cy = login("cy")
    if routing == "extra_annotator":  # the third version agrees with ann's: the disagreement persists
        assert put(cy, first.id, spans=[COUNT, OUTCOME], incidents=[incident]).status_code == 200
        db.rollback()
        db.refresh(first)
        assert first.needs_review is True


def test_api_routing_leaves_agreed_incidents_alone(login, db):
    project = make_project(db, quota=2, routing="review")
    first = sentences_of(db, project)[0]
    for name, spans in (("ann", [COUNT, OUTCOME]), ("bo", [OUTCOME, COUNT])):  # the same incident, told in either order
        assert put(login(name), first.id, spans=spans, incidents=[{"spans": spans}]).status_code == 200
    db.rollback()
    db.refresh(first)
    assert first.needs_review is False


def test_api_extra_annotator_then_review_when_disagreement_persists(login, db):
    project = make_project(db, quota=2, routing="extra_annotator")
    first = sentences_of(db, project)[0]
    put(login("ann"), first.id, spans=[COUNT])
    put(login("bo"), first.id, spans=[REGION])
    cy = login("cy")
    assert cy.get(f"/api/projects/{project.name}/next").get_json()["sentence"]["id"] == first.id
    put(cy, first.id, spans=[OUTCOME])
    db.rollback()  # end the read snapshot
    db.refresh(first)
    assert (first.extra_annotators, first.needs_review) == (1, True)


# --- Suggestions ----------------------------------------------------------------------


def test_api_suggestions_from_import_rules_and_model(app, db, project, first, tmp_path):
    import spacy

    db.add_all(
        [
            Suggestion(sentence_id=first.id, start_char=33, end_char=38, label="REGION", value=None, source="import"),
            Suggestion(
                sentence_id=first.id, start_char=34, end_char=38, label="REGION", source="import"
            ),  # mid-token: dropped
        ]
    )
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(
        [{"label": "COUNT", "pattern": "drones"}, {"label": "WEAPON", "pattern": "Kursk"}]
    )
    nlp.to_disk(tmp_path / "model")
    project.model_path = str(tmp_path / "model")
    db.commit()
    found = {
        (s["start_char"], s["end_char"], s["label"]): (s["value"], s["source"])
        for s in suggestions_for(db, project, first)
    }
    assert found[(33, 38, "REGION")] == ("Kursk Oblast", "import")  # rules found it too: listed once
    assert found[(0, 5, "COUNT")] == ("40", "rules")
    assert found[(6, 12, "COUNT")] == (None, "model")
    assert (34, 38, "REGION") not in found and not any(label == "WEAPON" for _, _, label in found)
    without_rules = suggestions_for(db, project, first, rules=False)
    assert {s["source"] for s in without_rules} == {"import", "model"}


def test_api_model_suggestions_carry_spancat_confidence(app, db, project, first, tmp_path):
    import spacy

    nlp = spacy.blank("en")
    spancat = nlp.add_pipe(
        "spancat",
        config={"spans_key": "sc", "threshold": 0.0, "suggester": {"@misc": "spacy.ngram_suggester.v1", "sizes": [1]}},
    )
    for label in ("COUNT", "REGION", "OUTCOME"):
        spancat.add_label(label)
    nlp.initialize()  # untrained: every word gets every label, each with a score
    nlp.to_disk(tmp_path / "spancat")
    project.model_path = str(tmp_path / "spancat")
    db.commit()
    found = suggestions_for(db, project, first, rules=False)
    model = [s for s in found if s["source"] == "model"]
    assert model and all(isinstance(s["score"], float) and 0.0 <= s["score"] <= 1.0 for s in model)
    assert len({s["score"] for s in model}) > 1  # each span's own score, not one figure for all
    assert all(s["score"] is None for s in found if s["source"] != "model")
    schema = document()["components"]["schemas"]["Suggestion"]
    assert schema["properties"]["score"]["type"] == ["number", "null"]


def test_api_a_span_the_rules_and_the_model_both_suggest_is_the_models_with_its_confidence(
    app, db, project, first, tmp_path
):
    import spacy

    nlp = spacy.blank("en")
    spancat = nlp.add_pipe(
        "spancat",
        config={"spans_key": "sc", "threshold": 0.0, "suggester": {"@misc": "spacy.ngram_suggester.v1", "sizes": [1]}},
    )
    spancat.add_label("COUNT")
    nlp.initialize()  # untrained: every word is a COUNT, each with a score
    nlp.to_disk(tmp_path / "spancat")
    project.model_path = str(tmp_path / "spancat")
    db.commit()
    found = {(s["start_char"], s["end_char"], s["label"]): s for s in suggestions_for(db, project, first)}
    forty = found[(0, 5, "COUNT")]  # "Forty": the rules' number pattern finds it too
    assert (forty["source"], forty["value"]) == ("model", "40") and isinstance(forty["score"], float)
    assert found[(18, 27, "OUTCOME")]["source"] == "rules"  # what the model does not suggest, the rules still do


def test_api_model_suggestions_below_the_projects_threshold_are_hidden(app, db, project, first, tmp_path):
    import spacy

    nlp = spacy.blank("en")
    spancat = nlp.add_pipe(
        "spancat",
        config={"spans_key": "sc", "threshold": 0.0, "suggester": {"@misc": "spacy.ngram_suggester.v1", "sizes": [1]}},
    )
    for label in ("COUNT", "REGION", "OUTCOME"):
        spancat.add_label(label)
    nlp.initialize()
    nlp.to_disk(tmp_path / "spancat")
    project.model_path = str(tmp_path / "spancat")
    db.commit()
    scores = sorted(s["score"] for s in suggestions_for(db, project, first) if s["source"] == "model")
    project.suggestion_min_score = scores[len(scores) // 2]  # the median: about half go
    db.commit()
    kept = suggestions_for(db, project, first)
    model = [s["score"] for s in kept if s["source"] == "model"]
    assert model and len(model) < len(scores)
    assert min(model) >= project.suggestion_min_score
    assert any(s["source"] == "rules" for s in kept)  # suggestions without a score are never hidden


def test_api_rule_suggestions_follow_the_config(app, login, project):
    app.config["RULE_SUGGESTIONS"] = False
    data = login("ann").get(f"/api/projects/{project.name}/next").get_json()
    assert data["suggestions"] == []


def test_api_broken_model_path_costs_only_model_suggestions(db, project, first, tmp_path):
    project.model_path = str(tmp_path / "missing")
    db.commit()
    assert {s["source"] for s in suggestions_for(db, project, first)} == {"rules"}


# --- OpenAPI --------------------------------------------------------------------------


def test_api_openapi_documents_every_route(app, login):
    from openapi_spec_validator import validate

    doc = login("ann").get("/api/openapi.json").get_json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    import re

    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api"):
            continue
        path = (
            re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            .replace("{sentence_id}", "{id}")
            .replace("{project_name}", "{project}")
        )
        assert path in doc["paths"], f"{rule.rule} is not documented"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = doc["paths"][path].get(method.lower())
            assert operation is not None, f"{method} {rule.rule} is not documented"
            assert any(code.startswith("2") for code in operation["responses"])
            if path != "/api/openapi.json":
                assert "401" in operation["responses"]


def test_api_openapi_is_public(app):
    assert app.test_client().get("/api/openapi.json").status_code == 200


def test_api_bearer_header_never_falls_back_on_the_cookie(app, db, login):
    """A cookie plus a bogus token is not a way around the CSRF check."""
    client = login("cookie-user", "annotator")
    response = client.client.put(
        "/api/sentences/1/annotation", json={"status": "done", "spans": []}, headers={"Authorization": "Bearer bogus"}
    )
    assert response.status_code == 401
    assert client.client.get("/api/projects", headers={"Authorization": "Bearer bogus"}).status_code == 401


@pytest.mark.parametrize("seconds", ["NaN", "Infinity", "1e400"])
def test_api_seconds_spent_must_be_finite(app, db, login, first, seconds):
    client = login("timer", "annotator")
    body = '{"status": "done", "spans": [], "seconds_spent": %s}' % seconds
    response = client.put(
        f"/api/sentences/{first.id}/annotation", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "finite" in response.get_json()["message"]


def test_api_an_integer_too_long_to_read_is_said_as_such(app, db, login, first):
    client = login("timer", "annotator")
    body = '{"status": "done", "spans": [], "seconds_spent": -%s}' % ("9" * 5000)
    response = client.put(
        f"/api/sentences/{first.id}/annotation", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    message = response.get_json()["message"]
    assert "an integer of 5,000 digits (-9999999999999999999...) is too long to be read" in message
    assert "not valid JSON" not in message


def test_api_put_beyond_the_quota_without_a_lease_is_refused(login, db, project, first):
    """Two annotators have done the sentence (quota 2): a third one's save is not stored."""
    for name in ("one", "two"):
        assert put(login(name), first.id).status_code == 200
    third = put(login("three"), first.id)
    assert third.status_code == 409 and third.get_json()["error"] == "sentence_full"
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Annotation).where(Annotation.sentence_id == first.id)) == 2
    # A skip takes no slot, so it is still accepted.
    assert put(login("four"), first.id, status="skipped").status_code == 200
