"""The labelling queue: which sentence an annotator gets next, held by a lease.

A sentence needs ``Project.annotators_per_sentence + Sentence.extra_annotators``
annotations. Annotations with status done or flagged count toward that quota;
a skip does not (another annotator takes the sentence instead). An unexpired
lease held by someone else counts too, so two annotators asking at once never
push a sentence beyond its quota.

Concurrency: on PostgreSQL the candidate sentence row is locked with
``SELECT ... FOR NO KEY UPDATE`` inside a savepoint and the slots are recounted
before the lease is inserted; a full candidate's savepoint is rolled back,
which releases its lock, so a transaction holds at most one such lock. (The
API's first attempt is optimistic: no savepoint, and a full candidate ends the
attempt with :class:`ClaimContended`, whose rollback releases the lock.) A
candidate whose row another request holds locked (claiming or saving it
at that moment) is passed over with ``SKIP LOCKED`` rather than waited for,
and waited for only when no other candidate is left. On
SQLite the caller must open the transaction with
``annotator.db.write_transaction`` (``BEGIN IMMEDIATE``), which serialises
writers; the same code runs there (``FOR UPDATE`` is not emitted). The caller
commits promptly after :func:`next_sentence`.

Order: ``Project.queue_order`` "report" serves open sentences in report order;
"uncertain" (most informative first) serves them by ``Sentence.uncertainty_rank``,
the active model version's uncertainty about the sentence ranked across the project
(0 = least certain; ``annotator.services.uncertainty`` computes it, in the
background), and the sentences without a score after the scored ones, in report
order. Only the candidates' order differs: the quota, leases, skips and locks are
the same code.

Cost: the queue reads ``Sentence.state`` (untouched, started, complete) and
``Sentence.annotation_count`` through the index ``ix_sentences_queue`` (with the
rank, ``ix_sentences_uncertain``), so a request reads a few rows whatever the
project's size. Both columns are derived from the annotations and kept by
``annotator.services.recount``.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import chain

from sqlalchemy import DateTime, Integer, bindparam, delete, exists, func, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from ..db import core_connection, database_key, single_writer
from ..models import COMPLETE, STARTED, UNTOUCHED, Annotation, AnnotationTally, Lease, Project, Sentence, User
from .recount import COUNTED_STATUSES

CANDIDATE_BATCH = 20


# --- The queue -----------------------------------------------------------------------
# Its statements are built once, at import; a call binds :project_id, :user_id, :now and
# :quota (the project's annotators_per_sentence; a sentence's extra_annotators are added in SQL).

_USER = bindparam("user_id", type_=Integer())
_NOW = bindparam("now", type_=DateTime())


def _other_leases(sentence_id):
    """Active leases of ``sentence_id`` held by users other than :user_id."""
    return (
        select(func.count())
        .select_from(Lease)
        .where(Lease.sentence_id == sentence_id, Lease.user_id != _USER, Lease.expires_at > _NOW)
        .scalar_subquery()
    )


def _annotated_by_user(sentence_id):
    return exists().where(Annotation.sentence_id == sentence_id, Annotation.user_id == _USER)


# A sentence :user_id may claim in :project_id, as the candidate queries filter them.
_OPEN = (
    Sentence.project_id == bindparam("project_id"),
    ~_annotated_by_user(Sentence.id),
    Sentence.annotation_count + _other_leases(Sentence.id) < bindparam("quota") + Sentence.extra_annotators,
)
_QUEUE_ORDER = (Sentence.report_id, Sentence.position)
_IN_STATE = (
    select(Sentence.report_id, Sentence.position, Sentence.id)
    .where(Sentence.state == bindparam("state"), *_OPEN)
    .order_by(*_QUEUE_ORDER)
    .limit(CANDIDATE_BATCH)
)
_IN_STATE_AFTER = _IN_STATE.where(
    tuple_(*_QUEUE_ORDER) > tuple_(bindparam("after_report"), bindparam("after_position"))
)
_UNTOUCHED_AMONG = (
    select(Sentence.report_id, Sentence.position, Sentence.id)
    .where(Sentence.id.in_(bindparam("ids", expanding=True)), Sentence.state == UNTOUCHED, *_OPEN)
    .order_by(*_QUEUE_ORDER)
)
# Most informative first: scored sentences by rank (then report order), read from
# ix_sentences_uncertain; then the unscored ones (rank NULL) in report order.
_RANK_ORDER = (Sentence.uncertainty_rank, Sentence.report_id, Sentence.position)
_SCORED = (
    select(*_RANK_ORDER, Sentence.id)
    .where(Sentence.state == bindparam("state"), Sentence.uncertainty_rank.is_not(None), *_OPEN)
    .order_by(*_RANK_ORDER)
    .limit(CANDIDATE_BATCH)
)
_SCORED_AFTER = _SCORED.where(
    tuple_(*_RANK_ORDER) > tuple_(bindparam("after_rank"), bindparam("after_report"), bindparam("after_position"))
)
_UNSCORED = _IN_STATE.where(Sentence.uncertainty_rank.is_(None))
_UNSCORED_AFTER = _IN_STATE_AFTER.where(Sentence.uncertainty_rank.is_(None))
_UNTOUCHED_AMONG_RANKED = _UNTOUCHED_AMONG.add_columns(Sentence.uncertainty_rank)
UNSCORED_RANK = float("inf")  # an unscored sentence's rank in the candidates' merge: after every scored one
_AFTER = ("after_report", "after_position")
_AFTER_RANKED = ("after_rank", *_AFTER)
# Every lease a claim by :user_id must know of, in one read: all of the user's own (a handful at
# most, each with its project and whether the user has annotated the sentence since) and the
# active ones of others (one per working annotator). Plain rows, not Lease objects.
_LEASES = (
    select(
        Lease.sentence_id,
        Lease.user_id,
        Lease.expires_at,
        Sentence.project_id,
        _annotated_by_user(Sentence.id).label("annotated"),
    )
    .join(Sentence, Sentence.id == Lease.sentence_id)
    .where(or_(Lease.user_id == _USER, Lease.expires_at > _NOW))
    .order_by(*_QUEUE_ORDER)
)
_DELETE_OWN_EXPIRED = delete(Lease.__table__).where(
    Lease.__table__.c.user_id == _USER, Lease.__table__.c.expires_at <= _NOW
)
_RENEW = (  # an UPDATE reserves its table's column names for its SET clause
    update(Lease.__table__)
    .where(Lease.__table__.c.sentence_id == bindparam("of_sentence"), Lease.__table__.c.user_id == bindparam("of_user"))
    .values(expires_at=bindparam("new_expiry", type_=DateTime()))
)
_SENTENCE_ID = bindparam("sentence_id", type_=Integer())
# Lease :sentence_id to :user_id when the user has not annotated it and its counted annotations
# (from the annotations themselves, not annotation_count: the slots are decided here) plus
# other users' active leases leave a slot of :quota (this sentence's whole quota) free.
_CLAIM = (
    insert(Lease.__table__)  # the table, not the entity: an ORM insert given parameters would insert them as rows
    .from_select(
        ["sentence_id", "user_id", "expires_at"],
        select(_SENTENCE_ID, _USER, bindparam("expires_at", type_=DateTime())).where(
            ~_annotated_by_user(_SENTENCE_ID),
            select(func.count())
            .select_from(Annotation)
            .where(Annotation.sentence_id == _SENTENCE_ID, Annotation.status.in_(COUNTED_STATUSES))
            .scalar_subquery()
            + _other_leases(_SENTENCE_ID)
            < bindparam("quota"),
        ),
    )
    .returning(Lease.__table__.c.sentence_id)
)


def _bound(project: Project, user: User, now: datetime) -> dict:
    return {"project_id": project.id, "user_id": user.id, "now": now, "quota": project.annotators_per_sentence}


class ClaimContended(Exception):
    """An optimistic claim locked a candidate that turned out to be full: roll back, then claim again."""


def next_sentence(
    session: Session, project: Project, user: User, now: datetime, lease_seconds: int, *, optimistic: bool = False
) -> Sentence | None:
    """Claim the next sentence of ``project`` for ``user`` until ``now + lease_seconds``.

    Returns the sentence the user already holds an unexpired lease on (its
    lease refreshed), else the first open one: not annotated by the user in
    any status, with fewer counted annotations plus other users' active leases
    than its quota; sentences others have started (a counted annotation or an
    active lease) come first, then the project's order (``queue_order``: report
    order, or most uncertain first); a sentence another request
    is claiming or saving at that moment comes after every other candidate
    (on PostgreSQL). ``None`` when nothing is left for this user. Never commits.

    The user's expired leases are deleted on the way: every count ignores them,
    and one would stand in the way of leasing its sentence to the user again.

    ``optimistic`` (PostgreSQL): candidates are locked without a savepoint, which saves
    two server round trips; the first candidate is nearly always free, since the
    candidate query counted its slots already. When a locked candidate turns out to be
    full after all, :class:`ClaimContended` is raised (its lock is still held): the
    caller rolls back and claims again without ``optimistic``.
    """
    expires_at = now + timedelta(seconds=lease_seconds)
    rows = core_connection(session)
    leases = rows.execute(_LEASES, {"user_id": user.id, "now": now}).all()
    mine = [lease for lease in leases if lease.user_id == user.id]
    if any(lease.expires_at <= now for lease in mine):
        rows.execute(_DELETE_OWN_EXPIRED, {"user_id": user.id, "now": now})
    held = next(
        (lease for lease in mine if lease.expires_at > now and lease.project_id == project.id and not lease.annotated),
        None,
    )
    if held is not None:
        rows.execute(_RENEW, {"of_sentence": held.sentence_id, "of_user": user.id, "new_expiry": expires_at})
        loaded = session.identity_map.get(identity_key(Lease, (held.sentence_id, user.id)))
        if loaded is not None:
            session.expire(loaded, ["expires_at"])
        return session.get(Sentence, held.sentence_id)
    leased_by_others = sorted({lease.sentence_id for lease in leases if lease.user_id != user.id})
    busy: list[int] = []
    for sentence_id in _candidates(session, project, user, now, leased_by_others):
        sentence = _claim(session, project, user, sentence_id, now, expires_at, busy, optimistic=optimistic)
        if sentence is not None:
            return sentence
    for sentence_id in busy:  # each was being claimed or saved by another request: wait for it now
        sentence = _claim(session, project, user, sentence_id, now, expires_at, optimistic=optimistic)
        if sentence is not None:
            return sentence
    return None


def _candidates(
    session: Session, project: Project, user: User, now: datetime, leased_by_others: list[int]
) -> Iterator[int]:
    """Sentence ids the user may claim, in queue order, each once.

    Started sentences first: those with a counted annotation (state STARTED, read in the
    project's order from ``ix_sentences_queue`` or ``ix_sentences_uncertain``) merged with
    untouched ones under another user's active lease (``leased_by_others``: few, one per
    working annotator); then the untouched ones in the project's order. Pages of
    CANDIDATE_BATCH rows are read only as far as the caller iterates.
    """
    bound = _bound(project, user, now)
    ranked = project.queue_order == "uncertain"
    started = heapq.merge(
        _in_state(session, STARTED, bound, ranked), _untouched_among(session, bound, leased_by_others, ranked)
    )
    seen: set[int] = set()
    for _, sentence_id in chain(started, _in_state(session, UNTOUCHED, bound, ranked)):
        if sentence_id not in seen:
            seen.add(sentence_id)
            yield sentence_id


def _in_state(session: Session, state: int, bound: dict, ranked: bool) -> Iterator[tuple[tuple, int]]:
    """(order key, id) of the open sentences in ``state``; ranked: (rank, report, position) keys."""
    params = {**bound, "state": state}
    if not ranked:
        yield from _pages(session, _IN_STATE, _IN_STATE_AFTER, _AFTER, params)
        return
    yield from _pages(session, _SCORED, _SCORED_AFTER, _AFTER_RANKED, params)
    for key, sentence_id in _pages(session, _UNSCORED, _UNSCORED_AFTER, _AFTER, params):
        yield (UNSCORED_RANK, *key), sentence_id


def _pages(session: Session, first, after, names: tuple[str, ...], params: dict) -> Iterator[tuple[tuple, int]]:
    """Keyset pages of ``first`` then ``after`` (bound to the last key as ``names``): (key, id) rows."""
    connection = core_connection(session)
    rows = connection.execute(first, params).all()
    while True:
        for *key, sentence_id in rows:
            yield tuple(key), sentence_id
        if len(rows) < CANDIDATE_BATCH:
            return
        rows = connection.execute(after, {**params, **dict(zip(names, rows[-1][:-1], strict=True))}).all()


def _untouched_among(session: Session, bound: dict, ids: list[int], ranked: bool) -> Iterator[tuple[tuple, int]]:
    # The ids are read first, so that this plan starts from them, never from the project's
    # untouched sentences.
    if not ids:
        return
    if not ranked:
        for report_id, position, sentence_id in (
            core_connection(session).execute(_UNTOUCHED_AMONG, {**bound, "ids": ids}).all()
        ):
            yield (report_id, position), sentence_id
        return
    rows = core_connection(session).execute(_UNTOUCHED_AMONG_RANKED, {**bound, "ids": ids}).all()
    keyed = [((UNSCORED_RANK if rank is None else rank, r, p), i) for r, p, i, rank in rows]
    yield from sorted(keyed)


_LOCK_CANDIDATE = select(Sentence).where(Sentence.id == _SENTENCE_ID).execution_options(populate_existing=True)
# FOR NO KEY UPDATE: it excludes other claims and the recount of a save, not the foreign-key
# checks of a save's inserts (FOR KEY SHARE), which need not wait for a claim.
_LOCK_WAIT = _LOCK_CANDIDATE.with_for_update(key_share=True)
_LOCK_SKIP = _LOCK_CANDIDATE.with_for_update(key_share=True, skip_locked=True)


def _claim(
    session: Session,
    project: Project,
    user: User,
    sentence_id: int,
    now: datetime,
    expires_at: datetime,
    busy: list[int] | None = None,
    *,
    optimistic: bool = False,
) -> Sentence | None:
    """Lock the sentence row, recount its slots, and lease it if one is free; the sentence, or None.

    On PostgreSQL the row lock is taken inside a savepoint, whose rollback releases it when the
    sentence is full; the claim that follows is a fresh statement, so under READ COMMITTED it
    sees every lease committed meanwhile. With ``busy`` a row that another transaction holds
    locked is not waited for (``SKIP LOCKED``): its id is added to ``busy`` and None returned.
    SQLite has no row locks (the caller holds the write lock), so no savepoint. The user holds
    no lease here: expired ones were deleted, an unexpired one was renewed instead.
    ``optimistic``: no savepoint; a full sentence raises ClaimContended instead (see next_sentence).
    """
    row_locks = not single_writer(session)
    savepoint = session.begin_nested() if row_locks and not optimistic else None
    sentence = session.execute(
        _LOCK_WAIT if busy is None else _LOCK_SKIP, {"sentence_id": sentence_id}
    ).scalar_one_or_none()
    if sentence is None:  # locked by another transaction, or deleted since it was a candidate
        if savepoint is not None:
            savepoint.rollback()
        if busy is not None:
            busy.append(sentence_id)
        return None
    leased = (
        core_connection(session)
        .execute(
            _CLAIM,
            {
                "sentence_id": sentence_id,
                "user_id": user.id,
                "now": now,
                "expires_at": expires_at,
                "quota": project.annotators_per_sentence + sentence.extra_annotators,
            },
        )
        .first()
    )
    if leased is None:
        if savepoint is not None:
            savepoint.rollback()  # releases the row lock taken inside the savepoint
        elif row_locks:
            raise ClaimContended(sentence_id)  # only the transaction's rollback releases the lock
        return None
    if savepoint is not None:
        savepoint.commit()
    return sentence


_TAKE = (
    delete(Lease.__table__)
    .where(Lease.__table__.c.sentence_id == _SENTENCE_ID, Lease.__table__.c.user_id == _USER)
    .returning(Lease.__table__.c.expires_at)
)


def take_lease(session: Session, sentence: Sentence, user: User) -> datetime | None:
    """Delete the user's lease on the sentence (a save ends it); when it expires or expired, or None."""
    return core_connection(session).scalar(_TAKE, {"sentence_id": sentence.id, "user_id": user.id})


def purge_expired_leases(session: Session, now: datetime) -> int:
    """Delete every expired lease; returns how many. Housekeeping only: counts ignore them anyway."""
    return session.execute(delete(Lease).where(Lease.expires_at <= now)).rowcount or 0


_PROJECT_COUNTS: dict[tuple[str, int], tuple[float, tuple[int, int]]] = {}


def project_counts(session: Session, project: Project, max_age: float = 0.0) -> tuple[int, int]:
    """(sentences, complete sentences) of ``project``.

    One index-only pass over the project's (project_id, state) entries, which
    grows with the project (16 ms on SQLite, 70 ms on PostgreSQL at 300,000
    sentences); with ``max_age`` > 0 a figure up to that many seconds old, kept
    per process, is reused: it only feeds a progress bar.
    """
    key = (database_key(session), project.id)
    now = time.monotonic()
    cached = _PROJECT_COUNTS.get(key)
    if max_age > 0 and cached is not None and now - cached[0] <= max_age:
        return cached[1]
    counts = tuple(
        session.execute(
            select(func.count(), func.count().filter(Sentence.state == COMPLETE))
            .select_from(Sentence)
            .where(Sentence.project_id == project.id)
        ).one()
    )
    _PROJECT_COUNTS[key] = (now, counts)
    return counts


def forget_project_counts() -> None:
    """Drop this process's kept ``project_counts`` figures (after counting in a transaction that was rolled back)."""
    _PROJECT_COUNTS.clear()


STATUSES = ("done", "flagged", "skipped")
# One user's annotations in :project_id by status, built once (the labelling page reads it per sentence).
# The tallies the triggers of migration 0017 keep (models.AnnotationTally): a primary-key range,
# whatever the number of annotations behind it.
_OWN_COUNTS = select(AnnotationTally.status, AnnotationTally.n).where(
    AnnotationTally.project_id == bindparam("project_id"), AnnotationTally.user_id == _USER
)
_ALL_COUNTS = (
    select(User.username, AnnotationTally.status, AnnotationTally.n)
    .join(User, User.id == AnnotationTally.user_id)
    .where(AnnotationTally.project_id == bindparam("project_id"), AnnotationTally.n > 0)
)


def annotation_counts(session: Session, project: Project, user: User | None = None) -> dict[str, dict[str, int]]:
    """The project's annotations by annotator and status: ``{username: {"done", "flagged", "skipped"}}``.

    The one definition of these counts: the labelling page, the review
    dashboard, ``annotator status`` and the export manifest all read it. A
    flagged annotation is flagged, not done (though both count toward a
    sentence's quota: see ``complete``). With ``user``, only theirs (zeros when
    they have none); without, every user with an annotation in the project.
    Read from ``annotation_tallies``, which triggers keep equal to counting the
    annotations themselves.
    """
    rows = core_connection(session)
    if user is not None:
        mine = dict.fromkeys(STATUSES, 0)
        for status, n in rows.execute(_OWN_COUNTS, {"user_id": user.id, "project_id": project.id}):
            mine[status] = n
        return {user.username: mine}
    counts: dict[str, dict[str, int]] = {}
    for name, status, n in rows.execute(_ALL_COUNTS, {"project_id": project.id}):
        counts.setdefault(name, dict.fromkeys(STATUSES, 0))[status] = n
    return dict(sorted(counts.items()))


def progress(session: Session, project: Project, user: User, max_age: float = 0.0) -> dict[str, int]:
    """Counts for the progress bar.

    ``mine_done``, ``mine_flagged``, ``mine_skipped``: the user's
    annotations in the project by status (``annotation_counts``);
    ``project_complete``: sentences whose counted (done or flagged)
    annotations reach the quota; ``project_sentences``: all sentences. The
    project-wide pair may be up to ``max_age`` seconds old (see
    :func:`project_counts`); the user's own counts are always current.
    """
    mine = annotation_counts(session, project, user)[user.username]
    total, complete = project_counts(session, project, max_age)
    return {
        "mine_done": mine["done"],
        "mine_flagged": mine["flagged"],
        "mine_skipped": mine["skipped"],
        "project_complete": complete,
        "project_sentences": total,
    }
