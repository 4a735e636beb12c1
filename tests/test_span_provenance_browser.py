"""Provenance in real Chromium: suggestions accepted with y, a and the Accept button keep their source and
model version; a relabelled or resized one is the annotator's own and keeps neither."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from annotator.models import Annotation, ModelVersion, Sentence, User, new_settings_token
from annotator.records import ReportRecord
from annotator.services.corpus import import_reports
from annotator.services.projects import get_or_create_project

pytestmark = pytest.mark.browser

# Rules suggest COUNT "Forty", OUTCOME "destroyed", REGION "Kaluga Oblast"; the model (version 4) COUNT "drones".
KALUGA = "Forty drones were destroyed over Kaluga Oblast."
TVER = "Smoke rose above Tver."  # rules: REGION "Tver"


def active_model(live_db, project, folder, number=4):
    """An active, finished model version whose pipeline (an entity ruler) marks "drones" as COUNT."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "COUNT", "pattern": "drones"}])  # type: ignore[attr-defined]
    folder.mkdir(parents=True)
    nlp.to_disk(folder / "model-best")
    live_db.add(
        ModelVersion(
            project_id=project.id,
            number=number,
            status="done",
            active=True,
            task="ner",
            policy="adjudicated",
            settings={},
            pipeline_dir=str(folder),
        )
    )
    project.settings_token = new_settings_token()  # every server reads the active version afresh


def stored(live_db, username):
    """{sentence text: {(start, end, label, suggested, source, model_version)}} of username's annotations."""
    live_db.rollback()
    live_db.expire_all()
    rows = live_db.scalars(
        select(Annotation).join(User, User.id == Annotation.user_id).where(User.username == username)
    ).all()
    return {
        live_db.get(Sentence, a.sentence_id).text: {
            (s.start_char, s.end_char, s.label, s.suggested, s.source, s.model_version) for s in a.spans
        }
        for a in rows
    }


def test_span_provenance_browser_accepted_suggestions_keep_their_source_edited_ones_lose_it(
    page, live_app, live_db, browser_login, tmp_path
):
    live_app.config["RULE_SUGGESTIONS"] = True
    project, _ = get_or_create_project(live_db, "drones", annotators_per_sentence=1)
    import_reports(live_db, project, "test", [ReportRecord(text=t) for t in (KALUGA, TVER)])
    active_model(live_db, project, tmp_path / "run-v4")
    live_db.commit()
    browser_login(page, "ann")
    page.goto(f"{live_app.base_url}/projects/drones/label")
    expect(page.locator("#sentence .tok").first).to_be_visible()
    sentence = page.locator("#sentence")
    suggestions = page.locator("#suggestion-list li")

    def next_sentence(last: bool, text: str) -> None:
        if last:
            expect(page.locator("#all-done")).to_be_visible()
        else:
            expect(sentence).not_to_have_text(text)

    for turn in range(2):
        expect(suggestions.first).to_be_visible()
        if sentence.text_content() == TVER:
            expect(suggestions).to_have_count(1)
            page.keyboard.press("a")  # take every suggestion and save
            next_sentence(turn == 1, TVER)
            continue
        expect(suggestions).to_have_count(4)
        expect(page.locator('#suggestion-list li[data-start="6"] .badge')).to_have_text("model v4")
        for _ in range(3):
            page.keyboard.press("y")  # Forty (rules), drones (model v4), destroyed (rules)
        expect(page.locator("mark.span")).to_have_count(3)
        page.locator('#suggestion-list li[data-label="REGION"]').get_by_role("button", name="Accept").click()
        expect(page.locator("mark.span")).to_have_count(4)
        expect(page.locator("#span-list .badge", has_text="suggested · model v4")).to_have_count(1)
        # Two accepted suggestions edited: one relabelled, one resized. They are the annotator's spans now.
        editor = page.locator("#editor")
        page.locator("mark.span[data-label=OUTCOME]").click()
        expect(editor).to_be_visible()
        page.select_option("#editor-label", "COUNT")
        page.keyboard.press("Escape")
        expect(editor).to_be_hidden()
        page.locator("mark.span[data-label=REGION]").click()
        editor.locator("[data-edge=shrink-left]").click()
        expect(page.locator("mark.span[data-label=REGION]")).to_have_text("Oblast")
        page.keyboard.press("Escape")
        expect(editor).to_be_hidden()
        expect(page.locator("#labeller[data-pending]")).to_have_count(0)
        page.keyboard.press("Enter")
        next_sentence(turn == 1, KALUGA)

    rows = stored(live_db, "ann")
    assert rows[TVER] == {(17, 21, "REGION", True, "rules", None)}
    assert rows[KALUGA] == {
        (0, 5, "COUNT", True, "rules", None),
        (6, 12, "COUNT", True, "model", 4),
        (18, 27, "COUNT", False, None, None),  # relabelled from OUTCOME
        (40, 46, "REGION", False, None, None),  # "Kaluga Oblast" resized to "Oblast"
    }
