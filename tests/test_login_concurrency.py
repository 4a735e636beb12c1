"""The login lockout holds under parallel attempts: four gunicorn workers, one database.

Sixty clients, each with its own session cookie and CSRF token, send a wrong
password for the same account at once. Each attempt is counted by one atomic
UPDATE before its password is checked, so exactly LOGIN_MAX_FAILURES passwords
are checked (one ``login.failure`` audit event each), the account is locked
once, and every client gets the same 401.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from annotator import db as database
from annotator.models import AuditEvent, User
from annotator.services.unit_of_work import session_factory
from annotator.services.users import create_user
from tests.helpers import free_port, wait_ready

pytestmark = pytest.mark.slow

CLIENTS = 60
WORKERS = 4


def _gunicorn(database_url: str, tmp_path) -> tuple[subprocess.Popen, str]:
    """One gunicorn with WORKERS preloaded workers, started as test_multiserver starts its servers."""
    port = free_port()
    env = {
        **os.environ,
        "ANNOTATOR_DATABASE_URL": database_url,
        "ANNOTATOR_SECRET_KEY": "lockout-" + uuid.uuid4().hex,
        "ANNOTATOR_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(WORKERS),
            "--preload",
            "-b",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "2",
            "--timeout",
            "120",
            "annotator:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    return process, f"http://127.0.0.1:{port}"


def _attempt(base: str, barrier: threading.Barrier, results: list, lock: threading.Lock) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    try:
        page = opener.open(f"{base}/login", timeout=60).read().decode()
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode(
            {"username": "target", "password": "wrong password", "csrf_token": token}
        ).encode()
        barrier.wait(timeout=60)
        try:
            with opener.open(urllib.request.Request(f"{base}/login", data=body), timeout=120) as response:
                outcome = (response.status, "")
        except urllib.error.HTTPError as error:
            outcome = (error.code, re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', error.read().decode()))
    except Exception as exc:  # noqa: BLE001 - reported by the test, not raised in a thread
        outcome = ("error", repr(exc))
    with lock:
        results.append(outcome)


def test_login_concurrency_parallel_wrong_passwords_check_exactly_the_limit(database_url, tmp_path):
    engine = database.make_engine(database_url)
    session = session_factory(engine)()
    try:
        create_user(session, "target", "annotator", "correct horse battery")
        session.commit()
    finally:
        session.close()
    process, base = _gunicorn(database_url, tmp_path)
    try:
        wait_ready(process, base)
        barrier, lock, results = threading.Barrier(CLIENTS), threading.Lock(), []
        threads = [
            threading.Thread(target=_attempt, args=(base, barrier, results, lock), daemon=True) for _ in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        assert not any(t.is_alive() for t in threads), "a login attempt hung"
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr:
            process.stderr.close()

    assert len(results) == CLIENTS
    assert {status for status, _ in results} == {401}, [r for r in results if r[0] != 401][:3]
    assert len({tuple(message) for _, message in results}) == 1  # one answer, checked or locked

    session = session_factory(engine)()
    try:
        user = session.scalar(select(User).where(User.username == "target"))
        checked = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login.failure")
        )
        lockouts = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "lockout"))
        print(
            f"{CLIENTS} parallel wrong passwords, {WORKERS} workers, {engine.dialect.name}: {checked} checked, {lockouts} lockout"
        )
        assert checked == 5 == lockouts * 5  # LOGIN_MAX_FAILURES, the default
        assert user.locked_until is not None
    finally:
        session.close()
        engine.dispose()
