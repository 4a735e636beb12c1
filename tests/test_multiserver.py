"""Two real servers, one database: the labelling queue holds across processes.

Two gunicorn processes (two preloaded workers each) on different ports share one
database (a fresh PostgreSQL database, or one SQLite file: both are valid
multi-process deployments) and one ANNOTATOR_SECRET_KEY. Eight annotators,
each in a thread, fetch the next sentence from one server, save spans through
the other, and read the save back from the first, until each gets 204. Then
no sentence has more annotators than its quota, every sentence reached it,
and every save is stored exactly once, as sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from annotator import db as database
from annotator.models import Annotation, Lease, Sentence, Span, User
from annotator.records import ReportRecord
from annotator.services.corpus import import_reports
from annotator.services.projects import get_or_create_project
from annotator.services.unit_of_work import session_factory
from annotator.services.users import create_user, issue_api_token
from tests.helpers import free_port, wait_ready

pytestmark = pytest.mark.slow

QUOTA = 2
ANNOTATORS = 8
REPORTS = 8  # x 5 sentences = 40
DEADLINE_SECONDS = 40
REPORT = (
    "Report {i}: Forty drones were shot down over Kursk. Debris damaged a house in Belgorod. "
    "No one was injured. Two missiles were intercepted near Odesa. A fire broke out at a depot."
)


def _start_server(database_url: str, secret: str, instance: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "ANNOTATOR_DATABASE_URL": database_url,
        "ANNOTATOR_SECRET_KEY": secret,
        "ANNOTATOR_INSTANCE_PATH": str(instance),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "--preload",
            "-b",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "2",
            "annotator:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    return process, f"http://127.0.0.1:{port}"


def _call(method: str, url: str, token: str, body=None) -> tuple[int, dict | None]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"Bearer {token}"})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, {"raw": raw.decode(errors="replace")[:500]}


def _setup(database_url: str) -> tuple[str, dict[str, str], int]:
    engine = database.make_engine(database_url)
    session = session_factory(engine)()
    try:
        project, _ = get_or_create_project(session, "multiserver", annotators_per_sentence=QUOTA)
        import_reports(
            session, project, "multiserver.txt", [ReportRecord(text=REPORT.format(i=i)) for i in range(REPORTS)]
        )
        tokens = {}
        for i in range(ANNOTATORS):
            user = create_user(session, f"annotator{i}", "annotator", None)
            tokens[user.username] = issue_api_token(user)
        session.commit()
        n = session.scalar(select(func.count()).select_from(Sentence).where(Sentence.project_id == project.id))
        return project.name, tokens, n
    finally:
        session.close()
        engine.dispose()


def test_multiserver_quota_holds_and_no_save_is_lost(database_url, tmp_path):
    project, tokens, n_sentences = _setup(database_url)
    assert n_sentences == REPORTS * 5
    secret = "multiserver-" + uuid.uuid4().hex
    servers = []
    try:
        for k in range(2):
            servers.append(_start_server(database_url, secret, tmp_path / f"instance{k}"))
        for process, base in servers:
            wait_ready(process, base)
        bases = [base for _, base in servers]

        saves: list[tuple[str, int, list]] = []  # (user, sentence, spans sent)
        served: Counter[tuple[str, int]] = Counter()
        problems: list[str] = []
        finished: set[str] = set()
        lock = threading.Lock()
        deadline = time.monotonic() + DEADLINE_SECONDS

        def annotate(name: str, token: str, offset: int) -> None:
            for i in range(n_sentences + 5):  # at most one save per sentence, plus slack
                if time.monotonic() > deadline:
                    with lock:
                        problems.append(f"{name}: out of time after {i} rounds")
                    return
                here, there = bases[(i + offset) % 2], bases[(i + offset + 1) % 2]
                status, body = _call("GET", f"{here}/api/projects/{project}/next", token)
                if status == 204:
                    with lock:
                        finished.add(name)
                    return
                if status != 200:
                    with lock:
                        problems.append(f"{name}: GET next -> {status} {body}")
                    return
                sentence = body["sentence"]
                first = sentence["tokens"][i % len(sentence["tokens"])]
                spans = [{"start_char": first["start_char"], "end_char": first["end_char"], "label": "COUNT"}]
                with lock:
                    served[(name, sentence["id"])] += 1
                status, saved = _call(
                    "PUT",
                    f"{there}/api/sentences/{sentence['id']}/annotation",
                    token,
                    {"status": "done", "spans": spans},
                )
                if status != 200:
                    with lock:
                        problems.append(f"{name}: PUT {sentence['id']} -> {status} {saved}")
                    return
                status, read = _call("GET", f"{here}/api/sentences/{sentence['id']}/annotation", token)
                if status != 200 or read["annotation"] != saved["annotation"]:
                    with lock:
                        problems.append(
                            f"{name}: read back {sentence['id']} from the other server -> {status} {read}, saved {saved}"
                        )
                with lock:
                    saves.append((name, sentence["id"], spans))
            with lock:
                problems.append(f"{name}: no 204 after {n_sentences + 5} rounds")

        threads = [
            threading.Thread(target=annotate, args=(name, token, k), daemon=True)
            for k, (name, token) in enumerate(sorted(tokens.items()))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DEADLINE_SECONDS + 15)
        assert not any(t.is_alive() for t in threads), "an annotator thread hung"
        assert problems == []
        assert finished == set(tokens)
        assert [key for key, count in served.items() if count > 1] == [], "a sentence was handed twice to one annotator"
    finally:
        for process, _ in servers:
            process.terminate()
        for process, _ in servers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr:
                process.stderr.close()

    engine = database.make_engine(database_url)
    session = session_factory(engine)()
    try:
        per_sentence = Counter(
            dict(
                session.execute(
                    select(Sentence.id, func.count(Annotation.id))
                    .outerjoin(Annotation, Annotation.sentence_id == Sentence.id)
                    .group_by(Sentence.id)
                ).all()
            )
        )
        assert len(per_sentence) == n_sentences
        assert max(per_sentence.values()) <= QUOTA, "a sentence got more annotators than its quota"
        assert min(per_sentence.values()) == QUOTA, "a sentence did not reach its quota"
        stored = {
            (username, sentence_id): (status, [])
            for username, sentence_id, status in session.execute(
                select(User.username, Annotation.sentence_id, Annotation.status).join(
                    User, User.id == Annotation.user_id
                )
            )
        }
        for username, sentence_id, start, end, label in session.execute(
            select(User.username, Annotation.sentence_id, Span.start_char, Span.end_char, Span.label)
            .join(Annotation, Annotation.id == Span.annotation_id)
            .join(User, User.id == Annotation.user_id)
        ):
            stored[(username, sentence_id)][1].append({"start_char": start, "end_char": end, "label": label})
        sent = {(name, sentence_id): ("done", spans) for name, sentence_id, spans in saves}
        assert len(saves) == len(sent), "one annotator saved one sentence twice"
        assert stored == sent, "stored annotations differ from the saves (lost, duplicated or changed)"
        assert session.scalar(select(func.count()).select_from(Lease)) <= len(tokens)
    finally:
        session.close()
        engine.dispose()
