"""The labelling queue: which sentence an annotator gets next, held by a lease.

A sentence needs ``Project.annotators_per_sentence + Sentence.extra_annotators``
annotations. Annotations with status done or flagged count toward that quota;
a skip does not (another annotator takes the sentence instead). An unexpired
lease held by someone else counts too, so two annotators asking at once never
push a sentence beyond its quota.

Concurrency: on PostgreSQL the candidate sentence row is locked with
``SELECT ... FOR UPDATE`` inside a savepoint and the slots are recounted
before the lease is inserted; a full candidate's savepoint is rolled back,
which releases its lock, so a transaction holds at most one such lock. On
SQLite the caller must open the transaction with
``annotator.db.write_transaction`` (``BEGIN IMMEDIATE``), which serialises
writers; the same code runs there (``FOR UPDATE`` is not emitted). The caller
commits promptly after :func:`next_sentence`.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, exists, func, select
from sqlalchemy.orm import Session

from ..models import Annotation, Lease, Project, Sentence, User

COUNTED_STATUSES = ("done", "flagged")  # statuses that use up a slot of a sentence's quota
CANDIDATE_BATCH = 25


def _annotation_count(sentence_id):
    return (
        select(func.count())
        .select_from(Annotation)
        .where(Annotation.sentence_id == sentence_id, Annotation.status.in_(COUNTED_STATUSES))
        .scalar_subquery()
    )


def _other_lease_count(sentence_id, user: User, now: datetime):
    return (
        select(func.count())
        .select_from(Lease)
        .where(Lease.sentence_id == sentence_id, Lease.user_id != user.id, Lease.expires_at > now)
        .scalar_subquery()
    )


def _annotated_by(user: User):
    return exists().where(Annotation.sentence_id == Sentence.id, Annotation.user_id == user.id)


def current_lease(session: Session, project: Project, user: User, now: datetime) -> Lease | None:
    """The user's unexpired lease on a sentence of ``project`` they have not annotated yet."""
    return session.scalar(
        select(Lease)
        .join(Sentence, Sentence.id == Lease.sentence_id)
        .where(Sentence.project_id == project.id, Lease.user_id == user.id, Lease.expires_at > now, ~_annotated_by(user))
        .order_by(Sentence.report_id, Sentence.position)
        .limit(1)
    )


def next_sentence(session: Session, project: Project, user: User, now: datetime, lease_seconds: int) -> Sentence | None:
    """Claim the next sentence of ``project`` for ``user`` until ``now + lease_seconds``.

    Returns the sentence the user already holds an unexpired lease on (its
    lease refreshed), else the first open one: not annotated by the user in
    any status, with fewer counted annotations plus other users' active leases
    than its quota; sentences others have started come first, then report
    order. ``None`` when nothing is left for this user. Never commits.
    """
    expires_at = now + timedelta(seconds=lease_seconds)
    # The user's own expired leases are dead weight; others' are ignored by every count.
    session.execute(delete(Lease).where(Lease.user_id == user.id, Lease.expires_at <= now))
    held = current_lease(session, project, user, now)
    if held is not None:
        held.expires_at = expires_at
        session.flush()
        return session.get(Sentence, held.sentence_id)

    quota = project.annotators_per_sentence + Sentence.extra_annotators
    taken = _annotation_count(Sentence.id) + _other_lease_count(Sentence.id, user, now)
    tried: set[int] = set()
    while True:
        query = (
            select(Sentence.id)
            .where(Sentence.project_id == project.id, ~_annotated_by(user), taken < quota)
            .order_by(case((taken > 0, 0), else_=1), Sentence.report_id, Sentence.position)
            .limit(CANDIDATE_BATCH + len(tried))
        )
        candidates = [sid for sid in session.scalars(query) if sid not in tried]
        if not candidates:
            return None
        for sentence_id in candidates:
            tried.add(sentence_id)
            if _claim(session, project, user, sentence_id, now, expires_at):
                return session.get(Sentence, sentence_id)


def _claim(session: Session, project: Project, user: User, sentence_id: int, now: datetime, expires_at: datetime) -> bool:
    """Lock the sentence row, recount its slots, and lease it if one is free."""
    savepoint = session.begin_nested()
    sentence = session.execute(
        select(Sentence).where(Sentence.id == sentence_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    # A fresh statement after the lock: under READ COMMITTED it sees every lease committed meanwhile.
    annotations = session.scalar(
        select(func.count()).select_from(Annotation).where(Annotation.sentence_id == sentence_id, Annotation.status.in_(COUNTED_STATUSES))
    )
    leases = session.scalar(
        select(func.count()).select_from(Lease).where(Lease.sentence_id == sentence_id, Lease.user_id != user.id, Lease.expires_at > now)
    )
    mine = session.scalar(select(func.count()).select_from(Annotation).where(Annotation.sentence_id == sentence_id, Annotation.user_id == user.id))
    if mine or annotations + leases >= project.annotators_per_sentence + sentence.extra_annotators:
        savepoint.rollback()  # releases the row lock taken inside the savepoint
        return False
    lease = session.get(Lease, (sentence_id, user.id))
    if lease is None:
        session.add(Lease(sentence_id=sentence_id, user_id=user.id, expires_at=expires_at))
    else:
        lease.expires_at = expires_at
    savepoint.commit()
    return True


def release_lease(session: Session, sentence: Sentence, user: User) -> None:
    """Give the sentence back: the user's lease on it, if any, is deleted."""
    session.execute(delete(Lease).where(Lease.sentence_id == sentence.id, Lease.user_id == user.id))


def purge_expired_leases(session: Session, now: datetime) -> int:
    """Delete every expired lease; returns how many. Housekeeping only: counts ignore them anyway."""
    return session.execute(delete(Lease).where(Lease.expires_at <= now)).rowcount or 0


def lease_of(session: Session, sentence: Sentence, user: User, now: datetime) -> Lease | None:
    lease = session.get(Lease, (sentence.id, user.id))
    return lease if lease is not None and lease.expires_at > now else None


def progress(session: Session, project: Project, user: User) -> dict[str, int]:
    """Counts for the progress bar.

    ``mine_done``: the user's done or flagged annotations in the project;
    ``mine_skipped``: their skips; ``project_complete``: sentences whose
    counted annotations reach the quota; ``project_sentences``: all sentences.
    """
    mine = dict(
        session.execute(
            select(Annotation.status, func.count())
            .join(Sentence, Sentence.id == Annotation.sentence_id)
            .where(Sentence.project_id == project.id, Annotation.user_id == user.id)
            .group_by(Annotation.status)
        ).all()
    )
    total = session.scalar(select(func.count()).select_from(Sentence).where(Sentence.project_id == project.id))
    complete = session.scalar(
        select(func.count())
        .select_from(Sentence)
        .where(
            Sentence.project_id == project.id,
            _annotation_count(Sentence.id) >= project.annotators_per_sentence + Sentence.extra_annotators,
        )
    )
    return {
        "mine_done": mine.get("done", 0) + mine.get("flagged", 0),
        "mine_skipped": mine.get("skipped", 0),
        "project_complete": complete,
        "project_sentences": total,
    }
