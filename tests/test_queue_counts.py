"""Sentence.annotation_count and Sentence.state: kept equal to a count from scratch, and backfilled by 0002."""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from annotator import db as database
from annotator.models import COMPLETE, STARTED, UNTOUCHED, Annotation, Project, Sentence, utcnow
from annotator.services.annotations import save_annotation
from annotator.services.queue import next_sentence, progress
from annotator.services.recount import recount
from tests.helpers import make_project, run_threads, sentences_of, users


def from_scratch(db) -> dict[int, tuple[int, int]]:
    """{sentence id: (annotation_count, state)} computed from the annotations, not the stored columns."""
    counted = dict(
        db.execute(
            select(Annotation.sentence_id, func.count())
            .where(Annotation.status.in_(("done", "flagged")))
            .group_by(Annotation.sentence_id)
        ).all()
    )
    expected = {}
    for sentence_id, quota in db.execute(
        select(Sentence.id, Project.annotators_per_sentence + Sentence.extra_annotators).join(
            Project, Project.id == Sentence.project_id
        )
    ):
        n = counted.get(sentence_id, 0)
        expected[sentence_id] = (n, UNTOUCHED if n == 0 else COMPLETE if n >= quota else STARTED)
    return expected


def stored(db) -> dict[int, tuple[int, int]]:
    return {
        sid: (n, state) for sid, n, state in db.execute(select(Sentence.id, Sentence.annotation_count, Sentence.state))
    }


def assert_counts_right(db) -> dict[int, tuple[int, int]]:
    """The stored (annotation_count, state) of each sentence, checked against the annotations, and so is
    each sentence's flagged."""
    db.rollback()  # end any read transaction: its snapshot would hide other sessions' commits
    expected = from_scratch(db)
    assert stored(db) == expected
    flagged = set(db.scalars(select(Annotation.sentence_id).where(Annotation.status == "flagged")))
    assert set(db.scalars(select(Sentence.id).where(Sentence.flagged.is_(True)))) == flagged
    return expected


def save(db, sentence, user, status="done", spans=(), comment=None):
    database.write_transaction(db)
    own = db.scalar(select(Annotation).where(Annotation.sentence_id == sentence.id, Annotation.user_id == user.id))
    annotation = save_annotation(
        db, sentence, user, status, list(spans), comment=comment, base_version=own.version if own is not None else None
    )
    db.commit()
    return annotation


def test_queue_counts_follow_saves_and_status_changes(db):
    project = make_project(db, quota=2)
    ann, bo = users(db, "ann", "bo")
    first = sentences_of(db, project)[0]
    assert set(assert_counts_right(db).values()) == {(0, UNTOUCHED)}
    save(db, first, ann)
    assert assert_counts_right(db)[first.id] == (1, STARTED)
    save(db, first, ann, "skipped")
    assert assert_counts_right(db)[first.id] == (0, UNTOUCHED)
    save(db, first, ann, "flagged", comment="not a sentence")
    assert assert_counts_right(db)[first.id] == (1, STARTED)
    save(db, first, bo)
    assert assert_counts_right(db)[first.id] == (2, COMPLETE)
    assert progress(db, project, ann)["project_complete"] == 1
    save(db, first, bo, "skipped")
    assert assert_counts_right(db)[first.id] == (1, STARTED)
    assert progress(db, project, ann)["project_complete"] == 0


def test_queue_counts_follow_direct_orm_changes(db):
    """Rows added or changed without the services (tests, scripts) keep the counts right too."""
    project = make_project(db, quota=1)
    (ann,) = users(db, "ann")
    first, second = sentences_of(db, project)[:2]
    db.add(Annotation(sentence_id=first.id, user_id=ann.id, status="done"))
    db.add(Annotation(sentence_id=second.id, user_id=ann.id, status="skipped"))
    db.commit()
    assert assert_counts_right(db)[first.id] == (1, COMPLETE)
    first.extra_annotators = 1
    db.commit()
    assert assert_counts_right(db)[first.id] == (1, STARTED)
    annotation = db.scalar(select(Annotation).where(Annotation.sentence_id == first.id))
    db.delete(annotation)
    db.commit()
    assert assert_counts_right(db)[first.id] == (0, UNTOUCHED)


def test_queue_counts_recount_only_what_a_flush_can_change(db, app):
    """A new skip and a resave with the same status skip the recount; the figures stay right either way."""
    project = make_project(db, quota=2)
    ann, bo = users(db, "ann", "bo")
    first = sentences_of(db, project)[0]
    recounts: list[str] = []

    def _note(conn, cursor, statement, params, context, executemany):
        if statement.startswith("UPDATE sentences SET annotation_count"):
            recounts.append(statement)

    engine = app.extensions["annotator.engine"]
    event.listen(engine, "before_cursor_execute", _note)
    try:
        save(db, first, ann, "skipped")
        assert (assert_counts_right(db)[first.id], len(recounts)) == ((0, UNTOUCHED), 0)
        save(db, first, bo)
        assert (assert_counts_right(db)[first.id], len(recounts)) == ((1, STARTED), 1)
        save(db, first, bo, comment="same")  # done -> done: nothing derived changes
        assert (assert_counts_right(db)[first.id], len(recounts)) == ((1, STARTED), 1)
        save(db, first, bo, "flagged", comment="unclear")  # done -> flagged: a change of the flag
        assert (assert_counts_right(db)[first.id], len(recounts)) == ((1, STARTED), 2)
        save(db, first, ann, "done")  # skipped -> done: a change of the counts
        assert (assert_counts_right(db)[first.id], len(recounts)) == ((2, COMPLETE), 3)
        # A status whose old value the session never loaded is recounted.
        annotation = db.scalar(
            select(Annotation).where(Annotation.sentence_id == first.id, Annotation.user_id == ann.id)
        )
        db.expire(annotation, ["status"])
        annotation.status = "skipped"
        db.commit()
        assert (assert_counts_right(db)[first.id], len(recounts)) == ((1, STARTED), 4)
    finally:
        event.remove(engine, "before_cursor_execute", _note)


def test_queue_counts_follow_imported_annotations(runner, tmp_path, db):
    text = "Forty drones were destroyed over Kursk Oblast. Two missiles were intercepted."
    lines = [
        {"text": text, "spans": [{"start": 0, "end": 5, "label": "COUNT"}], "_annotator_id": "alice"},
        {"text": text, "spans": [{"start": 0, "end": 5, "label": "COUNT"}], "_annotator_id": "bob"},
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = runner.invoke(args=["import", str(path), "--project", "p"])
    assert result.exit_code == 0, result.output
    counts = sorted(assert_counts_right(db).values())
    assert counts[-1] == (2, COMPLETE)  # the first sentence: alice and bob, quota 2


def test_queue_counts_follow_disagreement_routing(db):
    project = make_project(db, quota=2, routing="extra_annotator")
    ann, bo, cy = users(db, "ann", "bo", "cy")
    first = sentences_of(db, project)[0]
    save(db, first, ann, spans=[{"start_char": 0, "end_char": 5, "label": "COUNT"}])
    save(db, first, bo)  # disagrees: routing asks for one more annotator
    db.refresh(first)
    assert first.extra_annotators == 1
    assert assert_counts_right(db)[first.id] == (2, STARTED)
    assert next_sentence(db, project, cy, utcnow(), 600).id == first.id  # started sentences first
    db.commit()
    save(db, first, cy)
    assert assert_counts_right(db)[first.id] == (3, COMPLETE)


def test_queue_counts_follow_quota_change_in_admin(app, db, login):
    project = make_project(db, quota=2)
    ann, bo = users(db, "ann", "bo")
    first, second = sentences_of(db, project)[:2]
    save(db, first, ann)
    save(db, first, bo)
    save(db, second, ann)
    admin = login("root", "admin")
    for quota, states in ((1, (COMPLETE, COMPLETE)), (3, (STARTED, STARTED)), (2, (COMPLETE, STARTED))):
        response = admin.post(
            f"/admin/projects/{project.name}/settings", data={"annotators_per_sentence": quota, "routing": "none"}
        )
        assert response.status_code == 302
        counts = assert_counts_right(db)
        assert (counts[first.id][1], counts[second.id][1]) == states


def test_queue_counts_right_after_concurrent_saves_of_one_sentence(db, database_url):
    """Saves of the same sentences by several annotators at once: no count is lost (PostgreSQL: row lock, then count)."""
    project = make_project(db, quota=4)  # room for all four: a save beyond the quota is refused (test_api)
    annotators = users(db, "ann", "bo", "cy", "di")
    ids = [s.id for s in sentences_of(db, project)]

    def work(session, project, user):
        for sentence_id in ids:
            save(session, session.get(Sentence, sentence_id), user)

    run_threads(database_url, project.id, [u.id for u in annotators], work)
    counts = assert_counts_right(db)
    assert set(counts.values()) == {(4, COMPLETE)}


def test_queue_recount_repairs_drifted_counts(db):
    project = make_project(db, quota=2)
    (ann,) = users(db, "ann")
    first = sentences_of(db, project)[0]
    save(db, first, ann)
    db.execute(
        Sentence.__table__.update().values(annotation_count=0, state=UNTOUCHED)
    )  # as a Core write would leave them
    recount(db, project_ids=[project.id])
    db.commit()
    assert assert_counts_right(db)[first.id] == (1, STARTED)


# --- Migration 0002 on a database that already holds annotations ---------------------------


def test_migrations_0002_backfills_existing_annotations(empty_database_url):
    engine = database.make_engine(empty_database_url)
    command.upgrade(database.alembic_config(engine), "0001")
    now = utcnow()
    with engine.begin() as connection:  # rows as revision 0001 stored them, without the new columns
        run = connection.execute
        run(
            text(
                "INSERT INTO projects (id, name, lang, labels, annotators_per_sentence, restricted, routing, created_at) "
                "VALUES (1, 'p', 'en', '[]', 2, false, 'none', :now)"
            ),
            {"now": now},
        )
        run(
            text(
                "INSERT INTO reports (id, project_id, meta, text, content_hash, created_at) VALUES (1, 1, '{}', 'r', 'h', :now)"
            ),
            {"now": now},
        )
        for sid, extra in ((1, 0), (2, 0), (3, 0), (4, 1), (5, 0)):
            run(
                text(
                    "INSERT INTO sentences (id, project_id, report_id, position, start_char, text, tokens, extra_annotators, needs_review) "
                    "VALUES (:id, 1, 1, :id, 0, 's', '[]', :extra, false)"
                ),
                {"id": sid, "extra": extra},
            )
        for uid in (1, 2, 3):
            run(
                text(
                    "INSERT INTO users (id, username, role, active, session_token, failed_logins, created_at) "
                    "VALUES (:id, :name, 'annotator', true, :token, 0, :now)"
                ),
                {"id": uid, "name": f"u{uid}", "token": f"t{uid}", "now": now},
            )
        annotations = [
            (1, 1, "done"),
            (1, 2, "flagged"),
            (2, 1, "done"),
            (2, 2, "skipped"),
            (3, 3, "skipped"),
            (4, 1, "done"),
            (4, 2, "done"),
            (5, 1, "done"),
            (5, 2, "done"),
            (5, 3, "done"),
        ]
        for i, (sid, uid, status) in enumerate(annotations, start=1):
            run(
                text(
                    "INSERT INTO annotations (id, sentence_id, user_id, status, seconds_spent, version, created_at, updated_at) "
                    "VALUES (:id, :sid, :uid, :status, 0, 1, :now, :now)"
                ),
                {"id": i, "sid": sid, "uid": uid, "status": status, "now": now},
            )
    database.upgrade(engine, "0002")
    assert database.current_revision(engine) == "0002"
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, annotation_count, state FROM sentences ORDER BY id")).all()
        kept = connection.execute(text("SELECT count(*) FROM annotations")).scalar()
    with pytest.raises(IntegrityError), engine.begin() as connection:  # the CHECKs hold on both backends
        connection.execute(text("UPDATE sentences SET state = 1 WHERE id = 3"))
    engine.dispose()
    assert kept == len(annotations)  # adding the columns did not copy the table (no cascade)
    assert [tuple(r) for r in rows] == [
        (1, 2, COMPLETE),  # done + flagged, quota 2
        (2, 1, STARTED),  # the skip does not count
        (3, 0, UNTOUCHED),  # only a skip
        (4, 2, STARTED),  # an extra annotator raised its quota to 3
        (5, 3, COMPLETE),  # beyond the quota still complete
    ]


def test_queue_counts_project_counts_reuse_only_within_max_age(app, db):
    from annotator.records import ReportRecord
    from annotator.services.corpus import import_reports
    from annotator.services.projects import get_or_create_project
    from annotator.services.queue import project_counts

    project, _ = get_or_create_project(db, "ages")
    import_reports(db, project, "a", [ReportRecord("One. Two.")])
    db.commit()
    assert project_counts(db, project) == (2, 0)
    import_reports(db, project, "b", [ReportRecord("Three.")])
    db.commit()
    assert project_counts(db, project, max_age=3600) == (2, 0)  # reused: it only feeds a progress bar
    assert project_counts(db, project, max_age=0) == (3, 0)
