"""SQL statements per labelling round trip (GET next, PUT annotation), pinned per backend.

Counted with the engine's ``before_cursor_execute`` event: every statement SQLAlchemy sends,
BEGIN, SAVEPOINT and RELEASE included; not SQLite's ``BEGIN IMMEDIATE``, which ``annotator.db``
issues on the driver connection, nor COMMIT. The counts are deterministic; a change that adds a
statement to the round trip fails here and should say why in the new figure.

A save's guard against a label renamed or deleted meanwhile (``services.label_scheme``) adds none: on
PostgreSQL its share of the scheme lock rides on the read of the sentence and project, and its second
look at the scheme on the audit event's INSERT (``RETURNING`` the labels).
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from annotator.models import Annotation, Sentence
from annotator.services.users import issue_api_token
from tests.helpers import make_project, users

# Statements per step of the round trip on each backend, and what they are.
EXPECTED = {
    "sqlite": {
        # one write transaction: user, project; leases, candidates (started, untouched), sentence,
        # claim; window, stored suggestions, own counts, project counts (PROGRESS_MAX_AGE is 0 here)
        "next": 11,
        # user, project; leases, renew, sentence; window, stored suggestions, own counts, project counts
        "renew": 9,
        # user, sentence and project, own annotation, lease, annotation, spans, recount, audit event
        "save": 8,
        # done -> done, a new comment: user, sentence, annotation, lease, its spans; the annotation
        # and its old spans, the new spans, audit event; no recount (no derived figure changes)
        "resave": 9,
        # done -> flagged: as a resave, and the recount (the sentence's flag changes)
        "flag": 10,
        # a new skip: as a save, without the recount (a skip counts toward nothing)
        "skip": 7,
    },
    "postgresql": {
        # no BEGIN statements, one transaction; the claim takes no savepoint (its first attempt is
        # optimistic: services.queue.ClaimContended); one more: SET LOCAL synchronous_commit = off
        # (the claim writes only leases: db.lease_only_commit)
        "next": 12,
        "renew": 10,
        # the recount locks the sentence row first
        "save": 9,
        "resave": 9,
        "flag": 11,
        "skip": 7,
    },
}


@pytest.fixture
def counted(app):
    statements: list[str] = []

    @event.listens_for(app.extensions["annotator.engine"], "before_cursor_execute")
    def _count(conn, cursor, statement, params, context, executemany):
        statements.append(statement)

    yield statements
    event.remove(app.extensions["annotator.engine"], "before_cursor_execute", _count)


def _statements(counted: list[str], call):
    counted.clear()
    response = call()
    assert response.status_code == 200, response.data
    return response.get_json(), list(counted)


def test_roundtrip_statements_pinned(app, db, counted):
    make_project(db, quota=2)
    ann, bob = users(db, "ann", "bob")
    token, warm = issue_api_token(ann), issue_api_token(bob)
    db.commit()
    client = app.test_client()
    # A first request fills the process's caches (project settings, gazetteer): not what is pinned.
    assert client.get("/api/projects/incidents/next", headers={"Authorization": f"Bearer {warm}"}).status_code == 200
    headers = {"Authorization": f"Bearer {token}"}
    backend = app.extensions["annotator.engine"].dialect.name
    expected = EXPECTED[backend]

    def get_next():
        return client.get("/api/projects/incidents/next", headers=headers)

    def put(sentence, status, base_version=None, comment=None):
        token = sentence["tokens"][0]
        spans = [{"start_char": token["start_char"], "end_char": token["end_char"], "label": "COUNT"}]
        body = {"status": status, "spans": spans, "base_version": base_version, "comment": comment}
        return client.put(f"/api/sentences/{sentence['id']}/annotation", headers=headers, json=body)

    figures = {}
    payload, statements = _statements(counted, get_next)
    figures["next"] = len(statements)
    sentence = payload["sentence"]
    payload, statements = _statements(counted, get_next)  # the lease the user holds, renewed
    figures["renew"] = len(statements)
    assert payload["sentence"]["id"] == sentence["id"]
    claim_statements = statements
    saved, statements = _statements(counted, lambda: put(sentence, "done"))
    figures["save"] = len(statements)
    guard = [
        s for s in statements if "pg_try_advisory_xact_lock_shared" in s or "RETURNING (SELECT projects.labels" in s
    ]
    assert len(guard) == (2 if backend == "postgresql" else 1), guard  # SQLite: the audit event's re-read alone
    # Only a claim, which writes nothing but leases, commits without waiting for the disk; a save waits.
    writes = [s.split()[:3] for s in claim_statements if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert writes and all("leases" in words for words in writes), writes
    relaxed = [s for s in claim_statements if "synchronous_commit" in s]
    assert relaxed == (["SET LOCAL synchronous_commit = off"] if backend == "postgresql" else [])
    assert not any("synchronous_commit" in s for s in statements)
    resaved, statements = _statements(counted, lambda: put(sentence, "done", saved["annotation"]["version"], "sure"))
    figures["resave"] = len(statements)
    _, statements = _statements(counted, lambda: put(sentence, "flagged", resaved["annotation"]["version"], "unclear"))
    figures["flag"] = len(statements)
    payload, _ = _statements(counted, get_next)
    _, statements = _statements(counted, lambda: put(payload["sentence"], "skipped"))
    figures["skip"] = len(statements)
    assert figures == expected

    # The figures the skipped statements would have kept are right.
    db.rollback()
    first = db.get(Sentence, sentence["id"])
    skipped = db.get(Sentence, payload["sentence"]["id"])
    assert (first.annotation_count, skipped.annotation_count) == (1, 0)
    assert db.scalar(select(Annotation.status).where(Annotation.sentence_id == skipped.id)) == "skipped"
