"""Admins edit a project's label scheme: add, change, reorder, retire, delete; the labelling page and API follow."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from annotator.models import AuditEvent, Project, Suggestion
from annotator.services.annotations import save_annotation
from tests.helpers import make_project, sentences_of, users

ROUTES = ("", "/edit", "/move", "/retire", "/restore", "/delete")


@pytest.fixture
def admin(login):
    return login("root", "admin")


def _labels(db, name="incidents") -> list[dict]:
    db.rollback()  # end the read transaction: see what the requests committed
    return db.scalar(select(Project).where(Project.name == name).execution_options(populate_existing=True)).labels


def _names(db) -> list[str]:
    return [label["name"] for label in _labels(db)]


def _post(client, route, **data):
    return client.post(f"/admin/projects/incidents/labels{route}", data=data, follow_redirects=True)


def _actions(db) -> list[str]:
    db.rollback()
    return list(db.scalars(select(AuditEvent.action).where(AuditEvent.action.like("label.%")).order_by(AuditEvent.id)))


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_label_admin_is_403_for_non_admins(login, project, role, db):
    client = login("someone", role)
    for route in ROUTES:
        response = client.post(f"/admin/projects/incidents/labels{route}", data={"label": "REGION", "name": "X"})
        assert response.status_code == 403, route
    assert _names(db) == ["REGION", "COUNT", "OUTCOME"]


def test_label_admin_forms_need_the_csrf_token(admin, project, db):
    response = admin.client.post("/admin/projects/incidents/labels", data={"name": "NOTE", "kind": "text"})
    assert response.status_code == 400
    assert _names(db) == ["REGION", "COUNT", "OUTCOME"]


def test_label_admin_page_shows_the_scheme_with_its_forms(admin, project):
    page = admin.get("/admin/projects/incidents").get_data(as_text=True)
    assert 'id="labels"' in page
    assert page.count('action="/admin/projects/incidents/labels/edit"') == 3
    assert 'action="/admin/projects/incidents/labels"' in page
    assert 'name="csrf_token"' in page


def test_label_admin_add_change_move_retire_delete(admin, project, db):
    response = _post(admin, "", name="NOTE", kind="text", colour="#abc", key="m", description="anything else")
    assert response.status_code == 200
    assert "Label NOTE added" in response.get_data(as_text=True)
    assert _labels(db)[-1] == {
        "name": "NOTE",
        "kind": "text",
        "colour": "#abc",
        "key": "m",
        "description": "anything else",
        "retired": False,
    }

    _post(admin, "/edit", label="NOTE", name="NOTE", kind="text", colour="#112233", key="q", description="Other.")
    assert _labels(db)[-1]["colour"] == "#112233"
    assert _labels(db)[-1]["key"] == "q"
    assert _labels(db)[-1]["description"] == "Other."

    _post(admin, "/move", label="NOTE", direction="up")
    assert _names(db) == ["REGION", "COUNT", "NOTE", "OUTCOME"]
    _post(admin, "/move", label="REGION", direction="up")  # at the top already: nothing moves
    assert _names(db) == ["REGION", "COUNT", "NOTE", "OUTCOME"]
    _post(admin, "/move", label="REGION", direction="down")
    assert _names(db) == ["COUNT", "REGION", "NOTE", "OUTCOME"]

    _post(admin, "/retire", label="NOTE")
    assert _labels(db)[2]["retired"] is True
    _post(admin, "/restore", label="NOTE")
    assert _labels(db)[2]["retired"] is False

    response = _post(admin, "/delete", label="NOTE")
    assert "Label NOTE deleted" in response.get_data(as_text=True)
    assert _names(db) == ["COUNT", "REGION", "OUTCOME"]
    assert _actions(db) == [
        "label.add",
        "label.edit",
        "label.move",
        "label.move",
        "label.retire",
        "label.restore",
        "label.delete",
    ]


@pytest.mark.parametrize(
    "route, data, message",
    [
        ("", {"name": "NOTE", "kind": "text", "key": "y"}, "taken by a command"),
        ("", {"name": "region", "kind": "text"}, "same label name"),
        ("", {"name": "bad name!", "kind": "text"}, "letters, digits"),
        ("", {"name": "NOTE", "kind": "colour"}, "Not a valid choice"),
        ("", {"name": "NOTE", "kind": "text", "colour": "red"}, "colour must be"),
        ("", {"name": "", "kind": "text"}, "A label needs a name"),
        ("/edit", {"label": "NOPE", "name": "X", "kind": "text"}, "has no label"),
        ("/edit", {"label": "REGION", "name": "COUNT", "kind": "region"}, "same label name"),
        ("/move", {"label": "REGION", "direction": "sideways"}, "up or down"),
        ("/retire", {}, "Labels not changed"),
        ("/delete", {"label": "NOPE"}, "has no label"),
    ],
)
def test_label_admin_refuses_bad_changes_and_changes_nothing(admin, project, db, route, data, message):
    response = _post(admin, route, **data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Labels not changed" in page
    assert message in page
    assert _names(db) == ["REGION", "COUNT", "OUTCOME"]
    assert _actions(db) == []


def test_label_admin_last_offered_label_cannot_be_retired(admin, project, db):
    _post(admin, "/retire", label="REGION")
    _post(admin, "/retire", label="COUNT")
    page = _post(admin, "/retire", label="OUTCOME").get_data(as_text=True)
    assert "at least one label that is not retired" in page
    assert [label["retired"] for label in _labels(db)] == [True, True, False]


def test_label_admin_a_label_in_use_is_retired_not_deleted_and_keeps_its_kind(admin, project, db):
    (alice,) = users(db, "alice")
    first = sentences_of(db, project)[0]
    save_annotation(db, first, alice, "done", [{"start_char": 0, "end_char": 5, "label": "COUNT"}])
    db.commit()
    page = admin.get("/admin/projects/incidents").get_data(as_text=True)
    assert "fixed: spans have it" in page
    page = _post(admin, "/delete", label="COUNT").get_data(as_text=True)
    assert "retire it instead" in page
    page = _post(admin, "/edit", label="COUNT", name="COUNT", kind="text").get_data(as_text=True)
    assert "its kind stays &#39;count&#39;" in page
    assert _names(db) == ["REGION", "COUNT", "OUTCOME"]
    assert _labels(db)[1]["kind"] == "count"
    # An unused label may change kind, and be deleted with its stored suggestions.
    db.add(Suggestion(sentence_id=first.id, start_char=33, end_char=38, label="REGION", source="import"))
    db.commit()
    _post(admin, "/edit", label="REGION", name="REGION", kind="text", colour="#8ecae6", key="r")
    assert _labels(db)[0]["kind"] == "text"
    _post(admin, "/delete", label="REGION")
    assert _names(db) == ["COUNT", "OUTCOME"]
    assert db.scalars(select(Suggestion)).all() == []


def test_label_admin_retired_label_is_offered_for_no_new_span(admin, login, project, db):
    ann = login("ann")
    first = sentences_of(db, project)[0]
    saved = ann.put(
        f"/api/sentences/{first.id}/annotation",
        json={"status": "done", "spans": [{"start_char": 0, "end_char": 5, "label": "COUNT"}]},
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)
    _post(admin, "/retire", label="COUNT")

    page = ann.get("/projects/incidents/label").get_data(as_text=True)
    assert 'data-label="COUNT"' not in page  # not in the legend, so no key or number picks it
    assert 'data-label="REGION"' in page
    assert "&#34;COUNT&#34;" in page  # the scheme the page draws existing spans with still has it

    # The span it has is kept on a new save; a new span of the retired label is refused.
    version = saved.get_json()["annotation"]["version"]
    kept = [{"start_char": 0, "end_char": 5, "label": "COUNT"}]
    again = ann.put(
        f"/api/sentences/{first.id}/annotation",
        json={"status": "done", "spans": kept, "base_version": version},
    )
    assert again.status_code == 200, again.get_data(as_text=True)
    refused = ann.put(
        f"/api/sentences/{first.id}/annotation",
        json={
            "status": "done",
            "spans": [*kept, {"start_char": 6, "end_char": 12, "label": "COUNT"}],
            "base_version": again.get_json()["annotation"]["version"],
        },
    )
    assert refused.status_code in (400, 422)
    assert "retired" in refused.get_data(as_text=True)
    # Suggestions of a retired label are not offered.
    suggestions = ann.get(f"/api/sentences/{first.id}").get_json()["suggestions"]
    assert suggestions and all(s["label"] != "COUNT" for s in suggestions)


def test_label_admin_retired_label_is_marked_for_the_adjudication_editor(db, project):
    """The reviewer's span editor keeps a retired label's colour on old spans but offers it for no new one."""
    from annotator.services.adjudication import adjudication_view
    from annotator.services.label_scheme import set_retired

    set_retired(db, project, "OUTCOME", True, None)
    db.flush()
    sentence = sentences_of(db, project)[0]
    info = {label["name"]: label for label in adjudication_view(db, project, sentence)["label_info"]}
    assert info["OUTCOME"]["retired"] is True
    assert info["REGION"]["retired"] is False and info["OUTCOME"]["colour"]


@pytest.mark.browser
def test_label_admin_page_shows_field_values_in_normal_weight(page, live_app, live_db, browser_login):
    """The labels' names, colours and descriptions are values, not captions: not in the label's bold."""
    make_project(live_db)
    browser_login(page, "root", "admin")
    page.goto(f"{live_app.base_url}/admin/projects/incidents")
    weights = page.locator("#labels input[type=text]").evaluate_all(
        "els => els.map((e) => getComputedStyle(e).fontWeight)"
    )
    assert weights and set(weights) == {"400"}
    assert page.locator("#labels .label-edit label").first.evaluate("e => getComputedStyle(e).fontWeight") == "600"


@pytest.mark.browser
def test_label_admin_page_gives_each_description_the_row_width(page, live_app, live_db, browser_login):
    """A label's description is a sentence: its field takes the width of the label's row instead of being an
    inline field a few words wide, which cut the default scheme's descriptions off after four or five words."""
    make_project(live_db)
    browser_login(page, "root", "admin")
    page.goto(f"{live_app.base_url}/admin/projects/incidents")
    fields = page.locator("#labels .label-edit input[name=description]")
    expect(fields).to_have_count(3)
    for field, row in fields.evaluate_all("els => els.map((e) => [e.offsetWidth, e.closest('form').clientWidth])"):
        assert field >= 0.9 * row
    added = page.locator(".label-add input[name=description]")
    assert added.evaluate("e => e.offsetWidth") >= 0.9 * added.evaluate("e => e.closest('form').clientWidth")
