"""The labelling queue: order, quota, leases, and real concurrency on both backends."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from annotator import db as database
from annotator.models import Annotation, Lease, Sentence, utcnow
from annotator.services.annotations import save_annotation
from annotator.services.queue import progress
from tests.helpers import LEASE, claim, make_project, run_threads, sentences_of, users


def save(db, sentence, user, status="done", spans=(), **kwargs):
    database.write_transaction(db)
    annotation = save_annotation(db, sentence, user, status, list(spans), **kwargs)
    db.commit()
    return annotation


def test_queue_sentences_split_as_expected(db):
    project = make_project(db)
    assert [s.text for s in sentences_of(db, project)][:2] == [
        "Forty drones were shot down over Kursk.",
        "Debris damaged a house.",
    ]
    assert len(sentences_of(db, project)) == 5


def test_queue_second_annotator_joins_a_started_sentence_then_third_moves_on(db):
    project = make_project(db, quota=2)
    s = sentences_of(db, project)
    ann, bo, cy = users(db, "ann", "bo", "cy")
    assert claim(db, project, ann).id == s[0].id
    assert claim(db, project, bo).id == s[0].id  # started by ann: completing it comes first
    assert claim(db, project, cy).id == s[1].id  # two leases fill the quota of 2


def test_queue_prefers_sentences_others_have_annotated(db):
    project = make_project(db, quota=2)
    s = sentences_of(db, project)
    ann, bo = users(db, "ann", "bo")
    save(db, s[3], ann)
    assert claim(db, project, bo).id == s[3].id
    assert claim(db, project, ann).id == s[0].id  # never a sentence ann annotated


def test_queue_reload_returns_the_same_sentence_and_refreshes_the_lease(db):
    project = make_project(db)
    (ann,) = users(db, "ann")
    now = utcnow()
    first = claim(db, project, ann, now)
    again = claim(db, project, ann, now + timedelta(seconds=60))
    assert again.id == first.id
    lease = db.get(Lease, (first.id, ann.id))
    db.refresh(lease)
    assert lease.expires_at == now + timedelta(seconds=60 + LEASE)
    assert db.scalar(select(func.count()).select_from(Lease)) == 1


def test_queue_expired_lease_frees_the_slot(db):
    project = make_project(db, quota=1)
    s = sentences_of(db, project)
    ann, bo = users(db, "ann", "bo")
    now = utcnow()
    assert claim(db, project, ann, now).id == s[0].id
    assert claim(db, project, bo, now).id == s[1].id
    later = now + timedelta(seconds=LEASE + 1)
    (cy,) = users(db, "cy")
    assert claim(db, project, cy, later).id == s[0].id  # ann's lease expired; bo's too, but s0 comes first


def test_queue_own_expired_lease_gives_way_to_a_new_one(db):
    """An annotator whose lease ran out asks again: the old lease goes, the sentence is leased anew."""
    project = make_project(db, quota=1)
    s = sentences_of(db, project)
    (ann,) = users(db, "ann")
    now = utcnow()
    assert claim(db, project, ann, now).id == s[0].id
    later = now + timedelta(seconds=LEASE + 1)
    assert claim(db, project, ann, later).id == s[0].id
    leases = db.execute(select(Lease.sentence_id, Lease.expires_at).where(Lease.user_id == ann.id)).all()
    assert leases == [(s[0].id, later + timedelta(seconds=LEASE))]


@pytest.mark.parametrize(("status", "taken_by_other"), [("skipped", True), ("done", False), ("flagged", False)])
def test_queue_skip_does_not_consume_quota(db, status, taken_by_other):
    project = make_project(db, quota=1)
    s = sentences_of(db, project)
    ann, bo = users(db, "ann", "bo")
    assert claim(db, project, ann).id == s[0].id
    save(db, s[0], ann, status, comment="unclear" if status == "flagged" else None)
    assert (claim(db, project, bo).id == s[0].id) is taken_by_other
    # ann never gets back what ann annotated; with quota 1, bo's lease fills whatever bo took
    assert claim(db, project, ann).id == (s[1].id if taken_by_other else s[2].id)


def test_queue_saving_deletes_the_lease(db):
    project = make_project(db)
    (ann,) = users(db, "ann")
    sentence = claim(db, project, ann)
    save(db, sentence, ann)
    assert db.get(Lease, (sentence.id, ann.id)) is None


def test_queue_nothing_left_returns_none(db):
    project = make_project(db, reports=("One drone was shot down.",), quota=1)
    ann, bo = users(db, "ann", "bo")
    sentence = claim(db, project, ann)
    assert claim(db, project, bo) is None  # ann's lease fills the only slot
    save(db, sentence, ann)
    assert claim(db, project, ann) is None
    assert progress(db, project, ann) == {
        "mine_done": 1,
        "mine_flagged": 0,
        "mine_skipped": 0,
        "project_complete": 1,
        "project_sentences": 1,
    }


def test_queue_extra_annotators_raise_the_quota(db):
    project = make_project(db, reports=("One drone was shot down.",), quota=1)
    ann, bo = users(db, "ann", "bo")
    sentence = claim(db, project, ann)
    save(db, sentence, ann)
    assert claim(db, project, bo) is None
    sentence.extra_annotators = 1
    db.commit()
    assert claim(db, project, bo).id == sentence.id


def test_queue_concurrent_claims_never_exceed_the_quota(db, database_url):
    # 6 annotators at once, 2 sentences of quota 2: exactly 4 slots.
    project = make_project(db, reports=("One drone was shot down.", "Two drones were intercepted."), quota=2)
    people = users(db, *(f"a{i}" for i in range(6)))

    def work(session, project, user):
        return sentence.id if (sentence := claim(session, project, user)) else None

    results = run_threads(database_url, project.id, [u.id for u in people], work)
    claimed = Counter(sid for sid in results.values() if sid is not None)
    assert sorted(claimed.values()) == [2, 2]
    assert list(results.values()).count(None) == 2
    db.rollback()  # end the read snapshot
    leases = Counter(db.scalars(select(Lease.sentence_id)))
    assert leases == claimed


def test_queue_concurrent_sessions_annotate_each_sentence_exactly_quota_times(db, database_url):
    # 6 annotators × quota 2 over 5 sentences, claiming and saving until nothing is left.
    project = make_project(db, quota=2)
    people = users(db, *(f"a{i}" for i in range(6)))

    def work(session, project, user):
        done = []
        while (sentence := claim(session, project, user)) is not None:
            taken = session.scalar(
                select(func.count()).select_from(Annotation).where(Annotation.sentence_id == sentence.id)
            )
            leases = session.scalar(select(func.count()).select_from(Lease).where(Lease.sentence_id == sentence.id))
            assert taken + leases <= 2 + 0, f"sentence {sentence.id}: {taken} annotations + {leases} leases"
            save(session, sentence, user)
            done.append(sentence.id)
        session.commit()
        return done

    results = run_threads(database_url, project.id, [u.id for u in people], work)
    per_sentence = Counter(sid for done in results.values() for sid in done)
    assert per_sentence == Counter({s.id: 2 for s in sentences_of(db, project)})
    db.rollback()  # end the read snapshot
    assert db.scalar(select(func.count()).select_from(Annotation)) == 10
    assert db.scalar(select(func.count()).select_from(Lease)) == 0


def _hold_row_lock(database_url, sentence_id, release: threading.Event, held: threading.Event):
    """Another transaction that holds the sentence's row lock (as a claim or a save does) until ``release``."""
    engine = database.make_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.execute(select(Sentence.id).where(Sentence.id == sentence_id).with_for_update())
            held.set()
            release.wait(timeout=60)
            connection.commit()
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # row locks: SQLite has none
def test_queue_passes_over_a_sentence_another_request_holds_locked(db, database_url):
    project = make_project(db, quota=2)
    ann, bo = users(db, "ann", "bo")
    first, second = sentences_of(db, project)[:2]
    save(db, first, ann)  # started: the head of everyone's queue
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_row_lock, args=(database_url, first.id, release, held))
    holder.start()
    try:
        assert held.wait(timeout=30)
        assert claim(db, project, bo).id == second.id  # not a wait behind the lock: the next candidate
    finally:
        release.set()
        holder.join(timeout=30)
    assert claim(db, project, bo).id == second.id  # bo's lease stands; the passed-over head is unchanged
    assert dict(db.execute(select(Lease.sentence_id, Lease.user_id)).all()) == {second.id: bo.id}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_queue_waits_for_a_locked_sentence_when_nothing_else_is_open(db, database_url):
    project = make_project(db, reports=("One drone was shot down.",), quota=1)
    (ann,) = users(db, "ann")
    (only,) = sentences_of(db, project)
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_row_lock, args=(database_url, only.id, release, held))
    holder.start()
    assert held.wait(timeout=30)
    threading.Timer(0.5, release.set).start()  # the other transaction ends while this claim waits
    try:
        claimed = claim(db, project, ann)
    finally:
        release.set()
        holder.join(timeout=30)
    assert claimed is not None and claimed.id == only.id  # not "nothing left" (204) while it was busy


def test_queue_optimistic_claim_of_a_full_candidate_is_rolled_back_and_claimed_again(db, app, monkeypatch):
    # A candidate that fills up between the candidate query and its row lock (a race, forced here).
    from annotator.services import queue
    from annotator.services.users import issue_api_token

    project = make_project(db, quota=1)
    ann, bo = users(db, "ann", "bo")
    full, open_ = sentences_of(db, project)[:2]
    save(db, full, ann)
    monkeypatch.setattr(queue, "_candidates", lambda *args: iter([full.id, open_.id]))
    database.write_transaction(db)
    if database.single_writer(db):  # SQLite takes no row locks: the full one is passed over at once
        assert queue.next_sentence(db, project, bo, utcnow(), LEASE, optimistic=True).id == open_.id
    else:
        with pytest.raises(queue.ClaimContended):
            queue.next_sentence(db, project, bo, utcnow(), LEASE, optimistic=True)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Lease)) == 0
    token = issue_api_token(bo)
    db.commit()
    response = app.test_client().get("/api/projects/incidents/next", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.get_json()["sentence"]["id"] == open_.id
    db.rollback()
    assert dict(db.execute(select(Lease.sentence_id, Lease.user_id)).all()) == {open_.id: bo.id}
