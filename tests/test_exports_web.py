"""Export and download in the browser's HTTP terms, on each backend."""

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.helpers import SENTENCES, write_annotations


@pytest.fixture
def annotated(runner, tmp_path):
    for name in ("alice", "bob"):
        write_annotations(tmp_path / f"{name}.jsonl", name, SENTENCES)
        assert runner.invoke(args=["import", str(tmp_path / f"{name}.jsonl"), "--project", "p"]).exit_code == 0


def test_exports_web_reviewer_exports_and_downloads_a_zip(login, annotated):
    reviewer = login("rita", "reviewer")
    response = reviewer.post(
        "/projects/p/export",
        data={
            "task": "spancat",
            "policy": "majority",
            "dev_fraction": "0.34",
            "seed": "3",
            "csrf_token": reviewer.csrf,
        },
    )
    assert response.status_code == 302
    page = reviewer.get("/projects/p/export").get_data(as_text=True)
    assert "Exported 2 train and 1 dev documents" in page
    name = page.split("/projects/p/exports/")[1].split(".zip")[0]
    archive = zipfile.ZipFile(io.BytesIO(reviewer.get(f"/projects/p/exports/{name}.zip").data))
    assert sorted(n.split("/")[1] for n in archive.namelist()) == [
        "annotations.jsonl",
        "config.cfg",
        "dev.spacy",
        "incidents.csv",
        "incidents.jsonl",
        "manifest.json",
        "train.spacy",
    ]
    manifest = json.loads(archive.read(f"{name}/manifest.json"))
    assert manifest["task"] == "spancat" and manifest["seed"] == 3


def test_exports_web_roles_and_paths(login, annotated):
    annotator = login("ann", "annotator")
    assert annotator.get("/projects/p/export").status_code == 403
    reviewer = login("rita", "reviewer")
    assert reviewer.get("/projects/nope/export").status_code == 404
    for name in ("..", "../..", ".hidden", "p-x"):
        assert reviewer.get(f"/projects/p/exports/{name}.zip").status_code == 404
    assert reviewer.get("/projects/p/exports/p-x/passwd").status_code == 404


def test_exports_web_empty_export_says_why(login, runner, tmp_path):
    (tmp_path / "r.txt").write_text("Nothing here.\n", encoding="utf-8")
    assert runner.invoke(args=["import", str(tmp_path / "r.txt"), "--project", "p"]).exit_code == 0
    reviewer = login("rita", "reviewer")
    response = reviewer.post(
        "/projects/p/export",
        data={"task": "ner", "policy": "majority", "dev_fraction": "0.2", "seed": "0", "csrf_token": reviewer.csrf},
    )
    assert response.status_code == 200
    assert "Export failed" in response.get_data(as_text=True)


def test_exports_web_ignores_incomplete_or_foreign_folders(login, annotated, app):
    from pathlib import Path

    root = Path(app.config["EXPORTS_DIR"])
    (root / "p-broken").mkdir(parents=True)
    (root / "p-broken" / "manifest.json").write_text('{"project": "p"}')  # no counts, no DocBins
    (root / "p-junk").mkdir()
    (root / "p-junk" / "manifest.json").write_text("not json")
    reviewer = login("rita", "reviewer")
    page = reviewer.get("/projects/p/export")
    assert page.status_code == 200 and "No exports yet" in page.get_data(as_text=True)
    assert reviewer.get("/projects/p/exports/p-broken.zip").status_code == 404
    assert reviewer.get("/projects/p/exports/p-junk/manifest.json").status_code == 404


def test_exports_web_lists_and_zips_an_export_in_shards(login, annotated, app):
    from sqlalchemy import select

    from annotator.models import Project
    from annotator.services.exports import default_export_dir, export_project

    session = app.extensions["annotator.sessionmaker"]()
    try:
        project = session.scalar(select(Project).where(Project.name == "p"))
        path, _ = export_project(
            session, project, default_export_dir(app.config["EXPORTS_DIR"], project), dev_fraction=0.34, shard_size=1
        )
    finally:
        session.close()
    assert (path / "train.spacy").is_dir()
    reviewer = login("rita", "reviewer")
    assert path.name in reviewer.get("/projects/p/export").get_data(as_text=True)
    archive = zipfile.ZipFile(io.BytesIO(reviewer.get(f"/projects/p/exports/{path.name}.zip").data))
    names = sorted(n.split("/", 1)[1] for n in archive.namelist())
    assert names == [
        "annotations.jsonl",
        "config.cfg",
        "dev.spacy",
        "incidents.csv",
        "incidents.jsonl",
        "manifest.json",
        "train.spacy/000.spacy",
        "train.spacy/001.spacy",
    ]
    assert archive.read(f"{path.name}/train.spacy/001.spacy") == (path / "train.spacy" / "001.spacy").read_bytes()
    assert reviewer.get(f"/projects/p/exports/{path.name}/train.spacy").status_code == 404  # a folder: in the zip
    assert reviewer.get(f"/projects/p/exports/{path.name}/manifest.json").status_code == 200


def test_exports_web_form_offers_the_policies_table(login, annotated):
    from annotator.export.gold import POLICIES

    page = login("rita", "reviewer").get("/projects/p/export").get_data(as_text=True)
    for policy in POLICIES.values():
        assert f'<option value="{policy.name}"' in page or f'<option selected value="{policy.name}"' in page
        assert policy.description in page.replace("&#39;", "'")


def test_exports_web_two_exports_in_one_second_both_land(login, annotated, app, monkeypatch):
    from datetime import datetime

    from annotator.services import exports

    monkeypatch.setattr(exports, "utcnow", lambda: datetime(2026, 12, 1, 3, 0, 0))  # the same second twice
    reviewer = login("rita", "reviewer")
    form = {"task": "ner", "policy": "majority", "dev_fraction": "0.95", "seed": "0", "csrf_token": reviewer.csrf}
    assert reviewer.post("/projects/p/export", data=form).status_code == 302
    assert reviewer.post("/projects/p/export", data={**form, "dev_fraction": "0"}).status_code == 302
    root = Path(app.config["EXPORTS_DIR"])
    folders = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    assert folders == ["p-20261201T030000", "p-20261201T030000-2"]
    fractions = [json.loads((root / f / "manifest.json").read_text())["dev_fraction"] for f in folders]
    assert fractions == [0.95, 0.0]  # the form's own bounds (0 and 0.95) are accepted
    page = reviewer.get("/projects/p/export").get_data(as_text=True)
    assert "Export failed" not in page and all(f in page for f in folders)


def test_exports_web_export_whose_folder_is_taken_meanwhile_takes_another_name(login, annotated, app, monkeypatch):
    from datetime import datetime

    from annotator.services import exports as service

    # One second for both names, as for two exports that start together (the clock may tick between them).
    monkeypatch.setattr(service, "utcnow", lambda: datetime(2026, 12, 1, 3, 0, 0))
    real, calls = service.export_project, []

    def taken_meanwhile(session, project, out, **settings):
        calls.append(out.name)
        if len(calls) == 1:  # another export of the same second wrote there after the name was chosen
            out.mkdir(parents=True)
            (out / "manifest.json").write_text("{}")
            (out / "notes.txt").write_text("theirs")
        return real(session, project, out, **settings)

    monkeypatch.setattr(service, "export_project", taken_meanwhile)
    reviewer = login("rita", "reviewer")
    form = {"task": "ner", "policy": "majority", "dev_fraction": "0.34", "seed": "0", "csrf_token": reviewer.csrf}
    assert reviewer.post("/projects/p/export", data=form).status_code == 302
    assert len(calls) == 2 and calls[1] == calls[0] + "-2"
    root = Path(app.config["EXPORTS_DIR"])
    assert (root / calls[0] / "notes.txt").read_text() == "theirs"  # theirs is left alone
    assert (root / calls[1] / "train.spacy").exists()
    assert "Export failed" not in reviewer.get("/projects/p/export").get_data(as_text=True)


def test_exports_web_form_without_a_dev_fraction_exports_with_the_default(login, annotated, app):
    reviewer = login("rita", "reviewer")
    form = {"task": "ner", "policy": "majority", "seed": "0", "csrf_token": reviewer.csrf}  # no dev_fraction field
    response = reviewer.post("/projects/p/export", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    (folder,) = Path(app.config["EXPORTS_DIR"]).glob("p-*")
    assert json.loads((folder / "manifest.json").read_text())["dev_fraction"] == 0.2


@pytest.mark.parametrize("fraction", ["sNaN", "-sNaN", "sNaN123", "NaN", "Infinity", "-Infinity"])
def test_exports_web_dev_fraction_that_is_no_number_is_a_form_error(login, annotated, app, fraction):
    reviewer = login("rita", "reviewer")
    form = {"task": "ner", "policy": "majority", "dev_fraction": fraction, "seed": "0", "csrf_token": reviewer.csrf}
    response = reviewer.post("/projects/p/export", data=form)
    assert response.status_code == 400
    assert "NaN and Infinity are not numbers here" in response.get_data(as_text=True)
    assert not any(p for p in Path(app.config["EXPORTS_DIR"]).glob("p-*"))
