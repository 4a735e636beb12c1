"""In real Chromium: a span's value field offers values by its label's kind, and a retired label is not offered."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from annotator.models import Project
from annotator.records import ReportRecord
from annotator.services.corpus import import_reports
from annotator.services.label_scheme import set_retired
from annotator.services.projects import get_or_create_project

pytestmark = pytest.mark.browser

SENTENCE = "Forty drones were shot down over Kursk."
SCHEME = [
    {"name": "PLACE", "kind": "region", "colour": "#8ecae6", "key": "r", "description": "where"},
    {"name": "HOWMANY", "kind": "count", "colour": "#ffb703", "key": "c", "description": "how many"},
    {"name": "RESULT", "kind": "category", "colour": "#95d5b2", "key": "o", "description": "what happened"},
    {"name": "NOTE", "kind": "text", "colour": "#cdb4db", "key": "m", "description": "anything"},
]


@pytest.fixture(autouse=True)
def no_rule_suggestions(live_app):
    live_app.config["RULE_SUGGESTIONS"] = False


def _project(live_db) -> Project:
    project, _ = get_or_create_project(live_db, "own")
    project.labels = SCHEME
    import_reports(live_db, project, "test", [ReportRecord(text=SENTENCE)])
    live_db.commit()
    return project


def _label(page, word: str, key: str) -> None:
    expect(page.locator("#labeller[data-pending]")).to_have_count(0)
    page.locator("#sentence .tok", has_text=re.compile(f"^{word}$")).first.click()
    page.keyboard.press(key)
    expect(page.locator("#labeller[data-pending]")).to_have_count(0)


def _offered(page, typed: str) -> list[str]:
    """The options of the value field's list that match what was typed, as Chromium filters them (substring, any case)."""
    return page.locator("#editor-value").evaluate(
        "(el, typed) => Array.from(el.list ? el.list.options : [], (o) => o.value)"
        ".filter((v) => v.toLowerCase().includes(typed.toLowerCase()))",
        typed,
    )


def test_value_entry_browser_region_offers_canonical_names_as_you_type(page, live_app, live_db, browser_login):
    _project(live_db)
    browser_login(page, "ann")
    page.goto(f"{live_app.base_url}/projects/own/label")
    expect(page.locator("#sentence .tok").first).to_be_visible()

    _label(page, "Kursk", "r")
    expect(page.locator("mark.span[data-label=PLACE]")).to_have_text("Kursk")
    page.locator("mark.span[data-label=PLACE]").click()
    expect(page.locator("#editor")).to_be_visible()
    value = page.locator("#editor-value")
    expect(value).to_be_visible()
    value.fill("")
    value.press_sequentially("Kurs")
    offered = _offered(page, "Kurs")
    assert "Kursk Oblast" in offered
    assert all("kurs" in name.lower() for name in offered)
    assert "Kyiv" in _offered(page, "")  # every canonical name is listed; the browser narrows them
    value.fill("Kursk Oblast")
    page.keyboard.press("Escape")

    # A count label offers nothing to pick from.
    _label(page, "Forty", "c")
    page.locator("mark.span[data-label=HOWMANY]").click()
    expect(page.locator("#editor-value")).to_be_visible()
    assert _offered(page, "") == []


def test_value_entry_browser_retired_label_is_not_offered(page, live_app, live_db, browser_login):
    project = _project(live_db)
    set_retired(live_db, project, "NOTE", True, None)
    live_db.commit()
    browser_login(page, "ann")
    page.goto(f"{live_app.base_url}/projects/own/label")
    expect(page.locator("#sentence .tok").first).to_be_visible()

    expect(page.locator("#legend .label-chip")).to_have_count(3)
    expect(page.locator("#legend .label-chip[data-label=NOTE]")).to_have_count(0)
    expect(page.locator("#editor-label option[value=NOTE]")).to_have_count(0)

    page.locator("#sentence .tok", has_text=re.compile("^drones$")).first.click()
    page.keyboard.press("m")  # NOTE's key picks nothing
    page.keyboard.press("4")  # nor does a fourth number
    expect(page.locator("mark.span")).to_have_count(0)
