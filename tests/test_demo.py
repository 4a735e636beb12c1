"""The demo command: corpus, accounts and logins a first-time user can use."""

import json
import re
from importlib import resources

from sqlalchemy import select

from annotator.incidents import incidents_from_json, link_nearest
from annotator.incidents.extract import incident_fields, score_incidents
from annotator.labels.normalise import OutcomeVocabulary
from annotator.models import GoldAnnotation, GoldSpan, Project, Sentence, User


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
    assert "0 reports added" in second.output and "gold for 0 sentences (0 incidents)" in second.output
    assert len(db.scalars(select(User)).all()) == 5


def test_demo_corpus_has_variety(runner, db):
    assert runner.invoke(args=["demo", "--no-serve"]).exit_code == 0
    texts = " ".join(db.scalars(select(Sentence.text)))
    for needle in ("Oblast", "forty", "dozen", "injur", "fire", "Белгород"):
        assert needle.lower() in texts.lower(), needle
    assert re.search(r"\b\d{2,}\b", texts)


def test_demo_serves_as_the_readme_starts_it(tmp_path):
    """`annotator demo` (the README's first command) loads the demo, warms up and answers over HTTP."""
    import os
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
        "ANNOTATOR_TEMPLATE_CACHE_DIR": os.environ["ANNOTATOR_TEMPLATE_CACHE_DIR"],  # the run's (conftest)
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


def _demo_gold() -> list[dict]:
    data = resources.files("annotator.data").joinpath("demo_gold.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in data.splitlines()]


def test_demo_gold_outcomes_are_outcomes_of_the_vocabulary():
    """The demo gold follows its own guidelines: an OUTCOME names one of the categories ("struck" is the attack,
    not its outcome, and has none), and an incident keeps to spans of the gold."""
    categories = set(OutcomeVocabulary.default().categories)
    for item in _demo_gold():
        for span in item["spans"]:
            assert item["text"][span["start_char"] : span["end_char"]] == span["text"]
            if span["label"] == "OUTCOME":
                assert span["value"] in categories, (item["text"], span)
        keys = {(s["start_char"], s["end_char"], s["label"]) for s in item["spans"]}
        for incident in item["incidents"]:
            assert {(s["start_char"], s["end_char"], s["label"]) for s in incident["spans"]} <= keys


def test_demo_loads_the_adjudicated_gold_once(runner, db):
    first = runner.invoke(args=["demo", "--no-serve", "--annotated-reports", "0"])
    assert first.exit_code == 0, first.output
    lines = _demo_gold()
    n_incidents = sum(len(item["incidents"]) for item in lines)
    assert f"gold for {len(lines)} sentences ({n_incidents} incidents) adjudicated by reviewer" in first.output
    reviewer = db.scalar(select(User).where(User.username == "reviewer"))
    golds = db.scalars(select(GoldAnnotation)).all()
    assert len(golds) == len(lines) and {g.reviewer_id for g in golds} == {reviewer.id}
    spans = db.scalars(select(GoldSpan)).all()
    assert len(spans) == sum(len(item["spans"]) for item in lines)
    assert {(s.provenance, s.decided_by) for s in spans} == {("adjudicated", reviewer.id)}
    stored = [i for g in golds for i in g.incidents or []]
    assert len(stored) == n_incidents and {i["provenance"] for i in stored} == {"adjudicated"}
    second = runner.invoke(args=["demo", "--no-serve", "--annotated-reports", "0"])
    assert second.exit_code == 0, second.output
    db.expire_all()
    assert "gold for 0 sentences (0 incidents)" in second.output
    assert len(db.scalars(select(GoldSpan)).all()) == len(spans)
    assert {g.version for g in db.scalars(select(GoldAnnotation))} == {1}


def test_demo_evaluate_incidents_scores_the_linker_on_the_demo_gold(runner, db):
    assert runner.invoke(args=["demo", "--no-serve", "--annotated-reports", "0"]).exit_code == 0
    scheme = db.scalar(select(Project).where(Project.name == "incidents")).labels
    pairs = []
    for item in _demo_gold():
        text = item["text"]
        values = {(s["start_char"], s["end_char"], s["label"]): s["value"] for s in item["spans"]}
        truth = incident_fields(text, incidents_from_json(item["incidents"]), values, scheme)
        linked = incident_fields(text, link_nearest(text, list(values), scheme), values, scheme)
        pairs.append((linked, truth))
    expected = score_incidents(pairs)
    result = runner.invoke(args=["evaluate-incidents", "--project", "incidents", "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["sentences"] == len(pairs) and scores["linker"] == expected
    text = runner.invoke(args=["evaluate-incidents", "--project", "incidents"]).output
    block = text.split("linker alone (on the gold spans):\n", 1)[1].splitlines()
    assert block[0].split() == ["P", "R", "F", "correct/predicted/gold"]
    rows = [*expected["fields"].items(), ("incident", expected["incident"])]
    assert [line.split() for line in block[1:]] == [
        [name, *(f"{s[k]:.3f}" for k in ("precision", "recall", "f")), f"{s['correct']}/{s['predicted']}/{s['gold']}"]
        for name, s in rows
    ]
    assert expected["incident"]["gold"] == sum(len(item["incidents"]) for item in _demo_gold())
