"""The queue's order option: report order, or most informative first (the active model's least certain first)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import event, func, select, update

from annotator import db as database
from annotator.cli import uncertainty_job
from annotator.cli.training_job import run_version
from annotator.cli.uncertainty_job import score_project
from annotator.export.training import load_pipeline
from annotator.export.uncertainty import sentence_uncertainties, span_disagreement
from annotator.models import Annotation, Lease, Project, Sentence, utcnow
from annotator.services import model_versions as versions
from annotator.services.annotations import save_annotation
from annotator.services.queue import next_sentence
from annotator.services.uncertainty import compute_uncertainties, store_uncertainties
from annotator.web.openapi import document
from tests.helpers import LEASE, WAIT, claim, import_trainable, make_project, run_threads, sentences_of, users


def save(db, sentence, user, status="done"):
    database.write_transaction(db)
    save_annotation(db, sentence, user, status, [])
    db.commit()


def ranked_project(db, order="uncertain", quota=2):
    """The five-sentence project with scores: s3 most uncertain, then s1, s4; s0 and s2 unscored."""
    project = make_project(db, quota=quota)
    project.queue_order = order
    s = sentences_of(db, project)
    database.write_transaction(db)
    assert store_uncertainties(db, project, {s[3].id: 0.9, s[1].id: 0.5, s[4].id: 0.1}) == 3
    db.commit()
    return project, s


def test_queue_order_stores_scores_ranked_most_uncertain_first(db):
    project, s = ranked_project(db)
    db.expire_all()
    ranks = {x.id: (x.uncertainty, x.uncertainty_rank) for x in sentences_of(db, project)}
    assert ranks == {
        s[3].id: (0.9, 0),
        s[1].id: (0.5, 1),
        s[4].id: (0.1, 2),
        s[0].id: (None, None),
        s[2].id: (None, None),
    }


def test_queue_order_serves_the_most_uncertain_first_then_unscored_in_report_order(db):
    project, s = ranked_project(db, quota=1)
    ann, bo, cy, di, ed, flo = users(db, "ann", "bo", "cy", "di", "ed", "flo")
    served = [claim(db, project, user).id for user in (ann, bo, cy, di, ed)]
    assert served == [s[3].id, s[1].id, s[4].id, s[0].id, s[2].id]
    assert claim(db, project, flo) is None  # every sentence leased to its quota of one


def test_queue_order_report_order_is_unchanged_by_scores(db):
    project, s = ranked_project(db, order="report", quota=1)
    people = users(db, "ann", "bo", "cy", "di", "ed")
    assert [claim(db, project, user).id for user in people] == [x.id for x in s]


def test_queue_order_completes_a_started_sentence_before_opening_the_next(db):
    project, s = ranked_project(db, quota=2)
    ann, bo, cy = users(db, "ann", "bo", "cy")
    assert claim(db, project, ann).id == s[3].id
    assert claim(db, project, bo).id == s[3].id  # started by ann: completing it comes first
    assert claim(db, project, cy).id == s[1].id  # two leases fill the quota of 2
    save(db, s[1], cy)
    assert claim(db, project, cy).id == s[4].id  # never a sentence cy annotated, whatever its rank


def test_queue_order_an_expired_lease_frees_the_top_sentence(db):
    project, s = ranked_project(db, quota=1)
    ann, bo = users(db, "ann", "bo")
    now = utcnow()
    assert claim(db, project, ann, now).id == s[3].id
    assert claim(db, project, bo, now).id == s[1].id  # ann's lease holds the top one
    later = now + timedelta(seconds=LEASE + 1)
    save(db, s[1], bo)
    assert claim(db, project, bo, later).id == s[3].id  # ann's lease expired: the top one is free again


def test_queue_order_every_sentence_reaches_its_quota_and_nobody_gets_one_twice(db):
    project, s = ranked_project(db, quota=2)
    people = users(db, "ann", "bo", "cy")
    firsts = []
    for _ in range(20):
        for user in people:
            sentence = claim(db, project, user)
            if sentence is not None:
                firsts.append(sentence.id)
                save(db, sentence, user, "skipped" if (user.username, sentence.id) == ("ann", s[3].id) else "done")
    pairs = db.execute(select(Annotation.sentence_id, Annotation.user_id)).all()
    assert len(pairs) == len(set(pairs))  # nobody annotated a sentence twice
    counted = Counter(sid for (sid,) in db.execute(select(Annotation.sentence_id).where(Annotation.status == "done")))
    assert counted == {x.id: 2 for x in s}
    assert firsts[:3] == [s[3].id] * 3  # the most uncertain sentence first: ann skipped it, bo and cy did it


def test_queue_order_concurrent_claims_keep_the_quota(db, database_url):
    project, s = ranked_project(db, quota=2)
    people = users(db, *[f"u{i}" for i in range(6)])

    def work(session, project, user):
        database.write_transaction(session)
        sentence = next_sentence(session, project, user, utcnow(), LEASE)
        session.commit()
        return sentence.id if sentence is not None else None

    claimed = run_threads(database_url, project.id, [u.id for u in people], work)
    per_sentence = Counter(claimed.values())
    assert None not in per_sentence and sum(per_sentence.values()) == 6
    assert max(per_sentence.values()) <= 2  # never past the quota, whoever claimed at the same moment
    db.rollback()  # end this session's read snapshot
    assert db.scalar(select(func.count()).select_from(Lease)) == 6


def test_queue_order_span_disagreement():
    a, b, c = (0, 3, "COUNT"), (10, 14, "REGION"), (5, 9, "OUTCOME")
    assert span_disagreement(set(), set()) == 0.0
    assert span_disagreement({a, b}, {a, b}) == 0.0
    assert span_disagreement({a}, {b}) == 1.0
    assert span_disagreement({a, b}, {a, c}) == pytest.approx(2 / 3)


# --- Settings: the form, the API, the command line -------------------------------------


@pytest.fixture
def admin(login):
    return login("root", "admin")


def test_queue_order_settings_form_saves_and_refuses_a_bad_value(admin, db):
    project = make_project(db)
    url = f"/admin/projects/{project.name}/settings"
    base = {"annotators_per_sentence": 2, "routing": "none"}
    bad = admin.post(url, data={**base, "queue_order": "random"})
    assert bad.status_code == 400
    assert "Choose the queue order: report (report order) or uncertain" in bad.get_data(as_text=True)
    assert admin.post(url, data={**base, "queue_order": "uncertain"}).status_code == 302
    db.expire_all()
    assert db.get(Project, project.id).queue_order == "uncertain"
    assert admin.post(url, data=base).status_code == 302  # left out: unchanged
    db.expire_all()
    assert db.get(Project, project.id).queue_order == "uncertain"
    page = admin.get(f"/admin/projects/{project.name}").get_data(as_text=True)
    assert '<option selected value="uncertain">' in page


def conforms(data, schema_name: str) -> None:
    doc = document()
    Draft202012Validator({"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}).validate(
        data
    )


def test_queue_order_api_creates_lists_and_refuses_a_bad_order(admin, db, make_user):
    make_user("ann")
    make_user("bea")
    refused = admin.post("/api/projects", json={"name": "p", "queue_order": "random"})
    assert refused.status_code == 422
    assert refused.get_json()["field"] == "queue_order"
    assert "queue_order must be report (report order) or uncertain" in refused.get_json()["message"]
    assert admin.post("/api/projects", json={"name": "p", "queue_order": 3}).status_code == 400
    created = admin.post("/api/projects", json={"name": "p", "queue_order": "uncertain"})
    assert created.status_code == 201, created.get_json()
    assert admin.post("/api/projects", json={"name": "q"}).status_code == 201
    listed = {p["name"]: p for p in admin.get("/api/projects").get_json()}
    assert {name: p["queue_order"] for name, p in listed.items()} == {"p": "uncertain", "q": "report"}
    conforms(listed["p"], "ProjectWithProgress")
    schemas = document()["components"]["schemas"]
    assert schemas["Project"]["properties"]["queue_order"]["enum"] == ["report", "uncertain"]
    assert "queue_order" in schemas["Project"]["required"]


def test_queue_order_cli_create(runner, db):
    result = runner.invoke(["projects", "create", "p", "--restricted", "--queue-order", "uncertain"])
    assert result.exit_code == 0, result.output
    assert db.scalar(select(Project.queue_order).where(Project.name == "p")) == "uncertain"
    result = runner.invoke(["projects", "create", "q", "--restricted", "--queue-order", "random"])
    assert result.exit_code != 0 and "'random' is not one of 'report', 'uncertain'" in result.output


# --- Scores from a real trained pipeline, recomputed in the background -----------------


def scores_of(db, project) -> dict[int, float | None]:
    db.expire_all()
    found = dict(db.execute(select(Sentence.id, Sentence.uncertainty).where(Sentence.project_id == project.id)).all())
    db.commit()
    return found


def wait_scored(db, project) -> dict[int, float | None]:
    deadline = time.monotonic() + WAIT
    while True:
        scores = scores_of(db, project)
        if all(score is not None for score in scores.values()):
            return scores
        assert time.monotonic() < deadline, "the scoring process stored nothing"
        time.sleep(0.2)


def train(app, db, project, runs_dir, max_steps):
    database.write_transaction(db)
    version = versions.start_run(
        db, project, None, runs_dir, task="spancat", policy="majority", dev_fraction=0.25, max_steps=max_steps
    )
    db.commit()
    assert run_version(app.extensions["annotator.sessionmaker"], version.id) == "done"
    db.expire_all()
    return version.number


def test_queue_order_scores_are_computed_by_the_background_jobs(app, db, runner, tmp_path, login, monkeypatch):
    import_trainable(runner.invoke, tmp_path)
    project = db.scalar(select(Project).where(Project.name == "p"))
    project.queue_order = "uncertain"
    db.commit()
    sessions = app.extensions["annotator.sessionmaker"]
    number = train(app, db, project, tmp_path / "runs", 30)
    assert set(scores_of(db, project).values()) == {None}  # no active version yet: nothing to score

    # Made active on the models page: a process of its own scores every sentence.
    reviewer = login("rita", "reviewer")
    assert reviewer.post(f"/projects/p/models/{number}/activate").status_code == 302
    scores = wait_scored(db, project)
    assert all(0.0 <= score <= 1.0 for score in scores.values())
    assert len(set(scores.values())) > 1  # a real model is surer of some sentences than of others
    nlp = load_pipeline(versions.pipeline_path(versions.get_version(db, project, number)))
    assert scores == pytest.approx(compute_uncertainties(db, project, nlp))
    db.commit()
    texts = dict(db.execute(select(Sentence.id, Sentence.text).where(Sentence.project_id == project.id)).all())
    db.commit()
    ids = sorted(texts)
    assert sentence_uncertainties(nlp, [texts[i] for i in ids]) == pytest.approx([scores[i] for i in ids])
    ranked = db.execute(
        select(Sentence.id).where(Sentence.project_id == project.id).order_by(Sentence.uncertainty_rank)
    ).scalars()
    assert [scores[i] for i in ranked] == sorted(scores.values(), reverse=True)
    db.commit()

    # The queue serves the most uncertain sentence first.
    (ann,) = users(db, "ann")
    first = claim(db, db.get(Project, project.id), ann)
    assert scores[first.id] == max(scores.values())

    # Scores cleared, then a training run finishes: its process scores again with the active version.
    database.write_transaction(db)
    store_uncertainties(db, db.get(Project, project.id), {})
    db.commit()
    train(app, db, db.get(Project, project.id), tmp_path / "runs", 10)
    assert scores_of(db, project) == pytest.approx(scores)

    # The project goes back to report order while a process is storing its scores: the process
    # stops at its next batch, so nothing it stores afterwards overwrites what serves the queue.
    project_id = project.id  # read before this transaction ends: reading it later would start another
    database.write_transaction(db)
    store_uncertainties(db, db.get(Project, project.id), {})
    db.commit()
    monkeypatch.setattr(uncertainty_job, "STORE_BATCH", 10)
    other_engine = database.make_engine(app.config["DATABASE_URL"])

    def back_to_report_order(session):
        # After the commit that stored the first batch, from another connection.
        with other_engine.begin() as other:
            scored = other.scalar(select(func.count()).where(Sentence.uncertainty.is_not(None)))
            if scored:
                other.execute(update(Project).where(Project.id == project_id).values(queue_order="report"))

    event.listen(sessions, "after_commit", back_to_report_order)
    try:
        account = score_project(sessions, project_id)
    finally:
        event.remove(sessions, "after_commit", back_to_report_order)
        other_engine.dispose()
    assert "after 10 of 37 sentences of 'p' were stored: the rest were not." in account
    assert sum(score is not None for score in scores_of(db, project).values()) == 10

    # Back to report order: nothing is scored.
    database.write_transaction(db)
    reloaded = db.get(Project, project.id)
    reloaded.queue_order = "report"
    store_uncertainties(db, reloaded, {})
    db.commit()
    assert score_project(sessions, project.id) == "Project 'p' serves report order: nothing to score."
    assert set(scores_of(db, project).values()) == {None}


def test_queue_order_annotator_train_scores_with_the_version_it_activates(db, runner, tmp_path):
    import_trainable(runner.invoke, tmp_path)
    project = db.scalar(select(Project).where(Project.name == "p"))
    project.queue_order = "uncertain"
    db.commit()
    result = runner.invoke(["train", "--project", "p", "--task", "spancat", "--max-steps", "10"])
    assert result.exit_code == 0, result.output
    assert "Scored 37 sentences of 'p' with version 1." in result.output
    scores = scores_of(db, project)
    assert len(scores) == 37 and None not in scores.values()
