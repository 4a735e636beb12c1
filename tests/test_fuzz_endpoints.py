"""Every endpoint against the hostile classes, on each backend: no 5xx, and nothing stored.

The classes: integers beyond 64 bits, deep nesting, unpaired surrogates, NUL
characters, huge arrays and huge strings. JSON write endpoints get them as raw
JSON bodies (Python's json module would not write some of them); every route
gets them as query parameters and as path values; every form endpoint as form
fields. The routes are walked from the url_map, so a new one is covered too.
Besides these fixed classes, tests/test_fuzz_api.py runs schemathesis.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from annotator.models import (
    Annotation,
    AuditEvent,
    GazetteerEntry,
    GoldAnnotation,
    Guideline,
    Project,
    ProjectMember,
    Report,
    Span,
    User,
)
from tests.helpers import rule_url, url_rules

HUGE = "9" * 30  # beyond 64 bits
DIGITS = "9" * 5000  # beyond what Python converts

JSON_WRITES = {"api.put_annotation", "review.save_gold", "api.post_project"}  # every route reading JSON

SPAN = '{"start_char": %s, "end_char": %s, "label": %s, "value": %s, "reason": %s}'
KEY = '{"start_char": %s, "end_char": %s, "label": %s}'
BODIES = {
    "huge-int": '{"status": "done", "spans": [%s], "seconds_spent": %s, "base_version": %s, "version": %s}'
    % (SPAN % (HUGE, HUGE, '"COUNT"', "null", "null"), HUGE, HUGE, HUGE),
    "huge-negative": '{"status": "done", "spans": [%s], "seconds_spent": -%s, "base_version": -%s, "version": -%s}'
    % (SPAN % ("-" + HUGE, "-" + HUGE, '"COUNT"', "null", "null"), HUGE, HUGE, HUGE),
    "digits": '{"status": "done", "spans": [], "seconds_spent": %s, "version": %s}' % (DIGITS, DIGITS),
    "non-finite": '{"status": "done", "spans": [], "seconds_spent": NaN, "version": Infinity}',
    "deep": '{"status": "done", "spans": ' + "[" * 50_000 + "]" * 50_000 + ', "version": null}',
    "deep-unclosed": '{"status": "done", "spans": ' + "[" * 50_000,
    "deep-objects": '{"status": "done", "spans": [' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + "]}",
    "surrogate": '{"status": "flagged", "comment": "\\ud800 x", "spans": [%s], "reason": "\\udc00", "version": null}'
    % (SPAN % ("0", "6", '"COUNT"', '"\\ud800"', '"\\udfff"')),
    "surrogate-key": '{"status": "done", "spans": [], "\\ud800": 1}',
    "nul": '{"status": "flagged", "comment": "a\\u0000b", "spans": [%s], "reason": "\\u0000", "version": null}'
    % (SPAN % ("0", "6", '"COUNT"', '"4\\u00000"', '"\\u0000"')),
    "nul-label": '{"status": "done", "spans": [%s], "version": null}'
    % (SPAN % ("0", "6", '"CO\\u0000UNT"', "null", "null")),
    "huge-array": '{"status": "done", "spans": [' + ",".join(["0"] * 200_000) + '], "version": null}',
    "huge-spans": '{"status": "done", "spans": ['
    + ",".join([SPAN % ("0", "6", '"COUNT"', "null", "null")] * 30_000)
    + '], "version": null}',
    "huge-string": '{"status": "flagged", "comment": "' + "x" * 3_000_000 + '", "spans": [], "version": null}',
    "incidents-huge-label": '{"status": "done", "spans": [%s], "incidents": [{"spans": [%s, %s]}], "version": null}'
    % (SPAN % ("0", "6", '"COUNT"', "null", "null"), KEY % (0, 6, '"COUNT"'), KEY % (0, 6, '"' + "L" * 500_000 + '"')),
    "incidents-many": '{"status": "done", "spans": [%s], "incidents": [%s], "version": null}'
    % (
        SPAN % ("0", "6", '"COUNT"', "null", "null"),
        ",".join(['{"spans": [%s, %s]}' % (KEY % (0, 6, '"COUNT"'), KEY % (7, 9, '"REGION"'))] * 5_000),
    ),
    "incidents-wrong-types": '{"status": "done", "spans": [], "incidents": [5, "x", null, {"spans": {}}, '
    '{"spans": [{"start_char": true, "end_char": 1.5, "label": []}]}, {"spans": [[0, 6, "COUNT"]]}], "version": null}',
    "wrong-types": '{"status": [], "spans": {}, "comment": {}, "seconds_spent": "1", "base_version": true, "version": [], "reason": 5}',
}
QUERIES = {
    "huge-int": {"offset": HUGE, "limit": HUGE, "after": HUGE, "seed": HUGE, "done": HUGE, "page": HUGE},
    "digits": {"offset": DIGITS, "limit": DIGITS, "after": DIGITS},
    "negative": {"offset": "-" + HUGE, "limit": "-1", "after": "-" + HUGE},
    "nul": {
        "offset": "1\x00",
        "label": "CO\x00UNT",
        "type": "\x00",
        "a": "alice\x00",
        "b": "\x00",
        "text": "forty\x00",
        "next": "/\x00",
    },
    "surrogate-bytes": "label=%ED%A0%80&a=%ED%B0%80&b=%ED%A0%80&text=%ED%A0%80&type=%ED%A0%80",
    "long": {"label": "L" * 20_000, "a": "a" * 20_000, "b": "b" * 20_000, "text": "t" * 20_000, "type": "t" * 20_000},
    "repeated": "&".join(["offset=1", "label=COUNT", "a=alice", "text=forty"] * 5_000),
    "deep": {"label": "[" * 10_000, "text": "{" * 10_000},
}
FORM_FIELDS = (
    "username",
    "password",
    "role",
    "active",
    "annotators_per_sentence",
    "routing",
    "restricted",
    "text",
    "canonical",
    "aliases",
    "vocabulary",
    "task",
    "policy",
    "annotator",
    "dev_fraction",
    "seed",
    "name",
    "lang",
    "labels",
    "guidelines",
    "queue_order",
)
FORMS = {
    "nul": dict.fromkeys(FORM_FIELDS, "a\x00b"),
    "huge-int": dict.fromkeys(FORM_FIELDS, HUGE),
    "long": dict.fromkeys(FORM_FIELDS, "x" * 300_000),
}
PATH_VALUES = {
    "nul": "a\x00b",
    "long": "p" * 5_000,
    "slash-encoded": "a%2Fb",
    "surrogate-bytes": "%ED%A0%80",
    "dots": "..",
}
SKIP = {"auth.logout"}  # ends the session the walk runs in
TABLES = (Annotation, Span, GoldAnnotation, Report, Project, User, ProjectMember, GazetteerEntry, Guideline)


def _stored(db) -> dict[str, int]:
    db.rollback()  # a new transaction: on SQLite an open one would not see what the requests committed
    counts = {t.__name__: db.scalar(select(func.count()).select_from(t)) for t in TABLES}
    counts["audit"] = db.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action.not_in(("login.failure",)))
    )
    counts["users"] = hash(
        tuple(db.execute(select(User.username, User.role, User.active, User.password_hash).order_by(User.id)).all())
    )
    return counts


def _client(world, rule) -> object:
    """The role that may use the route: API writes are an annotator's, everything else an admin's."""
    return world["clients"]["annotator" if rule.endpoint == "api.put_annotation" else "admin"]


def _walk(app, methods):
    for rule, method in url_rules(app):
        if rule.endpoint not in SKIP and method in methods:
            yield rule, method


def test_fuzz_endpoints_every_json_write_is_listed(app):
    """A new route that reads a JSON body must join JSON_WRITES (and go through web.inputs)."""
    assert {rule.endpoint for rule, method in url_rules(app) if method in ("PUT", "PATCH", "DELETE")} <= JSON_WRITES
    assert JSON_WRITES <= {rule.endpoint for rule, _ in url_rules(app)}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_fuzz_endpoints_json_writes_refuse_hostile_bodies(app, db, world, name):
    before = _stored(db)
    for rule, method in _walk(app, {"PUT", "POST"}):
        if method == "POST" and rule.endpoint not in JSON_WRITES:
            continue  # a form
        assert rule.endpoint in JSON_WRITES
        url = rule_url(rule, world["values"])
        response = getattr(_client(world, rule), method.lower())(
            url, data=BODIES[name], headers={"Content-Type": "application/json"}
        )
        assert response.status_code < 500, f"{method} {rule.rule} {name}: {response.status_code}"
        assert 400 <= response.status_code < 500, f"{method} {rule.rule} {name}: {response.status_code} (accepted?)"
        body = response.get_json()
        assert set(body) >= {"error", "message"}, body
        assert len(response.get_data()) < 10_000, f"{rule.rule} {name}: the refusal echoes the input"
    assert _stored(db) == before


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_fuzz_endpoints_query_parameters(app, db, world, name):
    before = _stored(db)
    checked = 0
    for rule, _method in _walk(app, {"GET"}):
        url = rule_url(rule, world["values"])
        response = _client(world, rule).get(url, query_string=QUERIES[name])
        assert response.status_code < 500, f"GET {rule.rule} {name}: {response.status_code}"
        checked += 1
    assert checked >= 20
    assert _stored(db) == before


@pytest.mark.parametrize("name", sorted(FORMS))
def test_fuzz_endpoints_form_fields(app, db, world, name):
    """NUL and over-long values change nothing anywhere; a huge integer crashes nothing (it may be a fine name)."""
    refused = name in ("nul", "long")
    before = _stored(db)
    checked = 0
    for rule, _method in _walk(app, {"POST"}):
        if rule.endpoint == "auth.login":
            continue  # logged in already: the login page redirects; login itself: tests/test_auth.py
        url = rule_url(rule, world["values"])
        response = _client(world, rule).post(url, data=FORMS[name])
        assert response.status_code < 500, f"POST {rule.rule} {name}: {response.status_code}"
        checked += 1
    assert checked >= 10
    if refused:
        assert {k: v for k, v in _stored(db).items() if k != "ProjectMember"} == {
            k: v for k, v in before.items() if k != "ProjectMember"
        }


# A page form posted as JSON: Flask-WTF would read the body as the form's fields.
FORM_AS_JSON = {
    "list": '[{"username": "x"}]',
    "number": "5",
    "string": '"username"',
    "true": "true",
    "nested": '{"username": {"a": [1]}, "name": [[]], "labels": {"b": 1}}',
    "wrong-types": '{"username": 5, "name": 5, "lang": [], "labels": {}, "text": 7, "canonical": 8, "vocabulary": 9}',
    "surrogate": '{"username": "\\ud800", "name": "\\ud800", "labels": "\\ud800", "text": "\\ud800"}',
}


NO_FORM = {"admin.remove_member"}  # a button: it reads no body, whatever the body is


@pytest.mark.parametrize("name", sorted(FORM_AS_JSON))
def test_fuzz_endpoints_forms_posted_as_json(app, db, world, name):
    """A page form takes a posted form only: JSON (or plain text) is refused with 415, and changes nothing."""
    before = _stored(db)
    checked = 0
    for rule, _method in _walk(app, {"POST"}):
        if rule.endpoint in JSON_WRITES or rule.endpoint == "auth.login":
            continue  # auth.login: logged in already, the login page redirects
        url = rule_url(rule, world["values"])
        for content_type in ("application/json", "text/plain"):
            response = _client(world, rule).post(url, data=FORM_AS_JSON[name], headers={"Content-Type": content_type})
            if rule.endpoint in NO_FORM:
                assert response.status_code < 500, f"POST {rule.rule} {name} {content_type}: {response.status_code}"
                continue
            assert response.status_code == 415, f"POST {rule.rule} {name} {content_type}: {response.status_code}"
            assert "takes a posted form" in response.get_data(as_text=True)
        checked += 1
    assert checked >= 10
    assert {k: v for k, v in _stored(db).items() if k != "ProjectMember"} == {
        k: v for k, v in before.items() if k != "ProjectMember"
    }
    login = (
        world["clients"]["admin"]
        .client.application.test_client()
        .post("/login", data=FORM_AS_JSON[name], headers={"Content-Type": "application/json"})
    )
    assert login.status_code in (400, 415)  # CSRF first (no session yet), else the form's refusal


def test_fuzz_endpoints_every_page_form_reads_form_fields_only(app):
    """Every form of the app is a web.forms.Form, which never fills itself from a JSON body."""
    from flask_wtf import FlaskForm

    from annotator.web.forms import Form

    found, stack = [], [FlaskForm]
    while stack:
        for cls in stack.pop().__subclasses__():
            stack.append(cls)
            if cls.__module__.startswith("annotator.") and cls is not Form:
                found.append(cls)
    assert len(found) >= 10
    assert [cls.__name__ for cls in found if not issubclass(cls, Form)] == []


def test_fuzz_endpoints_file_in_a_text_field(app, db, world):
    """A file posted under a text field's name is no value for it: the form's errors, never a 500.

    (Not "nothing stored": without its text fields a form is an empty one, which unticks a checkbox.)
    """
    for rule, _method in _walk(app, {"POST"}):
        if rule.endpoint in JSON_WRITES or rule.endpoint == "auth.login":
            continue
        url = rule_url(rule, world["values"])
        files = {field: (io.BytesIO(b"Drones hit Kursk."), "a.txt") for field in FORM_FIELDS}
        response = _client(world, rule).post(url, data=files, content_type="multipart/form-data")
        assert response.status_code < 500, f"POST {rule.rule}: {response.status_code}"
    before = _stored(db)
    files = {field: (io.BytesIO(b"x"), "a.txt") for field in ("name", "lang", "labels", "guidelines")}
    refused = world["clients"]["admin"].post("/admin/new-project", data=files, content_type="multipart/form-data")
    assert refused.status_code == 400 and "This field is required" in refused.get_data(as_text=True)
    assert _stored(db) == before


@pytest.mark.parametrize(
    "vocabulary", ["[" * 50_000 + "]" * 50_000, "[" * 50_000, "[" + DIGITS + "]", '[{"category": "\\ud800"}]']
)
def test_fuzz_endpoints_outcome_vocabulary_json_is_refused_not_a_crash(app, db, world, vocabulary):
    project = db.scalar(select(Project))
    before = project.outcomes
    response = world["clients"]["admin"].post(
        f"/admin/projects/{project.name}/outcomes", data={"vocabulary": vocabulary}
    )
    assert response.status_code == 400, response.status_code
    db.expire_all()
    assert db.scalar(select(Project)).outcomes == before


@pytest.mark.parametrize("name", sorted(PATH_VALUES))
def test_fuzz_endpoints_path_values(app, db, world, name):
    before = _stored(db)
    values = {**world["values"], **{k: PATH_VALUES[name] for k in ("project", "project_name", "name", "file")}}
    for rule, method in _walk(app, {"GET", "PUT", "POST"}):
        if not {"project", "project_name", "name", "file"} & set(rule.arguments):
            continue
        url = rule_url(rule, values)
        kwargs = {"data": BODIES["nul"], "headers": {"Content-Type": "application/json"}} if method == "PUT" else {}
        response = getattr(_client(world, rule), method.lower())(url, **kwargs)
        assert response.status_code < 500, f"{method} {url[:80]} {name}: {response.status_code}"
    assert _stored(db) == before
