"""The demo command: corpus, accounts and logins a first-time user can use."""

import json
import re

from sqlalchemy import select

from annotator.models import Sentence, User


def test_demo_loads_corpus_and_accounts(runner, app, db):
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    status = json.loads(runner.invoke(args=["status", "--project", "incidents", "--json"]).output)
    assert status["reports"] >= 30
    assert status["sentences"] >= 100
    assert status["complete"] > 10  # bob and chen labelled some reports, so review has data
    roles = {u.username: u.role for u in db.scalars(select(User))}
    assert list(roles.values()).count("annotator") >= 3 and "admin" in roles.values()
    # Every printed login works.
    logins = re.findall(r"^\s+(\w+)\s+(admin|reviewer|annotator)\s+(\S+)$", result.output, flags=re.M)
    assert len(logins) == len(roles)
    from tests.conftest import Browserless

    for name, _, password in logins:
        assert Browserless(app, name, password).get("/").status_code == 200


def test_demo_is_reusable(runner, db):
    first = runner.invoke(args=["demo", "--no-serve"])
    second = runner.invoke(args=["demo", "--no-serve"])
    assert first.exit_code == second.exit_code == 0, second.output
    assert "0 reports added" in second.output
    assert len(db.scalars(select(User)).all()) == 5


def test_demo_corpus_has_variety(runner, db):
    assert runner.invoke(args=["demo", "--no-serve"]).exit_code == 0
    texts = " ".join(db.scalars(select(Sentence.text)))
    for needle in ("Oblast", "forty", "dozen", "injur", "fire", "Белгород"):
        assert needle.lower() in texts.lower(), needle
    assert re.search(r"\b\d{2,}\b", texts)


def test_demo_serves_as_the_readme_starts_it(tmp_path):
    """`annotator demo` (the README's first command) loads the demo, warms up and answers over HTTP."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "ANNOTATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "ANNOTATOR_INSTANCE_PATH": str(tmp_path),
    }
    command = [str(Path(sys.executable).parent / "annotator"), "demo", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        answered = None
        deadline = time.monotonic() + 300
        while answered is None and process.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as response:
                    answered = (response.status, response.read().decode())
            except OSError:
                time.sleep(0.2)
        assert answered is not None, f"exit {process.poll()}: {process.stdout.read() if process.poll() else ''}"
        assert answered[0] == 200 and "password" in answered[1].lower()
    finally:
        process.terminate()
        process.wait(timeout=30)
