"""Limits on what one API request carries, on each backend: every refusal a 4xx naming its limit, nothing stored.

Bodies are sent as raw JSON text where Python's json module could not write
them (a lone surrogate escape, a 400-digit integer, 100,000 brackets).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from annotator.models import Annotation, AuditEvent, GoldAnnotation, Span
from tests.helpers import COUNT, REGION


def stored(db) -> tuple[int, int, int]:
    db.expire_all()
    return (
        db.scalar(select(func.count()).select_from(Annotation)),
        db.scalar(select(func.count()).select_from(Span)),
        db.scalar(select(func.count()).select_from(GoldAnnotation)),
    )


def raw_put(client, url: str, body: str | bytes):
    return client.put(url, data=body, headers={"Content-Type": "application/json"})


def annotation_url(sentence) -> str:
    return f"/api/sentences/{sentence.id}/annotation"


def gold_url(sentence, project) -> str:
    return f"/projects/{project.name}/review/{sentence.id}/gold"


@pytest.fixture
def clients(app, login):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash is a 500 response the assertions see
    return {"annotator": login("ann"), "reviewer": login("rita", "reviewer")}


def _error(response, status: int, *words: str) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    data = response.get_json()
    assert set(data) >= {"error", "message"}, data
    for word in words:
        assert word in data["message"], data["message"]
    return data


# --- Query parameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "offset=99999999999999999999999",
        "offset=-1",
        "offset=1e3",
        "offset=" + "9" * 5000,
        "limit=0",
        "limit=501",
        "limit=x",
    ],
)
def test_api_limits_history_query_out_of_range_is_400(clients, project, query):
    response = clients["annotator"].get(f"/api/projects/{project.name}/history?{query}")
    data = _error(response, 400, "must be an integer from")
    assert len(data["message"]) < 200


def test_api_limits_history_offset_at_its_limit_is_fine(clients, project, app):
    most = app.config["MAX_QUERY_OFFSET"]
    assert clients["annotator"].get(f"/api/projects/{project.name}/history?offset={most}").get_json() == []


def test_api_limits_review_next_after_out_of_range_is_400(clients, project):
    path = f"/projects/{project.name}/review/next?after=99999999999999999999999"
    _error(clients["reviewer"].get(path, headers={"Accept": "application/json"}), 400, "after must be an integer")
    page = clients["reviewer"].get(path)  # a browser's request: the same message on an error page
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert "after must be an integer" in page.get_data(as_text=True)


# --- Annotation bodies --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (
            '{"status": "done", "spans": [], "seconds_spent": 1%s}' % ("0" * 400),
            422,
            ["seconds_spent", "MAX_SECONDS_SPENT"],
        ),
        ('{"status": "done", "spans": [], "seconds_spent": -1%s}' % ("0" * 400), 422, ["seconds_spent"]),
        ('{"status": "done", "spans": [], "seconds_spent": 1e308}', 422, ["seconds_spent"]),
        ('{"status": "done", "spans": [], "seconds_spent": 5e-324}', 200, []),
        ('{"status": "done", "spans": [], "seconds_spent": -1e400}', 400, ["finite"]),
        ('{"status": "done", "spans": [], "seconds_spent": %s}' % ("9" * 5000), 400, ["5,000 digits", "too long"]),
        ('{"status": "done", "spans": [], "base_version": 99999999999999999999999}', 400, ["base_version"]),
        ('{"status": "done", "spans": [], "base_version": -1}', 400, ["base_version"]),
        (
            '{"status": "done", "spans": [{"start_char": 99999999999999999999999, "end_char": 5, "label": "COUNT"}]}',
            422,
            ["offsets"],
        ),
        (
            '{"status": "done", "spans": [{"start_char": 0, "end_char": 5, "label": "COUNT", "value": "4\\u00000"}]}',
            400,
            ["NUL"],
        ),
        (
            '{"status": "done", "spans": [{"start_char": 0, "end_char": 5, "label": "COUNT", "value": "\\ud800"}]}',
            400,
            ["surrogate"],
        ),
        ('{"status": "flagged", "spans": [], "comment": "odd \\udfff text"}', 400, ["surrogate"]),
        ('{"status": "flagged", "spans": [], "comment": "odd \\u0000 text"}', 400, ["NUL"]),
        ('{"status": "done", "spans": [], "x\\ud800": 1}', 400, ["surrogate"]),
        ('{"status": "done", "spans": [' + "[" * 100_000 + "]" * 100_000 + "]}", 400, ["MAX_JSON_DEPTH"]),
        ('{"status": "done", "spans": [' + '{"a":' * 20 + "1" + "}" * 20 + "]}", 400, ["MAX_JSON_DEPTH"]),
        ("[" * 100_000, 400, ["MAX_JSON_DEPTH"]),
        ('{"status": "' + "d" * 100_000 + '", "spans": []}', 400, ["status"]),
        ('{"status": "done", "spans": [], "comment": "' + "c" * 10_001 + '"}', 422, ["MAX_COMMENT_CHARS"]),
        (
            '{"status": "done", "spans": [{"start_char": 0, "end_char": 5, "label": "' + "L" * 100_000 + '"}]}',
            422,
            ["label"],
        ),
    ],
    ids=[
        "seconds-huge-int",
        "seconds-huge-negative",
        "seconds-1e308",
        "seconds-tiny",
        "seconds-minus-inf",
        "seconds-5000-digits",
        "base-version-huge",
        "base-version-negative",
        "offset-huge",
        "value-nul",
        "value-surrogate",
        "comment-surrogate",
        "comment-nul",
        "key-surrogate",
        "deep-arrays",
        "deep-objects",
        "deep-unclosed",
        "status-long",
        "comment-long",
        "label-long",
    ],
)
def test_api_limits_annotation_body_refused_with_its_limit(clients, db, first, body, status, words):
    response = raw_put(clients["annotator"], annotation_url(first), body)
    if status == 200:
        assert response.status_code == 200, response.get_data(as_text=True)
        return
    data = _error(response, status, *words)
    assert len(response.get_data()) < 5_000  # nothing sent is echoed whole
    assert stored(db) == (0, 0, 0), data


def test_api_limits_too_many_spans_is_422_naming_the_limit(clients, db, first, app):
    spans = [COUNT] * (app.config["MAX_SPANS_PER_ANNOTATION"] + 1)
    response = clients["annotator"].put(annotation_url(first), json={"status": "done", "spans": spans})
    _error(response, 422, "201 spans", "MAX_SPANS_PER_ANNOTATION")
    assert stored(db) == (0, 0, 0)
    assert (
        clients["annotator"].put(annotation_url(first), json={"status": "done", "spans": [COUNT, REGION]}).status_code
        == 200
    )


def test_api_limits_many_bad_spans_are_refused_in_a_short_answer(clients, db, first, app):
    app.config.update(
        MAX_SPANS_PER_ANNOTATION=200_000, MAX_JSON_BODY_BYTES=20 * 1024 * 1024
    )  # lifted, to reach the listing
    bad = [{"start_char": 1, "end_char": 2, "label": "NOPE"}] * 20_000
    response = clients["annotator"].put(annotation_url(first), json={"status": "done", "spans": bad})
    data = _error(response, 422, "and 59,980 more")  # three problems per span, twenty listed
    assert len(data["details"]) == app.config["MAX_LISTED_PROBLEMS"] and data["more"] == 59_980
    assert len(response.get_data()) < 10_000
    assert stored(db) == (0, 0, 0)


def test_api_limits_body_over_the_size_limit_is_413(clients, db, first, app):
    app.config["MAX_JSON_BODY_BYTES"] = 10_000
    body = json.dumps({"status": "flagged", "spans": [], "comment": "x" * 20_000})
    data = _error(raw_put(clients["annotator"], annotation_url(first), body), 413, "MAX_JSON_BODY_BYTES")
    assert data["error"] == "too_large"
    assert stored(db) == (0, 0, 0)


def test_api_limits_refusals_write_no_audit_event(clients, db, first):
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    raw_put(clients["annotator"], annotation_url(first), '{"status": "flagged", "spans": [], "comment": "\\u0000"}')
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before


# --- Gold bodies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ('{"version": null, "spans": [' + "[" * 100_000 + "]" * 100_000 + "]}", 400, ["MAX_JSON_DEPTH"]),
        ('{"version": 99999999999999999999999, "spans": []}', 422, ["version"]),
        (
            '{"version": null, "spans": [{"start_char": 0, "end_char": 5, "label": "COUNT", "value": "\\ud800"}]}',
            400,
            ["surrogate"],
        ),
        (
            '{"version": null, "spans": [{"start_char": 0, "end_char": 5, "label": "COUNT", "value": "\\u0000"}]}',
            400,
            ["NUL"],
        ),
        ('{"version": null, "spans": [], "reason": "' + "r" * 100_000 + '"}', 422, ["reason must be one of"]),
        (
            '{"version": null, "spans": ['
            + ",".join(['{"start_char": 0, "end_char": 5, "label": "COUNT"}'] * 201)
            + "]}",
            422,
            ["MAX_SPANS_PER_ANNOTATION"],
        ),
        (
            '{"version": null, "spans": [' + ",".join(['{"start_char": 1, "end_char": 2, "label": "X"}'] * 150) + "]}",
            422,
            ["and 430 more"],
        ),
    ],
    ids=["deep", "version-huge", "value-surrogate", "value-nul", "reason-long", "too-many-spans", "many-bad-spans"],
)
def test_api_limits_gold_body_refused_with_its_limit(clients, db, project, first, body, status, words):
    response = raw_put(clients["reviewer"], gold_url(first, project), body)
    _error(response, status, *words)
    assert len(response.get_data()) < 5_000
    assert stored(db) == (0, 0, 0)
