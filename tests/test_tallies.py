"""The annotation tallies (progress counts) stay equal to counting the annotations, whatever writes them.

Triggers keep ``annotation_tallies`` (migration 0017); these tests write annotations every way the
schema allows (ORM inserts and updates, Core statements, the API's saves, deletes of annotations,
sentences, reports, users and projects and their cascades) and compare after each step.
"""

from __future__ import annotations

import threading

from sqlalchemy import delete, func, select, update

from annotator import db as database
from annotator.models import COMPLETE, Annotation, AnnotationTally, Project, Report, Sentence, User
from annotator.services.annotations import save_annotation
from annotator.services.queue import annotation_counts
from annotator.services.users import issue_api_token
from tests.helpers import make_project, run_threads, sentences_of, users

STATUS_CYCLE = (("done", None), ("flagged", "unclear"), ("skipped", None))


def counted(db) -> dict[tuple[int, int, str], int]:
    rows = db.execute(
        select(Sentence.project_id, Annotation.user_id, Annotation.status, func.count())
        .join(Sentence, Sentence.id == Annotation.sentence_id)
        .group_by(Sentence.project_id, Annotation.user_id, Annotation.status)
    )
    return {(p, u, s): n for p, u, s, n in rows}


def tallied(db) -> dict[tuple[int, int, str], int]:
    rows = db.execute(
        select(AnnotationTally.project_id, AnnotationTally.user_id, AnnotationTally.status, AnnotationTally.n)
    )
    return {(p, u, s): n for p, u, s, n in rows if n}


def assert_tallies_right(db) -> dict[tuple[int, int, str], int]:
    db.commit()
    assert tallied(db) == counted(db)
    assert all(n >= 0 for n in db.scalars(select(AnnotationTally.n)))
    return tallied(db)


def test_tallies_follow_every_way_annotations_are_written_and_deleted(db):
    first = make_project(db, "first")
    second = make_project(db, "second")
    ann, bob = users(db, "ann", "bob")
    one, two, three, four, five = sentences_of(db, first)
    other = sentences_of(db, second)[0]

    db.add_all(
        [
            Annotation(sentence_id=one.id, user_id=ann.id, status="done"),
            Annotation(sentence_id=two.id, user_id=ann.id, status="skipped"),
            Annotation(sentence_id=three.id, user_id=ann.id, status="done"),
            Annotation(sentence_id=one.id, user_id=bob.id, status="flagged"),
            Annotation(sentence_id=four.id, user_id=bob.id, status="done"),
            Annotation(sentence_id=five.id, user_id=bob.id, status="done"),
            Annotation(sentence_id=other.id, user_id=ann.id, status="done"),
        ]
    )
    assert assert_tallies_right(db)[(first.id, ann.id, "done")] == 2

    # Status changes (ORM and Core), a change of annotator, an update that moves nothing.
    db.scalar(select(Annotation).where(Annotation.sentence_id == two.id)).status = "done"
    db.execute(
        update(Annotation).where(Annotation.user_id == bob.id, Annotation.status == "flagged").values(status="done")
    )
    db.execute(update(Annotation).where(Annotation.sentence_id == five.id).values(user_id=ann.id))
    db.execute(update(Annotation).values(comment="seen"))
    figures = assert_tallies_right(db)
    assert figures[(first.id, ann.id, "done")] == 4 and figures[(first.id, bob.id, "done")] == 2

    db.execute(delete(Annotation).where(Annotation.sentence_id == three.id))  # an annotation
    assert_tallies_right(db)
    db.execute(delete(Sentence).where(Sentence.id == one.id))  # a sentence, with two annotations
    assert_tallies_right(db)
    db.execute(delete(Report).where(Report.id == four.report_id))  # a report, its sentences and theirs
    assert_tallies_right(db)
    db.execute(delete(User).where(User.id == bob.id))  # a user
    assert_tallies_right(db)
    db.execute(delete(Project).where(Project.id == first.id))  # a project
    assert_tallies_right(db)
    assert db.scalars(select(AnnotationTally.project_id).distinct()).all() == [second.id]


def test_tallies_are_the_progress_of_the_api_saves(app, db):
    project = make_project(db)
    (ann,) = users(db, "ann")
    headers = {"Authorization": f"Bearer {issue_api_token(ann)}"}
    db.commit()
    client = app.test_client()
    saved = []
    for status in ("done", "flagged", "skipped", "done"):
        sentence = client.get("/api/projects/incidents/next", headers=headers).get_json()["sentence"]
        response = client.put(
            f"/api/sentences/{sentence['id']}/annotation",
            headers=headers,
            json={"status": status, "comment": "unclear"},
        )
        assert response.status_code == 200, response.data
        saved.append(response.get_json()["annotation"])
    # A re-save that changes the status moves the annotation from one tally to the other.
    flagged = saved[1]
    body = {"status": "done", "base_version": flagged["version"]}
    assert (
        client.put(f"/api/sentences/{flagged['sentence_id']}/annotation", headers=headers, json=body).status_code == 200
    )
    assert_tallies_right(db)
    progress = client.get("/api/projects/incidents/progress", headers=headers).get_json()
    assert (progress["mine_done"], progress["mine_flagged"], progress["mine_skipped"]) == (3, 0, 1)
    assert annotation_counts(db, project) == {"ann": {"done": 3, "flagged": 0, "skipped": 1}}


def test_tallies_right_after_concurrent_saves_of_one_annotator_and_others(db, database_url):
    """One annotator saving in two places at once (two tabs), and others saving the same sentences meanwhile:
    every save moves its tally, none waits for ever (PostgreSQL: the tally row is locked by each save)."""
    project = make_project(db, quota=4)
    ann, bo, cy = users(db, "ann", "bo", "cy")
    ids = [s.id for s in sentences_of(db, project)]
    halves = iter((ids[0::2], ids[1::2]))  # ann's two threads share out the sentences
    lock = threading.Lock()

    def work(session, project, user):
        if user.id == ann.id:
            with lock:
                todo = next(halves)
        else:
            todo = ids
        for round_ in range(3):
            for sentence_id in todo:
                database.write_transaction(session)
                own = session.scalar(
                    select(Annotation).where(Annotation.sentence_id == sentence_id, Annotation.user_id == user.id)
                )
                status, comment = STATUS_CYCLE[(round_ + sentence_id) % len(STATUS_CYCLE)]
                save_annotation(
                    session,
                    session.get(Sentence, sentence_id),
                    user,
                    status,
                    [],
                    comment=comment,
                    base_version=None if own is None else own.version,
                )
                session.commit()

    run_threads(database_url, project.id, [ann.id, ann.id, bo.id, cy.id], work)
    figures = assert_tallies_right(db)
    assert sum(n for (_, user, _), n in figures.items() if user == ann.id) == len(ids)


def test_tallies_opposite_status_changes_of_one_annotator_at_once(db, database_url):
    """Two annotations of one user flipped the opposite ways at the same moments, many times: on PostgreSQL
    each update locks the same two tally rows, in one order, so no flip ends in a deadlock."""
    project = make_project(db)
    (ann,) = users(db, "ann")
    first, second = sentences_of(db, project)[:2]
    flips = [Annotation(sentence_id=first.id, user_id=ann.id, status="done")]
    flips.append(Annotation(sentence_id=second.id, user_id=ann.id, status="flagged"))
    db.add_all(flips)
    db.commit()
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def flip(annotation_id: int, start: int) -> None:
        engine = database.make_engine(database_url)
        try:
            barrier.wait()
            for i in range(600):
                with engine.begin() as connection:
                    status = ("done", "flagged")[(i + start) % 2]
                    connection.execute(update(Annotation).where(Annotation.id == annotation_id).values(status=status))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [
        threading.Thread(target=flip, args=(flips[0].id, 1)),
        threading.Thread(target=flip, args=(flips[1].id, 0)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors[:1]
    assert assert_tallies_right(db) == {(project.id, ann.id, "done"): 1, (project.id, ann.id, "flagged"): 1}


def test_recount_command_sets_again_what_was_changed_by_hand(app, db, runner):
    """``annotator recount``: after annotations changed in SQL with the triggers out of the way, every derived
    figure (sentence counts and states, progress tallies) is set again from the annotations, and said so."""
    project = make_project(db)
    ann, bo = users(db, "ann", "bo")
    one, two = sentences_of(db, project)[:2]
    db.add_all(
        [
            Annotation(sentence_id=one.id, user_id=ann.id, status="done"),
            Annotation(sentence_id=one.id, user_id=bo.id, status="done"),
            Annotation(sentence_id=two.id, user_id=ann.id, status="flagged", comment="odd"),
        ]
    )
    db.commit()
    assert runner.invoke(args=["recount"]).output.startswith("Recounted: 0 sentence(s) and 0 progress count(s)")

    # What a hand-made change outside annotator can leave: a tally and a sentence's figures that disagree.
    db.execute(update(AnnotationTally).where(AnnotationTally.user_id == ann.id).values(n=7))
    db.execute(update(Sentence).where(Sentence.id == one.id).values(annotation_count=0, state=0))
    db.commit()
    result = runner.invoke(args=["recount"])
    assert result.exit_code == 0, result.output
    assert "1 sentence(s) and 2 progress count(s) were wrong" in result.output
    db.expire_all()
    assert_tallies_right(db)
    assert (db.get(Sentence, one.id).annotation_count, db.get(Sentence, one.id).state) == (2, COMPLETE)
    assert db.get(Sentence, two.id).flagged is True
