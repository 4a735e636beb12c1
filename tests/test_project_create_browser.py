"""Done when, in real Chromium: an admin creates a project with a fourth label of kind ``text`` in the
New project form, uploads a report, an annotator labels a sentence with the new label by its key,
and the export holds the span in the DocBin and in annotations.jsonl."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from spacy.tokens import DocBin

from tests.helpers import serious_violations

pytestmark = pytest.mark.browser

REPORT = Path(__file__).parents[1] / "docs" / "examples" / "incident-report.txt"  # the README's example report
WEAPON_LINE = "WEAPON | text | w | #cdb4db | Weapons named in the report"


def token(page, text):
    return page.locator("#sentence .tok", has_text=re.compile("^" + re.escape(text) + "$")).first


def drag_over(page, text):
    """Select one token with the mouse, as a person does."""
    expect(page.locator("#labeller[data-pending]")).to_have_count(0)
    box = token(page, text).bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2, steps=4)
    page.mouse.up()


def test_project_create_browser_fourth_label_from_form_to_export(browser, page, live_app, browser_login, nlp):
    live_app.config["RULE_SUGGESTIONS"] = False  # the page shows only what the annotator marks
    annotator_context = browser.new_context(viewport={"width": 1280, "height": 800})
    annotator = annotator_context.new_page()
    browser_login(annotator, "ann")  # an open project asks for people who can annotate it
    base = live_app.base_url

    # The admin creates the project from the New project link, with one more line of labels.
    browser_login(page, "root", "admin")
    page.get_by_role("link", name="New project").click()
    page.fill("input[name=name]", "weapons")
    page.fill("input[name=annotators_per_sentence]", "1")
    labels = page.locator("textarea[name=labels]")
    expect(labels).to_have_value(re.compile(r"^REGION \| region \| r \|"))
    labels.fill(labels.input_value().rstrip("\n") + "\n" + WEAPON_LINE + "\n")
    page.screenshot(path="/tmp/new-project.png", full_page=True)
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(f"{base}/admin/projects/weapons")
    expect(page.locator(".flash-success")).to_contain_text("Created project weapons.")
    expect(page.locator("#staffing-warning")).to_have_count(0)

    # ... and uploads the report on the project's page (the annotator field only with the choice that takes it).
    expect(page.locator("#upload input[name=annotator]")).to_be_hidden()
    page.select_option("select[name=spans_as]", "annotator")
    expect(page.locator("#upload input[name=annotator]")).to_be_visible()
    page.select_option("select[name=spans_as]", "annotations")
    assert serious_violations(page) == []
    page.set_input_files("input[name=files]", str(REPORT))
    page.locator("#upload button[type=submit]").click()
    expect(page.locator(".flash-success")).to_contain_text("Imported incident-report.txt")

    # The annotator sees the new label in the legend and labels a weapon with its key.
    annotator.goto(f"{base}/projects/weapons/label")
    expect(annotator.locator("#legend .label-chip[data-label=WEAPON]")).to_contain_text("w")
    expect(token(annotator, "UAVs")).to_be_visible()
    first = annotator.locator("#sentence").evaluate("el => el.textContent")
    drag_over(annotator, "UAVs")
    annotator.keyboard.press("w")
    expect(annotator.locator("mark.span[data-label=WEAPON]")).to_have_text("UAVs")
    annotator.keyboard.press("Enter")
    expect(annotator.locator("#sentence")).not_to_have_text(first)
    annotator_context.close()

    # The export, from the export page: the WEAPON span in the DocBin and in annotations.jsonl.
    page.goto(f"{base}/projects/weapons/export")
    page.select_option("select[name=policy]", "annotator")
    page.fill("input[name=annotator]", "ann")
    page.fill("input[name=dev_fraction]", "0")
    page.get_by_role("button", name="Export").click()
    expect(page.locator(".flash-success")).to_contain_text("Exported 1 train")
    (export,) = Path(live_app.config["EXPORTS_DIR"]).iterdir()
    (doc,) = DocBin().from_disk(export / "train.spacy").get_docs(nlp.vocab)
    assert doc.text == first
    assert [(ent.text, ent.label_) for ent in doc.ents] == [("UAVs", "WEAPON")]
    (record,) = [json.loads(line) for line in (export / "annotations.jsonl").read_text(encoding="utf-8").splitlines()]
    spans = [(record["text"][s["start"] : s["end"]], s["label"]) for s in record["spans"]]
    assert spans == [("UAVs", "WEAPON")]
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    assert "WEAPON" in json.dumps(manifest)
