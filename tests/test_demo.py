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
