"""The derived sentence figures: ``Sentence.annotation_count``, ``Sentence.state`` and ``Sentence.flagged``.

The columns are derived from the annotations and written only by :func:`recount`, which
every session made by ``annotator.services.unit_of_work.session_factory`` runs after a flush
that adds, deletes or re-statuses an annotation, changes a sentence's
``extra_annotators`` or a project's ``annotators_per_sentence``
(:func:`keep_counts`). Writes that bypass the ORM (Core ``insert`` or
``update`` of those columns, ``ON DELETE CASCADE`` from users) must call
:func:`recount` themselves. The queue (``services.queue``) reads the first two, the corpus browser
(``services.browse``) all three. :func:`rebuild_derived` (``annotator recount``) sets them, and the
progress tallies of migration 0017, again from scratch after annotations were changed by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

from sqlalchemy import bindparam, case, delete, event, func, insert, inspect, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.util import identity_key

from ..db import single_writer
from ..models import COMPLETE, STARTED, UNTOUCHED, Annotation, AnnotationTally, Project, Sentence

COUNTED_STATUSES = ("done", "flagged")  # statuses that use up a slot of a sentence's quota
RECOUNT_CHUNK = 2000  # sentence ids per UPDATE: well under SQLite's bound-parameter limit


def _derived_columns():
    """The SQL of a sentence's derived figures, from its annotations: (annotation_count, state, flagged)."""
    sentences, annotations = Sentence.__table__, Annotation.__table__
    counted = (
        select(func.count())
        .select_from(annotations)
        .where(annotations.c.sentence_id == sentences.c.id, annotations.c.status.in_(COUNTED_STATUSES))
        .scalar_subquery()
    )
    quota = (
        select(Project.__table__.c.annotators_per_sentence)
        .where(Project.__table__.c.id == sentences.c.project_id)
        .scalar_subquery()
        + sentences.c.extra_annotators
    )
    state = case((counted == 0, UNTOUCHED), (counted >= quota, COMPLETE), else_=STARTED)
    flagged = (
        select(annotations.c.id)
        .where(annotations.c.sentence_id == sentences.c.id, annotations.c.status == "flagged")
        .exists()
    )
    return counted, state, flagged


def _recount_statement(where):
    counted, state, flagged = _derived_columns()
    return update(Sentence.__table__).where(where).values(annotation_count=counted, state=state, flagged=flagged)


def _stale_where():
    """Sentences whose stored derived figures differ from what their annotations give."""
    sentences = Sentence.__table__
    counted, state, flagged = _derived_columns()
    return or_(sentences.c.annotation_count != counted, sentences.c.state != state, sentences.c.flagged != flagged)


def _lock_statement(where):
    sentences = Sentence.__table__
    return select(sentences.c.id).where(where).order_by(sentences.c.id).with_for_update(key_share=True)


# Built once; a call binds :of_project or :of_ids (an UPDATE reserves the column names).
_BY_PROJECT = Sentence.__table__.c.project_id == bindparam("of_project")
_BY_IDS = Sentence.__table__.c.id.in_(bindparam("of_ids", expanding=True))
_RECOUNT = {
    "of_project": (_lock_statement(_BY_PROJECT), _recount_statement(_BY_PROJECT)),
    "of_ids": (_lock_statement(_BY_IDS), _recount_statement(_BY_IDS)),
}


def recount(session: Session, sentence_ids: Iterable[int] = (), project_ids: Iterable[int] = ()) -> None:
    """Set ``annotation_count``, ``state`` and ``flagged`` of the given sentences (and of every
    sentence of the given projects) from their annotations. The only writer of these columns;
    never commits.

    On PostgreSQL the rows are locked first (``FOR NO KEY UPDATE``, in id order), so the count,
    a statement taken after the lock, sees every annotation committed by a concurrent save of
    the same sentence; counting inside the UPDATE itself could miss it (its snapshot is older
    than the lock wait) and store a stale count.
    """
    project_ids = set(project_ids)
    lock = not single_writer(session)  # SQLite: the write lock is held already
    ids = sorted({sid for sid in sentence_ids if sid is not None})
    calls = [("of_project", pid) for pid in sorted(project_ids)]
    calls += [("of_ids", ids[i : i + RECOUNT_CHUNK]) for i in range(0, len(ids), RECOUNT_CHUNK)]
    for name, value in calls:
        lock_rows, update_counts = _RECOUNT[name]
        if lock:
            session.execute(lock_rows, {name: value})
        session.execute(update_counts, {name: value})
    # Loaded sentences show the new figures on their next access.
    loaded = [session.identity_map.get(identity_key(Sentence, sid)) for sid in ids]
    if project_ids:
        loaded += [
            row
            for row in list(session.identity_map.values())
            if isinstance(row, Sentence) and row.project_id in project_ids
        ]
    for row in loaded:
        if row is not None:
            session.expire(row, ["annotation_count", "state", "flagged"])


_PENDING = "annotator.recount"


def _changed(row, name: str) -> bool:
    return inspect(row).attrs[name].history.has_changes()


def _derived_status_changed(row: Annotation) -> bool:
    """Whether the status moved into or out of COUNTED_STATUSES or "flagged" (the figures depend on
    nothing else of it: done <-> skipped does, a resave as done does not).

    An old value the session never loaded is taken as a change.
    """
    history = inspect(row).attrs.status.history
    if not history.has_changes():
        return False
    if not history.deleted:
        return True
    before = history.deleted[0]
    after = history.added[0] if history.added else None
    return (before in COUNTED_STATUSES) != (after in COUNTED_STATUSES) or (before == "flagged") != (after == "flagged")


def _note_changes(session: Session, _flush_context) -> None:
    """after_flush: remember which sentences and projects the flush changed the counts of.

    A new skipped annotation, or a resave with the same status, changes no figure and costs no
    recount.
    """
    sentence_ids, project_ids = session.info.setdefault(_PENDING, (set(), set()))
    for row in session.new:
        if isinstance(row, Annotation) and row.status in COUNTED_STATUSES:
            sentence_ids.add(row.sentence_id)
    for row in session.deleted:
        if isinstance(row, Annotation):
            sentence_ids.add(row.sentence_id)
    for row in session.dirty:
        if isinstance(row, Annotation) and (_derived_status_changed(row) or _changed(row, "sentence_id")):
            history = inspect(row).attrs.sentence_id.history
            sentence_ids.update(
                v for v in chain(history.added, history.unchanged, history.deleted) if isinstance(v, int)
            )
        elif isinstance(row, Sentence) and _changed(row, "extra_annotators"):
            sentence_ids.add(row.id)
        elif isinstance(row, Project) and _changed(row, "annotators_per_sentence"):
            project_ids.add(row.id)


def _apply_changes(session: Session, _flush_context) -> None:
    """after_flush_postexec: recount what the flush changed, in the same transaction."""
    pending = session.info.pop(_PENDING, None)
    if pending and (pending[0] or pending[1]):
        recount(session, *pending)


def _forget_changes(session: Session, _previous_transaction) -> None:
    session.info.pop(_PENDING, None)  # a flush that failed half-way: its rows are rolled back too


def keep_counts(factory: sessionmaker) -> sessionmaker:
    """Make every session of ``factory`` run :func:`recount` after flushes that change the counts."""
    event.listen(factory, "after_flush", _note_changes)
    event.listen(factory, "after_flush_postexec", _apply_changes)
    event.listen(factory, "after_soft_rollback", _forget_changes)
    return factory


def rebuild_derived(session: Session) -> tuple[int, int]:
    """Set every derived figure again from the annotations; never commits.

    Each sentence's ``annotation_count``, ``state`` and ``flagged`` (the statement of :func:`recount`,
    on the sentences whose figures are wrong) and every user's progress tallies (``annotation_tallies``, which triggers keep as
    annotations are written). The app keeps them right; this is for a database whose annotations
    were changed by hand, outside annotator. Returns (sentences, tallies) that were wrong. On
    PostgreSQL annotations are locked against writes until the caller commits; on SQLite the caller
    holds the write lock (``db.write_transaction``).
    """
    if not single_writer(session):
        session.execute(text("LOCK TABLE annotations IN SHARE ROW EXCLUSIVE MODE"))
    # With no annotation written meanwhile, one UPDATE of the wrong rows only, counted as it goes.
    stale = session.execute(_recount_statement(_stale_where())).rowcount
    session.expire_all()  # loaded sentences show the new figures on their next access
    tally = AnnotationTally.__table__
    fresh = {
        (project_id, user_id, status): n
        for project_id, user_id, status, n in session.execute(
            select(Sentence.project_id, Annotation.user_id, Annotation.status, func.count())
            .join(Sentence, Sentence.id == Annotation.sentence_id)
            .group_by(Sentence.project_id, Annotation.user_id, Annotation.status)
        )
    }
    stored = {
        (project_id, user_id, status): n
        for project_id, user_id, status, n in session.execute(select(tally)).all()
        if n != 0
    }
    wrong = sum(1 for key in fresh.keys() | stored.keys() if fresh.get(key) != stored.get(key))
    if wrong:
        session.execute(delete(tally))
        if fresh:
            rows = [{"project_id": p, "user_id": u, "status": s, "n": n} for (p, u, s), n in sorted(fresh.items())]
            session.execute(insert(tally), rows)
    return stale, wrong
