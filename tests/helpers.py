"""Helpers shared by the test modules: projects and users to build, a free port, the routes to walk.

Fixtures live in conftest.py; a test module imports from here, never from another test module.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql_text

from annotator import db as database
from annotator.models import (
    Annotation,
    Project,
    Report,
    Sentence,
    Span,
    User,
    utcnow,
)
from annotator.records import ReportRecord
from annotator.services.corpus import import_reports
from annotator.services.projects import get_or_create_project
from annotator.services.unit_of_work import session_factory
from annotator.services.users import (
    create_user,
    get_or_create_annotator,
)

REPORTS = (
    "Forty drones were shot down over Kursk. Debris damaged a house. No one was injured.",
    "Two missiles were intercepted near Belgorod. A fire broke out.",
)


def make_project(db, name="incidents", reports=REPORTS, quota=2, routing="none", restricted=False) -> Project:
    """A project with the default scheme and ``reports`` imported (one sentence per period here)."""
    project, _ = get_or_create_project(db, name, annotators_per_sentence=quota)
    project.routing = routing
    project.restricted = restricted
    import_reports(db, project, "test.txt", [ReportRecord(text=text) for text in reports])
    db.commit()
    return project


def sentences_of(db, project) -> list[Sentence]:
    return list(
        db.scalars(
            select(Sentence).where(Sentence.project_id == project.id).order_by(Sentence.report_id, Sentence.position)
        )
    )


def users(db, *names, role="annotator") -> list[User]:
    made = [create_user(db, name, role, None) for name in names]
    db.commit()
    return made


def run_threads(database_url, project_id, user_ids, work):
    """Run ``work(session, project, user)`` in one thread per user, each with its own engine, started together."""
    barrier = threading.Barrier(len(user_ids))
    results, errors = {}, []

    def run(user_id):
        engine = database.make_engine(database_url)
        try:
            with session_factory(engine)() as session:
                project, user = session.get(Project, project_id), session.get(User, user_id)
                session.commit()
                barrier.wait()
                results[user_id] = work(session, project, user)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


XSS = "<script>alert(1)</script> hit Odesa ."


TEXTS = [
    "Two drones hit Kyiv oblast at night .",
    "Three missiles were intercepted over Lviv .",
    XSS,
    "One drone fell .",
]


def space_tokens(text: str) -> list[list[int]]:
    out, start = [], 0
    for word in text.split(" "):
        out.append([start, start + len(word)])
        start += len(word) + 1
    return out


def add_report(db, project, texts: list[str], content_hash: str, needs_review=()) -> list[int]:
    """One report of ``texts``, one sentence each (split on spaces, lines apart); returns the sentence ids.

    ``needs_review``: the positions of the sentences routed to a reviewer.
    """
    report = Report(project_id=project.id, text="\n".join(texts), content_hash=content_hash, meta={})
    db.add(report)
    db.flush()
    ids, offset = [], 0
    for position, text in enumerate(texts):
        sentence = Sentence(
            project_id=project.id,
            report_id=report.id,
            position=position,
            start_char=offset,
            text=text,
            tokens=space_tokens(text),
            needs_review=position in needs_review,
        )
        db.add(sentence)
        db.flush()
        ids.append(sentence.id)
        offset += len(text) + 1
    return ids


def build_project(db) -> dict[str, int]:
    """Three annotators, four sentences; returns sentence ids by name.

    s1: ann and cy agree (COUNT, REGION "Kyiv"); bob marks "Kyiv oblast" (boundary).
    s2: bob flagged it and left out ann's OUTCOME (presence); cy skipped it.
    s3: only ann marks Odesa (presence); its text carries a script tag.
    s4: one annotator, needs review (routing).
    """
    project, _ = get_or_create_project(db, "incidents")
    ids = {f"s{n}": sid for n, sid in enumerate(add_report(db, project, TEXTS, "x" * 64, needs_review={3}), 1)}
    users = {name: get_or_create_annotator(db, name) for name in ("ann", "bob", "cy")}
    region_s3 = XSS.index("Odesa")

    def annotate(sentence: str, name: str, *spans, status: str = "done"):
        a = Annotation(sentence_id=ids[sentence], user_id=users[name].id, status=status)
        a.spans = [Span(start_char=s, end_char=e, label=label, value=value) for s, e, label, value in spans]
        db.add(a)

    annotate("s1", "ann", (0, 3, "COUNT", "2"), (15, 19, "REGION", "Kyiv"))
    annotate("s1", "bob", (0, 3, "COUNT", "2"), (15, 26, "REGION", "Kyiv"))
    annotate("s1", "cy", (0, 3, "COUNT", "2"), (15, 19, "REGION", "Kyiv"))
    annotate("s2", "ann", (0, 5, "COUNT", "3"), (20, 31, "OUTCOME", "intercepted"), (37, 41, "REGION", "Lviv"))
    annotate("s2", "bob", (0, 5, "COUNT", "3"), (37, 41, "REGION", "Lviv"), status="flagged")
    annotate("s2", "cy", (0, 5, "COUNT", "3"), status="skipped")  # does not count
    annotate("s3", "ann", (region_s3, region_s3 + 5, "REGION", "Odesa"))
    annotate("s3", "bob")
    annotate("s4", "ann", (0, 3, "COUNT", "1"))
    db.commit()
    return ids


QUESTION = "is 'fire broke out' an <b>outcome</b>?"


def build_flagged(db) -> int:
    """alice alone labelled s4 ("One drone fell ."), marked an OUTCOME and flagged it with a question."""
    ids = build_project(db)
    alice = get_or_create_annotator(db, "alice")
    sentence = db.get(Sentence, ids["s4"])
    db.delete(db.scalar(select(Annotation).where(Annotation.sentence_id == sentence.id)))  # ann's: alice is alone
    a = Annotation(sentence_id=sentence.id, user_id=alice.id, status="flagged", comment=QUESTION)
    a.spans = [Span(start_char=10, end_char=14, label="OUTCOME", value=None)]
    db.add(a)
    db.commit()
    return sentence.id


SENTENCES = [
    ("Forty drones were destroyed over Kursk Oblast.", [(0, 5, "COUNT"), (18, 27, "OUTCOME"), (33, 45, "REGION")]),
    ("Над Белгородом  сбили 🚀 12 дронов.", [(4, 14, "REGION"), (24, 26, "COUNT")]),
    ("Nothing happened in the capital.", []),
]


def write_annotations(path, annotator, rows):
    with path.open("w", encoding="utf-8") as fh:
        for i, (text, spans) in enumerate(rows):
            record = {
                "id": f"r{i}",
                "text": text,
                "spans": [{"start": a, "end": b, "label": lab} for a, b, lab in spans],
                "_annotator_id": annotator,
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(process: subprocess.Popen, base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {process.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{base} did not answer /healthz within {timeout} s")


# Token offsets of FIRST: Forty 0-5, drones 6-12, were 13-17, shot 18-22, down 23-27, over 28-32, Kursk 33-38, . 38-39
COUNT = {"start_char": 0, "end_char": 5, "label": "COUNT"}


REGION = {"start_char": 33, "end_char": 38, "label": "REGION"}


# One sentence, so that every page showing the sentence shows every payload.
HOSTILE = "Drones hit <script>alert(1)</script> Kursk, look <img src=x onerror=alert(1)> here, click javascript:alert(1) now, total {{ 7*7 }} drones"


SECRET_COMMENT = "alice-private-comment-" + uuid.uuid4().hex[:8]


@pytest.fixture
def world(app, db, runner, tmp_path, login):
    """A project whose report carries hostile text, alice's annotation, and a client per role."""
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps({"id": "h1", "text": HOSTILE}) + "\n", encoding="utf-8")
    assert runner.invoke(args=["import", str(path), "--project", "p"]).exit_code == 0
    clients = {
        "annotator": login("alice"),
        "other": login("bob"),
        "reviewer": login("rita", "reviewer"),
        "admin": login("ada", "admin"),
    }
    sentence = db.scalars(select(Sentence).order_by(Sentence.id)).first()
    alice = db.scalar(select(User).where(User.username == "alice"))
    annotation = Annotation(sentence_id=sentence.id, user_id=alice.id, status="done", comment=SECRET_COMMENT)
    annotation.spans = [Span(start_char=0, end_char=6, label="COUNT")]
    db.add(annotation)
    db.commit()
    exported = runner.invoke(args=["export", "--project", "p", "--policy", "annotator:alice", "--dev-fraction", "0"])
    assert exported.exit_code == 0, exported.output
    exports = next((tmp_path / "exports").iterdir())
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 becomes a response the walks report
    values = {
        "project": "p",
        "project_name": "p",
        "sentence_id": sentence.id,
        "user_id": alice.id,
        "name": exports.name,
        "file": "manifest.json",
        "number": 1,
    }
    return {"clients": clients, "values": values, "sentence": sentence, "alice": alice}


def url_rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def rule_url(rule, values) -> str:
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.rule}: no test value for {missing}; add one to the world fixture"
    return rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]


# A corpus a pipeline learns in a few dozen steps (tests/test_model_versions*.py).
TRAIN_COUNTS = ["Two", "Three", "Five", "12", "Seven", "40"]
TRAIN_REGIONS = ["Kyiv", "Odesa", "Kharkiv", "Sumy", "Lviv", "Kursk"]
TRAIN_OUTCOMES = ["shot down", "intercepted", "destroyed"]
UNLABELLED = "Nine drones were shot down over Odesa."
WAIT = 300  # seconds a run may take on a busy machine before a test gives up


def training_reports(n: int = 36) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Distinct one-sentence reports with COUNT, OUTCOME and REGION spans."""
    rows = []
    for i in range(n):
        count, outcome, region = TRAIN_COUNTS[i % 6], TRAIN_OUTCOMES[i % 3], TRAIN_REGIONS[(i // 6) % 6]
        text = f"{count} drones were {outcome} over {region} on day {i + 1}."
        spans = [
            (0, len(count), "COUNT"),
            (text.index(outcome), text.index(outcome) + len(outcome), "OUTCOME"),
            (text.index(region), text.index(region) + len(region), "REGION"),
        ]
        rows.append((text, spans))
    return rows


def import_trainable(invoke, tmp_path, project: str = "p") -> None:
    """Two agreeing annotators on :func:`training_reports`, and one report nobody labelled.

    ``invoke(args)`` runs an ``annotator`` command (``runner.invoke``).
    """
    for name in ("alice", "bob"):
        path = tmp_path / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for i, (text, spans) in enumerate(training_reports()):
                record = {"id": f"r{i}", "text": text, "_annotator_id": name}
                record["spans"] = [{"start": a, "end": b, "label": label} for a, b, label in spans]
                fh.write(json.dumps(record) + "\n")
        result = invoke(["import", str(path), "--project", project])
        assert result.exit_code == 0, result.output
    (tmp_path / "new.txt").write_text(UNLABELLED + "\n", encoding="utf-8")
    result = invoke(["import", str(tmp_path / "new.txt"), "--project", project])
    assert result.exit_code == 0, result.output


LEASE = 600  # seconds of a lease the queue tests take


def claim(db, project, user, now=None):
    """The next sentence ``user`` gets from the queue (in its own write transaction, committed), or None."""
    from annotator.services.queue import next_sentence

    database.write_transaction(db)
    sentence = next_sentence(db, project, user, now or utcnow(), LEASE)
    db.commit()
    return sentence


def one_annotation(connection, status):
    """A project with one sentence and one annotation of ``status``, in SQL the schema of 0013 and later accepts."""
    now = {"now": utcnow()}
    for statement in (
        "INSERT INTO projects (id, name, lang, labels, annotators_per_sentence, restricted, routing, created_at) "
        "VALUES (1, 'p', 'en', '[]', 2, false, 'none', :now)",
        "INSERT INTO reports (id, project_id, number, text, content_hash, meta, created_at) "
        "VALUES (1, 1, 1, 'One drone .', 'xx', '{}', :now)",
        "INSERT INTO sentences (id, project_id, report_id, position, start_char, text, tokens, needs_review, "
        "extra_annotators, annotation_count, state) VALUES (1, 1, 1, 0, 0, 'One drone .', '[]', false, 0, 1, 1)",
        "INSERT INTO users (id, username, role, password_hash, active, session_token, failed_logins, created_at) "
        "VALUES (1, 'ann', 'annotator', 'x', true, 't', 0, :now)",
        "INSERT INTO annotations (id, sentence_id, user_id, status, seconds_spent, version, created_at, updated_at) "
        f"VALUES (1, 1, 1, '{status}', 0, 1, :now, :now)",
    ):
        connection.execute(sql_text(statement), now)


def waiting_on_a_lock(db) -> bool:
    """Whether some session of the test's PostgreSQL database is waiting for a lock (``db`` starts afresh)."""
    db.rollback()
    return bool(
        db.scalar(
            sql_text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    )


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical accessibility findings on the page as shown, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
