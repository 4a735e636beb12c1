"""A labelling round rehearsed through the app's own request path before serving, then rolled back.

A server process's first ``next`` and first save otherwise pay for what
only a first request does: SQLAlchemy compiling each statement of the round
trip (its compiled cache is per engine, filled on first use), the first
user lookup by API token and by session cookie, the CSRF check, the page's
first render and the first static file. Run once in gunicorn's master
before it forks (``annotator.app.warm_up``), the rehearsal leaves all of
that in memory that every worker inherits. Each worker then runs a shorter
round of its own before it serves (``rehearse_in_worker``), so that its first
requests do not copy the pages they share with the master.

The round runs as an annotator of its own, made for it, in one database
transaction that is rolled back at the end: nothing it writes is kept (on
PostgreSQL the ids it took from the sequences are skipped, as after any
rollback). On SQLite that transaction holds the write lock for the length
of the round (tens of milliseconds).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..app import REHEARSAL
from ..models import Project, ProjectMember, Sentence
from ..services import queue
from ..services.suggestions import offered_label_names
from ..services.unit_of_work import session_factory
from ..services.users import create_user, issue_api_token

MAX_ATTEMPTS = 4  # projects tried for a round (one with nothing left to give answers 204): a bound on the start
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


def rehearse_labelling(app: Flask) -> int:
    """Run one labelling round per queue order in use, then roll everything back; returns the rounds run.

    A round, in the first project (by id) of each queue order that has a
    sentence to give: ``next`` and a save with an API token, then the
    labelling page, a static file, ``next`` and a save with a session
    cookie and its CSRF token. Raises ``RuntimeError`` when a request of the
    round does not answer as a labelling request should.
    """
    rounds = 0
    with _rolled_back(app) as session:
        projects = session.scalars(select(Project).order_by(Project.id)).all()
        session_token, api_token = _annotator(session, projects)
        done: set[str] = set()
        for project in [p for p in projects if p.queue_order not in done][:MAX_ATTEMPTS]:
            if project.queue_order not in done and _round(app, project, api_token, session_token):
                done.add(project.queue_order)
                rounds += 1
    return rounds


def rehearse_in_worker(app: Flask) -> bool:
    """In a process forked after ``rehearse_labelling``, before it serves: touch what its first requests use.

    Everything is loaded and compiled already, in memory shared with the
    parent; but a first request copies each shared page it touches (Python
    writes an object's reference count when it uses it): several thousand
    pages, a first ``next`` a few times slower than the next one. This runs the
    request machinery (``/healthz``) and the reads of a labelling request (the
    first project's first sentence and its suggestions), then, rolled back,
    ``next`` and a save with an API token, then counts the project's
    sentences (kept for ``PROGRESS_MAX_AGE``, as a request keeps them). Not
    the page and the cookie's round as well, as in the parent: on SQLite the
    transaction holds the one write lock, while the workers forked before this
    one already serve; for ``next`` and a save it holds it about as long as an
    annotator's round does.
    The connection stays in this process's pool for the first request.
    Returns whether there was a sentence to rehearse on.
    """
    from ..services.suggestions import suggestions_for

    client = app.test_client()
    client.environ_base[REHEARSAL] = True
    client.get("/healthz").close()
    session = app.extensions["annotator.sessionmaker"]()
    try:
        with app.app_context():
            row = session.execute(
                select(Sentence, Project)
                .join(Project, Project.id == Sentence.project_id)
                .order_by(Sentence.id)
                .limit(1)
            ).first()
            if row is None:
                return False
            sentence, project = row
            suggestions_for(session, project, sentence)
    finally:
        session.close()
    with _rolled_back(app) as session:
        _, api_token = _annotator(session, [project])
        _round(app, project, api_token)
    # Counted after the rollback (which drops what was counted inside it), from what is stored:
    # a first ``next`` within PROGRESS_MAX_AGE reuses the figure, as the requests after it do.
    session = app.extensions["annotator.sessionmaker"]()
    try:
        queue.project_counts(session, project)
    finally:
        session.close()
    return True


@contextmanager
def _rolled_back(app: Flask) -> Iterator[Session]:
    """The app's sessions, while it lasts, joined through savepoints to one transaction that is then rolled back.

    One connection, one transaction (BEGIN IMMEDIATE on SQLite: a round
    writes); the requests' own commits only release savepoints inside it.
    Yields a session of it; the per-process counts read inside it are dropped.
    """
    engine = app.extensions["annotator.engine"]
    served = app.extensions["annotator.sessionmaker"]
    with engine.connect() as connection:
        connection.execution_options(sqlite_write=True)
        transaction = connection.begin()
        sessions = session_factory(engine)
        sessions.configure(bind=connection, join_transaction_mode="create_savepoint")
        app.extensions["annotator.sessionmaker"] = sessions
        session = sessions()
        try:
            yield session
        finally:
            session.close()
            app.extensions["annotator.sessionmaker"] = served
            transaction.rollback()
            queue.forget_project_counts()


def _annotator(session: Session, projects) -> tuple[str, str]:
    """An annotator made for the rehearsal, a member of the restricted ``projects``: (session token, API token)."""
    user = create_user(session, f"rehearsal-{secrets.token_hex(8)}", "annotator", None)
    api_token = issue_api_token(user)
    session.add_all(ProjectMember(project_id=p.id, user_id=user.id) for p in projects if p.restricted)
    session.commit()
    return user.session_token, api_token


def _round(app: Flask, project: Project, api_token: str, session_token: str | None = None) -> bool:
    """One round in ``project`` (with ``session_token``, a second one with the cookie); False if nothing to give."""
    client = app.test_client()
    client.environ_base[REHEARSAL] = True
    bearer = {"Authorization": f"Bearer {api_token}"}
    next_url = f"/api/projects/{project.name}/next"
    label = (offered_label_names(project) or [None])[0]

    def save(sentence: dict, headers: dict) -> None:
        tokens = sentence["tokens"][:1]
        spans = [{"start_char": t["start_char"], "end_char": t["end_char"], "label": label} for t in tokens if label]
        body = {"status": "done", "spans": spans}
        # 422: a scheme whose first label refuses the first token's value; the save's code has still run.
        _expect(client.put(f"/api/sentences/{sentence['id']}/annotation", json=body, headers=headers), 200, 422)

    answer = _expect(client.get(next_url, headers=bearer), 200, 204)
    if answer.status_code == 204:
        return False
    save(answer.get_json()["sentence"], bearer)
    if session_token is None:
        return True

    with client.session_transaction() as cookie:
        cookie["_user_id"] = session_token  # logged in as Flask-Login keeps it
        cookie["_fresh"] = True
    page = _expect(client.get(f"/projects/{project.name}/label"), 200).get_data(as_text=True)
    _expect(client.get("/static/label.js"), 200)
    csrf = CSRF_META.search(page)
    answer = _expect(client.get(next_url), 200, 204)
    if answer.status_code == 200 and csrf is not None:
        save(answer.get_json()["sentence"], {"X-CSRFToken": csrf.group(1)})
    return True


def _expect(response, *statuses: int):
    response.close()
    if response.status_code not in statuses:
        raise RuntimeError(f"rehearsal: {response.request.method} {response.request.path} -> {response.status}")
    return response
