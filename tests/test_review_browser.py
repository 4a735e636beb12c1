"""Adjudication in real Chromium: keys resolve conflicts, Enter saves gold and moves on."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from annotator.models import GoldAnnotation, User
from tests.helpers import QUESTION, XSS, build_flagged, build_project, serious_violations


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
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None,
    )
    browser_login(page, "rev", "reviewer")
    reviewer = live_db.scalar(select(User).where(User.username == "rev")).id

    page.goto(f"{base}/projects/incidents/review")
    page.screenshot(path="/tmp/review-dashboard.png", full_page=True)
    page.goto(f"{base}/projects/incidents/review/disagreements")
    page.screenshot(path="/tmp/review-disagreements.png", full_page=True)
    page.goto(f"{base}/projects/incidents/review")
    page.click("#start-review")

    # s2 first: bob flagged it. One conflict: ann's OUTCOME; take ann's version (a), Enter saves.
    # No reason is picked for the reviewer: the gold records none unless one is chosen.
    page.wait_for_url(f"{base}/projects/incidents/review/{ids['s2']}")
    expect(page.locator("#reason")).to_have_value("")
    assert page.locator(".conflict").count() == 1
    assert serious_violations(page) == []  # muted text on the labels' chips included
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
        (20, 31, "OUTCOME"): ("adjudicated", None, reviewer),
        (37, 41, "REGION"): ("unanimous", None, None),
    }
    assert gold_of(live_db, ids["s3"]) == {}
    assert gold_of(live_db, ids["s1"]) == {
        (0, 3, "COUNT"): ("unanimous", None, None),
        (15, 26, "REGION"): ("adjudicated", "boundary", reviewer),
    }
    assert errors == []


@pytest.mark.browser
def test_review_browser_a_span_every_annotator_marked_can_be_dropped_from_the_gold(
    live_app, live_db, page, browser_login
):
    """All three marked COUNT "Two": pre-accepted, yet the reviewer can leave it out; it is recorded as dropped,
    and the page opened again shows it dropped, as the gold has it."""
    ids = build_project(live_db)
    base = live_app.base_url
    browser_login(page, "rev", "reviewer")
    page.goto(f"{base}/projects/incidents/review/{ids['s1']}")
    count = page.locator('.agreed li:has-text("COUNT")')
    count.get_by_role("button", name="Drop COUNT «Two» from the gold").click()
    expect(count.get_by_role("button")).to_have_attribute("aria-pressed", "true")
    page.locator("#sentence-text").click()
    page.keyboard.press("a")  # ann's "Kyiv"
    expect(page.locator("#gold-preview mark")).to_have_text(["Kyiv"])
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url != f"{base}/projects/incidents/review/{ids['s1']}")
    assert set(gold_of(live_db, ids["s1"])) == {(15, 19, "REGION")}
    gold = live_db.scalar(select(GoldAnnotation).where(GoldAnnotation.sentence_id == ids["s1"]))
    # Dropped: the agreed COUNT, and bob's "Kyiv oblast" that the decision left out.
    assert [(d["start_char"], d["end_char"], d["label"]) for d in gold.dropped] == [(0, 3, "COUNT"), (15, 26, "REGION")]

    # After the gold, all three mark "hit" too: a span agreed since, which no reviewer dropped.
    from annotator.models import Annotation, Sentence
    from annotator.services.annotations import save_annotation

    hit = {"start_char": 11, "end_char": 14, "label": "OUTCOME"}
    sentence = live_db.get(Sentence, ids["s1"])
    for annotation in live_db.scalars(select(Annotation).where(Annotation.sentence_id == ids["s1"])).all():
        spans = [{"start_char": x.start_char, "end_char": x.end_char, "label": x.label} for x in annotation.spans]
        user = live_db.get(User, annotation.user_id)
        save_annotation(live_db, sentence, user, "done", [*spans, hit], base_version=annotation.version)
    live_db.commit()

    page.goto(f"{base}/projects/incidents/review/{ids['s1']}")
    expect(page.locator('.agreed li:has-text("COUNT") button')).to_have_attribute("aria-pressed", "true")
    expect(page.locator('.agreed li:has-text("OUTCOME") button')).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#gold-preview mark")).to_have_text(["hit", "Kyiv"])
    page.locator('.agreed li:has-text("COUNT") button').click()  # taken back
    expect(page.locator("#gold-preview mark")).to_have_text(["Two", "hit", "Kyiv"])


@pytest.mark.browser
def test_review_browser_flagged_single_annotator_sentence_one_key_and_enter(
    live_app, live_db, page, browser_login, tmp_path
):
    import json

    from annotator.services.exports import export_project
    from annotator.services.projects import get_project

    sentence_id = build_flagged(live_db)
    base = live_app.base_url
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, "rev", "reviewer")

    # The question reaches the reviewer in the disagreement list ...
    page.goto(f"{base}/projects/incidents/review/disagreements?has=comment")
    row = page.locator(f'tr[data-sentence="{sentence_id}"]')
    assert row.locator(".comment").text_content().strip() == f"alice: {QUESTION}"
    row.locator("text=Adjudicate").click()
    # ... and beside alice's version on the adjudication page, whose span is proposed, not an empty gold.
    page.wait_for_url(f"{base}/projects/incidents/review/{sentence_id}")
    assert page.locator('tr.version[data-annotator="alice"] td.comment').text_content() == QUESTION
    assert page.locator("#gold-preview mark").all_text_contents() == ["fell"]
    page.keyboard.press("a")
    page.fill("#gold-note", "Yes, a fall counts.")
    page.keyboard.press("Enter")  # in the note, a new line: nothing is saved
    page.keyboard.type("See the guidelines.")
    assert page.url == f"{base}/projects/incidents/review/{sentence_id}"
    page.keyboard.press("Control+Enter")  # saves from the note
    page.wait_for_url(lambda url: url != f"{base}/projects/incidents/review/{sentence_id}")
    assert live_db.scalar(select(GoldAnnotation.note)) == "Yes, a fall counts.\nSee the guidelines."
    assert gold_of(live_db, sentence_id) == {
        (10, 14, "OUTCOME"): ("adjudicated", None, live_db.scalar(select(User.id).where(User.username == "rev")))
    }

    project = get_project(live_db, "incidents")
    out, manifest = export_project(live_db, project, tmp_path / "export")
    live_db.rollback()
    lines = [json.loads(line) for line in (out / "annotations.jsonl").read_text().splitlines()]
    exported = next(line for line in lines if line["meta"]["sentence_id"] == sentence_id)
    assert [(s["start"], s["end"], s["label"]) for s in exported["spans"]] == [(10, 14, "OUTCOME")]
    assert manifest["sentences"]["by_gold_source"]["adjudicated"] == 1
    assert errors == []


@pytest.mark.browser
def test_review_browser_keys_move_to_the_next_undecided_and_do_not_wrap(live_app, live_db, page, browser_login):
    from annotator.models import Annotation, Span

    ids = build_project(live_db)
    ann = live_db.scalar(
        select(Annotation).join(User).where(Annotation.sentence_id == ids["s1"], User.username == "ann")
    )
    ann.spans.append(Span(start_char=11, end_char=14, label="OUTCOME"))  # s1: an OUTCOME conflict before the REGION one
    live_db.commit()
    browser_login(page, "rev", "reviewer")
    page.goto(f"{live_app.base_url}/projects/incidents/review/{ids['s1']}")
    assert page.locator(".conflict").count() == 2

    def focused() -> str | None:
        return page.evaluate("document.activeElement.dataset.conflict ?? null")

    active = page.locator(".conflict.active")
    page.keyboard.press("ArrowUp")  # already the first: stays
    assert active.get_attribute("data-conflict") == "0" and focused() == "0"
    page.keyboard.press("a")  # decided: on to the next undecided
    assert active.get_attribute("data-conflict") == "1" and focused() == "1"
    page.keyboard.press("ArrowDown")  # the last: no wrapping round to the first
    assert active.get_attribute("data-conflict") == "1" and focused() == "1"
    page.keyboard.press("b")  # nothing undecided left: stays here
    assert active.get_attribute("data-conflict") == "1" and focused() == "1"
    assert page.locator(".conflict.decided").count() == 2
    page.keyboard.press("ArrowUp")
    assert active.get_attribute("data-conflict") == "0" and focused() == "0"


@pytest.mark.browser
def test_review_browser_editor_home_and_end_go_to_the_first_and_last_word(live_app, live_db, page, browser_login):
    """As on the labelling page: Home and End move the word cursor to the ends of the sentence, Shift extends."""
    ids = build_project(live_db)
    browser_login(page, "rev", "reviewer")
    page.goto(f"{live_app.base_url}/projects/incidents/review/{ids['s1']}")
    page.keyboard.press("e")
    expect(page.locator(".editor mark.span")).to_have_text(["Kyiv"])
    page.keyboard.press("Home")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("c")
    expect(page.locator(".editor mark.span")).to_have_text(["Two drones", "Kyiv"])
    page.keyboard.press("End")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("o")
    expect(page.locator(".editor mark.span")).to_have_text(["Two drones", "Kyiv", "night ."])
    page.keyboard.press("Shift+Home")
    expect(page.locator(".editor .tok.sel")).to_have_count(8)


@pytest.mark.browser
def test_review_browser_edit_a_span_by_selecting_words(live_app, live_db, page, browser_login):
    ids = build_project(live_db)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, "rev", "reviewer")
    page.goto(f"{live_app.base_url}/projects/incidents/review/{ids['s1']}")
    page.keyboard.press("e")
    words = page.locator(".editor .edit-sentence .tok")
    assert page.locator(".editor .edit-sentence").text_content() == "Two drones hit Kyiv oblast at night ."
    assert page.locator(".editor mark.span").all_text_contents() == ["Kyiv"]  # ann's version to start from
    assert page.locator(".editor .edit-value").is_hidden()  # a value box only for a span clicked

    # Drag from inside "Kyiv" to inside "oblast": the selection snaps outwards to the whole words.
    first, last = words.nth(3).bounding_box(), words.nth(4).bounding_box()
    page.mouse.move(first["x"] + first["width"] / 2, first["y"] + first["height"] / 2)
    page.mouse.down()
    page.mouse.move(last["x"] + last["width"] / 3, last["y"] + last["height"] / 2, steps=5)
    page.mouse.up()
    assert page.locator(".editor .tok.sel").all_text_contents() == ["Kyiv", "oblast"]
    page.keyboard.press("2")  # COUNT, by its number
    assert page.locator(".editor mark.span").all_text_contents() == ["Kyiv oblast"]
    assert page.locator(".editor mark.span").get_attribute("data-label") == "COUNT"
    page.keyboard.press("z")  # undo: ann's "Kyiv" again
    assert page.locator(".editor mark.span").all_text_contents() == ["Kyiv"]
    page.keyboard.press("r")  # REGION, by its key, over the selection still held
    assert page.locator(".editor mark.span").get_attribute("data-label") == "REGION"
    page.locator(".editor mark.span").click()
    page.locator(".editor .edit-value input").fill("Kyiv Oblast")
    page.keyboard.press("Enter")  # the value is kept; back to the words
    page.keyboard.press("Enter")  # use these spans
    assert page.locator(".conflict .edit-summary").text_content() == "REGION «Kyiv oblast» = Kyiv Oblast"
    page.keyboard.press("Enter")  # save the gold
    page.wait_for_url(f"{live_app.base_url}/projects/incidents/review/{ids['s2']}")
    assert gold_of(live_db, ids["s1"]) == {
        (0, 3, "COUNT"): ("unanimous", None, None),
        (15, 26, "REGION"): ("adjudicated", None, live_db.scalar(select(User.id).where(User.username == "rev"))),
    }
    gold = live_db.scalar(select(GoldAnnotation).where(GoldAnnotation.sentence_id == ids["s1"]))
    assert {s.label: s.value for s in gold.spans}["REGION"] == "Kyiv Oblast"
    assert [(d["start_char"], d["end_char"], d["decision"]) for d in gold.dropped] == [(15, 19, "replaced")]
    assert errors == []


def _body_luminance(page) -> float:
    """The relative luminance (WCAG) of the background behind the body: its own, else the root's."""
    rgb = page.evaluate(
        """() => [document.body, document.documentElement].map((el) => getComputedStyle(el).backgroundColor)
            .find((c) => c !== "rgba(0, 0, 0, 0)" && c !== "transparent") || "rgb(255, 255, 255)"
        """
    )
    channels = [int(c) / 255 for c in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.browser
def test_review_browser_adjudication_follows_the_dark_theme_and_the_remembered_choice(
    live_app, live_db, page, browser_login
):
    """The review pages follow prefers-color-scheme, with readable contrast, and a theme picked
    on the labelling page (theme.js's remembered choice) holds here too."""
    ids = build_project(live_db)
    page.emulate_media(color_scheme="dark")
    browser_login(page, "rev", "reviewer")
    page.goto(f"{live_app.base_url}/projects/incidents/review/{ids['s1']}")
    assert _body_luminance(page) < 0.05
    assert serious_violations(page) == []  # label chips, marks, tags and the gold row in the dark theme
    page.keyboard.press("e")  # the span editor: words, marks and their tags
    assert page.locator(".editor mark.span").count() == 1
    assert serious_violations(page) == []
    page.evaluate("localStorage.setItem('annotator:theme', 'light')")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert _body_luminance(page) > 0.8
    # The remembered choice is on the page before any module runs (theme-early.js, a classic script in
    # <head>): with the modules held back, the page is still drawn in it, not first in the browser's.
    page.route("**/*.js", lambda route: route.abort() if "theme-early" not in route.request.url else route.continue_())
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert _body_luminance(page) > 0.8


@pytest.mark.browser
def test_review_browser_top_bar_links_a_projects_pages(live_app, live_db, page, browser_login):
    """Export and Models had no way back to the review dashboard: every project page for reviewers now
    links Review, Browse, Export and Models from the top bar (and Settings for admins), the current one marked."""
    build_project(live_db)
    base = live_app.base_url
    browser_login(page, "rev", "reviewer")

    page.goto(f"{base}/projects/incidents/export")
    nav = page.locator("header nav")
    assert nav.locator("a[aria-current=page]").inner_text() == "Export"
    assert nav.locator("a:text-is('Settings')").count() == 0  # admins only
    for text, path in (
        ("Models", "models"),
        ("Browse", "browse"),
        ("Review", "review"),
        ("Export", "export"),
    ):
        nav.locator(f"a:text-is('{text}')").click()
        page.wait_for_url(f"{base}/projects/incidents/{path}")
    page.goto(f"{base}/projects/incidents/review/disagreements")
    assert nav.locator("a[aria-current=page]").inner_text() == "Review"

    page.context.clear_cookies()
    browser_login(page, "boss", "admin")
    page.goto(f"{base}/projects/incidents/models")
    page.locator("header nav a:text-is('Settings')").click()
    page.wait_for_url(f"{base}/admin/projects/incidents")
    assert page.locator("header nav a[aria-current=page]").inner_text() == "Settings"


@pytest.mark.browser
def test_review_browser_one_annotators_policy_asks_for_a_known_annotator(live_app, live_db, page, browser_login):
    """With "one annotator's own spans" and the annotator field left empty, the Export page said "unknown
    gold policy 'annotator:'"; with a mistyped name, "not annotated by nobody". Both forms now name the
    field and the problem, and nothing is exported or trained."""
    from annotator.models import ModelVersion

    build_project(live_db)
    base = live_app.base_url
    browser_login(page, "rev", "reviewer")
    errors = page.locator(".flash-error")

    page.goto(f"{base}/projects/incidents/export")
    expect(page.locator("input[name=annotator]")).to_be_hidden()  # asked for only with a policy that takes one
    page.select_option("select[name=policy]", "annotator")
    expect(page.locator("input[name=annotator]")).to_be_visible()
    options = page.locator("datalist#policy-annotators option")
    assert [options.nth(i).get_attribute("value") for i in range(options.count())] == ["ann", "bob", "cy"]
    page.click("main button:has-text('Export')")
    assert errors.inner_text() == (
        "Annotator (for that policy): name the annotator for the policy "
        '"one annotator\'s own spans, ignoring the reviewer and the others"'
    )
    page.select_option("select[name=policy]", "annotator")
    page.fill("input[name=annotator]", "nobody")
    page.click("main button:has-text('Export')")
    assert errors.inner_text() == "Annotator (for that policy): there is no account named 'nobody'"
    assert page.locator("main").get_by_text("No exports yet.").count() == 1

    page.goto(f"{base}/projects/incidents/models")
    page.select_option("select[name=policy]", "annotator")
    page.fill("input[name=annotator]", "nobody")
    page.click("main button:has-text('Start training')")
    assert errors.inner_text() == "Annotator (for that policy): there is no account named 'nobody'"
    live_db.rollback()
    assert live_db.scalar(select(ModelVersion.id)) is None

    page.goto(f"{base}/projects/incidents/export")
    page.select_option("select[name=policy]", "annotator")
    page.fill("input[name=annotator]", "ann")
    page.click("main button:has-text('Export')")
    assert page.locator(".flash-success").inner_text().startswith("Exported ")


@pytest.mark.browser
def test_review_browser_adjudication_heading_and_gold_line_say_what_is_decided_and_saved(
    live_app, live_db, page, browser_login
):
    """The heading counts open, proposed, saved-gold and reviewer decisions; the gold line tells saved from preview."""
    ids = build_project(live_db)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, "rev", "reviewer")
    url = f"{live_app.base_url}/projects/incidents/review/{ids['s1']}"
    heading, state = page.locator("#decide-heading"), page.locator("#gold-state")

    page.goto(url)  # no gold yet: bob's boundary conflict is open
    expect(heading).to_have_text("To decide (1 open)")
    expect(state).to_have_text("none saved yet; this preview becomes v1 once every decision is made")
    page.keyboard.press("a")
    expect(heading).to_have_text("Decided (1 decided by you; Enter saves it)")
    expect(state).to_have_text("none saved yet; Enter saves this as v1")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: u != url)
    gold_of(live_db, ids["s1"])

    page.goto(url)  # the saved gold decides everything: nothing to do, and the line says what exists
    expect(heading).to_have_text("Decided (1 from the saved gold; Enter keeps them)")
    expect(page.locator(".conflict").first).to_have_attribute("data-decided-by", "gold")
    expect(state).to_have_text("v1 as saved; Enter saves it again as v2, with the same spans")
    page.keyboard.press("b")
    expect(heading).to_have_text("Decided (1 decided by you; Enter saves it)")
    expect(state).to_have_text("v1 saved; this preview, changed, becomes v2 when you press Enter")
    page.keyboard.press("a")  # back to what the gold has
    expect(heading).to_have_text("Decided (1 from the saved gold; Enter keeps them)")
    assert errors == []


@pytest.mark.browser
def test_review_browser_adjudication_heading_says_a_lone_version_is_proposed(live_app, live_db, page, browser_login):
    sentence_id = build_flagged(live_db)  # alice alone: her OUTCOME is proposed as gold
    browser_login(page, "rev", "reviewer")
    page.goto(f"{live_app.base_url}/projects/incidents/review/{sentence_id}")
    expect(page.locator("#decide-heading")).to_have_text(
        "Decided (1 proposed from alice's version; Enter confirms them)"
    )
    expect(page.locator(".conflict").first).to_have_attribute("data-decided-by", "proposal")
    expect(page.locator("#gold-state")).to_have_text("none saved yet; Enter saves this as v1")


@pytest.mark.browser
def test_review_browser_saving_gold_no_annotator_did_keeps_its_incidents(live_app, live_db, page, browser_login):
    """The demo's report 1 sentence 1 has gold and no annotation: Enter saves it again with its incident."""
    from annotator.cli import main
    from annotator.models import Report, Sentence

    assert live_app.test_cli_runner().invoke(main, args=["demo", "--no-serve"]).exit_code == 0
    sentence = live_db.scalar(select(Sentence).join(Report).where(Report.number == 1, Sentence.position == 0))
    before = live_db.scalar(select(GoldAnnotation).where(GoldAnnotation.sentence_id == sentence.id))
    assert before.incidents and sentence.id  # the demo's gold links its spans into an incident
    incidents = before.incidents
    browser_login(page, "rev", "reviewer")
    url = f"{live_app.base_url}/projects/incidents/review/{sentence.id}"
    page.goto(url)
    expect(page.locator("#incidents-decision [data-incidents='saved gold']")).to_have_class("choice chosen")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: u != url)
    live_db.rollback()
    live_db.expire_all()
    after = live_db.scalar(select(GoldAnnotation).where(GoldAnnotation.sentence_id == sentence.id))
    assert after.version == 2 and len(after.incidents) == len(incidents)
