"""Review: agreement CLI, dashboard, disagreements, adjudication into gold (client, both backends)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from annotator.models import Annotation, AuditEvent, GoldAnnotation, GoldAnswer, Report, Sentence, User
from annotator.services.users import get_or_create_annotator
from tests.helpers import QUESTION, build_flagged, build_project, waiting_on_a_lock

# Hand computation of span_f1 (strict, pooled over shared sentences, then the mean over pairs):
#   ann|bob share s1, s2, s3: matched 1 + 2 + 0 = 3 of 4 + 5 + 1 = 10 spans -> 2*3/10 = 0.6
#   ann|cy share s1 only (cy skipped s2): 2 matched of 4 spans -> 1.0
#   bob|cy share s1: 1 matched of 4 -> 0.5
EXPECTED_F1 = (0.6 + 1.0 + 0.5) / 3
# By label: COUNT 1, 1, 1; REGION ann|bob 2*1/5, ann|cy 1, bob|cy 0; OUTCOME only ann|bob: 0.
EXPECTED_BY_LABEL = {"COUNT": 1.0, "REGION": (0.4 + 1.0 + 0.0) / 3, "OUTCOME": 0.0}


def test_review_cli_agreement_json_matches_hand_computed_f1(db, runner):
    build_project(db)
    result = runner.invoke(["agreement", "--project", "incidents", "--json", "--resamples", "200", "--seed", "3"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["span_f1"]["overall"] == pytest.approx(EXPECTED_F1)
    assert report["span_f1"]["by_label"] == pytest.approx(EXPECTED_BY_LABEL)
    assert report["span_f1"]["pairs"]["ann|bob"]["sentences"] == 3
    assert report["progress"]["cy"] == {"done": 1, "flagged": 0, "skipped": 1, "spans": 2}
    low, high = report["span_f1"]["ci"]["overall"]
    assert low <= report["span_f1"]["overall"] <= high


def test_review_cli_agreement_table_and_unknown_project(db, runner):
    build_project(db)
    table = runner.invoke(["agreement", "--project", "incidents", "--resamples", "50"])
    assert table.exit_code == 0, table.output
    assert "F1 strict" in table.output and f"{EXPECTED_F1:.3f}" in table.output
    missing = runner.invoke(["agreement", "--project", "nope"])
    assert missing.exit_code == 1
    assert "No project named 'nope'" in missing.output


def test_review_roles(app, db, login):
    build_project(db)
    annotator = login("ann2", "annotator")
    assert annotator.get("/projects/incidents/review").status_code == 403
    assert annotator.get("/projects/incidents/review/disagreements").status_code == 403
    assert annotator.put("/projects/incidents/review/1/gold", json={"spans": []}).status_code == 403
    assert login("rev", "reviewer").get("/projects/incidents/review").status_code == 200
    assert login("boss", "admin").get("/projects/incidents/review").status_code == 200
    assert app.test_client().get("/projects/incidents/review").status_code == 302  # to the login page
    assert login("rev2", "reviewer").get("/projects/nope/review").status_code == 404


def test_review_dashboard_shows_numbers_and_charts(db, login):
    build_project(db)
    page = login("rev", "reviewer").get("/projects/incidents/review").get_data(as_text=True)
    assert f"{EXPECTED_F1:.3f}" in page
    assert f"{EXPECTED_BY_LABEL['REGION']:.3f}" in page
    assert '<dd id="stat-sentences">4</dd>' in page
    assert '<dd id="stat-queue">4</dd>' in page  # s1, s2 (flagged), s3 conflicts; s4 needs review
    assert '<dd id="stat-flagged">1</dd>' in page
    assert page.count("<svg") == 4 and "Pairwise span F1" in page
    assert 'data-annotator="bob"' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["s2", "s3", "s1"]),
        ("?type=boundary", ["s1"]),
        ("?label=OUTCOME", ["s2"]),
        ("?type=presence", ["s2", "s3"]),
        ("?a=bob&b=cy", ["s1"]),
        ("?a=ann&b=cy", []),
    ],
)
def test_review_disagreements_filters(db, login, query, expected):
    import re

    ids = build_project(db)
    names = {v: k for k, v in ids.items()}
    response = login("rev", "reviewer").get(f"/projects/incidents/review/disagreements{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert [names[int(i)] for i in re.findall(r'data-sentence="(\d+)"', page)] == expected
    for name in expected:
        assert f'/projects/incidents/review/{ids[name]}"' in page


def test_review_disagreements_rejects_unknown_filter(db, login):
    build_project(db)
    client = login("rev", "reviewer")
    assert client.get("/projects/incidents/review/disagreements?type=typo").status_code == 400
    assert client.get("/projects/incidents/review/disagreements?label=PERSON").status_code == 400


def test_review_disagreements_say_which_have_gold_and_filter_on_it(db, login):
    """A sentence adjudicated leaves the "to adjudicate" list and is tagged adjudicated; an annotator's new version
    after the gold brings it back, naming who changed."""
    import re

    from annotator.services.adjudication import adjudicate
    from annotator.services.annotations import save_annotation

    ids = build_project(db)
    names = {v: k for k, v in ids.items()}
    client = login("rev", "reviewer")
    reviewer = db.scalar(select(User).where(User.username == "rev"))
    adjudicate(db, db.get(Sentence, ids["s1"]), reviewer, {"version": None, "spans": S1_GOLD})
    db.commit()

    def listed(query: str) -> list[str]:
        response = client.get(f"/projects/incidents/review/disagreements{query}")
        assert response.status_code == 200
        return [names[int(i)] for i in re.findall(r'data-sentence="(\d+)"', response.get_data(as_text=True))]

    assert listed("") == ["s2", "s3", "s1"]
    assert listed("?gold=open") == ["s2", "s3"]
    assert listed("?gold=adjudicated") == ["s1"]
    page = client.get("/projects/incidents/review/disagreements?gold=adjudicated").get_data(as_text=True)
    assert '<span class="tag gold">adjudicated</span>' in page and ">Review gold</a>" in page
    assert client.get("/projects/incidents/review/disagreements?gold=done").status_code == 400

    bob = db.scalar(select(User).where(User.username == "bob"))
    save_annotation(db, db.get(Sentence, ids["s1"]), bob, "done", S1_GOLD[:1], base_version=1)
    db.commit()
    assert listed("?gold=open") == ["s2", "s1", "s3"]  # changed after its gold: before the unflagged, as in the queue
    assert "bob changed since" in client.get("/projects/incidents/review/disagreements?gold=open").get_data(
        as_text=True
    )


def _gold_rows(db, sentence_id):
    db.rollback()  # end the test session's read snapshot: see what the request committed
    gold = db.scalar(select(GoldAnnotation).where(GoldAnnotation.sentence_id == sentence_id))
    spans = {(s.start_char, s.end_char, s.label): s for s in gold.spans} if gold else {}
    return gold, spans


def test_review_adjudication_stores_gold_with_provenance_and_audit(db, login):
    ids = build_project(db)
    client = login("rev", "reviewer")
    reviewer = db.scalar(select(User).where(User.username == "rev"))
    url = f"/projects/incidents/review/{ids['s1']}/gold"
    decision = {
        "version": None,
        "reason": "boundary",
        "spans": [
            {"start_char": 0, "end_char": 3, "label": "COUNT", "value": "2"},  # all three: unanimous
            {"start_char": 15, "end_char": 19, "label": "REGION", "value": "Kyiv"},  # ann and cy: majority
            {"start_char": 11, "end_char": 14, "label": "OUTCOME", "value": None, "reason": "guideline"},  # nobody
        ],
    }
    response = client.put(url, json=decision)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["version"] == 1
    assert body["next"].endswith(f"/review/{ids['s2']}")  # flagged first
    gold, spans = _gold_rows(db, ids["s1"])
    assert gold.reviewer_id == reviewer.id
    count, region, outcome = spans[(0, 3, "COUNT")], spans[(15, 19, "REGION")], spans[(11, 14, "OUTCOME")]
    assert (count.provenance, count.decided_by, count.reason) == ("unanimous", None, None)
    assert (region.provenance, region.decided_by, region.reason, region.value) == (
        "majority",
        reviewer.id,
        "boundary",
        "Kyiv",
    )
    assert (outcome.provenance, outcome.decided_by, outcome.reason) == ("adjudicated", reviewer.id, "guideline")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "gold.create"))
    assert event.user_id == reviewer.id and event.entity_id == gold.id
    assert event.detail["sentence_id"] == ids["s1"] and len(event.detail["added"]) == 3

    # A second save on the current version that leaves out a gold span without a decision is refused ...
    decision.update(version=1, spans=decision["spans"][:2])
    refused = client.put(url, json=decision)
    assert refused.status_code == 422
    assert "OUTCOME «hit» (11–14)" in refused.get_json()["message"] and "dropped" in refused.get_json()["message"]
    # ... and with the drop stated it replaces the spans and is audited too.
    decision["dropped"] = [{"start_char": 11, "end_char": 14, "label": "OUTCOME"}]
    response = client.put(url, json=decision)
    assert response.status_code == 200 and response.get_json()["version"] == 2
    gold, spans = _gold_rows(db, ids["s1"])
    assert set(spans) == {(0, 3, "COUNT"), (15, 19, "REGION")}
    update = db.scalar(select(AuditEvent).where(AuditEvent.action == "gold.update"))
    assert update.detail["removed"] == [{"start_char": 11, "end_char": 14, "label": "OUTCOME", "value": None}]
    # bob's "Kyiv oblast" was replaced by the REGION taken; the earlier gold's OUTCOME was dropped on purpose.
    assert [(d["start_char"], d["end_char"], d["label"], d["by"], d["decision"]) for d in gold.dropped] == [
        (11, 14, "OUTCOME", ["gold"], "drop"),
        (15, 26, "REGION", ["bob"], "replaced"),
    ]
    # The sentence left the review queue.
    page = client.get("/projects/incidents/review").get_data(as_text=True)
    assert '<dd id="stat-queue">3</dd>' in page and '<dd id="stat-gold">1</dd>' in page


def test_review_adjudication_values_a_span_sent_without_one_as_an_annotation_save_does(db, login):
    # The adjudication editor sends a span it made (or relabelled) with value null: the gold gets the
    # value its text gives, as an annotator's save does, so a COUNT made there still carries its number.
    ids = build_project(db)
    client = login("rev", "reviewer")
    spans = [
        {"start_char": 0, "end_char": 3, "label": "COUNT", "value": None},
        {"start_char": 15, "end_char": 19, "label": "REGION", "value": "Kyiv"},
    ]
    response = client.put(f"/projects/incidents/review/{ids['s1']}/gold", json={"version": None, "spans": spans})
    assert response.status_code == 200, response.get_data(as_text=True)
    _, stored = _gold_rows(db, ids["s1"])
    count = stored[(0, 3, "COUNT")]
    assert count.value == "2"
    assert count.provenance == "unanimous"  # the annotators' "2": the same span with the same value


def test_review_adjudication_stale_version_is_409(db, login):
    ids = build_project(db)
    client = login("rev", "reviewer")
    url = f"/projects/incidents/review/{ids['s4']}/gold"
    spans = [{"start_char": 0, "end_char": 3, "label": "COUNT", "value": "1"}]
    assert client.put(url, json={"version": None, "spans": spans}).status_code == 200
    db.rollback()
    assert db.get(Sentence, ids["s4"]).needs_review is False
    assert client.put(url, json={"version": 1, "spans": [], "dropped": spans}).status_code == 200
    stale = client.put(url, json={"version": 1, "spans": spans})
    assert stale.status_code == 409 and stale.get_json()["version"] == 2
    assert stale.get_json()["message"] == (
        "Gold not saved: someone saved this sentence's gold meanwhile (version 2 now); reload to see the gold as it is."
    )
    assert client.put(url, json={"version": None, "spans": spans}).status_code == 409
    # A version for a sentence with no gold at all: said as it is, not as a save by someone else.
    none_yet = client.put(f"/projects/incidents/review/{ids['s1']}/gold", json={"version": 3, "spans": spans})
    assert none_yet.status_code == 409 and none_yet.get_json()["version"] is None
    assert none_yet.get_json()["message"] == (
        "Gold not saved: this sentence has no gold, but the page was loaded with gold version 3; "
        "reload to see the gold as it is."
    )
    _, stored = _gold_rows(db, ids["s4"])
    assert stored == {}  # the stale saves changed nothing
    assert len(db.scalars(select(AuditEvent).where(AuditEvent.entity == "gold_annotation")).all()) == 2


@pytest.mark.parametrize(
    "spans",
    [
        [{"start_char": 5, "end_char": 3, "label": "COUNT"}],
        [{"start_char": 0, "end_char": 999, "label": "COUNT"}],
        [{"start_char": 0, "end_char": 3, "label": "PERSON"}],
        [{"start_char": 0, "end_char": 3, "label": "COUNT"}, {"start_char": 0, "end_char": 3, "label": "COUNT"}],
        [{"start_char": 1, "end_char": 3, "label": "COUNT"}],  # starts inside a token
        [{"start_char": 3, "end_char": 4, "label": "COUNT"}],  # white space only
        "not a list",
    ],
)
def test_review_adjudication_rejects_invalid_spans(db, login, spans):
    ids = build_project(db)
    response = login("rev", "reviewer").put(
        f"/projects/incidents/review/{ids['s1']}/gold", json={"version": None, "spans": spans}
    )
    assert response.status_code == 422
    db.rollback()
    assert db.scalar(select(GoldAnnotation)) is None


def test_review_adjudication_needs_csrf(app, db, login):
    ids = build_project(db)
    client = login("rev", "reviewer")
    response = client.client.put(f"/projects/incidents/review/{ids['s1']}/gold", json={"version": None, "spans": []})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("target", "status", "message"),
    [
        ("missing sentence", 404, "Project 'incidents' has no sentence 999999."),
        ("other project's sentence", 404, "Project 'other' has no sentence {s1}."),
        ("missing project", 404, "There is no project called 'nope'. Pick one on the projects page."),
        ("as an annotator", 403, "permission"),
        ("logged out", 401, "You are not logged in (any more): log in, then try again."),
    ],
)
def test_review_adjudication_errors_answer_a_json_request_in_json(db, login, target, status, message):
    # A script (or the page's fetch) sends JSON without asking for JSON back: it is answered in JSON
    # all the same, with the status, never with an error page or a redirect to the login page.
    from annotator.services.projects import get_or_create_project

    ids = build_project(db)
    get_or_create_project(db, "other")
    db.commit()
    client = login("ann2") if target == "as an annotator" else login("rev", "reviewer")
    if target == "logged out":
        assert client.post("/logout").status_code == 302
    project, sentence = {
        "missing sentence": ("incidents", 999999),
        "other project's sentence": ("other", ids["s1"]),
        "missing project": ("nope", ids["s1"]),
    }.get(target, ("incidents", ids["s1"]))
    spans = [{"start_char": 0, "end_char": 3, "label": "COUNT", "value": "2"}]
    response = client.put(f"/projects/{project}/review/{sentence}/gold", json={"version": None, "spans": spans})
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.is_json, response.get_data(as_text=True)[:300]
    assert message.format(**ids) in response.get_json()["message"]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(GoldAnnotation)) == 0
    # A page asked for by a browser still gets the error page.
    page = login("rev3", "reviewer").get("/projects/incidents/review/999999")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_review_pages_escape_sentence_text(db, login):
    ids = build_project(db)
    client = login("rev", "reviewer")
    for path in ("", "/disagreements", f"/{ids['s3']}", "/disagreements?type=presence"):
        page = client.get(f"/projects/incidents/review{path}").get_data(as_text=True)
        assert "<script>alert" not in page, path
    adjudicate = client.get(f"/projects/incidents/review/{ids['s3']}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in adjudicate
    assert "\\u003cscript\\u003e" in adjudicate  # the JSON for the script, escaped too
    assert "&lt;script&gt;" in client.get("/projects/incidents/review/disagreements").get_data(as_text=True)


def test_review_adjudication_page_names_the_report_and_shows_the_neighbours(db, login):
    """The page says where the sentence stands (its report's number and its place there, not a row id), with the
    sentences either side as context, as the labelling page shows them."""
    ids = build_project(db)
    client = login("rev", "reviewer")
    page = client.get(f"/projects/incidents/review/{ids['s2']}").get_data(as_text=True)
    number = db.get(Report, db.get(Sentence, ids["s2"]).report_id).number
    assert f"· incidents · report {number}, sentence 2</span></h1>" in page
    assert "Previous sentences (context)" in page and "<p>Two drones hit Kyiv oblast at night .</p>" in page
    assert '<span id="decide-title">To decide</span> <span class="muted" id="decide-count">(1 open)</span>' in page
    assert "none saved yet; this preview becomes v1 once every decision is made" in page  # no gold: nothing to name
    after = page[page.index('aria-label="Next sentences (context)"') :]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; hit Odesa ." in after and "One drone fell ." in after
    first = client.get(f"/projects/incidents/review/{ids['s1']}").get_data(as_text=True)
    assert "Previous sentences (context)" not in first  # the report's first sentence has none before it


def test_review_cached_report_follows_new_annotations_and_gold(db):
    from annotator.services.annotations import save_annotation
    from annotator.services.review import project_report, review_queue

    ids = build_project(db)
    project = db.scalar(select(Report)).project
    project.annotators_per_sentence = 5  # room for a fourth annotator
    db.commit()
    before = project_report(db, project, n_resamples=50)
    assert project_report(db, project, n_resamples=50) == before  # served from the cache, same figures
    queue_before = [q["sentence_id"] for q in review_queue(db, project)]
    # A fourth annotator agrees with bob on s1: the pooled strict F1 must move.
    dee = get_or_create_annotator(db, "dee")
    save_annotation(
        db,
        db.get(Sentence, ids["s1"]),
        dee,
        "done",
        [{"start_char": 0, "end_char": 3, "label": "COUNT"}, {"start_char": 15, "end_char": 26, "label": "REGION"}],
    )
    db.commit()
    after = project_report(db, project, n_resamples=50)
    assert after["span_f1"]["overall"] != before["span_f1"]["overall"]
    # Gold for a queued sentence, answering its annotations as they are, takes it out of the queue at once.
    gold = GoldAnnotation(sentence_id=queue_before[0])
    db.add(gold)
    db.flush()
    for annotation in db.scalars(select(Annotation).where(Annotation.sentence_id == queue_before[0])):
        db.add(GoldAnswer(gold_id=gold.id, annotation_id=annotation.id, version=annotation.version))
    db.commit()
    assert queue_before[0] not in [q["sentence_id"] for q in review_queue(db, project)]


def test_review_effort_compares_time_with_and_without_suggestions(db, login):
    from annotator.services.annotations import save_annotation
    from annotator.services.review import labelling_effort, project_report

    ids = build_project(db)
    project = db.scalar(select(Report)).project
    project.annotators_per_sentence = 5  # room for a fourth annotator
    eve = get_or_create_annotator(db, "eve")
    save_annotation(
        db,
        db.get(Sentence, ids["s1"]),
        eve,
        "done",
        [{"start_char": 0, "end_char": 3, "label": "COUNT", "suggested": True}],
        seconds_spent=4,
    )
    save_annotation(
        db,
        db.get(Sentence, ids["s4"]),
        eve,
        "done",
        [{"start_char": 0, "end_char": 3, "label": "COUNT"}],
        seconds_spent=30,
    )
    db.commit()
    effort = labelling_effort(db, project)
    assert effort["annotators"]["eve"] == {"median_seconds": 17.0, "suggested_share": 0.5, "sentences": 2}
    assert effort["with_suggestions"] == {"median_seconds": 4.0, "sentences": 1}
    page = login("rev", "reviewer").get("/projects/incidents/review").get_data(as_text=True)
    assert "4.0 s with an accepted suggestion (1 sentence)," in page
    # eve opens s4 again and saves it as it is: no new version, but her time counts, on the cached report too.
    assert project_report(db, project, n_resamples=50)["effort"]["annotators"]["eve"]["median_seconds"] == 17.0
    again = save_annotation(
        db,
        db.get(Sentence, ids["s4"]),
        eve,
        "done",
        [{"start_char": 0, "end_char": 3, "label": "COUNT"}],
        seconds_spent=10,
        base_version=1,
    )
    db.commit()
    assert again.version == 1
    assert project_report(db, project, n_resamples=50)["effort"]["annotators"]["eve"]["median_seconds"] == 22.0


def test_review_single_flagged_version_is_offered_with_its_comment(db, login):
    sentence_id = build_flagged(db)
    client = login("rev", "reviewer")
    page = client.get(f"/projects/incidents/review/{sentence_id}").get_data(as_text=True)
    assert "is &#39;fire broke out&#39; an &lt;b&gt;outcome&lt;/b&gt;?" in page  # escaped, beside alice's version
    assert "<b>outcome</b>" not in page
    data = json.loads(page.split("data-review='", 1)[1].split("'>", 1)[0].replace("&#34;", '"').replace("&amp;", "&"))
    assert data["annotations"][0]["comment"] == QUESTION
    assert [(d["kind"], d["proposal"], d["versions"]["alice"][0]["label"]) for d in data["decisions"]] == [
        ("single", "alice", "OUTCOME")
    ]
    assert "Nothing to decide" not in page


def test_review_gold_that_drops_a_span_silently_is_refused(db, login, runner, tmp_path):
    alice = login("alice", "annotator")  # an account first: build_flagged labels as her
    sentence_id = build_flagged(db)
    client = login("rev", "reviewer")
    url = f"/projects/incidents/review/{sentence_id}/gold"
    empty = client.put(url, json={"version": None, "spans": []})
    assert empty.status_code == 422
    assert "alice: OUTCOME «fell» (10–14)" in empty.get_json()["message"]
    db.rollback()
    assert db.scalar(select(GoldAnnotation).where(GoldAnnotation.sentence_id == sentence_id)) is None
    # Before review the flagged sentence is held back from a majority export, not voted on.
    out = tmp_path / "before"
    assert runner.invoke(["export", "--project", "incidents", "--out", str(out)]).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sentences"]["excluded"]["flagged, awaiting review"] == 2  # s2 (bob) and s4 (alice)
    # Taking alice's version stores it, with the reviewer's note for her.
    taken = client.put(
        url,
        json={
            "version": None,
            "spans": [{"start_char": 10, "end_char": 14, "label": "OUTCOME", "value": None}],
            "note": "Yes: a <i>fall</i> is an outcome.",
        },
    )
    assert taken.status_code == 200, taken.get_json()
    gold, spans = _gold_rows(db, sentence_id)
    assert set(spans) == {(10, 14, "OUTCOME")} and spans[(10, 14, "OUTCOME")].provenance == "adjudicated"
    assert gold.note == "Yes: a <i>fall</i> is an outcome." and gold.dropped == []
    out = tmp_path / "after"
    assert runner.invoke(["export", "--project", "incidents", "--out", str(out)]).exit_code == 0
    lines = [json.loads(line) for line in (out / "annotations.jsonl").read_text().splitlines()]
    exported = next(line for line in lines if line["meta"]["sentence_id"] == sentence_id)
    assert [(s["start"], s["end"], s["label"]) for s in exported["spans"]] == [(10, 14, "OUTCOME")]
    # alice sees the note in her history, escaped.
    history = alice.get("/projects/incidents/history").get_data(as_text=True)
    assert "Yes: a &lt;i&gt;fall&lt;/i&gt; is an outcome." in history
    # An explicit drop is allowed and kept with the gold.
    dropped = client.put(
        url, json={"version": 1, "spans": [], "dropped": [{"start_char": 10, "end_char": 14, "label": "OUTCOME"}]}
    )
    assert dropped.status_code == 200
    gold, spans = _gold_rows(db, sentence_id)
    assert spans == {}
    assert [(d["label"], d["by"], d["decision"]) for d in gold.dropped] == [("OUTCOME", ["alice", "gold"], "drop")]


def test_review_disagreement_list_shows_flags_and_comments(db, login):
    import re

    sentence_id = build_flagged(db)
    client = login("rev", "reviewer")
    page = client.get("/projects/incidents/review/disagreements").get_data(as_text=True)
    assert f'data-sentence="{sentence_id}"' in page
    assert "is &#39;fire broke out&#39; an &lt;b&gt;outcome&lt;/b&gt;?" in page
    with_comment = client.get("/projects/incidents/review/disagreements?has=comment").get_data(as_text=True)
    assert re.findall(r'data-sentence="(\d+)"', with_comment) == [str(sentence_id)]
    flagged = client.get("/projects/incidents/review/disagreements?has=flagged").get_data(as_text=True)
    assert (
        str(sentence_id) in re.findall(r'data-sentence="(\d+)"', flagged)
        and len(re.findall(r'data-sentence="(\d+)"', flagged)) == 2
    )
    assert client.get("/projects/incidents/review/disagreements?has=nonsense").status_code == 400


def test_review_readjudication_offers_spans_only_the_saved_gold_has(db, login):
    ids = build_project(db)
    client = login("rev", "reviewer")
    url = f"/projects/incidents/review/{ids['s4']}/gold"
    # The reviewer adds "drone" as an OUTCOME nobody marked, next to ann's COUNT.
    spans = [
        {"start_char": 0, "end_char": 3, "label": "COUNT", "value": "1"},
        {"start_char": 4, "end_char": 9, "label": "OUTCOME", "value": None},
    ]
    assert client.put(url, json={"version": None, "spans": spans}).status_code == 200
    page = client.get(f"/projects/incidents/review/{ids['s4']}").get_data(as_text=True)
    data = json.loads(page.split("data-review='", 1)[1].split("'>", 1)[0].replace("&#34;", '"').replace("&amp;", "&"))
    assert [(d["kind"], d["start_char"], d["end_char"]) for d in data["decisions"]] == [
        ("single", 0, 3),
        ("gold", 4, 9),
    ]
    # Saving again without it is a decision nobody made: refused, until it is dropped on purpose.
    refused = client.put(url, json={"version": 1, "spans": spans[:1]})
    assert refused.status_code == 422 and "gold: OUTCOME «drone» (4–9)" in refused.get_json()["message"]
    dropped = client.put(url, json={"version": 1, "spans": spans[:1], "dropped": [spans[1]]})
    assert dropped.status_code == 200


@pytest.mark.parametrize(
    "extra, status, problem",
    [
        ({"note": "fine\x00"}, 400, "NUL"),  # refused with the body, before the service sees it
        ({"note": "x\ud800"}, 400, "surrogate"),
        ({"note": "n" * 10_001}, 422, "MAX_COMMENT_CHARS"),
        ({"dropped": [{"start_char": 0, "end_char": 3, "label": "COUNT"}] * 201}, 422, "MAX_SPANS_PER_ANNOTATION"),
    ],
)
def test_review_adjudication_note_and_dropped_are_bounded(db, login, extra, status, problem):
    """The reviewer's note and dropped list obey the limits every other text and list does, on both backends."""
    ids = build_project(db)
    response = login("rev", "reviewer").put(
        f"/projects/incidents/review/{ids['s1']}/gold", json={"version": None, "spans": [], **extra}
    )
    assert response.status_code == status
    assert problem in response.get_json()["message"]
    db.rollback()
    assert db.scalar(select(GoldAnnotation)) is None


def test_review_adjudication_shows_where_each_version_span_came_from(db, login):
    from annotator.models import Annotation, Span

    ids = build_project(db)
    bob = db.scalar(select(User).where(User.username == "bob"))
    region = db.scalar(
        select(Span)
        .join(Annotation)
        .where(Annotation.sentence_id == ids["s1"], Annotation.user_id == bob.id, Span.label == "REGION")
    )
    region.suggested, region.source, region.model_version = True, "model", 4
    db.commit()
    page = login("rev", "reviewer").get(f"/projects/incidents/review/{ids['s1']}").get_data(as_text=True)
    data = json.loads(page.split("data-review='", 1)[1].split("'>", 1)[0].replace("&#34;", '"').replace("&amp;", "&"))
    (boundary,) = [d for d in data["decisions"] if "bob" in d["versions"] and d["versions"]["bob"]]
    assert boundary["versions"]["bob"][0] | {"text": None} == {
        "start_char": 15,
        "end_char": 26,
        "label": "REGION",
        "value": "Kyiv",
        "text": None,
        "source": "model",
        "model_version": 4,
    }
    assert "source" not in boundary["versions"]["ann"][0]  # a hand-made span
    assert page.count('class="muted provenance"') == 1 and ">model v4</span>" in page


# build_project's s1 as its gold: the count all three marked, and ann's and cy's region.
S1_GOLD = [
    {"start_char": 0, "end_char": 3, "label": "COUNT", "value": "2"},
    {"start_char": 15, "end_char": 19, "label": "REGION", "value": "Kyiv"},
]


def test_review_queue_takes_back_a_sentence_whose_annotation_changed_after_its_gold(db, login):
    """An annotator's flag or changed version saved after the gold reaches a reviewer; a late first version is scored."""
    from annotator.services.annotations import save_annotation
    from annotator.services.projects import project_status
    from annotator.services.review import review_queue

    ids = build_project(db)
    project = db.scalar(select(Report)).project
    client = login("rev", "reviewer")
    url = f"/projects/incidents/review/{ids['s1']}"
    spans = S1_GOLD
    assert client.put(f"{url}/gold", json={"version": None, "spans": spans}).status_code == 200
    db.rollback()
    assert ids["s1"] not in [q["sentence_id"] for q in review_queue(db, project)]

    # bob comes back to s1 after the gold was saved and flags it with a question.
    bob = db.scalar(select(User).where(User.username == "bob"))
    save_annotation(
        db,
        db.get(Sentence, ids["s1"]),
        bob,
        "flagged",
        [{"start_char": 15, "end_char": 26, "label": "REGION"}],
        comment="is the oblast part of the region?",
        base_version=1,
    )
    db.commit()
    item = next(q for q in review_queue(db, project) if q["sentence_id"] == ids["s1"])
    assert item["changed_since_gold"] == ["bob"] and item["flagged_by"] == ["bob"]
    assert project_status(db, "incidents")["changed_since_gold"] == 1  # annotator status, the export manifest
    page = client.get(url).get_data(as_text=True)
    assert 'data-changed-since-gold="bob"' in page and "changed after the gold" in page
    # The dashboard counts it with the queue.
    dashboard = client.get("/projects/incidents/review").get_data(as_text=True)
    assert 'id="stat-changed-since-gold">1<' in dashboard

    # Saving the gold again (as it is) answers it: the sentence leaves the queue.
    assert client.put(f"{url}/gold", json={"version": 1, "spans": spans}).status_code == 200
    db.rollback()
    assert ids["s1"] not in [q["sentence_id"] for q in review_queue(db, project)]

    # bob opens s1 again and saves it as it is: no change, so no new version, no event, nothing to review.
    events = db.scalar(select(func.count()).select_from(AuditEvent))
    again = save_annotation(
        db,
        db.get(Sentence, ids["s1"]),
        bob,
        "flagged",
        [{"start_char": 15, "end_char": 26, "label": "REGION"}],
        comment="is the oblast part of the region?",
        seconds_spent=3,
        base_version=2,
    )
    db.commit()
    assert (again.version, again.seconds_spent) == (2, 3.0)
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert ids["s1"] not in [q["sentence_id"] for q in review_queue(db, project)]

    # ann, whose version the gold answered, changes it after the gold: news; back to the gold's spans: none.
    ann = db.scalar(select(User).where(User.username == "ann"))

    def queued() -> dict[int, list[str]]:
        return {q["sentence_id"]: q["changed_since_gold"] for q in review_queue(db, project)}

    save_annotation(db, db.get(Sentence, ids["s1"]), ann, "done", spans[:1], base_version=1)
    db.commit()
    assert queued()[ids["s1"]] == ["ann"]
    save_annotation(db, db.get(Sentence, ids["s1"]), ann, "done", spans, base_version=2)
    db.commit()
    assert ids["s1"] not in queued()

    # A late annotator's first version of a sentence with gold is scored against it, not queued,
    # even when it differs; flagged, it is queued.
    dee = get_or_create_annotator(db, "dee")
    project.annotators_per_sentence = 5
    save_annotation(db, db.get(Sentence, ids["s1"]), dee, "done", spans[1:])
    db.commit()
    assert ids["s1"] not in queued()
    save_annotation(db, db.get(Sentence, ids["s1"]), dee, "flagged", spans[1:], comment="two?", base_version=1)
    db.commit()
    assert queued()[ids["s1"]] == ["dee"]
    assert next(q for q in review_queue(db, project) if q["sentence_id"] == ids["s1"])["flagged_by"] == ["dee"]


def test_review_gold_over_an_annotation_saved_after_the_page_was_loaded_is_refused(db, login):
    """bob flagged s1 while the reviewer was deciding on the page that showed his done version. Saved, that gold
    would be newer than the flag, so the flag would never reach the queue and nobody would read it: refused."""
    from annotator.services.annotations import save_annotation
    from annotator.services.review import review_queue

    ids = build_project(db)
    project = db.scalar(select(Report)).project
    client = login("rev", "reviewer")
    url = f"/projects/incidents/review/{ids['s1']}"
    spans = S1_GOLD

    def seen() -> dict[str, int]:
        page = client.get(url).get_data(as_text=True)
        raw = page.split("data-review='", 1)[1].split("'>", 1)[0]
        return json.loads(raw.replace("&#34;", '"').replace("&amp;", "&"))["seen"]

    loaded = seen()
    assert loaded == {"ann": 1, "bob": 1, "cy": 1}
    bob = db.scalar(select(User).where(User.username == "bob"))
    region = {"start_char": 15, "end_char": 26, "label": "REGION"}
    save_annotation(db, db.get(Sentence, ids["s1"]), bob, "flagged", [region], comment="oblast?", base_version=1)
    db.commit()
    refused = client.put(f"{url}/gold", json={"version": None, "seen": loaded, "spans": spans})
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["error"] == "annotations_changed"
    assert refused.get_json()["annotators"] == ["bob"]
    assert "bob saved a new version of this sentence after this page was loaded" in refused.get_json()["message"]
    db.rollback()
    assert db.scalar(select(GoldAnnotation).where(GoldAnnotation.sentence_id == ids["s1"])) is None
    assert ids["s1"] in [q["sentence_id"] for q in review_queue(db, project)]

    bad = client.put(f"{url}/gold", json={"version": None, "seen": ["bob"], "spans": spans})
    assert bad.status_code == 422 and "seen must be an object" in bad.get_json()["message"]
    # Reloaded, the page shows the flag; its gold is saved.
    assert client.put(f"{url}/gold", json={"version": None, "seen": seen(), "spans": spans}).status_code == 200


def test_review_queue_takes_back_a_version_saved_after_the_gold_with_an_earlier_time(db, login):
    """The gold answers the versions it read, so a version saved after it is news whatever its time stamp: saved by a
    server whose clock is behind, or one that took its time before the gold's but committed after the gold's read."""
    from datetime import timedelta

    from annotator.services.annotations import save_annotation
    from annotator.services.projects import project_status
    from annotator.services.review import review_queue

    ids = build_project(db)
    project = db.scalar(select(Report)).project
    client = login("rev", "reviewer")
    url = f"/projects/incidents/review/{ids['s1']}"
    assert client.put(f"{url}/gold", json={"version": None, "spans": S1_GOLD}).status_code == 200
    db.rollback()
    gold = db.scalar(select(GoldAnnotation).where(GoldAnnotation.sentence_id == ids["s1"]))
    assert ids["s1"] not in [q["sentence_id"] for q in review_queue(db, project)]
    before_gold = gold.updated_at - timedelta(minutes=10)
    ann = db.scalar(select(User).where(User.username == "ann"))
    saved = save_annotation(db, db.get(Sentence, ids["s1"]), ann, "done", S1_GOLD[:1], base_version=1, now=before_gold)
    db.commit()
    assert saved.updated_at < gold.updated_at
    item = next(q for q in review_queue(db, project) if q["sentence_id"] == ids["s1"])
    assert item["changed_since_gold"] == ["ann"]
    assert project_status(db, "incidents")["changed_since_gold"] == 1
    # A flag raised the same way is news too.
    bob = db.scalar(select(User).where(User.username == "bob"))
    save_annotation(
        db, db.get(Sentence, ids["s1"]), bob, "flagged", S1_GOLD, comment="sure?", base_version=1, now=before_gold
    )
    db.commit()
    assert next(q for q in review_queue(db, project) if q["sentence_id"] == ids["s1"])["changed_since_gold"] == [
        "ann",
        "bob",
    ]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_review_gold_saved_while_a_first_version_is_being_saved_reads_it(app, db, database_url):
    """dee's first version of s1 is written, not committed, when the reviewer's gold save (from a page that showed
    ann, bob and cy) starts. The gold waits for dee's save and reads her version: refused, as the page did not show
    it, instead of being saved without it and scoring her disagreeing version as a late one, never reviewed."""
    import threading

    from annotator import db as database
    from annotator.services.adjudication import AnnotationsChanged, adjudicate
    from annotator.services.annotations import save_annotation
    from annotator.services.review import review_queue
    from annotator.services.users import create_user

    ids = build_project(db)
    project = db.scalar(select(Report)).project
    project.annotators_per_sentence = 5
    dee = get_or_create_annotator(db, "dee")
    reviewer = create_user(db, "rev", "reviewer", "a long enough password")
    db.commit()
    sessions = app.extensions["annotator.sessionmaker"]
    saving = sessions()
    database.write_transaction(saving)
    save_annotation(saving, saving.get(Sentence, ids["s1"]), saving.get(User, dee.id), "done", S1_GOLD[1:])
    outcome: dict[str, object] = {}

    def save_gold() -> None:
        with sessions() as gold:
            database.write_transaction(gold)
            try:
                decisions = {"version": None, "spans": S1_GOLD, "seen": {"ann": 1, "bob": 1, "cy": 1}}
                adjudicate(gold, gold.get(Sentence, ids["s1"]), gold.get(User, reviewer.id), decisions)
                gold.commit()
                outcome["result"] = "saved"
            except Exception as exc:  # noqa: BLE001 - asserted below
                gold.rollback()
                outcome["result"] = exc

    thread = threading.Thread(target=save_gold)
    thread.start()
    for _ in range(600):  # until the gold save waits for dee's (a bound on a hang, not a timing)
        if waiting_on_a_lock(db) or not thread.is_alive():
            break
        thread.join(0.1)
    saving.commit()
    saving.close()
    thread.join(60)
    assert isinstance(outcome.get("result"), AnnotationsChanged), outcome
    assert outcome["result"].annotators == ["dee"]
    db.rollback()
    assert db.scalar(select(GoldAnnotation).where(GoldAnnotation.sentence_id == ids["s1"])) is None
    assert ids["s1"] in [q["sentence_id"] for q in review_queue(db, project)]


def test_review_gold_saved_on_a_long_lived_session_reads_the_versions_as_stored(app, db):
    """A session that loaded bob's annotation earlier (the CLI, the demo) still holds it when bob saves a new
    version elsewhere: the gold reads his version as stored, so the page's seen versions match and the gold
    answers his new version, not the one the session remembered."""
    from annotator import db as database
    from annotator.services.adjudication import adjudicate
    from annotator.services.annotations import save_annotation
    from annotator.services.review import changed_since_gold
    from annotator.services.users import create_user

    ids = build_project(db)
    project = db.scalar(select(Report)).project
    reviewer = create_user(db, "rev", "reviewer", "a long enough password")
    db.commit()
    bob = db.scalar(select(User).where(User.username == "bob"))
    remembered = db.scalar(select(Annotation).where(Annotation.user_id == bob.id, Annotation.sentence_id == ids["s1"]))
    assert remembered.version == 1
    with app.extensions["annotator.sessionmaker"]() as other:
        other_bob = other.get(User, bob.id)
        save_annotation(other, other.get(Sentence, ids["s1"]), other_bob, "done", S1_GOLD[:1], base_version=1)
        other.commit()
    decisions = {"version": None, "spans": S1_GOLD, "seen": {"ann": 1, "bob": 2, "cy": 1}}
    database.write_transaction(db)  # as every gold save starts
    assert remembered.version == 1  # what the session still holds
    adjudicate(db, db.get(Sentence, ids["s1"]), reviewer, decisions)
    db.commit()
    assert changed_since_gold(db, project, ids["s1"]) == {}


def test_review_queue_after_gold_counts_a_skip_turned_done_and_not_a_done_turned_skipped(db, login):
    """cy had skipped s2 when its gold was saved: her done version afterwards is news. ann's done version, answered
    by the gold, turned skipped afterwards is not: a skip marks nothing for the reviewer to weigh."""
    from annotator.services.annotations import save_annotation
    from annotator.services.review import changed_since_gold

    ids = build_project(db)
    project = db.scalar(select(Report)).project
    client = login("rev", "reviewer")
    spans = [
        {"start_char": 0, "end_char": 5, "label": "COUNT", "value": "3"},
        {"start_char": 20, "end_char": 31, "label": "OUTCOME", "value": "intercepted"},
        {"start_char": 37, "end_char": 41, "label": "REGION", "value": "Lviv"},
    ]
    saved = client.put(f"/projects/incidents/review/{ids['s2']}/gold", json={"version": None, "spans": spans})
    assert saved.status_code == 200, saved.get_json()
    db.rollback()
    assert changed_since_gold(db, project, ids["s2"]) == {}
    ann, cy = (db.scalar(select(User).where(User.username == name)) for name in ("ann", "cy"))
    save_annotation(db, db.get(Sentence, ids["s2"]), ann, "skipped", [], base_version=1)
    db.commit()
    assert changed_since_gold(db, project, ids["s2"]) == {}
    save_annotation(db, db.get(Sentence, ids["s2"]), cy, "done", spans[:1], base_version=1)
    db.commit()
    assert changed_since_gold(db, project, ids["s2"]) == {ids["s2"]: ["cy"]}


def test_review_disagreement_list_orders_sentences_as_the_queue_serves_them(db, login):
    """A flag comes first on the list as in "Review next", whatever its severity; settled gold comes last."""
    import re

    from annotator.services.review import review_queue

    flagged_id = build_flagged(db)  # alice alone flagged s4: severity 0; bob flagged s2, a presence conflict
    project = db.scalar(select(Report)).project
    client = login("rev", "reviewer")

    def listed(query=""):
        page = client.get(f"/projects/incidents/review/disagreements{query}").get_data(as_text=True)
        return [int(i) for i in re.findall(r'data-sentence="(\d+)"', page)]

    queue = [q["sentence_id"] for q in review_queue(db, project)]
    assert flagged_id in queue[:2]
    assert listed() == queue
    assert client.get("/projects/incidents/review/next").headers["Location"].endswith(f"/review/{queue[0]}")

    # Gold that answers every version leaves the queue, and the list puts it after everything still open.
    s1 = db.scalar(select(Sentence).where(Sentence.position == 0, Sentence.report_id == project.reports[0].id))
    assert (
        client.put(f"/projects/incidents/review/{s1.id}/gold", json={"version": None, "spans": S1_GOLD}).status_code
        == 200
    )
    db.rollback()
    queue = [q["sentence_id"] for q in review_queue(db, project)]
    assert s1.id not in queue
    assert listed() == [*queue, s1.id]  # bob's boundary conflict on s1 is still listed, answered
    assert listed("?gold=open") == queue


def test_review_adjudication_page_opens_with_a_heading_and_gold_line_that_match_its_decisions(db, login):
    """Before any script runs: open conflicts, a proposed lone version, or decisions taken from the saved gold."""
    import re

    from annotator.services.adjudication import adjudicate

    ids = build_project(db)
    flagged = db.get(Sentence, ids["s4"])
    client = login("rev", "reviewer")

    def head_and_state(sentence_id):
        page = client.get(f"/projects/incidents/review/{sentence_id}").get_data(as_text=True)
        heading = re.search(r'<h2 id="decide-heading">(.*?)</h2>', page).group(1)
        state = re.search(r'<span class="muted" id="gold-state">(.*?)</span>', page).group(1)
        return re.sub(r"<[^>]+>", "", heading).replace("&#39;", "'"), state

    assert head_and_state(ids["s1"]) == (
        "To decide (1 open)",
        "none saved yet; this preview becomes v1 once every decision is made",
    )
    assert head_and_state(flagged.id) == (
        "Decided (1 proposed from ann's version; Enter confirms them)",
        "none saved yet; Enter saves this as v1",
    )
    reviewer = db.scalar(select(User).where(User.username == "rev"))
    adjudicate(db, db.get(Sentence, ids["s1"]), reviewer, {"version": None, "spans": S1_GOLD})
    db.commit()
    assert head_and_state(ids["s1"]) == (
        "Decided (1 from the saved gold; Enter keeps them)",
        "v1 as saved; Enter saves it again as v2, with the same spans",
    )
