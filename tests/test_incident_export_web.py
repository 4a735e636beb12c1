"""The export pages with the incident table, and with an export made before it (both databases)."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from annotator.models import Project
from annotator.services.exports import default_export_dir, export_project
from tests.helpers import SENTENCES, write_annotations


def test_incident_export_web_lists_and_zips_an_export_without_the_incident_table(login, runner, app, tmp_path):
    write_annotations(tmp_path / "alice.jsonl", "alice", SENTENCES)
    assert runner.invoke(args=["import", str(tmp_path / "alice.jsonl"), "--project", "p"]).exit_code == 0
    session = app.extensions["annotator.sessionmaker"]()
    try:
        project = session.scalar(select(Project).where(Project.name == "p"))
        path, manifest = export_project(session, project, default_export_dir(app.config["EXPORTS_DIR"], project))
    finally:
        session.close()
    assert manifest["incidents"] == 0 and (path / "incidents.csv").read_text(encoding="utf-8").startswith("report,")
    reviewer = login("rita", "reviewer")
    assert reviewer.get(f"/projects/p/exports/{path.name}/incidents.csv").status_code == 200
    for name in ("incidents.csv", "incidents.jsonl"):  # as an export made before the table existed
        (path / name).unlink()
    assert path.name in reviewer.get("/projects/p/export").get_data(as_text=True)
    archive = zipfile.ZipFile(io.BytesIO(reviewer.get(f"/projects/p/exports/{path.name}.zip").data))
    assert sorted(n.split("/", 1)[1] for n in archive.namelist()) == [
        "annotations.jsonl",
        "config.cfg",
        "dev.spacy",
        "manifest.json",
        "train.spacy",
    ]
    assert reviewer.get(f"/projects/p/exports/{path.name}/incidents.csv").status_code == 404
