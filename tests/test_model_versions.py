"""Model versions: training runs started from the models page run in a process of their own, one at a
time per project, can be cancelled, and the active version is the one whose suggestions the API serves.

Tiny corpora and few steps keep each run to seconds; nothing here waits a fixed time: each wait
polls the database (or the page) until the run has moved on, with a generous limit.
"""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import select

from annotator.models import ModelVersion, Project
from annotator.services import model_versions as versions
from tests.helpers import UNLABELLED, WAIT, import_trainable


@pytest.fixture
def trainable(runner, tmp_path, db):
    import_trainable(runner.invoke, tmp_path)
    return db.scalar(select(Project).where(Project.name == "p"))


def start(client, project="p", **fields):
    data = {"task": "ner", "policy": "majority", "dev_fraction": "0.25", "seed": "0", "max_steps": "60", **fields}
    return client.post(f"/projects/{project}/models", data=data)


def wait_for(db, project, number, statuses, timeout=WAIT) -> ModelVersion:
    """Poll until version ``number`` has one of ``statuses``; its row."""
    deadline = time.monotonic() + timeout
    while True:
        db.expire_all()
        version = versions.get_version(db, project, number)
        db.commit()
        if version.status in statuses:
            return version
        if time.monotonic() > deadline:
            log = (versions.Path(version.pipeline_dir) / versions.LOG_FILE).read_text(errors="replace")[-3000:]
            raise AssertionError(f"version {number} still {version.status} after {timeout} s; its log:\n{log}")
        time.sleep(0.2)


def wait_gone(pid: int, timeout=WAIT) -> None:
    """Poll until process ``pid`` has ended (and was reaped: a zombie would still answer)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, f"training process {pid} still runs"
        time.sleep(0.2)


def model_suggestions(client, project="p") -> list[dict]:
    response = client.get(f"/api/projects/{project}/next")
    assert response.status_code == 200, response.status_code
    data = response.get_json()
    assert data["sentence"]["text"] == UNLABELLED
    return [s for s in data["suggestions"] if s["source"] == "model"]


@pytest.mark.slow
def test_model_versions_train_twice_switch_back_and_suggestions_follow(app, db, login, trainable):
    app.config["RULE_SUGGESTIONS"] = False  # the rules find the same spans first: keep to the model's
    reviewer, annotator = login("rita", "reviewer"), login("ann")
    assert model_suggestions(annotator) == []  # no model yet

    for number, max_steps in ((1, "60"), (2, "80")):
        response = start(reviewer, max_steps=max_steps)
        assert response.status_code == 302, response.get_data(as_text=True)
        version = wait_for(db, trainable, number, ("done", "failed", "cancelled"))
        assert version.status == "done", version.error
        assert not version.active  # a new version waits for someone to make it active
        assert version.content_sha256 and "[training]" in version.config
        assert version.export_counts["dev"]["docs"] > 0
        assert {"p", "r", "f"} == set(version.scores["overall"])
        assert set(version.scores["per_label"]) <= {"COUNT", "OUTCOME", "REGION"} and version.scores["per_label"]
        assert version.progress and version.progress[-1]["step"] == int(max_steps)
        assert all(set(r["dev"]) == {"p", "r", "f"} for r in version.progress)
        assert version.started_at <= version.finished_at
        assert (versions.pipeline_path(version) / "meta.json").is_file()
        wait_gone(version.pid)

        activated = reviewer.post(f"/projects/p/models/{number}/activate")
        assert activated.status_code == 302
        suggested = model_suggestions(annotator)
        assert suggested and {s["model_version"] for s in suggested} == {number}

    # Back to the first version: the API serves its suggestions again.
    assert reviewer.post("/projects/p/models/1/activate").status_code == 302
    db.expire_all()
    assert [v.number for v in versions.list_versions(db, trainable) if v.active] == [1]
    assert {s["model_version"] for s in model_suggestions(annotator)} == {1}

    page = reviewer.get("/projects/p/models").get_data(as_text=True)
    assert 'id="version-1" class="active"' in page and "Make active" in page
    status = reviewer.get("/projects/p/models/status.json").get_json()
    assert status["active"] == 1 and status["running"] is None
    assert [v["number"] for v in status["versions"]] == [2, 1]
    assert status["versions"][0]["started_by"] == "rita"


@pytest.mark.slow
def test_model_versions_one_run_at_a_time_and_cancel_stops_it(app, db, login, trainable):
    reviewer, admin = login("rita", "reviewer"), login("ada", "admin")
    assert start(reviewer, max_steps="100000").status_code == 302
    running = wait_for(db, trainable, 1, ("running", "done", "failed"))
    assert running.status == "running"

    refused = start(admin)
    assert refused.status_code == 409
    assert "Version 1 is still running" in refused.get_data(as_text=True)
    assert db.scalar(select(ModelVersion.number).where(ModelVersion.number == 2)) is None

    assert admin.post("/projects/p/models/1/cancel").status_code == 302
    cancelled = wait_for(db, trainable, 1, ("cancelled", "done", "failed"))
    assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    wait_gone(cancelled.pid)
    # A cancelled version can be neither cancelled again nor made active, and the next run may start.
    again = admin.post("/projects/p/models/1/cancel", follow_redirects=True).get_data(as_text=True)
    assert "nothing to cancel" in again
    assert "only a finished run" in admin.post("/projects/p/models/1/activate", follow_redirects=True).get_data(
        as_text=True
    )
    assert start(admin, max_steps="5").status_code == 302
    assert wait_for(db, trainable, 2, ("done", "failed", "cancelled")).status == "done"


def test_model_versions_a_lost_run_is_settled_and_does_not_block(app, db, trainable, tmp_path):
    from datetime import timedelta

    from annotator.models import utcnow

    version = versions.start_run(db, trainable, None, tmp_path, task="ner", policy="majority")
    db.commit()
    with pytest.raises(versions.TrainingBusy, match="Version 1 is still queued"):
        versions.start_run(db, trainable, None, tmp_path, task="ner", policy="majority")
    db.rollback()
    later = utcnow() + versions.LOST_AFTER + timedelta(seconds=1)
    second = versions.start_run(db, trainable, None, tmp_path, task="ner", policy="majority", now=later)
    db.commit()
    db.refresh(version)
    assert (version.status, second.number, second.status) == ("failed", 2, "queued")
    assert "stopped without reporting" in version.error


def test_model_versions_a_project_with_only_a_model_path_still_gets_suggestions(db, project, first, tmp_path):
    import spacy

    from annotator.services.suggestions import suggestions_for

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "COUNT", "pattern": "drones"}])
    nlp.to_disk(tmp_path / "model")
    project.model_path = str(tmp_path / "model")
    db.commit()
    model = [s for s in suggestions_for(db, project, first, rules=False) if s["source"] == "model"]
    assert model and all(s["model_version"] is None for s in model)


def test_model_versions_page_refuses_bad_input_and_annotators(app, login, trainable):
    reviewer, annotator = login("rita", "reviewer"), login("ann")
    assert annotator.get("/projects/p/models").status_code == 403
    assert annotator.get("/projects/p/models/status.json").status_code == 403
    assert start(annotator).status_code == 403
    assert reviewer.get("/projects/nope/models").status_code == 404
    for bad in (
        {"task": "bert"},
        {"max_steps": "-1"},
        {"dev_fraction": "2"},
        {"dev_fraction": "NaN"},
        {"dev_fraction": "sNaN"},
        {"dev_fraction": "-sNaN"},
        {"dev_fraction": "sNaN123"},
        {"dev_fraction": "Infinity"},
        {"policy": "loudest"},
        {"policy": "annotator", "annotator": ""},  # one annotator's spans, but whose?
        {"policy": "annotator", "annotator": "nobody"},
    ):
        assert start(reviewer, **bad).status_code == 400, bad
    assert reviewer.post("/projects/p/models/7/activate").status_code == 404
    assert reviewer.post("/projects/p/models/7/cancel").status_code == 404
    page = reviewer.get("/projects/p/models").get_data(as_text=True)
    assert "No model trained yet" in page and 'name="csrf_token"' in page
    # Without the CSRF token nothing starts.
    plain = app.test_client()
    assert plain.post("/projects/p/models", data={"task": "ner"}).status_code in (302, 400)


@pytest.mark.slow
def test_model_versions_page_without_a_dev_fraction_trains_with_the_default(db, login, trainable):
    reviewer = login("rita", "reviewer")
    response = reviewer.post("/projects/p/models", data={"task": "ner", "policy": "majority", "max_steps": "5"})
    assert response.status_code == 302, response.get_data(as_text=True)
    version = wait_for(db, trainable, 1, ("done", "failed", "cancelled"))
    assert version.settings["dev_fraction"] == 0.2 and isinstance(version.settings["dev_fraction"], float)
    assert version.status == "done", version.error


def test_model_versions_cli_train_reports_a_failed_run_and_refuses_while_one_runs(runner, db, tmp_path):
    (tmp_path / "r.txt").write_text("No annotations yet.\n", encoding="utf-8")
    assert runner.invoke(args=["import", str(tmp_path / "r.txt"), "--project", "p"]).exit_code == 0
    failed = runner.invoke(args=["train", "--project", "p", "--max-steps", "5"])
    assert failed.exit_code == 1 and "Training failed" in failed.output, failed.output
    project = db.scalar(select(Project).where(Project.name == "p"))
    (version,) = versions.list_versions(db, project)
    assert (version.number, version.status, version.active) == (1, "failed", False) and version.error
    versions.start_run(db, project, None, tmp_path, task="ner", policy="majority")
    db.commit()
    busy = runner.invoke(args=["train", "--project", "p"])
    assert busy.exit_code == 1 and "Version 2 is still queued" in busy.output, busy.output
