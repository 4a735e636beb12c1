"""The labelling page in real Chromium: act as an annotator does, then check what was stored.

Offsets are checked in the database (Span rows, code points), including a
sentence with an emoji, a double space and Cyrillic letters.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from annotator.models import Annotation, Span, User
from annotator.records import ImportedAnnotation, ReportRecord, SpanRecord
from annotator.services.corpus import import_reports
from annotator.services.label_scheme import edit_label
from annotator.services.projects import get_or_create_project
from tests.helpers import serious_violations

pytestmark = pytest.mark.browser

CYRILLIC = "Над Белгородом  сбили 🚀 два дрона."
KALUGA = "Forty drones were destroyed over Kaluga Oblast."


@pytest.fixture(autouse=True)
def no_rule_suggestions(live_app):
    # Tests that want suggestions import them; rule suggestions would make the page depend on the rules.
    live_app.config["RULE_SUGGESTIONS"] = False


def make_project(live_db, texts, *, annotators=1, suggestions=None, name="drones"):
    """A project whose reports are ``texts`` (one sentence each); suggestions: {text: [(start, end, label, value)]}."""
    project, _ = get_or_create_project(live_db, name, annotators_per_sentence=annotators)
    import_reports(live_db, project, "test", [ReportRecord(text=t) for t in texts])
    if suggestions:
        records = [
            ReportRecord(text=t, annotations=(ImportedAnnotation(None, tuple(SpanRecord(*s) for s in spans)),))
            for t, spans in suggestions.items()
        ]
        import_reports(live_db, project, "suggestions", records, as_suggestions=True)
    live_db.commit()
    return project


def open_label(page, live_app, project="drones"):
    page.goto(f"{live_app.base_url}/projects/{project}/label")
    expect(page.locator("#sentence .tok").first).to_be_visible()
    return page


def sentence_text(page) -> str:
    return page.locator("#sentence").evaluate("el => el.textContent")


def expect_sentence(page, text):
    expect(page.locator("#sentence")).to_have_text(text)
    assert sentence_text(page) == text


def token(page, text):
    return page.locator("#sentence .tok", has_text=re.compile("^" + re.escape(text) + "$")).first


def drag(page, first, last):
    """Drag from inside token ``first`` to partway into token ``last``, as a person selects."""
    expect(page.locator("#labeller[data-pending]")).to_have_count(0)  # tags settle before we measure
    a = token(page, first).bounding_box()
    b = token(page, last).bounding_box()
    page.mouse.move(a["x"] + a["width"] * 0.2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] * 0.6, b["y"] + b["height"] / 2, steps=5)
    page.mouse.up()


def stored(live_db, username):
    """{sentence text: (status, comment, {(start, end, label, value, suggested)})} of username's annotations."""
    from annotator.models import Sentence

    live_db.rollback()  # end the last read: SQLite would keep showing its snapshot
    live_db.expire_all()
    rows = live_db.scalars(
        select(Annotation).join(User, User.id == Annotation.user_id).where(User.username == username)
    ).all()
    return {
        live_db.get(Sentence, a.sentence_id).text: (
            a.status,
            a.comment,
            {(s.start_char, s.end_char, s.label, s.value, s.suggested) for s in a.spans},
        )
        for a in rows
    }


def offsets(text, part, label, value=None, suggested=False):
    start = text.index(part)
    return (start, start + len(part), label, value, suggested)


def test_label_browser_mouse_label_accept_stores_code_point_offsets(page, live_app, live_db, browser_login):
    make_project(live_db, [CYRILLIC])
    browser_login(page, "ann")
    open_label(page, live_app)
    expect_sentence(page, CYRILLIC)
    page.screenshot(path="/tmp/label-start.png")

    drag(page, "Белгородом", "Белгородом")
    page.keyboard.press("r")
    expect(page.locator("mark.span[data-label=REGION]")).to_have_text("Белгородом")
    drag(page, "🚀", "дрона")  # partly selected tokens are included
    page.keyboard.press("2")
    expect(page.locator("mark.span[data-label=COUNT]")).to_have_text("🚀 два дрона")
    expect_sentence(page, CYRILLIC)  # marks and tags add no text
    page.screenshot(path="/tmp/label-spans.png")

    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    expect(page.locator("#all-done-progress")).to_have_text(
        "You have done 1 sentence here (0 flagged, 0 skipped); the project has 1 of 1 complete."
    )
    expect(page.locator("#mine-done")).to_have_text("1")
    page.screenshot(path="/tmp/label-all-done.png")
    page.reload()
    expect(page.locator("#all-done")).to_be_visible()

    status, comment, spans = stored(live_db, "ann")[CYRILLIC]
    assert status == "done"
    assert {s[:3] for s in spans} == {
        offsets(CYRILLIC, "Белгородом", "REGION")[:3],
        offsets(CYRILLIC, "🚀 два дрона", "COUNT")[:3],
    }
    assert (4, 14, "REGION") in {s[:3] for s in spans}
    assert (22, 33, "COUNT") in {s[:3] for s in spans}


def test_label_browser_project_without_reports_says_so_instead_of_all_done(page, live_app, live_db, browser_login):
    """A new project with no reports said "All done for now ... Thank you!": it now says there is nothing
    to label yet and where the reports come from (an admin gets the link to the import form)."""
    make_project(live_db, [], name="empty")
    browser_login(page, "ann")
    page.goto(f"{live_app.base_url}/projects/empty/label")
    card = page.locator("#all-done")
    expect(card).to_be_visible()
    expect(card.locator("h2")).to_have_text("Nothing to label yet")
    expect(card).to_contain_text("empty has no reports yet. An admin imports them")

    page.context.clear_cookies()
    browser_login(page, "boss", "admin")
    page.goto(f"{live_app.base_url}/projects/empty/label")
    card.locator('a:text-is("project\'s settings page")').click()
    page.wait_for_url(f"{live_app.base_url}/admin/projects/empty")


def test_label_browser_keyboard_only_labelling(page, live_app, live_db, browser_login):
    make_project(live_db, [KALUGA])
    browser_login(page, "ann")
    open_label(page, live_app)
    page.keyboard.press("ArrowRight")  # cursor on the first token
    page.keyboard.press("c")
    expect(page.locator("mark.span[data-label=COUNT]")).to_have_text("Forty")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("#sentence .tok.sel")).to_have_text(["Kaluga", "Oblast"])
    page.keyboard.press("r")
    expect(page.locator("mark.span[data-label=REGION]")).to_have_text("Kaluga Oblast")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("o")
    expect(page.locator("mark.span[data-label=OUTCOME]")).to_have_text("destroyed over")
    expect(page.locator("mark.span[data-label=COUNT]")).to_have_attribute("data-tag", "COUNT · 40")  # value prefilled
    page.keyboard.press("Delete")  # the cursor is on "over", inside the OUTCOME span
    expect(page.locator("mark.span[data-label=OUTCOME]")).to_have_count(0)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("3")
    expect(page.locator("mark.span[data-label=OUTCOME]")).to_have_text("destroyed")
    page.screenshot(path="/tmp/label-keyboard.png")
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()

    status, _, spans = stored(live_db, "ann")[KALUGA]
    assert status == "done"
    assert spans == {
        offsets(KALUGA, "Forty", "COUNT", "40"),
        offsets(KALUGA, "Kaluga Oblast", "REGION", "Kaluga Oblast"),
        offsets(KALUGA, "destroyed", "OUTCOME", "destroyed"),
    }


def test_label_browser_undo_several_steps(page, live_app, live_db, browser_login):
    make_project(live_db, [KALUGA])
    browser_login(page, "ann")
    open_label(page, live_app)
    drag(page, "Forty", "Forty")
    page.keyboard.press("c")
    drag(page, "Kaluga", "Oblast")
    page.keyboard.press("r")
    token(page, "Kaluga").click()
    expect(page.locator("#editor")).to_be_visible()
    page.select_option("#editor-label", "OUTCOME")
    expect(page.locator("mark.span").nth(1)).to_have_attribute("data-label", "OUTCOME")
    page.keyboard.press("Escape")
    expect(page.locator("#editor")).to_be_hidden()
    expect(page.locator("mark.span")).to_have_count(2)
    page.keyboard.press("z")
    expect(page.locator("mark.span[data-label=REGION]")).to_have_text("Kaluga Oblast")
    page.keyboard.press("Control+z")
    expect(page.locator("mark.span")).to_have_count(1)
    page.keyboard.press("z")
    expect(page.locator("mark.span")).to_have_count(0)
    page.keyboard.press("Shift+Z")  # redo
    expect(page.locator("mark.span")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    assert stored(live_db, "ann")[KALUGA][2] == {offsets(KALUGA, "Forty", "COUNT", "40")}


def test_label_browser_skip_and_flag_ask_for_a_reason(page, live_app, live_db, browser_login):
    first, second = "The weather was calm.", "Something was seen over the city."
    make_project(live_db, [first, second])
    browser_login(page, "ann")
    open_label(page, live_app)
    shown = sentence_text(page)
    page.keyboard.press("s")
    expect(page.locator("#reason-form")).to_be_visible()
    page.screenshot(path="/tmp/label-skip.png")
    page.keyboard.type("not about an incident")
    page.keyboard.press("Enter")
    expect(page.locator("#sentence")).not_to_have_text(shown)
    other = sentence_text(page)
    page.keyboard.press("f")
    expect(page.locator("#reason-label")).to_have_text("What should a reviewer look at?")
    page.keyboard.press("Escape")  # cancel, then ask again
    expect(page.locator("#reason-form")).to_be_hidden()
    page.keyboard.press("f")
    page.fill("#reason-input", "is 'the city' a region?")
    page.click("#reason-submit")
    expect(page.locator("#all-done")).to_be_visible()
    rows = stored(live_db, "ann")
    assert rows[shown][:2] == ("skipped", "not about an incident")
    assert rows[other][:2] == ("flagged", "is 'the city' a region?")


def test_label_browser_suggestions_accept_reject_accept_all(page, live_app, live_db, browser_login):
    other = "Two drones hit Kursk."
    make_project(
        live_db,
        [KALUGA, other],
        suggestions={
            KALUGA: [(33, 46, "REGION", "Kaluga Oblast"), (0, 5, "COUNT", "40")],
            other: [(0, 3, "COUNT", "2"), (15, 20, "REGION", "Kursk Oblast")],
        },
    )
    browser_login(page, "ann")
    open_label(page, live_app)
    expect_sentence(page, KALUGA)
    expect(page.locator("mark.suggestion")).to_have_count(2)
    page.keyboard.press("Tab")
    expect(page.locator("mark.suggestion.focused")).to_have_count(1)
    page.screenshot(path="/tmp/label-suggestions.png")
    focused = page.locator("mark.suggestion.focused").text_content()
    page.keyboard.press("y")
    expect(page.locator("mark.span")).to_have_text([focused])
    page.keyboard.press("n")  # the other one, focused next
    expect(page.locator("mark.suggestion")).to_have_count(0)
    page.keyboard.press("Enter")
    expect_sentence(page, other)
    page.keyboard.press("A")
    expect(page.locator("mark.span")).to_have_count(2)
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()

    rows = stored(live_db, "ann")
    accepted = rows[KALUGA][2]
    assert len(accepted) == 1
    (span,) = accepted
    assert span[4] is True and span[:3] in {(33, 46, "REGION"), (0, 5, "COUNT")}
    assert rows[other][2] == {(0, 3, "COUNT", "2", True), (15, 20, "REGION", "Kursk Oblast", True)}


def test_label_browser_annotation_is_blind(page, browser, live_app, live_db, browser_login):
    make_project(live_db, [KALUGA], annotators=2)
    browser_login(page, "alice")
    open_label(page, live_app)
    drag(page, "Kaluga", "Oblast")
    page.keyboard.press("r")
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    sentence_id = live_db.scalar(select(Annotation.sentence_id))

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        bob = context.new_page()
        browser_login(bob, "bob")
        open_label(bob, live_app)
        expect_sentence(bob, KALUGA)
        expect(bob.locator("mark.span")).to_have_count(0)
        expect(bob.locator("#span-list li.empty")).to_be_visible()
        assert "REGION" not in bob.locator("#sentence").inner_text()
        answer = bob.request.get(f"{live_app.base_url}/api/sentences/{sentence_id}").json()
        assert answer["annotation"] is None
        assert bob.goto(f"{live_app.base_url}/projects/drones/label/{sentence_id}").status == 404
    finally:
        context.close()


def test_label_browser_failed_save_keeps_work_and_retries_without_duplicates(page, live_app, live_db, browser_login):
    puts = []
    mode = {"put": "pass"}

    def network(route):
        if route.request.method != "PUT" or mode["put"] == "pass":
            return route.continue_()
        puts.append(mode["put"])
        if mode["put"] == "fail":
            return route.abort()  # the request never reaches the server
        mode["put"] = "pass"
        puts.append(route.fetch().status)  # the server saves...
        route.abort()  # ...but the page never hears back

    # Routed from the start: interception switched on mid-page missed requests now and then.
    page.route("**/annotation", network)
    make_project(live_db, [KALUGA, CYRILLIC])
    browser_login(page, "ann")
    open_label(page, live_app)
    first = sentence_text(page)
    drag(page, token_text := first.split()[1], token_text)
    page.keyboard.press("r")
    mode["put"] = "fail"
    page.keyboard.press("Enter")
    expect(page.locator("#save-status")).to_contain_text("Not saved")
    expect(page.locator("mark.span[data-label=REGION]")).to_have_text(token_text)
    expect_sentence(page, first)
    page.screenshot(path="/tmp/label-not-saved.png")
    mode["put"] = "pass"
    expect(page.locator("#retry")).to_be_visible()
    page.click("#retry")
    expect(page.locator("#sentence")).not_to_have_text(first)
    assert puts and set(puts) == {"fail"}

    # The next save lands on the server but its answer is lost: the retry must not duplicate it.
    second = sentence_text(page)
    drag(page, second.split()[1], second.split()[1])
    page.keyboard.press("r")
    mode["put"] = "lose"
    puts.clear()
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    assert puts == ["lose", 200]

    rows = stored(live_db, "ann")
    assert set(rows) == {KALUGA, CYRILLIC}
    assert len(rows[first][2]) == 1 and len(rows[second][2]) == 1
    live_db.expire_all()
    assert live_db.scalar(select(Annotation.version).join(Annotation.spans).where(Span.label == "REGION").limit(1)) == 1
    assert len(live_db.scalars(select(Annotation)).all()) == 2


def test_label_browser_untrusted_text_is_shown_as_text(page, live_app, live_db, browser_login):
    evil = "Reports said <img src=x onerror=alert(1)> and <script>alert(2)</script> near Kursk."
    make_project(live_db, [evil], suggestions={evil: [(77, 82, "REGION", "<b>Kursk</b>")]})
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    browser_login(page, "ann")
    open_label(page, live_app)
    expect_sentence(page, evil)
    expect(page.locator("#sentence img, #sentence script, #suggestion-list b")).to_have_count(0)
    expect(page.locator("#suggestion-list")).to_contain_text("<b>Kursk</b>")
    page.screenshot(path="/tmp/label-xss.png")
    assert dialogs == []


def test_label_browser_unsaved_draft_survives_reload(page, live_app, live_db, browser_login):
    make_project(live_db, [KALUGA])
    browser_login(page, "ann")
    open_label(page, live_app)
    page.wait_for_timeout(2100)  # time spent on the sentence before the edit
    drag(page, "Kaluga", "Oblast")
    page.keyboard.press("r")
    expect(page.locator("mark.span")).to_have_count(1)
    page.reload()
    expect(page.locator("mark.span[data-label=REGION]")).to_have_text("Kaluga Oblast")
    expect(page.locator("#mode")).to_contain_text("Restored")
    assert page.locator("#timer").text_content() != "0:00"  # the draft's time goes on counting
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    assert stored(live_db, "ann")[KALUGA][2] == {offsets(KALUGA, "Kaluga Oblast", "REGION", "Kaluga Oblast")}
    live_db.rollback()
    assert live_db.scalar(select(Annotation.seconds_spent)) >= 2


def test_label_browser_restored_draft_of_a_sentence_saved_elsewhere_gets_a_conflict(
    page, live_app, live_db, browser_login
):
    from annotator.services.annotations import save_annotation

    project = make_project(live_db, [KALUGA])
    browser_login(page, "ann")
    open_label(page, live_app)
    drag(page, "Kaluga", "Oblast")
    page.keyboard.press("r")
    expect(page.locator("mark.span")).to_have_count(1)  # a draft of a new annotation (base_version null)
    # Meanwhile the same annotator saves this sentence from another device.
    user = live_db.scalar(select(User).where(User.username == "ann"))
    save_annotation(
        live_db, project.reports[0].sentences[0], user, "done", [{"start_char": 0, "end_char": 5, "label": "COUNT"}]
    )
    live_db.commit()
    page.goto(f"{live_app.base_url}/projects/drones/label/{project.reports[0].sentences[0].id}")
    expect(page.locator("#mode")).to_contain_text("Restored")
    page.keyboard.press("Enter")
    expect(page.locator("#conflict")).to_be_visible()  # not a silent overwrite
    assert {s[:3] for s in stored(live_db, "ann")[KALUGA][2]} == {(0, 5, "COUNT")}


def test_label_browser_previous_revisits_and_corrects(page, live_app, live_db, browser_login):
    make_project(live_db, [KALUGA, CYRILLIC])
    browser_login(page, "ann")
    open_label(page, live_app)
    first = sentence_text(page)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#sentence")).not_to_have_text(first)
    page.keyboard.press("p")
    expect_sentence(page, first)
    expect(page.locator("#mode")).to_contain_text("Revisiting")
    expect(page).to_have_url(re.compile(r"/projects/drones/label/\d+$"))
    expect(page.locator("mark.span")).to_have_count(1)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Backspace")
    expect(page.locator("mark.span")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page.locator("#sentence")).not_to_have_text(first)
    live_db.expire_all()
    annotation = live_db.scalar(select(Annotation))
    assert annotation.version == 2 and annotation.spans == []


def test_label_browser_conflict_keep_mine(page, live_app, live_db, browser_login):
    from annotator.services.annotations import save_annotation

    project = make_project(live_db, [KALUGA])
    browser_login(page, "ann")
    user = live_db.scalar(select(User).where(User.username == "ann"))
    sentence = project.reports[0].sentences[0]
    save_annotation(live_db, sentence, user, "done", [])
    live_db.commit()
    page.goto(f"{live_app.base_url}/projects/drones/label/{sentence.id}")
    expect(page.locator("#sentence .tok").first).to_be_visible()
    # Meanwhile, in another tab, the same annotator saves a different version.
    save_annotation(
        live_db, sentence, user, "done", [{"start_char": 0, "end_char": 5, "label": "COUNT"}], base_version=1
    )
    live_db.commit()
    drag(page, "Kaluga", "Oblast")
    page.keyboard.press("r")
    page.keyboard.press("Enter")
    expect(page.locator("#conflict")).to_be_visible()
    expect(page.locator("#conflict-stored")).to_contain_text("Forty")
    expect(page.locator("#conflict-mine")).to_contain_text("Kaluga Oblast")
    expect(page.locator("mark.span[data-label=REGION]")).to_have_text("Kaluga Oblast")
    page.screenshot(path="/tmp/label-conflict.png")
    page.click("text=Keep mine")
    expect(page.locator("#all-done")).to_be_visible()
    status, _, spans = stored(live_db, "ann")[KALUGA]
    assert {s[:3] for s in spans} == {(33, 46, "REGION")}


def test_label_browser_help_overlay_lists_every_key(page, live_app, live_db, browser_login):
    make_project(live_db, [KALUGA])
    browser_login(page, "ann")
    open_label(page, live_app)
    page.keyboard.press("?")
    help_box = page.locator("#help")
    expect(help_box).to_be_visible()
    for key in ("Enter", "Tab", "Esc", "Del", "Shift", "?"):
        expect(help_box.locator("kbd", has_text=key).first).to_be_visible()
    for key in ("s", "f", "z", "p", "y", "n", "A", "a", "x", "i", "t", "e", "g", "r", "c", "o", "1", "2", "3"):
        assert help_box.locator("kbd").filter(has_text=re.compile(f"^{re.escape(key)}$")).count() >= 1, key
    expect(help_box).to_contain_text("Annotation guidelines")
    page.screenshot(path="/tmp/label-help.png")
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()
    page.keyboard.press("g")
    expect(page.locator("#guidelines")).not_to_have_attribute("open", "")


def test_label_browser_span_editor_label_value_boundaries_delete(page, live_app, live_db, browser_login):
    make_project(live_db, [KALUGA])
    browser_login(page, "ann")
    open_label(page, live_app)
    drag(page, "were", "destroyed")
    page.keyboard.press("o")
    mark = page.locator("mark.span[data-label=OUTCOME]")
    expect(mark).to_have_text("were destroyed")
    mark.click()
    editor = page.locator("#editor")
    expect(editor).to_be_visible()
    expect(page.locator("#editor-outcome")).to_be_visible()  # OUTCOME values come from the vocabulary
    editor.locator("[data-edge=shrink-left]").click()
    expect(mark).to_have_text("destroyed")
    editor.locator("[data-edge=extend-right]").click()
    expect(mark).to_have_text("destroyed over")
    editor.locator("[data-edge=shrink-right]").click()
    page.select_option("#editor-outcome", "shot down")
    expect(mark).to_have_attribute("data-tag", "OUTCOME · shot down")
    page.screenshot(path="/tmp/label-editor.png")
    page.keyboard.press("Escape")
    expect(editor).to_be_hidden()

    drag(page, "Kaluga", "Kaluga")
    page.keyboard.press("r")
    page.locator("mark.span[data-label=REGION]").click()
    page.select_option("#editor-label", "COUNT")
    page.fill("#editor-value", "7")
    page.keyboard.press("Enter")  # closes the editor, does not accept the sentence
    expect(editor).to_be_hidden()
    expect(page.locator("mark.span[data-label=COUNT]")).to_have_attribute("data-tag", "COUNT · 7")
    page.locator("mark.span[data-label=COUNT]").click()
    editor.locator("[data-action=delete-span]").click()
    expect(page.locator("mark.span")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    assert stored(live_db, "ann")[KALUGA][2] == {offsets(KALUGA, "destroyed", "OUTCOME", "shot down")}


def test_label_browser_context_is_shown_dimmed_and_not_labellable(page, live_app, live_db, browser_login):
    from pathlib import Path

    live_app.config["RULE_SUGGESTIONS"] = True  # as annotators see it
    text = Path(__file__).parents[1].joinpath("docs", "examples", "incident-report.txt").read_text(encoding="utf-8")
    project, _ = get_or_create_project(live_db, "drones", annotators_per_sentence=1)
    import_reports(live_db, project, "test", [ReportRecord(text=text, source="https://example.org/report?id=1")])
    live_db.commit()
    browser_login(page, "ann")
    open_label(page, live_app)
    page.keyboard.press("x")  # nothing to label: on to the second sentence, which has context on both sides
    expect(page.locator("#context-before p").first).to_be_visible()
    expect(page.locator("#context-after p").first).to_be_visible()
    expect(page.locator("#source a")).to_have_attribute("href", "https://example.org/report?id=1")
    page.screenshot(path="/tmp/label-context.png")
    shown = sentence_text(page)
    # Dragging over the context selects nothing to label.
    box = page.locator("#context-after p").first.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + box["height"] / 2, steps=4)
    page.mouse.up()
    expect(page.locator("#sentence .tok.sel")).to_have_count(0)
    assert page.evaluate("getSelection().toString()") == ""
    assert sentence_text(page) == shown


def test_label_browser_zwj_emoji_offsets(page, live_app, live_db, browser_login):
    family = "Семья 👩‍👩‍👧 видела  три дрона над Курском."
    make_project(live_db, [family])
    browser_login(page, "ann")
    open_label(page, live_app)
    expect_sentence(page, family)
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")  # "Курском", before the final full stop
    page.keyboard.press("r")
    drag(page, "три", "три")
    page.keyboard.press("c")
    expect(page.locator("mark.span[data-label=REGION]")).to_have_text("Курском")
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    spans = {s[:3] for s in stored(live_db, "ann")[family][2]}
    assert spans == {offsets(family, "Курском", "REGION")[:3], offsets(family, "три", "COUNT")[:3]}
    # 👩‍👩‍👧 is 5 code points but 8 UTF-16 units: the stored offsets are the code-point ones.
    assert offsets(family, "Курском", "REGION")[0] == len("Семья 👩‍👩‍👧 видела  три дрона над ")


# --- One key per sentence, suggestion keys, quick ignore, saved state ------------------

THREE = {KALUGA: [(0, 5, "COUNT", "40"), (18, 27, "OUTCOME", "destroyed"), (33, 46, "REGION", "Kaluga Oblast")]}


def test_label_browser_a_accepts_every_suggestion_and_saves_x_saves_nothing(page, live_app, live_db, browser_login):
    other = "Two drones hit Kursk."
    make_project(
        live_db,
        [KALUGA, other],
        suggestions={**THREE, other: [(0, 3, "COUNT", "2"), (15, 20, "REGION", "Kursk Oblast")]},
    )
    browser_login(page, "ann")
    open_label(page, live_app)
    first = sentence_text(page)
    expect(page.locator("mark.suggestion")).to_have_count(3 if first == KALUGA else 2)
    page.keyboard.press("a")  # one key: take every suggestion and save
    expect(page.locator("#sentence")).not_to_have_text(first)
    status = page.locator("#save-status")
    expect(status).to_have_attribute("data-kind", "saved")
    expect(status).to_contain_text("Saved")
    assert status.get_attribute("aria-live") == "polite"
    page.screenshot(path="/tmp/label-saved.png")
    page.keyboard.press("x")  # one key: a negative, the suggestions not taken
    expect(page.locator("#all-done")).to_be_visible()

    rows = stored(live_db, "ann")
    second = other if first == KALUGA else KALUGA
    expected = {
        (s, e, label, value, True)
        for s, e, label, value in ({**THREE, other: [(0, 3, "COUNT", "2"), (15, 20, "REGION", "Kursk Oblast")]})[first]
    }
    assert rows[first] == ("done", None, expected)
    assert rows[second] == ("done", None, set())


def test_label_browser_x_with_spans_on_screen_asks_for_a_second_x(page, live_app, live_db, browser_login):
    make_project(live_db, [KALUGA])
    browser_login(page, "ann")
    open_label(page, live_app)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("c")
    expect(page.locator("mark.span")).to_have_count(1)
    page.keyboard.press("x")
    expect(page.locator("#save-status")).to_have_text(
        "Press x again to save with no spans (the span on screen is dropped); Enter saves it."
    )
    expect(page.locator("mark.span")).to_have_count(1)
    page.keyboard.press("x")
    expect(page.locator("#all-done")).to_be_visible()
    assert stored(live_db, "ann")[KALUGA] == ("done", None, set())


def test_label_browser_enter_past_untaken_suggestions_asks_for_a_second_enter(page, live_app, live_db, browser_login):
    other = "Two drones hit Kursk."
    make_project(live_db, [KALUGA, other], suggestions={**THREE, other: [(0, 3, "COUNT", "2")]})
    browser_login(page, "ann")
    open_label(page, live_app)
    first = page.locator("#sentence").evaluate("el => el.textContent")
    # Three suggestions, none taken: a slip more often than a decision, from the button as from Enter.
    page.locator("button[data-action=save]").click()
    expect(page.locator("#save-status")).to_contain_text(
        "3 suggestions are not taken yet: a takes them and saves, x saves with none; Enter again saves with no spans."
    )
    assert page.locator("#sentence").evaluate("el => el.textContent") == first  # nothing was saved
    assert KALUGA not in stored(live_db, "ann")
    page.keyboard.press("Enter")  # the second Enter is the decision
    expect(page.locator("#sentence")).not_to_have_text(first)
    assert stored(live_db, "ann")[KALUGA] == ("done", None, set())
    # One suggestion: the hint speaks of it in the singular.
    page.keyboard.press("Enter")
    expect(page.locator("#save-status")).to_have_text(
        "1 suggestion is not taken yet: a takes it and saves, x saves with none; Enter again saves with no spans."
    )
    # Once a span is taken, Enter saves at once, whatever suggestions are left.
    page.keyboard.press("y")
    expect(page.locator("mark.span")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    assert len(stored(live_db, "ann")[other][2]) == 1


def test_label_browser_suggestion_keys_decide_and_move_on(page, live_app, live_db, browser_login):
    make_project(live_db, [KALUGA], suggestions=THREE)
    browser_login(page, "ann")
    open_label(page, live_app)
    focused = page.locator("mark.suggestion.focused")
    page.keyboard.press("y")  # nothing highlighted: y takes the first
    expect(page.locator("mark.span")).to_have_text(["Forty"])
    expect(focused).to_have_text("destroyed")  # and the next one is highlighted
    page.keyboard.press("Tab")  # moves without deciding
    expect(focused).to_have_text("Kaluga Oblast")
    expect(page.locator("mark.span")).to_have_count(1)
    expect(page.locator("mark.suggestion")).to_have_count(2)
    page.keyboard.press("n")  # rejects "Kaluga Oblast", wraps to "destroyed"
    expect(focused).to_have_text("destroyed")
    page.keyboard.press("c")  # a label key on a highlighted suggestion takes it with that label
    expect(page.locator("mark.span[data-label=COUNT]")).to_have_text(["Forty", "destroyed"])
    expect(page.locator("mark.suggestion")).to_have_count(0)
    expect(page.locator("#suggestion-list")).to_have_text("No suggestions left.")
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    status, _, spans = stored(live_db, "ann")[KALUGA]
    assert {s[:3] + (s[4],) for s in spans} == {(0, 5, "COUNT", True), (18, 27, "COUNT", False)}


def test_label_browser_a_sentence_without_suggestions_does_not_say_none_are_left(
    page, live_app, live_db, browser_login
):
    """The list said "No suggestions left." on a sentence that never had one, as if they had been decided."""
    make_project(live_db, [KALUGA])
    browser_login(page, "ann")
    open_label(page, live_app)
    expect(page.locator("#suggestion-list")).to_have_text("No suggestions for this sentence.")


def test_label_browser_shift_arrow_moves_the_edge_of_a_highlighted_suggestion(page, live_app, live_db, browser_login):
    make_project(live_db, [KALUGA], suggestions={KALUGA: [(0, 5, "COUNT", "40"), (33, 39, "REGION", None)]})
    browser_login(page, "ann")
    open_label(page, live_app)
    page.keyboard.press("Shift+Tab")  # the last suggestion: "Kaluga", one word short
    expect(page.locator("mark.suggestion.focused")).to_have_text("Kaluga")
    page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("#sentence .tok.sel")).to_have_text(["Kaluga", "Oblast"])
    page.keyboard.press("r")
    expect(page.locator("mark.span[data-label=REGION]")).to_have_text("Kaluga Oblast")
    page.keyboard.press("a")
    expect(page.locator("#all-done")).to_be_visible()
    assert {s[:3] + (s[4],) for s in stored(live_db, "ann")[KALUGA][2]} == {
        (0, 5, "COUNT", True),
        (33, 46, "REGION", False),
    }


def test_label_browser_overlapping_suggestions_show_in_the_sentence(page, live_app, live_db, browser_login):
    make_project(
        live_db, [KALUGA], suggestions={KALUGA: [(33, 46, "REGION", "Kaluga Oblast"), (33, 39, "OUTCOME", None)]}
    )
    browser_login(page, "ann")
    open_label(page, live_app)
    mark = page.locator("mark.suggestion")
    expect(mark).to_have_count(1)
    expect(mark).to_have_class(re.compile("alternatives"))
    drawn = mark.get_attribute("data-label")
    other = {"REGION": "OUTCOME", "OUTCOME": "REGION"}[drawn]
    assert mark.get_attribute("data-tag").startswith(drawn) and f"or {other}?" in mark.get_attribute("data-tag")
    expect(page.locator("#suggestion-list li .overlap")).to_have_count(2)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # the other one gets its own mark when highlighted
    focused = page.locator("mark.suggestion.focused")
    expect(focused).to_have_attribute("data-label", other)
    expect(focused).to_have_text({"REGION": "Kaluga Oblast", "OUTCOME": "Kaluga"}[other])


def test_label_browser_quick_ignore_and_a_reason_added_later_from_history(page, live_app, live_db, browser_login):
    first, second = "The weather was calm.", "Something was seen over the city."
    make_project(live_db, [first, second])
    browser_login(page, "ann")
    open_label(page, live_app)
    shown = sentence_text(page)
    page.keyboard.press("i")  # one key, no reason asked
    expect(page.locator("#sentence")).not_to_have_text(shown)
    expect(page.locator("#save-status")).to_contain_text("Saved as skipped")
    other = sentence_text(page)
    page.keyboard.press("s")
    expect(page.locator("#reason-label")).to_contain_text("optional")
    page.keyboard.press("Enter")  # an empty reason skips too
    expect(page.locator("#all-done")).to_be_visible()
    rows = stored(live_db, "ann")
    assert rows[shown][:2] == ("skipped", None) and rows[other][:2] == ("skipped", None)

    page.goto(f"{live_app.base_url}/projects/drones/history")
    row = page.locator("table.history tr", has_text=shown)
    expect(row).to_contain_text("skipped")
    row.get_by_role("link", name="Revisit").click()
    expect_sentence(page, shown)
    page.keyboard.press("s")
    page.keyboard.type("weather, not an incident")
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    assert stored(live_db, "ann")[shown][:2] == ("skipped", "weather, not an incident")
    page.goto(f"{live_app.base_url}/projects/drones/history")
    expect(page.locator("table.history tr", has_text=shown)).to_contain_text("weather, not an incident")


def test_label_browser_a_revisited_skip_offers_its_suggestions_again(page, live_app, live_db, browser_login):
    """A skip is no decision on the suggestions: revisited, they are offered again, and a takes them."""
    make_project(live_db, [KALUGA], suggestions=THREE)
    browser_login(page, "ann")
    open_label(page, live_app)
    expect(page.locator("mark.suggestion")).to_have_count(3)
    page.keyboard.press("i")
    expect(page.locator("#all-done")).to_be_visible()
    assert stored(live_db, "ann")[KALUGA] == ("skipped", None, set())

    page.goto(f"{live_app.base_url}/projects/drones/history")
    page.locator("table.history tr", has_text=KALUGA).get_by_role("link", name="Revisit").click()
    expect_sentence(page, KALUGA)
    expect(page.locator("mark.suggestion")).to_have_count(3)
    page.keyboard.press("Enter")  # no span and three suggestions not taken: Enter asks first, as on a new one
    expect(page.locator("#save-status")).to_contain_text("3 suggestions are not taken yet")
    assert stored(live_db, "ann")[KALUGA][0] == "skipped"
    page.keyboard.press("a")
    expect(page.locator("#all-done")).to_be_visible()
    status, _, spans = stored(live_db, "ann")[KALUGA]
    assert status == "done" and {s[:3] for s in spans} == {s[:3] for s in THREE[KALUGA]}


def test_label_browser_a_revisited_done_sentence_does_not_offer_its_suggestions_again(
    page, live_app, live_db, browser_login
):
    make_project(live_db, [KALUGA], suggestions=THREE)
    browser_login(page, "ann")
    open_label(page, live_app)
    page.keyboard.press("x")  # done, with none of them
    expect(page.locator("#all-done")).to_be_visible()
    page.goto(f"{live_app.base_url}/projects/drones/history")
    page.locator("table.history tr", has_text=KALUGA).get_by_role("link", name="Revisit").click()
    expect_sentence(page, KALUGA)
    expect(page.locator("#suggestion-list")).to_have_text("No suggestions left.")
    expect(page.locator("mark.suggestion")).to_have_count(0)


def test_label_browser_a_label_renamed_while_the_page_is_open_is_said_and_the_reload_keeps_the_rest(
    page, live_app, live_db, browser_login
):
    """REGION renamed to PLACE while ann labels: the save says the labels changed (not a raw 422 twice), and the
    reload restores the draft without the REGION span, which could never be saved, so Enter then saves."""
    project = make_project(live_db, [KALUGA])
    browser_login(page, "ann")
    open_label(page, live_app)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("c")  # Forty
    drag(page, "Kaluga", "Oblast")
    page.keyboard.press("r")
    expect(page.locator("mark.span")).to_have_count(2)
    edit_label(live_db, project, "REGION", {"name": "PLACE"}, None)
    live_db.commit()
    page.keyboard.press("Enter")
    status = page.locator("#save-status")
    expect(status).to_have_text(
        "Not saved — the project's labels changed since this page was loaded (REGION is gone). "
        "Reload the page: your other spans are kept."
    )
    assert KALUGA not in stored(live_db, "ann")
    page.reload()
    expect(page.locator("#mode")).to_have_text(
        "Restored your unsaved changes from this browser, but for the spans labelled REGION: "
        "the project no longer has that label."
    )
    expect(page.locator("mark.span")).to_have_text(["Forty"])
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    assert {s[:3] for s in stored(live_db, "ann")[KALUGA][2]} == {(0, 5, "COUNT")}


def test_label_browser_offline_save_says_kept_in_this_browser(page, live_app, live_db, browser_login):
    page.route("**/annotation", lambda route: route.abort() if route.request.method == "PUT" else route.continue_())
    make_project(live_db, [KALUGA])
    browser_login(page, "ann")
    open_label(page, live_app)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("c")
    page.keyboard.press("Enter")
    status = page.locator("#save-status")
    expect(status).to_contain_text("offline, kept in this browser")
    assert status.get_attribute("role") == "status"
    drafts = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('annotator:draft:ann:'))")
    assert len(drafts) == 1
    assert KALUGA not in stored(live_db, "ann")


# --- Themes, layout, accessibility ----------------------------------------------------


def _luminance(css_colour: str) -> float:
    r, g, b = (int(x) / 255 for x in re.findall(r"[\d.]+", css_colour)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def background(page, selector):
    return page.locator(selector).first.evaluate("el => getComputedStyle(el).backgroundColor")


def test_label_browser_dark_mode_follows_the_browser_and_the_toggle_is_remembered(
    page, live_app, live_db, browser_login
):
    make_project(live_db, [KALUGA])
    page.emulate_media(color_scheme="dark")
    browser_login(page, "ann")
    open_label(page, live_app)
    assert _luminance(background(page, "body")) < 0.05
    assert _luminance(background(page, ".sentence-card")) < 0.05
    ink = page.locator("#sentence").evaluate("el => getComputedStyle(el).color")
    assert _luminance(ink) > 0.6
    page.keyboard.press("ArrowRight")
    page.keyboard.press("c")
    mark_ink = page.locator("mark.span").evaluate("el => getComputedStyle(el).color")
    assert _luminance(mark_ink) < 0.05  # dark text on the light label colour, in the dark theme too
    page.screenshot(path="/tmp/label-dark.png")
    toggle = page.locator("[data-action=theme]")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("t")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert _luminance(background(page, "body")) > 0.8
    page.reload()
    expect(page.locator("#sentence .tok").first).to_be_visible()
    assert _luminance(background(page, "body")) > 0.8  # remembered over the browser's preference
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    page.emulate_media(color_scheme="light")
    page.reload()
    expect(page.locator("#sentence .tok").first).to_be_visible()
    assert _luminance(background(page, "body")) < 0.05


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_label_browser_narrow_screen_sentence_full_width_no_sideways_scroll(browser, live_app, live_db, browser_login):
    long = (
        "Over the night of 3 January air defence forces intercepted and destroyed forty-two unmanned aerial "
        "vehicles over the territories of Belgorod Oblast, Kursk Oblast and the Krasnodar Krai, the ministry said."
    )
    count, kursk = long.index("forty-two"), long.index("Kursk Oblast")
    make_project(
        live_db,
        [long],
        suggestions={long: [(count, count + 9, "COUNT", "42"), (kursk, kursk + 12, "REGION", "Kursk Oblast")]},
    )
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        browser_login(page, "ann")
        open_label(page, live_app)
        assert _no_sideways_scroll(page)
        sentence = page.locator("#sentence").bounding_box()
        assert sentence["width"] >= 300
        side = page.locator("aside.side").bounding_box()
        assert side["y"] >= sentence["y"] + sentence["height"]  # the side panels go below
        expect(page.locator("#guidelines")).not_to_have_attribute("open", "")  # folded; g opens them
        drag(page, "Belgorod", "Oblast")
        page.keyboard.press("r")
        page.keyboard.press("a")
        expect(page.locator("#all-done")).to_be_visible()
        page.goto(f"{live_app.base_url}/projects/drones/label/{live_db.scalar(select(Annotation.sentence_id))}")
        expect(page.locator("mark.span")).to_have_count(3)
        expect(page.locator("#labeller[data-pending]")).to_have_count(0)
        page.screenshot(path="/tmp/label-390.png", full_page=True)
        # Each label tag sits on the line of its last word: the mark's last box is that word's line.
        same_line = page.evaluate("""() => Array.from(document.querySelectorAll('#sentence mark')).map((mark) => {
            const rects = mark.getClientRects(); const last = rects[rects.length - 1];
            const toks = mark.querySelectorAll('.tok'); const word = toks[toks.length - 1].getBoundingClientRect();
            return last.top <= word.top + 1 && last.bottom >= word.bottom - 1 && last.right > word.right; })""")
        assert same_line == [True, True, True]
        # The span editor is in the page's flow: it covers neither the sentence nor the buttons.
        page.locator("mark.span").first.click()
        expect(page.locator("#editor")).to_be_visible()
        editor = page.locator("#editor").bounding_box()
        bar = page.locator(".bar").bounding_box()
        card = page.locator("#sentence-card").bounding_box()
        assert editor["y"] >= card["y"] + card["height"] and editor["y"] + editor["height"] <= bar["y"]
        assert 0 <= editor["y"] and editor["y"] + editor["height"] <= 844 + 1  # in view (to a pixel): every field shows
        assert _no_sideways_scroll(page)
        assert serious_violations(page) == []
        page.screenshot(path="/tmp/label-390-editor.png")
        for width in (360, 768, 1280, 2560):
            page.set_viewport_size({"width": width, "height": 900})
            assert _no_sideways_scroll(page), width
            assert page.locator("#sentence").bounding_box()["width"] >= min(300, width - 60), width
        page.screenshot(path="/tmp/label-2560.png")
    finally:
        context.close()


def test_label_browser_on_a_phone_a_tapped_word_brings_the_labels_to_the_bottom_edge(
    browser, live_app, live_db, browser_login
):
    """On a narrow screen the label buttons sit below the side panels; a tap on a word brings them to the
    bottom of the screen, a tap on one labels the word, and they go back once nothing is selected."""
    make_project(live_db, [KALUGA])
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    try:
        page = context.new_page()
        browser_login(page, "ann")
        open_label(page, live_app)
        chip = page.locator("#legend .label-chip[data-label=REGION]")
        assert chip.bounding_box()["y"] > 844  # below the fold
        token(page, "Kaluga").tap()
        box = chip.bounding_box()
        assert 844 - 120 < box["y"] and box["y"] + box["height"] <= 844  # at the bottom edge, in view
        expect(page.locator("#legend .label-description").first).to_be_hidden()
        chip.tap()
        expect(page.locator("mark.span[data-label=REGION]")).to_have_text("Kaluga")
        expect(page.locator("#labeller")).not_to_have_class(re.compile(r"\bselecting\b"))
        assert chip.bounding_box()["y"] > 844
    finally:
        context.close()


def test_label_browser_history_on_a_phone_scrolls_its_table_not_the_page(browser, live_app, live_db, browser_login):
    """At 360 pixels the history's six columns pushed the whole page sideways; the table now scrolls
    within its own box and the page fits the screen."""
    make_project(live_db, [KALUGA])
    context = browser.new_context(viewport={"width": 360, "height": 780})
    try:
        page = context.new_page()
        browser_login(page, "ann")
        open_label(page, live_app)
        page.keyboard.press("i")  # skipped: the row carries the longest hint
        expect(page.locator("#all-done")).to_be_visible()
        page.goto(f"{live_app.base_url}/projects/drones/history")
        table = page.locator("table.history")
        expect(table).to_contain_text(KALUGA)
        assert _no_sideways_scroll(page)
        assert table.evaluate("t => t.scrollWidth > t.clientWidth")  # the columns are still all there
        table.locator("a:text-is('Revisit')").scroll_into_view_if_needed()
        table.locator("a:text-is('Revisit')").click()
        expect(page.locator("#sentence .tok").first).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_label_browser_accessibility_check_passes(page, live_app, live_db, browser_login, scheme):
    make_project(
        live_db,
        [KALUGA],
        suggestions={KALUGA: THREE[KALUGA][:2] + [(33, 46, "REGION", "Kaluga Oblast"), (33, 39, "OUTCOME", None)]},
    )
    page.emulate_media(color_scheme=scheme)
    browser_login(page, "ann")
    open_label(page, live_app)
    page.keyboard.press("y")  # a span, a highlighted suggestion, overlapping ones
    expect(page.locator("mark.span")).to_have_count(1)
    expect(page.locator("#labeller[data-pending]")).to_have_count(0)
    assert serious_violations(page) == []
    page.locator("mark.span").click()  # the span editor open
    expect(page.locator("#editor")).to_be_visible()
    assert serious_violations(page) == []
    page.keyboard.press("Escape")
    page.keyboard.press("y")  # an OUTCOME span: its editor offers the vocabulary in a select
    page.locator("mark.span[data-label=OUTCOME]").click()
    expect(page.locator("#editor-outcome")).to_be_visible()
    assert serious_violations(page) == []
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    assert serious_violations(page) == []


def test_label_browser_every_control_is_reached_and_shown_by_the_keyboard(page, live_app, live_db, browser_login):
    make_project(live_db, [KALUGA])
    browser_login(page, "ann")
    open_label(page, live_app)
    wanted = set(
        page.eval_on_selector_all(
            ".bar [data-action], .label-chip, #guidelines summary",
            "els => els.map(e => e.dataset.action || e.dataset.label || 'summary')",
        )
    )
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        name, outline = page.evaluate("""() => { const el = document.activeElement;
            return [el.dataset.action || el.dataset.label || el.tagName.toLowerCase(), getComputedStyle(el).outlineStyle]; }""")
        if name in wanted:
            assert outline not in ("none", ""), name  # the focus is visible
            reached.add(name)
    assert reached == wanted


def test_label_browser_model_suggestions_show_their_confidence(page, live_app, live_db, browser_login, tmp_path):
    import spacy

    nlp = spacy.blank("en")
    spancat = nlp.add_pipe(
        "spancat",
        config={"spans_key": "sc", "threshold": 0.0, "suggester": {"@misc": "spacy.ngram_suggester.v1", "sizes": [1]}},
    )
    spancat.add_label("COUNT")
    nlp.initialize()  # untrained: every word is a COUNT suggestion with some score
    nlp.to_disk(tmp_path / "spancat")
    project = make_project(live_db, ["Two drones hit Kursk."])
    project.model_path = str(tmp_path / "spancat")
    live_db.commit()
    browser_login(page, "ann")
    open_label(page, live_app)
    rows = page.locator("#suggestion-list li")
    expect(rows).to_have_count(5)
    figures = rows.locator(".confidence").all_text_contents()
    assert len(figures) == 5 and all(re.fullmatch(r"\d{1,3}%", f) for f in figures)
    assert re.fullmatch(r"COUNT \d{1,3}% · 2 \?", page.locator("mark.suggestion").first.get_attribute("data-tag"))


# --- Measured: keys and mouse actions per sentence -----------------------------------

COUNTERS = """
window.__input = { keys: 0, mouse: 0 };
// A chord (Shift+Tab) is one key: a modifier pressed on its own is not counted.
const MODIFIERS = ["Shift", "Control", "Alt", "Meta"];
document.addEventListener("keydown", (e) => { if (!e.repeat && !MODIFIERS.includes(e.key)) window.__input.keys += 1; }, true);
for (const kind of ["mousedown", "wheel", "contextmenu"]) document.addEventListener(kind, () => { window.__input.mouse += 1; }, true);
"""
OTHER_LABEL = {"REGION": "COUNT", "COUNT": "REGION", "OUTCOME": "REGION"}
LABEL_KEY = {"REGION": "r", "COUNT": "c", "OUTCOME": "o"}


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _taken_by_a(suggestions):
    """What a (accept all) keeps: in list order, the first of overlapping ones."""
    kept = []
    for s in suggestions:
        if not any(_overlap(s, k) for k in kept):
            kept.append(s)
    return kept


def _reach(j, k):
    """The fewest keys that highlight suggestion j of k: Tab for the first, else y (accepting the
    ones before it, which are right) or Shift+Tab from the end, whichever is shorter."""
    if j == 0:
        return ["Tab"]
    return ["y"] * j if j <= k - j else ["Shift+Tab"] * (k - j)


def _plan(suggestions, tokens, seen):
    """(scenario, keys, expected spans) for one sentence of the scripted run.

    suggestions: (start, end, label) in the page's order; tokens: (start, end) of the sentence.
    """
    k = len(suggestions)
    overlapping = any(_overlap(a, b) for i, a in enumerate(suggestions) for b in suggestions[i + 1 :])
    taken = {(s, e, label, True) for s, e, label in _taken_by_a(suggestions)}
    if k == 0:
        return "none", ["x"], set()
    if k == 1:
        seen["single"] += 1
        if seen["single"] % 2 == 0:  # the one suggestion is wrong: nothing to label here
            return "none", ["x"], set()
        return "right", ["a"], taken
    seen["multi"] += 1
    if overlapping or seen["multi"] % 2 == 1:
        return "right", ["a"], taken
    j = seen["wrong"] % k
    seen["wrong"] += 1
    start, end, label = suggestions[j]
    rest = {(s, e, lab, True) for i, (s, e, lab) in enumerate(suggestions) if i != j}
    following = [t for t in tokens if t[0] >= end]
    if (
        seen["wrong"] % 2 == 0
        and following
        and not any(_overlap((start, following[0][1]), s) for i, s in enumerate(suggestions) if i != j)
    ):
        # One suggestion is a word short: reach it, Shift+→ takes in the next word, its label's key, a.
        return (
            "one wrong: a word short",
            [*_reach(j, k), "Shift+ArrowRight", LABEL_KEY[label], "a"],
            rest | {(start, following[0][1], label, False)},
        )
    # One suggestion has the wrong label: reach it, press the right label's key, a.
    right = OTHER_LABEL[label]
    return "one wrong: its label", [*_reach(j, k), LABEL_KEY[right], "a"], rest | {(start, end, right, False)}


def test_label_browser_keys_and_mouse_actions_per_sentence(page, live_app, live_db, browser_login):
    """A scripted run over the demo corpus: counts what the page receives, checks what was stored."""
    import json
    from importlib import resources

    from annotator.corpus.parse import parse_file
    from annotator.models import Sentence

    live_app.config["RULE_SUGGESTIONS"] = True
    data = resources.files("annotator.data").joinpath("demo_reports.jsonl").read_bytes()
    project, _ = get_or_create_project(live_db, "demo", annotators_per_sentence=1)
    import_reports(live_db, project, "demo_reports.jsonl", parse_file("demo_reports.jsonl", data)[:8])
    live_db.commit()
    page.add_init_script(COUNTERS)
    browser_login(page, "ann")
    open_label(page, live_app, "demo")

    seen = {"single": 0, "multi": 0, "wrong": 0}
    figures: dict[str, list[tuple[int, int]]] = {
        "right": [],
        "one wrong: its label": [],
        "one wrong: a word short": [],
        "none": [],
    }
    expected: dict[str, set] = {}
    while page.locator("#all-done").is_hidden():
        expect(page.locator("#labeller[data-pending]")).to_have_count(0)
        text = sentence_text(page)
        rows = page.locator("#suggestion-list li[data-start]")
        suggestions = [
            (int(r.get_attribute("data-start")), int(r.get_attribute("data-end")), r.get_attribute("data-label"))
            for r in rows.all()
        ]
        tokens = live_db.scalar(select(Sentence.tokens).where(Sentence.text == text))
        live_db.rollback()
        scenario, keys, expected[text] = _plan(suggestions, [tuple(t) for t in tokens], seen)
        page.evaluate("window.__input.keys = 0; window.__input.mouse = 0")
        for key in keys:
            page.keyboard.press(key)
        page.wait_for_function(
            "prev => !document.getElementById('all-done').hidden || (document.getElementById('sentence').getAttribute('aria-busy') === 'false'"
            " && document.getElementById('sentence').textContent !== prev)",
            arg=text,
        )
        counted = page.evaluate("window.__input")
        assert counted["keys"] == len(keys), (text, keys)  # the page saw exactly the keys of the plan
        figures[scenario].append((counted["keys"], counted["mouse"]))

    live_db.rollback()
    sentences = live_db.scalars(
        select(Sentence).join(Sentence.report).where(Sentence.report.has(project_id=project.id))
    ).all()
    assert len(expected) == len(sentences)
    rows = stored(live_db, "ann")
    for text, spans in expected.items():
        status, _, got = rows[text]
        assert status == "done" and {s[:3] + (s[4],) for s in got} == spans, text

    summary = {
        scenario: {
            "sentences": len(values),
            "keys_mean": round(sum(k for k, _ in values) / len(values), 2) if values else None,
            "keys_max": max((k for k, _ in values), default=None),
            "mouse_actions": sum(m for _, m in values),
        }
        for scenario, values in figures.items()
    }
    print("\nkeys and mouse actions per sentence:", json.dumps(summary, indent=2))
    with open("/tmp/label-keystrokes.json", "w", encoding="utf-8") as out:
        json.dump(summary, out, indent=2)
    assert all(values for values in figures.values()), summary  # every scenario came up
    assert summary["right"]["keys_max"] == 1 and summary["none"]["keys_max"] == 1
    assert summary["one wrong: its label"]["keys_max"] <= 4 and summary["one wrong: a word short"]["keys_max"] <= 4
    assert sum(s["mouse_actions"] for s in summary.values()) == 0
