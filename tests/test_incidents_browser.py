"""Incidents in real Chromium: two annotators group the same spans differently with the keyboard only,
and the reviewer adjudicates the link disagreement into gold incidents."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from annotator.models import Annotation, GoldAnnotation
from annotator.records import ImportedAnnotation, IncidentRecord, ReportRecord, SpanRecord
from annotator.services.corpus import import_reports
from annotator.services.projects import get_or_create_project

pytestmark = pytest.mark.browser

TWO = "Air defences destroyed 17 UAVs over Kaluga Oblast and 4 over Bryansk Oblast."


@pytest.fixture(autouse=True)
def no_rule_suggestions(live_app):
    live_app.config["RULE_SUGGESTIONS"] = False


def words(incidents) -> list[tuple[str, ...]]:
    return [tuple(TWO[s["start_char"] : s["end_char"]] for s in i["spans"]) for i in incidents]


def press(page, *keys):
    for key in keys:
        page.keyboard.press(key)


def label_spans(page):
    """The five spans, from the keyboard: the word cursor, Shift to extend, label keys."""
    expect(page.locator("#sentence .tok").first).to_be_visible()
    press(page, "ArrowRight", "ArrowRight", "ArrowRight", "o")  # destroyed
    press(page, "ArrowRight", "c")  # 17
    press(page, "ArrowRight", "ArrowRight", "ArrowRight", "Shift+ArrowRight", "r")  # Kaluga Oblast
    press(page, "ArrowRight", "ArrowRight", "c")  # 4
    press(page, "ArrowRight", "ArrowRight", "Shift+ArrowRight", "r")  # Bryansk Oblast
    expect(page.locator("mark.span")).to_have_count(5)


def incident_rows(page):
    return page.locator("#incident-list li.incident:not(.building):not(.proposed) .incident-words")


def test_incidents_browser_label_link_and_adjudicate_with_the_keyboard(live_app, live_db, browser, browser_login):
    project, _ = get_or_create_project(live_db, "drones", annotators_per_sentence=2)
    import_reports(live_db, project, "test", [ReportRecord(text=TWO)])
    live_db.commit()
    errors: list[str] = []
    pages = []
    for name, role in (("ann", "annotator"), ("bob", "annotator"), ("rev", "reviewer")):
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        browser_login(page, name, role)
        pages.append(page)
    ann, bob, rev = pages

    # ann: spans, then two incidents: k on a span starts one, label keys add partners, Enter closes it.
    ann.goto(f"{live_app.base_url}/projects/drones/label")
    label_spans(ann)
    press(ann, "Home", "ArrowRight", "ArrowRight", "ArrowRight", "k", "o", "r", "Enter")  # 17
    press(ann, *["ArrowRight"] * 6, "k", "o", "r", "Enter")  # 4
    expect(incident_rows(ann)).to_have_text(["17 · destroyed · Kaluga Oblast", "4 · destroyed · Bryansk Oblast"])
    expect(ann.locator("mark.span[data-label=COUNT]").first).to_have_attribute("data-tag", re.compile(r"#1$"))
    ann.screenshot(path="/tmp/incidents-label.png", full_page=True)
    press(ann, "Enter")
    expect(ann.locator("#all-done")).to_be_visible()

    # bob: the same spans; links 4 to its outcome only, trying regions and taking them back; undo and redo.
    bob.goto(f"{live_app.base_url}/projects/drones/label")
    label_spans(bob)
    press(bob, "Home", "ArrowRight", "ArrowRight", "ArrowRight", "k", "o", "r", "Enter")
    press(bob, *["ArrowRight"] * 6, "k", "o", "r", "Tab")  # Tab: the next region instead
    expect(bob.locator("#incident-list li.building .incident-words")).to_have_text("4 · destroyed · Kaluga Oblast")
    press(bob, "Backspace", "Enter")
    expect(incident_rows(bob)).to_have_text(["17 · destroyed · Kaluga Oblast", "4 · destroyed"])
    press(bob, "z")
    expect(incident_rows(bob)).to_have_count(1)
    press(bob, "Shift+Z")
    expect(incident_rows(bob)).to_have_count(2)
    press(bob, "Enter")
    expect(bob.locator("#all-done")).to_be_visible()

    live_db.rollback()
    stored = {a.user_id: words(a.incidents) for a in live_db.scalars(select(Annotation))}
    assert sorted(stored.values()) == [
        [("destroyed", "17", "Kaluga Oblast"), ("destroyed", "4")],
        [("destroyed", "17", "Kaluga Oblast"), ("destroyed", "4", "Bryansk Oblast")],
    ]

    # rev: the link disagreement is listed; on its page a takes ann's incidents, Enter saves the gold.
    rev.goto(f"{live_app.base_url}/projects/drones/review/disagreements")
    expect(rev.locator("table.disagreements .tag.type-link")).to_have_count(1)
    rev.goto(f"{live_app.base_url}/projects/drones/review/next")
    expect(rev.locator("#incidents-decision")).to_be_visible()
    expect(rev.get_by_text("Nothing to decide")).to_contain_text("agree on the spans, but their incidents differ")
    rev.locator("#sentence-text").click()
    press(rev, "Enter")  # not decided yet: refused with a message
    expect(rev.locator("#review-status")).to_contain_text("Choose the incidents first")
    press(rev, "a")
    expect(rev.locator("#gold-incidents li")).to_have_text(
        ["17 · destroyed · Kaluga Oblast", "4 · destroyed · Bryansk Oblast"]
    )
    rev.screenshot(path="/tmp/incidents-adjudicate.png", full_page=True)
    press(rev, "Enter")
    rev.wait_for_url(f"{live_app.base_url}/projects/drones/review?done=1")  # the queue is empty

    live_db.rollback()
    gold = live_db.scalar(select(GoldAnnotation))
    assert words(gold.incidents) == [("destroyed", "17", "Kaluga Oblast"), ("destroyed", "4", "Bryansk Oblast")]
    assert [i["provenance"] for i in gold.incidents] == ["unanimous", "adjudicated"]

    # The export's incident table holds the two incidents.
    rev.goto(f"{live_app.base_url}/projects/drones/export")
    rev.fill("input[name=dev_fraction]", "0")
    rev.click("form.export-form button[type=submit]")
    expect(rev.locator(".flash-success")).to_contain_text("Exported 1 train")
    zipped = rev.locator("a[href$='.zip']").first.get_attribute("href")
    table = rev.request.get(f"{live_app.base_url}{zipped[: -len('.zip')]}/incidents.csv")
    assert table.status == 200
    rows = list(csv.DictReader(io.StringIO(table.text())))
    assert [(r["region"], r["count"], r["outcome"]) for r in rows] == [
        ("Kaluga Oblast", "17", "destroyed"),
        ("Bryansk Oblast", "4", "destroyed"),
    ]
    assert errors == []


def _span(word: str, label: str) -> SpanRecord:
    start = TWO.index(word)
    return SpanRecord(start, start + len(word), label)


def _incident(*spans: SpanRecord) -> IncidentRecord:
    return IncidentRecord(tuple(sorted((s.start_char, s.end_char, s.label) for s in spans)))


def test_incidents_browser_a_changed_decision_on_saved_gold_lets_the_keys_take_incidents(
    live_app, live_db, page, browser_login
):
    """With gold saved, its incidents were the preset: after a span decision changes, the same key again
    takes that annotator's incidents, and Enter before that asks for them, so no gold span is left out of
    the incident its annotator made for it."""
    destroyed, seventeen, kaluga = _span("destroyed", "OUTCOME"), _span("17", "COUNT"), _span("Kaluga Oblast", "REGION")
    four, bryansk = _span("4", "COUNT"), _span("Bryansk Oblast", "REGION")
    first = _incident(destroyed, seventeen, kaluga)
    ann = ImportedAnnotation(
        "ann", (destroyed, seventeen, kaluga, bryansk), incidents=(first, _incident(destroyed, bryansk))
    )
    bob = ImportedAnnotation(
        "bob", (destroyed, seventeen, kaluga, four, bryansk), incidents=(first, _incident(destroyed, four, bryansk))
    )
    project, _ = get_or_create_project(live_db, "drones", annotators_per_sentence=2)
    import_reports(live_db, project, "test", [ReportRecord(text=TWO, annotations=(ann, bob))])
    live_db.commit()
    sentence_id = live_db.scalar(select(Annotation.sentence_id))
    browser_login(page, "rev", "reviewer")
    page.goto(f"{live_app.base_url}/projects/drones/review/{sentence_id}")
    press(page, "a", "a", "Enter")  # the first gold: ann's spans, then ann's incidents
    page.wait_for_url(f"{live_app.base_url}/projects/drones/review?done=1")  # the queue is empty
    live_db.rollback()
    assert words(live_db.scalar(select(GoldAnnotation)).incidents) == [
        ("destroyed", "17", "Kaluga Oblast"),
        ("destroyed", "Bryansk Oblast"),
    ]

    page.goto(f"{live_app.base_url}/projects/drones/review/{sentence_id}")
    page.locator("#sentence-text").click()
    press(page, "b")  # bob's "4" after all: the saved gold's incidents no longer stand for the gold
    expect(page.locator("#gold-incidents li")).to_have_text(["not decided yet"])
    press(page, "Enter")
    expect(page.locator("#review-status")).to_contain_text("Choose the incidents first")
    press(page, "b")  # the same key again: bob's incidents
    expect(page.locator("#gold-incidents li")).to_have_text(
        ["17 · destroyed · Kaluga Oblast", "4 · destroyed · Bryansk Oblast"]
    )
    press(page, "Enter")
    page.wait_for_url(f"{live_app.base_url}/projects/drones/review?done=1")
    live_db.rollback()
    gold = live_db.scalar(select(GoldAnnotation))
    assert gold.version == 2
    assert words(gold.incidents) == [("destroyed", "17", "Kaluga Oblast"), ("destroyed", "4", "Bryansk Oblast")]


def test_incidents_browser_proposed_incidents_come_with_the_suggestions_on_a(live_app, live_db, page, browser_login):
    project, _ = get_or_create_project(live_db, "drones", annotators_per_sentence=1)
    import_reports(live_db, project, "test", [ReportRecord(text=TWO)])
    spans = []
    for part, label in (
        ("destroyed", "OUTCOME"),
        ("17", "COUNT"),
        ("Kaluga Oblast", "REGION"),
        (" 4 ", "COUNT"),
        ("Bryansk Oblast", "REGION"),
    ):
        start = TWO.index(part.strip(), TWO.index(part))
        spans.append(SpanRecord(start, start + len(part.strip()), label))
    record = ReportRecord(text=TWO, annotations=(ImportedAnnotation(None, tuple(spans)),))
    import_reports(live_db, project, "suggestions", [record], as_suggestions=True)
    live_db.commit()
    browser_login(page, "ann")
    page.goto(f"{live_app.base_url}/projects/drones/label")
    expect(page.locator("mark.suggestion")).to_have_count(5)
    press(page, "A")  # accept all, do not save: the proposed incidents are taken with the spans
    expect(incident_rows(page)).to_have_text(["17 · destroyed · Kaluga Oblast", "4 · destroyed · Bryansk Oblast"])
    press(page, "z")  # one undo step takes spans and incidents back
    expect(incident_rows(page)).to_have_count(0)
    press(page, "a")
    expect(page.locator("#all-done")).to_be_visible()
    live_db.rollback()
    assert words(live_db.scalar(select(Annotation)).incidents) == [
        ("destroyed", "17", "Kaluga Oblast"),
        ("destroyed", "4", "Bryansk Oblast"),
    ]
