"""A rename, delete or change of kind of a label racing a save that uses it: no span is left with a name
the scheme no longer has (``services.label_scheme``, "Changes racing saves").

The interleavings are forced step by step. On both backends: the save reads the project, a change
commits on another session, then the save goes on (it is refused). On PostgreSQL also: the save is held
right after its read of the project while the change runs in another thread (the change waits for the
save, then covers its spans), and a change holds the lock while a save arrives (refused at once).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select, text

from annotator import db as database
from annotator.corpus.parse import CorpusError
from annotator.labels.kinds import kind_of
from annotator.models import Annotation, GoldAnnotation, GoldSpan, Project, Sentence, Span, Suggestion
from annotator.records import ImportedAnnotation, ReportRecord, SpanRecord
from annotator.services.adjudication import adjudicate
from annotator.services.annotations import save_annotation
from annotator.services.corpus import import_reports
from annotator.services.label_scheme import (
    LabelChangeError,
    SchemeChanged,
    add_label,
    delete_label,
    edit_label,
    move_label,
    set_retired,
)
from annotator.services.unit_of_work import session_factory
from annotator.services.users import issue_api_token
from tests.helpers import make_project, sentences_of, users, waiting_on_a_lock

SENTENCE = "Forty drones were shot down over Kursk."
KURSK = {"start_char": 33, "end_char": 38, "label": "REGION"}
FORTY = {"start_char": 0, "end_char": 5, "label": "COUNT"}
SHOT_DOWN = {"start_char": 18, "end_char": 27, "label": "OUTCOME"}
WAIT_LIMIT = 60  # seconds a step may take before the test gives up on it (a hang is a failure, not a timing)


@pytest.fixture
def labelled(db):
    """Project "p", one sentence; alice's done annotation (version 1) has REGION on Kursk."""
    project = make_project(db, "p", reports=[SENTENCE])
    alice, bob = users(db, "alice", "bob")
    sentence = sentences_of(db, project)[0]
    save_annotation(db, sentence, alice, "done", [KURSK])
    db.commit()
    return project, sentence, alice, bob


def _other_session(app):
    return app.extensions["annotator.sessionmaker"]()


@contextmanager
def _bounded_lock_waits(app):
    """The app's transactions give up a lock wait after 10 s: a save that waited for the change's rows
    fails then, instead of hanging the test."""

    def bounded(connection):
        connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")

    engine = app.extensions["annotator.engine"]
    event.listen(engine, "begin", bounded)
    try:
        yield
    finally:
        event.remove(engine, "begin", bounded)


def _change(app, project_id: int, change) -> None:
    """Run ``change(session, project)`` on a session of its own and commit it."""
    with _other_session(app) as other:
        database.write_transaction(other)
        change(other, other.get(Project, project_id))
        other.commit()


def _orphans(db) -> list[tuple[str, str]]:
    """Stored spans, gold spans and suggestions whose label is not in their project's scheme."""
    db.rollback()
    db.expire_all()
    scheme = {p.id: {label["name"] for label in p.labels} for p in db.scalars(select(Project))}
    rows = [
        *db.execute(
            select(Sentence.project_id, Span.label)
            .join(Annotation, Annotation.sentence_id == Sentence.id)
            .join(Span, Span.annotation_id == Annotation.id)
        ),
        *db.execute(
            select(Sentence.project_id, GoldSpan.label)
            .join(GoldAnnotation, GoldAnnotation.sentence_id == Sentence.id)
            .join(GoldSpan, GoldSpan.gold_id == GoldAnnotation.id)
        ),
        *db.execute(
            select(Sentence.project_id, Suggestion.label).join(Sentence, Sentence.id == Suggestion.sentence_id)
        ),
    ]
    return sorted(
        (table, label) for table, label in ((pid, label) for pid, label in rows) if label not in scheme[table]
    )


def _spans_of(db, user) -> set[tuple[int, int, str]]:
    db.rollback()
    db.expire_all()
    return set(
        db.execute(
            select(Span.start_char, Span.end_char, Span.label)
            .join(Annotation, Annotation.id == Span.annotation_id)
            .where(Annotation.user_id == user.id)
        ).all()
    )


def _attempt(call):
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the outcome is asserted by the caller
        return exc


RENAME = ("rename", lambda session, project: edit_label(session, project, "REGION", {"name": "PLACE"}, None))
DELETE = ("delete", lambda session, project: delete_label(session, project, "OUTCOME", None))
REKIND = ("kind", lambda session, project: edit_label(session, project, "OUTCOME", {"kind": "text"}, None))


# --- Both backends: the change commits between the save's read of the scheme and its writes -------------


@pytest.mark.parametrize(("name", "change", "spans"), [(*RENAME, [KURSK, FORTY]), (*DELETE, [KURSK, SHOT_DOWN])])
def test_label_scheme_change_after_the_save_read_the_scheme_refuses_the_save(app, db, labelled, name, change, spans):
    project, sentence, alice, _ = labelled
    db.rollback()
    assert db.get(Project, project.id).labels  # the save's session has read the scheme ...
    _change(app, project.id, change)  # ... a change commits ...
    database.write_transaction(db)
    outcome = _attempt(lambda: save_annotation(db, sentence, alice, "done", spans, base_version=1))  # ... the save
    db.rollback()
    assert _orphans(db) == []
    assert isinstance(outcome, SchemeChanged), outcome
    kept = "PLACE" if name == "rename" else "REGION"
    assert _spans_of(db, alice) == {(33, 38, kept)}  # the stored annotation is as it was (renamed with the rest)
    assert db.scalar(select(Annotation.version).where(Annotation.user_id == alice.id)) == 1


def test_label_scheme_change_of_kind_after_the_save_read_the_scheme_refuses_the_save(app, db, labelled):
    project, sentence, _, bob = labelled
    db.rollback()
    assert db.get(Project, project.id).labels
    _change(app, project.id, REKIND[1])  # OUTCOME is unused, so its kind may change
    database.write_transaction(db)
    outcome = _attempt(lambda: save_annotation(db, sentence, bob, "done", [SHOT_DOWN]))
    db.rollback()
    assert isinstance(outcome, SchemeChanged), outcome  # its value was made by the old kind's normaliser
    assert _spans_of(db, bob) == set()


def test_label_scheme_change_that_keeps_every_label_and_kind_lets_the_save_through(app, db, labelled):
    project, sentence, _, bob = labelled
    db.rollback()
    assert db.get(Project, project.id).labels
    _change(app, project.id, lambda s, p: edit_label(s, p, "REGION", {"description": "Where.", "colour": "#000"}, None))
    database.write_transaction(db)
    save_annotation(db, sentence, bob, "done", [KURSK])
    db.commit()
    assert _spans_of(db, bob) == {(33, 38, "REGION")}


def test_label_scheme_rename_after_the_gold_save_read_the_scheme_refuses_it(app, db, labelled):
    project, sentence, alice, _ = labelled
    (reviewer,) = users(db, "rita", role="reviewer")
    db.rollback()
    assert db.get(Project, project.id).labels
    _change(app, project.id, RENAME[1])
    database.write_transaction(db)
    decisions = {"version": None, "spans": [{**KURSK, "value": "Kursk Oblast"}, {**FORTY, "value": "40"}]}
    outcome = _attempt(lambda: adjudicate(db, sentence, reviewer, decisions))
    db.rollback()
    assert _orphans(db) == []
    assert isinstance(outcome, SchemeChanged), outcome
    assert db.scalar(select(GoldAnnotation)) is None


@pytest.mark.parametrize("as_suggestions", [True, False])
def test_label_scheme_rename_after_an_import_read_the_scheme_checks_it_against_the_new_one(
    app, db, labelled, as_suggestions
):
    project, *_ = labelled
    db.rollback()
    project = db.get(Project, project.id)
    assert project.labels
    _change(app, project.id, RENAME[1])
    database.write_transaction(db)
    spans = (SpanRecord(33, 38, "REGION"),)
    record = ReportRecord(text=SENTENCE.replace("Forty", "Fifty"), annotations=(ImportedAnnotation("carol", spans),))
    outcome = _attempt(lambda: import_reports(db, project, "late.jsonl", [record], as_suggestions=as_suggestions))
    if isinstance(outcome, Exception):
        db.rollback()
    else:
        db.commit()  # as the import command does
    assert _orphans(db) == []
    assert isinstance(outcome, CorpusError) and "REGION" in str(outcome), outcome


@pytest.mark.parametrize(
    "later",
    [
        lambda s, p: edit_label(s, p, "COUNT", {"description": "How many."}, None),
        lambda s, p: set_retired(s, p, "OUTCOME", True, None),
        lambda s, p: move_label(s, p, "OUTCOME", -1, None),
        lambda s, p: add_label(s, p, {"name": "WEAPON", "kind": "text"}, None),
    ],
    ids=["edit", "retire", "move", "add"],
)
def test_label_scheme_change_made_on_a_scheme_read_before_a_rename_keeps_the_rename(app, db, labelled, later):
    project, *_ = labelled
    db.rollback()
    project = db.get(Project, project.id)
    assert project.labels  # another admin's page read the scheme ...
    _change(app, project.id, RENAME[1])  # ... a rename commits ...
    database.write_transaction(db)
    later(db, project)  # ... then that admin's change
    db.commit()
    assert _orphans(db) == []
    assert "PLACE" in {label["name"] for label in db.get(Project, project.id).labels}


# --- PostgreSQL: a save held after its read of the scheme while a change runs in another thread -------


def _hold_after_scheme_read(app, db, database_url, project_id, change):
    """Arrange that the next read of a sentence with its project (a save's first read of the scheme) is followed,
    before the save goes on, by ``change`` in a thread of its own, until it has committed or waits for a lock.
    Returns the thread, the dict its outcome lands in ("waited": whether the change was waiting when the save
    went on; "error": what the change raised, or None) and a function that removes the arrangement."""
    outcome: dict[str, Exception | bool | None] = {}

    def run() -> None:
        engine = database.make_engine(database_url)
        try:
            with session_factory(engine)() as other:
                try:
                    change(other, other.get(Project, project_id))
                    other.commit()
                    outcome["error"] = None
                except Exception as exc:  # noqa: BLE001 - asserted by the test
                    other.rollback()
                    outcome["error"] = exc
        finally:
            engine.dispose()

    thread = threading.Thread(target=run)
    engine = app.extensions["annotator.engine"]

    def after(conn, cursor, statement, params, context, executemany):
        if "JOIN projects ON projects.id = sentences.project_id" not in statement or thread.ident is not None:
            return
        thread.start()
        deadline = time.monotonic() + WAIT_LIMIT
        while thread.is_alive() and not waiting_on_a_lock(db) and time.monotonic() < deadline:
            time.sleep(0.01)
        outcome["waited"] = thread.is_alive()  # the change waits for this save (else it ran to its end)

    event.listen(engine, "after_cursor_execute", after)
    return thread, outcome, lambda: event.remove(engine, "after_cursor_execute", after)


def _put(client, token, sentence, spans, base_version=None):
    body = {"status": "done", "spans": spans, "base_version": base_version}
    return client.put(
        f"/api/sentences/{sentence.id}/annotation", headers={"Authorization": f"Bearer {token}"}, json=body
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("who", ["first save", "resave"])
def test_label_scheme_rename_waits_for_a_save_that_read_the_old_name(app, db, database_url, labelled, who):
    project, sentence, alice, bob = labelled
    user, base = (bob, None) if who == "first save" else (alice, 1)
    token = issue_api_token(db.get(type(user), user.id))
    db.commit()
    thread, outcome, stop = _hold_after_scheme_read(app, db, database_url, project.id, RENAME[1])
    try:
        response = _put(app.test_client(), token, sentence, [KURSK, FORTY], base)
    finally:
        stop()
        thread.join(timeout=WAIT_LIMIT)
    assert not thread.is_alive()
    assert _orphans(db) == []
    assert response.status_code == 200, response.get_json()
    assert outcome == {"waited": True, "error": None}  # the rename waited for the save, then renamed its span too
    assert _spans_of(db, user) == {(33, 38, "PLACE"), (0, 5, "COUNT")}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_label_scheme_delete_waits_for_a_save_that_uses_the_label_then_refuses(app, db, database_url, labelled):
    project, sentence, _, bob = labelled
    token = issue_api_token(db.get(type(bob), bob.id))
    db.commit()
    thread, outcome, stop = _hold_after_scheme_read(app, db, database_url, project.id, DELETE[1])
    try:
        response = _put(app.test_client(), token, sentence, [SHOT_DOWN])
    finally:
        stop()
        thread.join(timeout=WAIT_LIMIT)
    assert not thread.is_alive()
    assert _orphans(db) == []
    assert response.status_code == 200, response.get_json()
    assert outcome["waited"] is True
    assert isinstance(outcome["error"], LabelChangeError)  # the label has a span now: retire it instead
    assert "OUTCOME" in {label["name"] for label in db.get(Project, project.id).labels}


# --- PostgreSQL: a change holds the scheme lock when a save arrives --------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("who", ["first save", "resave"])
def test_label_scheme_save_during_a_rename_is_refused_at_once(app, db, labelled, who):
    project, sentence, alice, bob = labelled
    user, base = (bob, None) if who == "first save" else (alice, 1)
    token = issue_api_token(db.get(type(user), user.id))
    db.commit()
    with _other_session(app) as renaming:
        edit_label(renaming, renaming.get(Project, project.id), "REGION", {"name": "PLACE"}, None)  # not committed
        with _bounded_lock_waits(app):
            response = _put(app.test_client(), token, sentence, [KURSK, FORTY], base)
        renaming.commit()
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"] == "scheme_changed"
    assert "Reload the page" in response.get_json()["message"]
    assert _orphans(db) == []
    assert _spans_of(db, user) == ({(33, 38, "PLACE")} if user is alice else set())  # as stored before


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_label_scheme_import_in_progress_lets_a_save_through(app, db, labelled):
    """An import holds its project's row against other imports and changes of the scheme for its whole run, not
    against saves: bob's first save in the project (a new progress tally row, whose key names the project) goes
    through at once."""
    project, sentence, alice, bob = labelled
    token = issue_api_token(db.get(type(bob), bob.id))
    db.commit()
    with _other_session(app) as importing:
        database.write_transaction(importing)
        added = import_reports(
            importing, importing.get(Project, project.id), "more.txt", [ReportRecord("Two hit Sumy.")]
        )
        with _bounded_lock_waits(app):  # the import is not committed yet
            response = _put(app.test_client(), token, sentence, [KURSK, FORTY], None)
        importing.commit()
    assert response.status_code == 200, response.get_json()
    assert added.reports == 1 and len(sentences_of(db, project)) == 2
    assert _spans_of(db, bob) == {(33, 38, "REGION"), (0, 5, "COUNT")}
    assert (
        db.scalar(text("SELECT n FROM annotation_tallies WHERE user_id = :u AND status = 'done'"), {"u": bob.id}) == 1
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_label_scheme_edit_that_becomes_a_change_of_kind_under_the_row_lock_takes_the_scheme_lock(app, db, labelled):
    """An admin's request read OUTCOME as a category; another admin made it text and committed; the first one's
    edit (its form sends the kind it showed: category) is then a change of kind, and holds the scheme lock while
    it runs, so a save using OUTCOME meanwhile is refused rather than stored under a kind about to change."""
    project, sentence, _, bob = labelled
    token = issue_api_token(db.get(type(bob), bob.id))
    db.commit()
    with _other_session(app) as editing:
        stale = editing.get(Project, project.id)
        assert kind_of("OUTCOME", stale.labels) == "category"  # this admin's request read the scheme ...
        _change(app, project.id, REKIND[1])  # ... another admin's change of kind commits ...
        edit_label(editing, stale, "OUTCOME", {"kind": "category", "description": "What happened."}, None)
        with _bounded_lock_waits(app):
            response = _put(app.test_client(), token, sentence, [SHOT_DOWN])  # ... while a save comes in
        editing.commit()
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"] == "scheme_changed"
    assert _spans_of(db, bob) == set()
    assert kind_of("OUTCOME", db.get(Project, project.id).labels) == "category"
