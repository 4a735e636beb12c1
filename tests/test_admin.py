"""Admin pages: users, project settings, members, guidelines, vocabularies, uploads."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from annotator.models import AuditEvent, GazetteerEntry, Guideline, Project, Report, Sentence, User
from annotator.services.projects import can_work_on
from annotator.services.users import check_password, get_user
from tests.helpers import make_project, sentences_of


@pytest.fixture
def admin(login):
    return login("root", "admin")


def audit_actions(db) -> list[str]:
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_admin_pages_are_403_for_non_admins(login, project, role):
    client = login("someone", role)
    assert client.get("/admin/users").status_code == 403
    assert client.get(f"/admin/projects/{project.name}").status_code == 403
    assert (
        client.post("/admin/users", data={"username": "x", "role": "admin", "password": "long enough"}).status_code
        == 403
    )
    assert (
        client.post(
            f"/admin/projects/{project.name}/settings", data={"annotators_per_sentence": 5, "routing": "none"}
        ).status_code
        == 403
    )


def test_admin_pages_need_login(app, project):
    response = app.test_client().get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_creates_a_user_who_can_log_in(app, admin, db):
    response = admin.post("/admin/users", data={"username": "newbie", "role": "reviewer", "password": "s3cret-enough"})
    assert response.status_code == 302
    user = get_user(db, "newbie")
    assert user.role == "reviewer" and check_password(user, "s3cret-enough")
    assert "user.create" in audit_actions(db)
    from tests.conftest import Browserless

    assert Browserless(app, "newbie", "s3cret-enough").get("/").status_code == 200
    page = admin.get("/admin/users").get_data(as_text=True)
    assert 'data-user="newbie"' in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "root", "role": "annotator", "password": "long enough"}, "exists already"),
        ({"username": "x", "role": "annotator", "password": "short"}, "8 to 1,024 characters"),
        ({"username": "x", "role": "annotator", "password": "x" * 1025}, "8 to 1,024 characters"),
        ({"username": "x", "role": "king", "password": "long enough"}, "Not a valid choice"),
    ],
)
def test_admin_create_user_errors_are_shown(admin, db, data, message):
    response = admin.post("/admin/users", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(User)) == 1


def test_admin_changes_role_deactivates_and_resets_password(app, admin, login, db):
    login("ann")
    ann = get_user(db, "ann")
    assert admin.post(f"/admin/users/{ann.id}/role", data={"role": "reviewer"}).status_code == 302
    assert admin.post(f"/admin/users/{ann.id}/password", data={"password": "another password"}).status_code == 302
    assert admin.post(f"/admin/users/{ann.id}/active", data={}).status_code == 302
    db.rollback()  # end the read snapshot
    ann = get_user(db, "ann")
    assert (ann.role, ann.active, check_password(ann, "another password")) == ("reviewer", False, True)
    assert audit_actions(db)[-3:] == ["user.role", "user.password", "user.deactivate"]
    login_page = app.test_client()
    import re

    token = re.search(r'name="csrf-token" content="([^"]+)"', login_page.get("/login").get_data(as_text=True)).group(1)
    refused = login_page.post("/login", data={"username": "ann", "password": "another password", "csrf_token": token})
    assert refused.status_code == 401  # a deactivated account cannot log in
    assert admin.post(f"/admin/users/{ann.id}/active", data={"active": "y"}).status_code == 302
    db.rollback()  # end the read snapshot
    assert get_user(db, "ann").active


def test_admin_cannot_lock_themselves_out(admin, db):
    me = get_user(db, "root")
    admin.post(f"/admin/users/{me.id}/active", data={})
    admin.post(f"/admin/users/{me.id}/role", data={"role": "annotator"})
    db.rollback()  # end the read snapshot
    me = get_user(db, "root")
    assert me.active and me.role == "admin"


def test_admin_user_names_are_escaped(admin, db):
    admin.post(
        "/admin/users", data={"username": "<script>alert(1)</script>", "role": "annotator", "password": "long enough"}
    )
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_admin_project_page_renders_every_section(admin, project):
    page = admin.get(f"/admin/projects/{project.name}").get_data(as_text=True)
    for section in ("upload", "settings", "members", "guidelines", "gazetteer", "outcomes"):
        assert f'id="{section}"' in page
    assert "style=" not in page and "<script>" not in page  # CSP: no inline styles or scripts


def test_admin_upload_form_accepts_the_formats_of_the_table(admin, project):
    from annotator.corpus.formats import accept, extensions_text

    page = admin.get(f"/admin/projects/{project.name}").get_data(as_text=True)
    assert f'accept="{accept()}"' in page and f"Report files ({extensions_text()})" in page
    assert admin.get("/admin/projects/nope").status_code == 404


def test_admin_saves_guidelines_as_a_new_version(admin, login, db, project):
    response = admin.post(
        f"/admin/projects/{project.name}/guidelines", data={"text": "# Rules\n\nLabel <b>only</b> regions."}
    )
    assert response.status_code == 302
    versions = db.scalars(
        select(Guideline.version).where(Guideline.project_id == project.id).order_by(Guideline.version)
    ).all()
    assert versions == [1, 2]
    assert "guideline.add" in audit_actions(db)
    # the same text again makes no new version
    admin.post(f"/admin/projects/{project.name}/guidelines", data={"text": "# Rules\n\nLabel <b>only</b> regions."})
    assert db.scalar(select(func.count()).select_from(Guideline)) == 2
    # annotations now record version 2
    ann = login("ann")
    sentence = sentences_of(db, project)[0]
    saved = ann.put(f"/api/sentences/{sentence.id}/annotation", json={"status": "done", "spans": []}).get_json()
    assert saved["annotation"]["guideline_version"] == 2
    page = admin.get(f"/admin/projects/{project.name}").get_data(as_text=True)
    assert "Label &lt;b&gt;only&lt;/b&gt; regions." in page


def test_admin_changes_settings(admin, db, project):
    response = admin.post(
        f"/admin/projects/{project.name}/settings",
        data={"annotators_per_sentence": 3, "routing": "review", "restricted": "y"},
    )
    assert response.status_code == 302
    db.rollback()  # end the read snapshot
    db.refresh(project)
    assert (project.annotators_per_sentence, project.routing, project.restricted) == (3, "review", True)
    bad = admin.post(
        f"/admin/projects/{project.name}/settings", data={"annotators_per_sentence": 0, "routing": "review"}
    )
    assert bad.status_code == 400 and "Ask for 1 to 20 annotators per sentence." in bad.get_data(as_text=True)
    assert audit_actions(db).count("project.settings") == 1


def test_admin_sets_the_suggestion_threshold(admin, db, project):
    base = {"annotators_per_sentence": 2, "routing": "none"}
    assert (
        admin.post(f"/admin/projects/{project.name}/settings", data={**base, "suggestion_min_score": "0.4"}).status_code
        == 302
    )
    db.rollback()
    db.refresh(project)
    assert project.suggestion_min_score == 0.4
    bad = admin.post(f"/admin/projects/{project.name}/settings", data={**base, "suggestion_min_score": "1.5"})
    assert bad.status_code == 400 and "Give a confidence from 0 (show all) to 1." in bad.get_data(as_text=True)
    db.rollback()
    db.refresh(project)
    assert project.suggestion_min_score == 0.4


def test_admin_adds_and_removes_members(admin, login, db, project):
    login("ann")
    project.restricted = True
    db.commit()
    ann = get_user(db, "ann")
    assert not can_work_on(db, ann, project)
    assert admin.post(f"/admin/projects/{project.name}/members", data={"username": "ann"}).status_code == 302
    db.rollback()  # end the read snapshot
    assert can_work_on(db, ann, project)
    assert 'data-member="ann"' in admin.get(f"/admin/projects/{project.name}").get_data(as_text=True)
    missing = admin.post(f"/admin/projects/{project.name}/members", data={"username": "ghost"})
    assert missing.status_code == 400 and "There is no user" in missing.get_data(as_text=True)
    assert admin.post(f"/admin/projects/{project.name}/members/{ann.id}/remove").status_code == 302
    db.rollback()  # end the read snapshot
    assert not can_work_on(db, ann, project)
    assert audit_actions(db)[-2:] == ["project.member_add", "project.member_remove"]


def test_admin_gazetteer_entry_normalises_regions(admin, login, db):
    project = make_project(db, name="plants", reports=("Drones attacked the ZNPP again.",))
    response = admin.post(
        f"/admin/projects/{project.name}/gazetteer",
        data={"canonical": "Zaporizhzhia NPP", "aliases": "ZNPP, Zaporizhzhia nuclear plant"},
    )
    assert response.status_code == 302
    entry = db.scalar(select(GazetteerEntry))
    assert entry.aliases == ["ZNPP", "Zaporizhzhia nuclear plant"]
    clash = admin.post(f"/admin/projects/{project.name}/gazetteer", data={"canonical": "Somewhere", "aliases": "Kursk"})
    assert clash.status_code == 400 and "already names" in clash.get_data(as_text=True)
    sentence = sentences_of(db, project)[0]
    saved = login("ann").put(
        f"/api/sentences/{sentence.id}/annotation",
        json={"status": "done", "spans": [{"start_char": 20, "end_char": 24, "label": "REGION"}]},
    )
    assert saved.get_json()["annotation"]["spans"][0]["value"] == "Zaporizhzhia NPP"


def test_admin_edits_the_outcome_vocabulary(admin, db, project):
    vocabulary = [
        {"category": "hit", "description": "It hit.", "phrases": ["hit", "struck"]},
        {"category": "missed", "phrases": ["missed"]},
    ]
    response = admin.post(f"/admin/projects/{project.name}/outcomes", data={"vocabulary": json.dumps(vocabulary)})
    assert response.status_code == 302
    db.rollback()  # end the read snapshot
    db.refresh(project)
    assert [e["category"] for e in project.outcomes] == ["hit", "missed"]
    bad = admin.post(f"/admin/projects/{project.name}/outcomes", data={"vocabulary": '[{"category": "x"'})
    assert bad.status_code == 400 and "Not valid JSON: line 1" in bad.get_data(as_text=True)
    clash = admin.post(
        f"/admin/projects/{project.name}/outcomes",
        data={"vocabulary": json.dumps(vocabulary + [{"category": "y", "phrases": ["hit"]}])},
    )
    assert clash.status_code == 400 and "already belongs to" in clash.get_data(as_text=True)
    assert admin.post(f"/admin/projects/{project.name}/outcomes", data={"vocabulary": ""}).status_code == 302
    db.rollback()  # end the read snapshot
    db.refresh(project)
    assert project.outcomes is None


@pytest.mark.parametrize(
    ("vocabulary", "message"),
    [
        ('[{"category": "destroyed\\udc00", "phrases": ["shot down"]}]', "&#39;category&#39; holds an unpaired"),
        ('[{"category": "destroyed", "phrases": ["shot\\ud800 down"]}]', "holds an unpaired surrogate \\ud800"),
        ('[{"category": "destroyed\\u0000", "phrases": ["shot down"]}]', "&#39;category&#39; holds a NUL"),
        ('[{"category": "destroyed", "phrases": ["shot\\u0000 down"]}]', "holds a NUL character"),
        ('[{"category": "d", "description": "a\\udfff", "phrases": ["x"]}]', "&#39;description&#39; holds"),
        (json.dumps([{"category": "c" * 300, "phrases": ["shot down"]}]), "at most 255 characters; this one has 300"),
    ],
)
def test_admin_outcome_vocabulary_refuses_what_cannot_be_shown_or_stored(
    admin, login, db, project, vocabulary, message
):
    response = admin.post(f"/admin/projects/{project.name}/outcomes", data={"vocabulary": vocabulary})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    db.rollback()  # end the read snapshot
    db.refresh(project)
    assert project.outcomes is None
    assert admin.get(f"/admin/projects/{project.name}").status_code == 200
    assert login("ann").get(f"/projects/{project.name}/label").status_code == 200


def test_admin_outcome_vocabulary_stored_with_a_surrogate_is_shown_escaped():
    from annotator.web.project_admin import _outcomes_text

    text = _outcomes_text(Project(outcomes=[{"category": "d\udc00", "description": "Zerstört", "phrases": ["x"]}]))
    assert "d\\udc00" in text and text.encode("utf-8")
    assert "Zerstört" in _outcomes_text(Project(outcomes=[{"category": "d", "description": "Zerstört", "phrases": []}]))


def _files(*pairs):
    return {"files": [(io.BytesIO(data), name) for name, data in pairs]}


def test_admin_upload_imports_reports(admin, db, project):
    before = db.scalar(select(func.count()).select_from(Report))
    data = _files(
        ("more.txt", b"Three drones were shot down over Oryol.\n\nA fire broke out in Bryansk."),
        ("rows.csv", b"text,source\nOne UAV was intercepted.,agency\n"),
    )
    response = admin.post(f"/admin/projects/{project.name}/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    db.rollback()  # end the read snapshot
    assert db.scalar(select(func.count()).select_from(Report)) == before + 3
    assert "corpus.import" in audit_actions(db)


def test_admin_upload_takes_spans_as_suggestions_or_as_one_annotators(admin, db, project):
    """doccano's spans name no annotator: the form says what they become, as the CLI's options do."""
    from annotator.models import Annotation, Suggestion

    url = f"/admin/projects/{project.name}/upload"
    line = json.dumps({"text": "Two drones were shot down over Oryol.", "label": [[31, 36, "REGION"]]}).encode()
    refused = admin.post(url, data=_files(("d.jsonl", line)), content_type="multipart/form-data")
    assert refused.status_code == 400
    assert "the spans here name no annotator" in refused.get_data(as_text=True)
    unnamed = admin.post(
        url, data={**_files(("d.jsonl", line)), "spans_as": "annotator"}, content_type="multipart/form-data"
    )
    assert unnamed.status_code == 400
    assert "Annotator (for that choice): name the annotator of the spans that name none." in unnamed.get_data(
        as_text=True
    )
    as_admin = {**_files(("d.jsonl", line)), "spans_as": "annotator", "annotator": "root"}
    refused_name = admin.post(url, data=as_admin, content_type="multipart/form-data").get_data(as_text=True)
    # The name came from the form: the message says to name another, not to rename one in the file.
    assert "name another annotator for the import, or import the spans as suggestions" in refused_name
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Report).where(Report.text.like("Two drones%"))) == 0

    named = {**_files(("d.jsonl", line)), "spans_as": "annotator", "annotator": " olga "}
    assert admin.post(url, data=named, content_type="multipart/form-data").status_code == 302
    db.rollback()
    owner = db.scalar(select(User.username).join(Annotation, Annotation.user_id == User.id))
    assert owner == "olga"

    other = json.dumps({"text": "A drone fell in Kursk.", "label": [[16, 21, "REGION"]]}).encode()
    suggested = {**_files(("e.jsonl", other)), "spans_as": "suggestions"}
    assert admin.post(url, data=suggested, content_type="multipart/form-data").status_code == 302
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Suggestion)) == 1
    assert db.scalar(select(func.count()).select_from(Annotation)) == 1  # olga's only


def test_admin_upload_of_a_file_named_with_a_control_character_imports_it(admin, db, project):
    # No file system makes such a name; a hand-made request can. The name is only shown and kept as
    # the reports' source, so it is cleaned rather than refused as "source holds a NUL character".
    data = _files(("re\x00po\x1brt.txt", b"Two drones were shot down over Oryol."))
    response = admin.post(f"/admin/projects/{project.name}/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(Report.source).where(Report.text.like("Two drones%"))) == "re\ufffdpo\ufffdrt.txt"


def test_admin_bad_upload_shows_file_and_line_and_imports_nothing(admin, db, project):
    before = db.scalar(select(func.count()).select_from(Sentence))
    data = _files(
        ("good.txt", b"Two drones were shot down."), ("../../etc/bad.jsonl", b'{"text": "fine"}\n{"text": oops}\n')
    )
    response = admin.post(f"/admin/projects/{project.name}/upload", data=data, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "bad.jsonl, line 2" in page and "Nothing was imported" in page and "../" not in page
    db.rollback()  # end the read snapshot
    assert db.scalar(select(func.count()).select_from(Sentence)) == before


def test_admin_upload_of_two_files_with_one_name_is_refused(admin, db, project):
    before = db.scalar(select(func.count()).select_from(Report))
    data = _files(
        ("2024/reports.txt", b"Two drones were shot down."), ("2025/reports.txt", b"A fire broke out in Bryansk.")
    )
    response = admin.post(f"/admin/projects/{project.name}/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and "two files have this name" in response.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Report)) == before


@pytest.mark.parametrize(
    ("name", "message"), [("report.pdf", "unsupported file type .pdf"), ("empty.txt", "the file is empty")]
)
def test_admin_upload_rejects_unsupported_or_empty_files(admin, db, project, name, message):
    data = _files((name, b"" if name == "empty.txt" else b"%PDF-1.4"))
    response = admin.post(f"/admin/projects/{project.name}/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Project)) == 1


def test_admin_upload_too_large_is_413(app, admin, project):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    data = _files(("big.txt", b"Drones. " * 500))
    response = admin.post(f"/admin/projects/{project.name}/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
