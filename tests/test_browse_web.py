"""The corpus browser's page (annotator.web.browse): roles, query strings, links, escaping, and a real browser."""

import re

import pytest

from annotator.models import Report, Sentence
from annotator.services.projects import get_or_create_project
from tests.helpers import XSS, build_project


@pytest.fixture
def paged(db):
    """Project "incidents" from build_project plus a report of 120 sentences, 1 in 3 mentioning drones."""
    ids = build_project(db)
    project, _ = get_or_create_project(db, "incidents")
    report = Report(project_id=project.id, text="long", content_hash="z" * 64, meta={})
    db.add(report)
    db.flush()
    for position in range(120):
        text = f"Line {position:03d}" + (" drones" if position % 3 == 0 else "")
        db.add(
            Sentence(project_id=project.id, report_id=report.id, position=position, start_char=0, text=text, tokens=[])
        )
    db.commit()
    return ids


def _rows(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-sentence="(\d+)"', page)]


def _link(page: str, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" id="page-\w+" href="([^"]+)"', page)
    return None if match is None else match.group(1).replace("&amp;", "&")


def test_browse_web_annotators_are_refused_reviewers_and_admins_see_the_page(login, paged):
    assert login("alice").get("/projects/incidents/browse").status_code == 403
    for name, role in (("rita", "reviewer"), ("ada", "admin")):
        response = login(name, role).get("/projects/incidents/browse")
        assert response.status_code == 200
        assert len(_rows(response.get_data(as_text=True))) == 50
    assert login("rob", "reviewer").get("/projects/nope/browse").status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("state=done", "Unknown state"),
        ("label=WEAPON", "no label"),
        ("annotator=nobody", "no user called"),
        ("disagreement=yes", "disagreement"),
        ("after=abc", "page position"),
        ("after=1.2.3", "page position"),
        ("after=99999999999.1", "page position"),
        ("before=-1.0", "page position"),
        ("after=\u0661.2", "page position"),  # an Arabic-Indic digit one
        ("after=1.1&before=2.2", "not both"),
        ("text=" + "x" * 201, "at most 200"),
        ("text=a%00b", "NUL"),
    ],
)
def test_browse_web_bad_query_strings_are_400_with_a_message(login, paged, query, message):
    response = login("rita", "reviewer").get(f"/projects/incidents/browse?{query}")
    assert response.status_code == 400
    assert message.lower() in response.get_data(as_text=True).lower()


def test_browse_web_next_and_previous_links_walk_every_row_once(login, paged, db):
    client = login("rita", "reviewer")
    url, seen, pages = "/projects/incidents/browse?text=drones", [], []
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append(page)
        seen += _rows(page)
        assert "text=drones" in (_link(page, "next") or "text=drones")  # the filter rides along
        url = _link(page, "next")
    assert len(seen) == len(set(seen)) == 40 + 1  # 40 "drones" lines and s1 ("Two drones hit ...")
    assert _link(pages[0], "prev") is None and len(pages) == 1
    url, seen, pages = "/projects/incidents/browse", [], []
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append(page)
        seen += _rows(page)
        url = _link(page, "next")
    assert len(pages) == 3 and len(seen) == len(set(seen)) == 4 + 120
    back = client.get(_link(pages[-1], "prev")).get_data(as_text=True)
    assert _rows(back) == _rows(pages[1])
    assert _rows(client.get(_link(back, "prev")).get_data(as_text=True)) == _rows(pages[0])


def test_browse_web_escapes_report_text_and_links_each_row_to_its_versions(login, paged):
    page = login("rita", "reviewer").get("/projects/incidents/browse?text=script").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    sentence_id = _rows(page)[0]
    assert f'href="/projects/incidents/review/{sentence_id}"' in page
    assert XSS.rsplit(">", 1)[1] in page  # the rest of the text is shown


def test_browse_web_dashboard_and_admin_page_link_to_the_browser(login, paged):
    admin = login("ada", "admin")
    for url in ("/projects/incidents/review", "/admin/projects/incidents"):
        assert 'href="/projects/incidents/browse"' in admin.get(url).get_data(as_text=True)


def test_browse_web_filters_and_pages_in_chromium(live_app, live_db, page, browser_login):
    ids = build_project(live_db)
    project, _ = get_or_create_project(live_db, "incidents")
    report = Report(project_id=project.id, text="long", content_hash="z" * 64, meta={})
    live_db.add(report)
    live_db.flush()
    for position in range(120):
        text = f"Line {position:03d}" + (" drones" if position % 2 else "")
        live_db.add(
            Sentence(project_id=project.id, report_id=report.id, position=position, start_char=0, text=text, tokens=[])
        )
    live_db.commit()
    browser_login(page, "rita", "reviewer")
    page.goto(f"{live_app.base_url}/projects/incidents/review")
    page.click("#browse-link")
    page.fill("input[name=text]", "drones")
    page.click("#browse-filters button[type=submit]")
    page.wait_for_url(re.compile(r"text=drones"))
    rows = page.locator("#browse-rows tbody tr")
    assert rows.count() == 50
    first = rows.first.get_attribute("data-sentence")
    assert first == str(ids["s1"])  # "Two drones hit Kyiv ..." comes first in reading order
    page.click("#page-next")
    page.wait_for_url(re.compile(r"after="))
    second = [rows.nth(i).inner_text() for i in range(rows.count())]
    assert len(second) == 11 and all("drones" in row for row in second)  # 1 + 60 rows in all
    assert page.locator("#page-next").count() == 0
    page.click("#page-previous")
    page.wait_for_url(re.compile(r"before="))
    assert rows.first.get_attribute("data-sentence") == first
    page.fill("input[name=text]", "")
    page.select_option("select[name=state]", "flagged")
    page.click("#browse-filters button[type=submit]")
    page.wait_for_url(re.compile(r"state=flagged"))
    assert [rows.nth(i).get_attribute("data-sentence") for i in range(rows.count())] == [str(ids["s2"])]
    assert "flagged" in rows.first.inner_text()
    rows.first.get_by_role("link", name="Versions and gold").click()
    page.wait_for_url(f"{live_app.base_url}/projects/incidents/review/{ids['s2']}")
