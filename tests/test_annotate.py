"""The labelling page shell: access, guideline rendering, no inline script (test client, both backends)."""

from __future__ import annotations

import re

import pytest

from annotator.models import ProjectMember, User
from annotator.records import ReportRecord
from annotator.services.corpus import import_reports
from annotator.services.projects import add_guideline_version, get_or_create_project


@pytest.fixture
def project(db):
    project, _ = get_or_create_project(db, "drones")
    import_reports(
        db,
        project,
        "test",
        [ReportRecord(text="Над Белгородом  сбили 🚀 два дрона. Forty drones were destroyed over Kaluga Oblast.")],
    )
    db.commit()
    return project


def test_annotate_label_requires_login(app, project):
    response = app.test_client().get("/projects/drones/label")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_annotate_label_renders_shell(login, project):
    client = login("ann")
    response = client.get("/projects/drones/label")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="labeller"' in page
    for name in ("REGION", "COUNT", "OUTCOME"):
        assert f'data-label="{name}"' in page
    assert 'data-key="r"' in page and 'data-colour="#8ecae6"' in page
    assert "/api/projects/drones/next" in page
    assert 'name="csrf-token"' in page
    assert "label.js" in page and "label.css" in page


def test_annotate_label_unknown_project_is_404(login, project):
    assert login("ann").get("/projects/nope/label").status_code == 404


def test_annotate_label_restricted_project_is_403_for_non_members(login, db, project):
    project.restricted = True
    db.commit()
    client = login("outsider")
    assert client.get("/projects/drones/label").status_code == 403
    member = login("member")
    user = db.query(User).filter_by(username="member").one()
    db.add(ProjectMember(project_id=project.id, user_id=user.id))
    db.commit()
    assert member.get("/projects/drones/label").status_code == 200


def test_annotate_revisit_needs_own_annotation(login, db, project):
    client = login("ann")
    sentence_id = project.reports[0].sentences[0].id
    assert client.get(f"/projects/drones/label/{sentence_id}").status_code == 404
    assert client.get("/projects/drones/label/999999").status_code == 404
    from annotator.services.annotations import save_annotation

    user = db.query(User).filter_by(username="ann").one()
    save_annotation(db, project.reports[0].sentences[0], user, "done", [])
    db.commit()
    page = client.get(f"/projects/drones/label/{sentence_id}")
    assert page.status_code == 200
    assert f'data-sentence-id="{sentence_id}"' in page.get_data(as_text=True)
    history = client.get("/projects/drones/history").get_data(as_text=True)
    assert f"/projects/drones/label/{sentence_id}" in history
    assert "Белгородом" in history


def test_annotate_guideline_markdown_is_escaped(login, db, project):
    add_guideline_version(
        db, project, "# Rules\n\n<script>alert(1)</script>\n\nLabel **places**. <img src=x onerror=alert(2)>", None
    )
    db.commit()
    page = login("ann").get("/projects/drones/label").get_data(as_text=True)
    assert "<h1>Rules</h1>" in page
    assert "<strong>places</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def test_annotate_page_has_no_inline_script_or_style(login, project):
    response = login("ann").get("/projects/drones/label")
    page = response.get_data(as_text=True)
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts, "the page loads its module"
    for tag in scripts:
        assert re.search(r'\bsrc="[^"]+"', tag), f"inline script: {tag}"
    assert not re.findall(r"<script\b[^>]*>\s*[^<\s]", page), "script element with a body"
    assert " style=" not in page
    assert not re.search(r"\son[a-z]+=", page), "inline event handler"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_annotate_normalise_prefills_values(login, project):
    client = login("ann")
    assert client.get("/projects/drones/label/normalise?label=COUNT&text=forty").get_json() == {"value": "40"}
    assert client.get("/projects/drones/label/normalise?label=COUNT&text=two million").get_json() == {
        "value": "2000000"
    }
    assert client.get("/projects/drones/label/normalise?label=REGION&text=Kaluga Oblast").get_json() == {
        "value": "Kaluga Oblast"
    }
    assert client.get("/projects/drones/label/normalise?label=COUNT&text=").get_json() == {"value": None}


def test_annotate_static_modules_are_served(login, project):
    client = login("ann")
    for name in ("label.js", "sentence-view.js", "offsets.js", "api.js", "drafts.js", "label.css"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        response.close()


def test_annotate_history_says_where_each_sentence_is_and_its_spans(login, db, project):
    from annotator.services.annotations import save_annotation

    client = login("ann")
    user = db.query(User).filter_by(username="ann").one()
    import_reports(db, project, "more", [ReportRecord(text="Calm night. Two drones were shot down over Kursk.")])
    report = max(project.reports, key=lambda r: r.number)
    second = next(s for s in report.sentences if s.position == 1)
    spans = [{"start_char": 0, "end_char": 3, "label": "COUNT"}, {"start_char": 31, "end_char": 36, "label": "REGION"}]
    assert second.text[31:36] == "Kursk"
    save_annotation(db, second, user, "done", spans)
    db.commit()
    page = client.get("/projects/drones/history").get_data(as_text=True)
    row = page[page.index(second.text) - 200 :]
    assert f'<td class="where">report {report.number}, sentence 2</td>' in row
    assert '<td class="spans">COUNT «Two», REGION «Kursk»</td>' in row


def test_annotate_history_pages_through_every_annotation_newest_first(login, db, project, monkeypatch):
    from datetime import timedelta

    from annotator.models import utcnow
    from annotator.services.annotations import save_annotation
    from annotator.web import annotate

    client = login("ann")
    user = db.query(User).filter_by(username="ann").one()
    project.annotators_per_sentence = 5
    texts = [f"Drone number {i} was shot down over Kursk." for i in range(5)]
    import_reports(db, project, "more", [ReportRecord(text=t) for t in texts])
    sentences = sorted((s for r in project.reports for s in r.sentences), key=lambda s: s.id)
    start = utcnow()
    for i, sentence in enumerate(sentences):  # 7 annotations, the last saved newest
        save_annotation(db, sentence, user, "done", [], now=start + timedelta(seconds=i))
    db.commit()
    monkeypatch.setattr(annotate, "HISTORY_PAGE", 3)

    def shown(query: str) -> tuple[list[int], str]:
        page = client.get(f"/projects/drones/history{query}").get_data(as_text=True)
        return [int(i) for i in re.findall(r"/projects/drones/label/(\d+)", page)], page

    ids = [s.id for s in reversed(sentences)]
    first, page = shown("")
    assert first == ids[:3] and "1–3 of 7, newest first" in page
    assert 'id="page-older"' in page and 'id="page-newer"' not in page
    second, page = shown("?page=2")
    assert second == ids[3:6] and 'id="page-newer"' in page and 'id="page-older"' in page
    last, page = shown("?page=3")
    assert last == ids[6:] and "7–7 of 7" in page and 'id="page-older"' not in page
    beyond, page = shown("?page=9")
    assert beyond == [] and "There is no page 9: you have 7 annotations" in page
    assert client.get("/projects/drones/history?page=0").status_code == 400
    # A page asked for by a browser gets an error page saying what is wrong, not JSON; a script asking for JSON gets it.
    wrong = client.get("/projects/drones/history?page=x", headers={"Accept": "text/html,*/*;q=0.8"})
    assert wrong.status_code == 400 and wrong.mimetype == "text/html"
    assert "page must be an integer" in wrong.get_data(as_text=True)
    as_json = client.get("/projects/drones/history?page=x", headers={"Accept": "application/json"})
    assert as_json.status_code == 400 and as_json.get_json()["error"] == "bad_request"
