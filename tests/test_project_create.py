"""Creating a project: one service (services.projects.create_project) behind the admin form,
``annotator projects create`` and ``POST /api/projects``; and the staffing warning they share."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from annotator.labels.kinds import KINDS
from annotator.labels.scheme import default_scheme, format_scheme_lines
from annotator.models import AuditEvent, Guideline, Project, ProjectMember
from annotator.services.projects import ProjectError, create_project, staffing_problem
from annotator.services.users import get_user, issue_api_token
from annotator.web.openapi import document
from annotator.web.openapi_schemas import LABEL_KINDS

WEAPON = {"name": "WEAPON", "kind": "text", "key": "w", "colour": "#cdb4db", "description": "Weapons named"}
WEAPON_LINE = "WEAPON | text | w | #cdb4db | Weapons named"
GUIDELINES = "# Rules\n\nLabel <b>weapons</b> too.\n"


@pytest.fixture
def admin(login):
    return login("root", "admin")


@pytest.fixture
def annotators(make_user):
    return [make_user("ann"), make_user("bea")]


def projects(db) -> list[str]:
    db.rollback()  # end the read snapshot
    return list(db.scalars(select(Project.name).order_by(Project.name)))


def stored(db, name: str) -> dict:
    """What a project is, apart from its id and time: every stored setting and its guidelines."""
    db.rollback()
    project = db.scalar(select(Project).where(Project.name == name))
    guidelines = db.scalars(select(Guideline.text).where(Guideline.project_id == project.id)).all()
    return {
        "name": project.name,
        "lang": project.lang,
        "labels": project.labels,
        "outcomes": project.outcomes,
        "annotators_per_sentence": project.annotators_per_sentence,
        "restricted": project.restricted,
        "routing": project.routing,
        "suggestion_min_score": project.suggestion_min_score,
        "model_path": project.model_path,
        "guidelines": list(guidelines),
    }


def form_data(name="weapons", **fields) -> dict:
    return {
        "name": name,
        "lang": "en",
        "annotators_per_sentence": "2",
        "labels": format_scheme_lines(default_scheme()) + WEAPON_LINE + "\n",
        "guidelines": GUIDELINES,
        **fields,
    }


# --- The rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotators_per_sentence", "restricted", "people", "problem"),
    [
        (2, False, 2, None),
        (1, True, 1, None),
        (2, True, 1, "restricted to 1 active member: no sentence can be completed; add members"),
        (2, True, 0, "restricted to 0 active members"),
        (3, False, 1, "there is 1 active annotator: no sentence can be completed; create annotator accounts"),
    ],
)
def test_project_create_staffing_problem(annotators_per_sentence, restricted, people, problem):
    found = staffing_problem(annotators_per_sentence, restricted, people)
    assert found is None if problem is None else problem in found


def test_project_create_openapi_names_every_label_kind():
    assert LABEL_KINDS == tuple(KINDS)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "a/b"}, "name", "project name 'a/b' is not allowed"),
        ({"name": " "}, "name", "cannot be blank"),
        (
            {"name": "Incidents"},
            "name",
            "a project named 'Incidents' exists already as 'incidents' (names must differ by more than case)",
        ),
        ({"lang": "zz"}, "lang", "there is no spaCy tokenizer for language 'zz'"),
        ({"lang": "../x"}, "lang", "language must be a spaCy language code"),
        ({"annotators_per_sentence": 0}, "annotators_per_sentence", "from 1 to 20"),
        ({"annotators_per_sentence": 3}, "annotators_per_sentence", "there are 2 active annotators"),
        ({"labels": [{"name": "X", "kind": "weapon"}]}, "labels", "kind must be one of region, count, category, text"),
        ({"labels": []}, "labels", "non-empty list"),
        ({"guidelines": "a\x00b"}, "guidelines", "NUL"),
        ({"guidelines": " \n"}, "guidelines", "the guidelines are empty; write them, or leave them out"),
        ({"guidelines": 7}, "guidelines", "guidelines must be text"),
    ],
)
def test_project_create_refuses_and_adds_nothing(db, annotators, fields, field, message):
    create_project(db, "incidents", annotators_per_sentence=1)
    db.commit()
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(ProjectError) as caught:
        create_project(db, **{"name": "new", **fields})
    db.rollback()
    assert message in caught.value.message and caught.value.field == field
    assert projects(db) == ["incidents"]
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_project_create_restricted_without_members_is_created_and_warned(admin, db):
    response = admin.post("/admin/new-project", data=form_data("secret", restricted="y"))
    assert response.status_code == 302
    page = admin.get("/admin/projects/secret").get_data(as_text=True)
    assert 'id="staffing-warning"' in page and "restricted to 0 active members" in page
    assert page.count("restricted to 0 active members") == 1  # said once, not also above the settings
    admin.post("/admin/projects/secret/members", data={"username": "root"})
    assert "restricted to 1 active member:" in admin.get("/admin/projects/secret").get_data(as_text=True)


# --- The admin form ------------------------------------------------------------------------


def test_project_create_form_offers_the_default_scheme(admin):
    page = admin.get("/admin/new-project").get_data(as_text=True)
    assert "REGION | region | r | #8ecae6 | A named place" in page
    assert 'name="csrf_token"' in page and "<code>text</code>: a span with no value" in page
    assert 'href="/admin/new-project"' in admin.get("/").get_data(as_text=True)  # reachable from the pages


def test_project_create_form_creates_a_fourth_label(admin, db, annotators):
    response = admin.post("/admin/new-project", data=form_data())
    assert response.status_code == 302 and response.headers["Location"] == "/admin/projects/weapons"
    project = stored(db, "weapons")
    assert [label["name"] for label in project["labels"]] == ["REGION", "COUNT", "OUTCOME", "WEAPON"]
    assert project["labels"][-1] == {**WEAPON, "retired": False}
    assert project["guidelines"] == [GUIDELINES]
    (event,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "project.create"))
    assert event.user_id == get_user(db, "root").id and event.detail["labels"][-1] == "WEAPON"
    page = admin.get("/admin/projects/weapons").get_data(as_text=True)
    assert "Created project weapons." in page and "staffing-warning" not in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "a/b"}, "Project name &#39;a/b&#39; is not allowed"),
        ({"name": "<script>x</script>"}, "&lt;script&gt;"),
        ({"name": ""}, "This field is required."),
        ({"lang": "zz"}, "There is no spaCy tokenizer for language &#39;zz&#39;"),
        ({"annotators_per_sentence": "21"}, "Ask for 1 to 20 annotators per sentence."),
        ({"annotators_per_sentence": "3"}, "3 annotators per sentence, but there are 2 active annotators"),
        ({"labels": "REGION | region\nWEAPON | weapon"}, "line 2: label &#39;WEAPON&#39;: kind must be one of"),
        ({"labels": "REGION | region\nregion | text"}, "line 2: label &#39;region&#39; has the same name"),
        ({"labels": "WEAPON | text | y"}, "line 1: label &#39;WEAPON&#39;: key &#39;y&#39; is taken"),
        ({"labels": "WEAPON"}, "line 1: write a label as NAME | kind"),
    ],
)
def test_project_create_form_errors_are_shown_and_nothing_is_created(admin, db, annotators, fields, message):
    response = admin.post("/admin/new-project", data=form_data(**fields))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page, page[-3000:]
    assert "<script>x</script>" not in page
    assert projects(db) == []
    assert WEAPON_LINE in page or "labels" in fields  # what was typed is kept


def test_project_create_form_refuses_a_duplicate(admin, db, annotators):
    assert admin.post("/admin/new-project", data=form_data()).status_code == 302
    again = admin.post("/admin/new-project", data=form_data("Weapons"))
    assert again.status_code == 400 and "A project named &#39;Weapons&#39; exists already" in again.get_data(
        as_text=True
    )
    assert projects(db) == ["weapons"]


def test_project_create_form_needs_csrf_and_an_admin(app, admin, login, db, annotators):
    forged = admin.client.post("/admin/new-project", data=form_data())
    assert forged.status_code == 400
    for role in ("annotator", "reviewer"):
        client = login(f"some-{role}", role)
        assert client.get("/admin/new-project").status_code == 403
        assert client.post("/admin/new-project", data=form_data()).status_code == 403
    assert projects(db) == []


def test_project_create_settings_warn_when_they_cannot_complete(admin, db, annotators):
    assert admin.post("/admin/new-project", data=form_data()).status_code == 302
    saved = admin.post(
        "/admin/projects/weapons/settings",
        data={"annotators_per_sentence": 3, "routing": "none"},
        follow_redirects=True,
    )
    page = saved.get_data(as_text=True)
    assert "Settings saved." in page and "3 annotators per sentence, but there are 2 active annotators" in page
    admin.post("/admin/projects/weapons/settings", data={"annotators_per_sentence": 2, "routing": "none"})
    assert "staffing-warning" not in admin.get("/admin/projects/weapons").get_data(as_text=True)


# --- The command line ----------------------------------------------------------------------


def test_project_create_cli(runner, db, tmp_path, annotators):
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps([*default_scheme(), WEAPON]))
    guidelines = tmp_path / "guidelines.md"
    guidelines.write_text(GUIDELINES)
    result = runner.invoke(
        args=["projects", "create", "weapons", "--labels", str(labels), "--guidelines", str(guidelines)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "Created project weapons (en, 2 per sentence, open; labels REGION, COUNT, OUTCOME, WEAPON)."
    )
    (event,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "project.create"))
    assert event.detail["via"] == "command line"
    assert [row["name"] for row in json.loads(runner.invoke(args=["projects", "list", "--json"]).output)] == ["weapons"]
    assert runner.invoke(args=["projects"]).output.startswith("weapons (en, 2 per sentence, open, report order)")


@pytest.mark.parametrize(
    ("args", "labels", "message"),
    [
        (["a/b"], None, "project name 'a/b' is not allowed"),
        (["p", "--lang", "zz"], None, "there is no spaCy tokenizer for language 'zz'"),
        (["p", "--annotators-per-sentence", "0"], None, "from 1 to 20"),
        (["p", "--annotators-per-sentence", "3"], None, "3 annotators per sentence, but there are 2 active annotators"),
        (["p"], "[{", "labels.json is not JSON"),
        (["p"], '{"name": "X"}', "write a JSON list"),
        (["p"], '[{"name": "X", "kind": "weapon"}]', "label scheme: label 'X': kind must be one of"),
        (
            ["p"],
            '[{"name": "REGION", "kind": "region", "description": "a\\ud800b"}, {"name": "COUNT", "kind": "count"}]',
            "label 'REGION': the description holds an unpaired surrogate \\ud800",
        ),
        (["p"], '[{"name": "X", "kind": "text", "description": "a\\u0000b"}]', "the description holds a NUL"),
    ],
)
def test_project_create_cli_refuses_with_exit_1(runner, db, tmp_path, annotators, args, labels, message):
    if labels is not None:
        path = tmp_path / "labels.json"
        path.write_text(labels)
        args = [*args, "--labels", str(path)]
    result = runner.invoke(args=["projects", "create", *args])
    assert result.exit_code == 1 and message in result.output and "Nothing was created." in result.output
    assert projects(db) == []


# --- The API -------------------------------------------------------------------------------


def conforms(data, schema_name: str) -> None:
    doc = document()
    Draft202012Validator({"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}).validate(
        data
    )


def test_project_create_api_answers_201_with_the_project_as_listed(admin, db, annotators):
    body = {"name": "weapons", "labels": [*default_scheme(), WEAPON], "guidelines": GUIDELINES}
    response = admin.post("/api/projects", json=body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    conforms(created, "ProjectWithProgress")
    (listed,) = admin.get("/api/projects").get_json()
    assert created == listed
    assert created["labels"][-1] == {**WEAPON, "retired": False}
    assert [label["kind"] for label in created["labels"]] == ["region", "count", "category", "text"]
    assert (created["lang"], created["annotators_per_sentence"], created["restricted"]) == ("en", 2, False)
    assert created["suggestion_min_score"] == 0


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "name is required"),
        ({"name": 5}, 400, "name must be a string"),
        ({"name": "p", "annotators_per_sentence": "2"}, 400, "annotators_per_sentence must be an integer"),
        ({"name": "p", "annotators_per_sentence": True}, 400, "annotators_per_sentence must be an integer"),
        ({"name": "p", "restricted": 1}, 400, "restricted must be true or false"),
        ({"name": "p", "labels": "REGION"}, 400, "labels must be a list"),
        ({"name": "p", "colour": "red"}, 400, "Unknown field(s) 'colour'"),
        ({"name": "a/b"}, 422, "project name 'a/b' is not allowed"),
        ({"name": "p", "lang": "zz"}, 422, "there is no spaCy tokenizer"),
        ({"name": "p", "annotators_per_sentence": 21}, 422, "from 1 to 20"),
        ({"name": "p", "annotators_per_sentence": 3}, 422, "3 annotators per sentence, but there are 2"),
        ({"name": "p", "labels": [{"name": "X", "kind": "text", "key": "n"}]}, 422, "key 'n' is taken"),
        ({"name": "p", "labels": [{"name": "X", "kind": 1}]}, 422, "label 'X': kind must be a string"),
        ({"name": "p", "labels": [{"name": "X", "kind": ["text"]}]}, 422, "label 'X': kind must be a string"),
        ({"name": "p", "labels": [{"name": "X", "kind": {"text": True}}]}, 422, "label 'X': kind must be a string"),
        ({"name": "Incidents"}, 409, "a project named 'Incidents' exists already"),
    ],
)
def test_project_create_api_refusals(admin, db, annotators, body, status, message):
    assert admin.post("/api/projects", json={"name": "incidents"}).status_code == 201
    response = admin.post("/api/projects", json=body)
    error = response.get_json()
    assert response.status_code == status and message in error["message"], error
    assert error["message"].startswith("No project was created") or status == 400
    conforms(error, "Error")
    assert projects(db) == ["incidents"]


def test_project_create_api_is_for_admins_with_a_token_or_a_csrf_header(app, admin, login, db, annotators):
    assert login("carl").post("/api/projects", json={"name": "p"}).status_code == 403
    assert login("rita", "reviewer").post("/api/projects", json={"name": "p"}).status_code == 403
    assert admin.client.post("/api/projects", json={"name": "p"}).status_code == 400  # a cookie without X-CSRFToken
    assert app.test_client().post("/api/projects", json={"name": "p"}).status_code == 401
    assert projects(db) == []
    token = issue_api_token(get_user(db, "root"))
    db.commit()
    scripted = app.test_client().post("/api/projects", json={"name": "p"}, headers={"Authorization": f"Bearer {token}"})
    assert scripted.status_code == 201
    assert projects(db) == ["p"]


# --- One project, whichever edge makes it ---------------------------------------------------


def test_project_create_form_cli_and_api_make_the_same_project(admin, runner, db, tmp_path, make_user):
    make_user("ann")  # one annotator: each project asks for 1 per sentence
    labels = [*default_scheme(), WEAPON]
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(labels))
    guidelines = tmp_path / "guidelines.md"
    guidelines.write_text(GUIDELINES)
    settings = {"lang": "uk", "annotators_per_sentence": 1}
    form = admin.post("/admin/new-project", data=form_data("by-form", lang="uk", annotators_per_sentence="1"))
    assert form.status_code == 302
    cli = runner.invoke(
        args=["projects", "create", "by-cli", "--lang", "uk", "--annotators-per-sentence", "1"]
        + ["--labels", str(path), "--guidelines", str(guidelines)]
    )
    assert cli.exit_code == 0, cli.output
    api = admin.post("/api/projects", json={"name": "by-api", **settings, "labels": labels, "guidelines": GUIDELINES})
    assert api.status_code == 201, api.get_json()
    made = [stored(db, name) for name in ("by-form", "by-cli", "by-api")]
    assert [m.pop("name") for m in made] == ["by-form", "by-cli", "by-api"]
    assert made[0] == made[1] == made[2]
    assert made[0]["lang"] == "uk" and made[0]["labels"][-1]["name"] == "WEAPON"
    restricted = [
        admin.post("/admin/new-project", data=form_data("r-form", restricted="y")).status_code,
        runner.invoke(args=["projects", "create", "r-cli", "--restricted"]),
        admin.post("/api/projects", json={"name": "r-api", "restricted": True}).status_code,
    ]
    cli = restricted[1]
    assert "Warning: 2 annotators per sentence, but the project is restricted to 0 active members" in cli.output
    assert [restricted[0], cli.exit_code, restricted[2]] == [302, 0, 201]
    assert {stored(db, n)["restricted"] for n in ("r-form", "r-cli", "r-api")} == {True}
    assert db.scalar(select(func.count()).select_from(ProjectMember)) == 0
