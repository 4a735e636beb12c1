"""In real Chromium: a reviewer starts a training run from the models page, watches its progress,
sees its scores and makes it active."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from annotator.models import ModelVersion
from tests.helpers import WAIT, import_trainable

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_model_versions_browser_reviewer_trains_watches_and_activates(live_app, live_db, page, browser_login, tmp_path):
    from annotator.cli import main

    live_app.config["REVIEW_RESAMPLES"] = 50
    cli = live_app.test_cli_runner()
    import_trainable(lambda args: cli.invoke(main, args=args), tmp_path)
    browser_login(page, "rita", "reviewer")

    page.goto(f"{live_app.base_url}/projects/p/review")
    page.get_by_role("link", name="Models").click()
    expect(page.get_by_text("No model trained yet")).to_be_visible()
    page.fill("input[name=max_steps]", "400")
    page.click("#start-run")

    # Live progress: the page polls and writes the latest evaluation into the run's figures.
    expect(page.locator("#run-status")).to_contain_text("Version 1", timeout=WAIT * 1000)
    expect(page.locator("#run-step")).to_have_text(re.compile(r"^\d+$"), timeout=WAIT * 1000)
    expect(page.locator("#run-f")).to_have_text(re.compile(r"^\d+\.\d$"))

    # The run goes on in its own process: a reload finds it again (or, if it ended meanwhile, its row).
    page.reload()
    progress_again = page.locator("#run-step").filter(has_text=re.compile(r"^\d+$"))
    expect(progress_again.or_(page.locator("#version-1", has_text="done"))).to_be_visible(timeout=WAIT * 1000)

    # When the run ends the page shows the version with its scores per label.
    row = page.locator("#version-1")
    expect(row).to_contain_text("done", timeout=WAIT * 1000)
    expect(row.locator("table.scores")).to_contain_text("all labels")
    expect(row.locator("table.scores")).to_contain_text("COUNT")

    row.get_by_role("button", name="Make active").click()
    expect(page.locator("#version-1")).to_contain_text("active")
    live_db.expire_all()
    version = live_db.scalar(select(ModelVersion).where(ModelVersion.number == 1))
    assert (version.status, version.active, version.progress[-1]["step"]) == ("done", True, 400)
