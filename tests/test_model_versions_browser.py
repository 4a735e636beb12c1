"""In real Chromium: a reviewer starts a training run with its learning curve from the models page,
watches its progress, sees its scores and the curve with its verdict, and makes it active; an
annotator then finds the active model's suggestions, with their confidence, on the labelling page."""

from __future__ import annotations

import math
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from annotator.export.curve import curve_verdict
from annotator.models import ModelVersion
from tests.helpers import WAIT, import_trainable

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STEPS = 100  # per run: the model and three shares of the curve; enough for confident spancat suggestions


def test_model_versions_browser_reviewer_trains_with_the_curve_and_the_labelling_page_suggests(
    live_app, live_db, browser, page, browser_login, tmp_path
):
    from annotator.cli import main

    live_app.config["REVIEW_RESAMPLES"] = 50
    cli = live_app.test_cli_runner()
    import_trainable(lambda args: cli.invoke(main, args=args), tmp_path)
    browser_login(page, "rita", "reviewer")

    page.goto(f"{live_app.base_url}/projects/p/review")
    expect(page.locator("#stat-sentences")).to_be_visible()
    expect(page.locator(".learning-curve")).to_have_count(0)  # no version yet: no curve, no error
    page.get_by_role("link", name="Models").first.click()
    expect(page.get_by_text("No model trained yet")).to_be_visible()
    page.select_option("select[name=task]", "spancat")
    page.fill("input[name=max_steps]", str(STEPS))
    page.check("input[name=curve]")
    page.click("#start-run")

    # Live progress: the page polls and writes the latest evaluation into the run's figures.
    expect(page.locator("#run-status")).to_contain_text("Version 1", timeout=WAIT * 1000)
    expect(page.locator("#run-curve")).to_contain_text("of 4 shares")
    expect(page.locator("#run-step")).to_have_text(re.compile(r"^\d+$"), timeout=WAIT * 1000)
    expect(page.locator("#run-f")).to_have_text(re.compile(r"^\d+\.\d$"))

    # The run goes on in its own process: a reload finds it again (or, if it ended meanwhile, its row).
    page.reload()
    progress_again = page.locator("#run-step").filter(has_text=re.compile(r"^\d+$"))
    expect(progress_again.or_(page.locator("#version-1", has_text="done"))).to_be_visible(timeout=WAIT * 1000)

    # When the run ends the page shows the version with its scores per label, and its learning curve.
    row = page.locator("#version-1")
    expect(row).to_contain_text("done", timeout=WAIT * 1000)
    expect(row.locator("table.scores")).to_contain_text("all labels")
    expect(row.locator("table.scores")).to_contain_text("COUNT")
    live_db.rollback()
    version = live_db.scalar(select(ModelVersion).where(ModelVersion.number == 1))
    assert version.task == "spancat" and [p["fraction"] for p in version.curve["points"]] == [0.25, 0.5, 0.75, 1.0]
    verdict = curve_verdict(version.curve["points"]).text
    expect(page.locator("#curve-1 svg.chart.lines polyline").first).to_be_visible()
    expect(page.locator("#curve-1-verdict")).to_have_text(verdict)

    row.get_by_role("button", name="Make active").click()
    expect(page.locator("#version-1 .active-mark")).to_have_text("active")
    live_db.rollback()  # a new transaction: the one that read the version above may see an old snapshot
    version = live_db.scalar(select(ModelVersion).where(ModelVersion.number == 1))
    assert (version.status, version.active, version.progress[-1]["step"]) == ("done", True, STEPS)

    # The review dashboard shows the active version's curve and verdict, and leads to the Models page.
    page.goto(f"{live_app.base_url}/projects/p/review")
    expect(page.locator("#curve-1 svg.chart.lines polyline").first).to_be_visible()
    expect(page.locator("#curve-1-verdict")).to_have_text(verdict)
    page.locator("#curve-models-link").click()
    expect(page).to_have_url(f"{live_app.base_url}/projects/p/models")

    # An annotator's labelling page offers the active model's suggestions with their confidence.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        labelling = context.new_page()
        browser_login(labelling, "ann")
        with labelling.expect_response(lambda r: r.url.endswith("/api/projects/p/next")) as answer:
            labelling.goto(f"{live_app.base_url}/projects/p/label")
        suggestions = answer.value.json()["suggestions"]
        model = [s for s in suggestions if s["source"] == "model" and s["label"] == "COUNT"]
        assert model and all(s["model_version"] == 1 and isinstance(s["score"], float) for s in model), suggestions
        shown = model[0]
        percent = f"{math.floor(shown['score'] * 100 + 0.5)}%"  # as the page rounds (Math.round)
        item = labelling.locator(
            f'#suggestion-list li[data-start="{shown["start_char"]}"][data-end="{shown["end_char"]}"][data-label="COUNT"]'
        )
        expect(item.locator(".confidence")).to_have_text(percent)
        expect(item).to_contain_text("model")
        mark = labelling.locator(f'#sentence [data-tag^="COUNT {percent}"]')
        expect(mark).to_have_count(1)
    finally:
        context.close()
