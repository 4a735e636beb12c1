"""Adjudication in real Chromium: keys resolve conflicts, Enter saves gold and moves on."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from annotator.models import GoldAnnotation, User
from tests.test_review import XSS, build_project


def gold_of(db, sentence_id):
    db.rollback()
    gold = db.scalar(select(GoldAnnotation).where(GoldAnnotation.sentence_id == sentence_id))
    assert gold is not None, f"no gold for sentence {sentence_id}"
    return {(s.start_char, s.end_char, s.label): (s.provenance, s.reason, s.decided_by) for s in gold.spans}


@pytest.mark.browser
def test_review_browser_adjudicate_with_keys(live_app, live_db, page, browser_login):
    ids = build_project(live_db)
    base = live_app.base_url
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None)
    browser_login(page, "rev", "reviewer")
    reviewer = live_db.scalar(select(User).where(User.username == "rev")).id

    page.goto(f"{base}/projects/incidents/review")
    page.screenshot(path="/tmp/review-dashboard.png", full_page=True)
    page.goto(f"{base}/projects/incidents/review/disagreements")
    page.screenshot(path="/tmp/review-disagreements.png", full_page=True)
    page.goto(f"{base}/projects/incidents/review")
    page.click("#start-review")

    # s2 first: bob flagged it. One conflict: ann's OUTCOME; take ann's version (a), Enter saves.
    page.wait_for_url(f"{base}/projects/incidents/review/{ids['s2']}")
    assert page.locator(".conflict").count() == 1
    page.keyboard.press("a")
    assert page.locator("#gold-preview mark").count() == 3
    page.keyboard.press("Enter")

    # s3 next (presence, worse than s1's boundary). Its script-tag text shows as text. Drop with d.
    page.wait_for_url(f"{base}/projects/incidents/review/{ids['s3']}")
    assert page.locator("#sentence-text").text_content() == XSS
    page.keyboard.press("d")
    assert page.locator("#gold-preview").text_content() == XSS
    page.keyboard.press("Enter")

    # s1: take bob's "Kyiv oblast" (b) with the reason "boundary".
    page.wait_for_url(f"{base}/projects/incidents/review/{ids['s1']}")
    page.keyboard.press("Enter")  # nothing decided yet: refused with a message
    assert "Resolve conflict 1" in page.locator("#review-status").text_content()
    page.select_option("#reason", "boundary")
    page.locator("#sentence-text").click()
    page.keyboard.press("b")
    assert page.locator(".conflict .choice.chosen").text_content().strip().startswith("b")
    page.screenshot(path="/tmp/review-adjudicate.png", full_page=True)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/projects/incidents/review/{ids['s4']}")  # needs_review, last

    assert gold_of(live_db, ids["s2"]) == {
        (0, 5, "COUNT"): ("unanimous", None, None),
        (20, 31, "OUTCOME"): ("adjudicated", "guideline", reviewer),
        (37, 41, "REGION"): ("unanimous", None, None),
    }
    assert gold_of(live_db, ids["s3"]) == {}
    assert gold_of(live_db, ids["s1"]) == {
        (0, 3, "COUNT"): ("unanimous", None, None),
        (15, 26, "REGION"): ("adjudicated", "boundary", reviewer),
    }
    assert errors == []


@pytest.mark.browser
def test_review_browser_edit_a_conflict(live_app, live_db, page, browser_login):
    ids = build_project(live_db)
    browser_login(page, "rev", "reviewer")
    page.goto(f"{live_app.base_url}/projects/incidents/review/{ids['s1']}")
    page.keyboard.press("e")
    rows = page.locator(".editor .edit-row")
    assert rows.count() == 2  # "Kyiv" and "Kyiv oblast"
    rows.nth(0).locator("input[type=checkbox]").check()
    rows.nth(0).locator("input[type=text]").fill("Kyiv Oblast")
    page.click("text=Use these spans")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_app.base_url}/projects/incidents/review/{ids['s2']}")
    stored = gold_of(live_db, ids["s1"])
    assert set(stored) == {(0, 3, "COUNT"), (15, 19, "REGION")}
    assert stored[(15, 19, "REGION")][0] == "adjudicated"  # the value differs from every annotator's
