"""The bare limit of the labelling round trip: the same claim and save on the DB-API driver, no framework.

A WSGI function on ``sqlite3`` (or ``psycopg`` when ``BARE_DATABASE_URL`` is a
PostgreSQL URL) over annotator's own migrated schema, one connection per
process, one transaction per request:

- ``GET /api/projects/<name>/next``: the bearer token's user; the sentence
  the user already holds an unexpired lease on (renewed), else the first
  open sentence of the project (started ones, with a counted annotation,
  first; each in report order along the ``ix_sentences_queue`` index) that the
  user has not annotated in any status and whose counted annotations
  (``annotation_count``: done and flagged) plus other users' live leases are
  fewer than its quota (``annotators_per_sentence + extra_annotators``),
  leased to the user (PostgreSQL: ``FOR UPDATE SKIP LOCKED``); 204 when none;
- ``PUT /api/sentences/<id>/annotation``: the spans checked against the
  sentence's tokens, the annotation written (insert or update, version + 1),
  its spans replaced, the sentence's count and state recomputed, the lease
  released.

What it leaves out (annotator does it): sessions and CSRF, JSON limits,
suggestions and normalised values, stale-save versions, audit and review
figures. It is the floor of the same database work, not a replacement.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime, timedelta

URL = os.environ["BARE_DATABASE_URL"]
SQLITE = URL.startswith("sqlite")
P = "?" if SQLITE else "%s"
LEASE_SECONDS = 15 * 60
NEXT = re.compile(r"^/api/projects/([^/]+)/next$")
SAVE = re.compile(r"^/api/sentences/(\d+)/annotation$")
_connection = None


def connect():
    global _connection
    if _connection is None:
        if SQLITE:
            import sqlite3

            _connection = sqlite3.connect(URL.split("///", 1)[1], isolation_level=None, timeout=30)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
                _connection.execute(f"PRAGMA {pragma}")
        else:
            import psycopg
            from sqlalchemy.engine import make_url

            u = make_url(URL)
            _connection = psycopg.connect(
                host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database
            )
    return _connection


def q(sql: str) -> str:
    return sql.replace("?", P)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def stamp(moment: datetime):
    return moment.isoformat(" ") if SQLITE else moment  # SQLAlchemy's SQLite DateTime is this text


def app(environ, start_response):
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    if path == "/healthz":
        return reply(start_response, 200, {"ok": True})

    def body() -> dict:
        return json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))

    status, payload = handle(method, path, environ.get("HTTP_AUTHORIZATION", ""), body)
    return reply(start_response, status, payload)


def handle(method: str, path: str, auth: str, body) -> tuple[int, dict | None]:
    """One request's work in one transaction: (status, JSON body or None); ``body()`` reads the request's JSON."""
    db = connect()
    cursor = db.cursor()
    try:
        if SQLITE:
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(
            q("SELECT id FROM users WHERE api_token_hash = ? AND active"),
            (hashlib.sha256(auth.removeprefix("Bearer ").encode()).hexdigest(),),
        )
        row = cursor.fetchone()
        if row is None:
            db.rollback() if not SQLITE else cursor.execute("ROLLBACK")
            return 401, {"error": "token"}
        user = row[0]
        if method == "GET" and (m := NEXT.match(path)):
            status, payload = claim(cursor, user, m[1])
        elif method == "PUT" and (m := SAVE.match(path)):
            status, payload = save(cursor, user, int(m[1]), body())
        else:
            status, payload = 404, {"error": "not found"}
        if SQLITE:
            cursor.execute("COMMIT" if status < 400 else "ROLLBACK")
        else:
            db.commit() if status < 400 else db.rollback()
    except BaseException:
        if SQLITE:
            if db.in_transaction:
                cursor.execute("ROLLBACK")
        else:
            db.rollback()
        raise
    return status, payload


def claim(cursor, user: int, project_name: str):
    moment = now()
    cursor.execute(q("SELECT id FROM projects WHERE name = ?"), (project_name,))
    project = cursor.fetchone()[0]
    cursor.execute(
        q(
            "SELECT l.sentence_id FROM leases l JOIN sentences s ON s.id = l.sentence_id "
            "WHERE l.user_id = ? AND l.expires_at > ? AND s.project_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM annotations a WHERE a.sentence_id = l.sentence_id AND a.user_id = ?) LIMIT 1"
        ),
        (user, stamp(moment), project, user),
    )
    held = cursor.fetchone()
    for state in (1, 0) if held is None else ():  # started sentences first, each state in report order
        cursor.execute(
            q(
                "SELECT s.id FROM sentences s JOIN projects p ON p.id = s.project_id "
                "WHERE s.project_id = ? AND s.state = ? "
                "AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.sentence_id = s.id AND a.user_id = ?) "
                "AND s.annotation_count + (SELECT count(*) FROM leases l WHERE l.sentence_id = s.id "
                "AND l.user_id <> ? AND l.expires_at > ?) < p.annotators_per_sentence + s.extra_annotators "
                "ORDER BY s.report_id, s.position LIMIT 1" + ("" if SQLITE else " FOR UPDATE OF s SKIP LOCKED")
            ),
            (project, state, user, user, stamp(moment)),
        )
        held = cursor.fetchone()
        if held is not None:
            break
    if held is None:
        return 204, None
    cursor.execute(
        q(
            "INSERT INTO leases (sentence_id, user_id, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (sentence_id, user_id) DO UPDATE SET expires_at = excluded.expires_at"
        ),
        (held[0], user, stamp(moment + timedelta(seconds=LEASE_SECONDS))),
    )
    cursor.execute(q("SELECT id, text, tokens FROM sentences WHERE id = ?"), (held[0],))
    sid, text, tokens = cursor.fetchone()
    tokens = json.loads(tokens) if isinstance(tokens, str) else tokens
    return 200, {"sentence": {"id": sid, "text": text, "tokens": [{"start_char": a, "end_char": b} for a, b in tokens]}}


def save(cursor, user: int, sentence: int, body: dict):
    moment = stamp(now())
    cursor.execute(q("SELECT tokens FROM sentences WHERE id = ?"), (sentence,))
    row = cursor.fetchone()
    if row is None:
        return 404, {"error": "no such sentence"}
    tokens = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    starts, ends = {a for a, _ in tokens}, {b for _, b in tokens}
    spans = body.get("spans", [])
    if any(s["start_char"] not in starts or s["end_char"] not in ends for s in spans):
        return 422, {"error": "spans must start and end on tokens"}
    cursor.execute(
        q(
            "INSERT INTO annotations (sentence_id, user_id, status, seconds_spent, version, created_at, updated_at) "
            "VALUES (?, ?, ?, 0, 1, ?, ?) ON CONFLICT (sentence_id, user_id) DO UPDATE SET "
            "status = excluded.status, version = annotations.version + 1, updated_at = excluded.updated_at "
            "RETURNING id, version"
        ),
        (sentence, user, body["status"], moment, moment),
    )
    annotation, version = cursor.fetchone()
    cursor.execute(q("DELETE FROM spans WHERE annotation_id = ?"), (annotation,))
    if spans:
        cursor.executemany(
            q("INSERT INTO spans (annotation_id, start_char, end_char, label, suggested) VALUES (?, ?, ?, ?, ?)"),
            [(annotation, s["start_char"], s["end_char"], s["label"], False) for s in spans],
        )
    cursor.execute(
        q(
            "UPDATE sentences SET annotation_count = c.n, state = CASE WHEN c.n = 0 THEN 0 "
            "WHEN c.n >= (SELECT annotators_per_sentence FROM projects WHERE id = sentences.project_id) "
            "+ extra_annotators THEN 2 ELSE 1 END FROM (SELECT count(*) AS n FROM annotations "
            "WHERE sentence_id = ? AND status IN ('done', 'flagged')) AS c WHERE id = ?"
        ),
        (sentence, sentence),
    )
    cursor.execute(q("DELETE FROM leases WHERE sentence_id = ? AND user_id = ?"), (sentence, user))
    return 200, {"version": version}


def reply(start_response, status: int, body) -> list[bytes]:
    data = b"" if body is None else json.dumps(body).encode()
    reason = {200: "OK", 204: "No Content", 401: "Unauthorized", 404: "Not Found", 422: "Unprocessable Entity"}
    start_response(
        f"{status} {reason[status]}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
