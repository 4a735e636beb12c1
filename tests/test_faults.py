"""Faults: a real ``annotator`` process killed in the middle of an import or an export.

The database and the exports folder must be left in a state that was committed
(all or nothing), and the next run must succeed. Marked slow: each test runs a
subprocess on thousands of reports.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from sqlalchemy import func, insert, select, text

from annotator.export.build import FILES, remove_stale_temporaries
from annotator.models import Annotation, Project, Report, Sentence, Span, User

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-c", "from annotator.cli import main; main()"]
BIG = 20_000


def _env(database_url, tmp_path):
    env = dict(os.environ)
    env.update(
        ANNOTATOR_DATABASE_URL=database_url,
        ANNOTATOR_INSTANCE_PATH=str(tmp_path / "instance"),
        ANNOTATOR_EXPORTS_DIR=str(tmp_path / "exports"),
    )
    env.pop("ANNOTATOR_SECRET_KEY", None)
    return env


def _write_reports(path: Path, n: int, start: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(start, start + n):
            body = f"Report {i}: forty drones were destroyed over Kursk Oblast. Two more fell near Belgorod at {i % 24} hours. Nothing else happened."
            fh.write(json.dumps({"id": f"r{i}", "text": body}) + "\n")
    return path


def _counts(engine):
    with engine.connect() as connection:
        return tuple(
            connection.execute(select(func.count()).select_from(model)).scalar()
            for model in (Project, Report, Sentence)
        )


def _sqlite_file(engine) -> Path | None:
    return Path(engine.url.database) if engine.url.get_backend_name() == "sqlite" else None


def _integrity_ok(engine) -> None:
    path = _sqlite_file(engine)
    if path is not None:
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    else:
        with engine.connect() as connection:  # what foreign keys would catch, asked directly
            assert (
                connection.execute(
                    text(
                        "SELECT count(*) FROM sentences s LEFT JOIN reports r ON r.id = s.report_id WHERE r.id IS NULL"
                    )
                ).scalar()
                == 0
            )


def _import_is_writing(engine, stderr: Path) -> bool:
    """The import has begun its transaction and written megabytes of it (not committed)."""
    if "Importing reports" not in stderr.read_text(errors="replace"):
        return False
    path = _sqlite_file(engine)
    if path is not None:
        wal = path.with_name(path.name + "-wal")
        return wal.exists() and wal.stat().st_size > 2_000_000
    with engine.connect() as connection:  # heap pages grow with uncommitted rows
        return connection.execute(text("SELECT pg_relation_size('sentences')")).scalar() > 2_000_000


def _kill_when(proc: subprocess.Popen, ready) -> None:
    """SIGKILL ``proc`` as soon as ``ready()``; fails if it ends first."""
    while proc.poll() is None:
        if ready():
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        f"the process ended on its own (status {proc.returncode}) before it could be killed mid-write"
    )


def test_faults_import_killed_midway_leaves_nothing_and_next_import_works(app, database_url, tmp_path):
    engine = app.extensions["annotator.engine"]
    big = _write_reports(tmp_path / "big.jsonl", BIG)
    stderr = tmp_path / "import.err"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [*CLI, "import", str(big), "--project", "p"],
            env=_env(database_url, tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        _kill_when(proc, lambda: _import_is_writing(engine, stderr))

    assert _counts(engine) in ((0, 0, 0), (1, BIG, 3 * BIG))  # never a part of the file
    assert _counts(engine) == (0, 0, 0)  # killed before its commit
    _integrity_ok(engine)

    small = _write_reports(tmp_path / "small.jsonl", 50, start=BIG)
    again = subprocess.run(
        [*CLI, "import", str(small), str(big), "--project", "p"],
        env=_env(database_url, tmp_path),
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr
    assert f"{BIG + 50} reports added" in again.stdout
    assert _counts(engine) == (1, BIG + 50, 3 * (BIG + 50))
    _integrity_ok(engine)


def _annotated_project(runner, engine, tmp_path, n_reports: int) -> None:
    """``n_reports`` reports imported through the CLI; alice labels the first token of every sentence."""
    result = runner.invoke(
        args=["import", str(_write_reports(tmp_path / "reports.jsonl", n_reports)), "--project", "p"]
    )
    assert result.exit_code == 0, result.output
    with engine.begin() as connection:
        user_id = connection.execute(
            insert(User).values(username="alice", role="annotator", session_token="x" * 64).returning(User.id)
        ).scalar()
        sentences = connection.execute(select(Sentence.id, Sentence.tokens).order_by(Sentence.id)).all()
        annotation_ids = connection.scalars(
            insert(Annotation).returning(Annotation.id, sort_by_parameter_order=True),
            [{"sentence_id": sid, "user_id": user_id, "status": "done"} for sid, _ in sentences],
        ).all()
        connection.execute(
            insert(Span),
            [
                {"annotation_id": aid, "start_char": tokens[0][0], "end_char": tokens[0][1], "label": "COUNT"}
                for aid, (_, tokens) in zip(annotation_ids, sentences, strict=True)
            ],
        )


def _assert_complete_export(path: Path, n_docs: int) -> None:
    assert sorted(p.name for p in path.iterdir()) == sorted(FILES)
    vocab = spacy.blank("en").vocab
    docs = [d for name in ("train.spacy", "dev.spacy") for d in DocBin().from_disk(path / name).get_docs(vocab)]
    assert len(docs) == n_docs
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sentences"]["exported"] == n_docs
    assert len((path / "annotations.jsonl").read_text(encoding="utf-8").splitlines()) == n_docs


def test_faults_export_killed_midway_leaves_no_partial_export(app, runner, database_url, tmp_path):
    engine = app.extensions["annotator.engine"]
    n_reports = 4000
    _annotated_project(runner, engine, tmp_path, n_reports)
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "out"
    command = [*CLI, "export", "--project", "p", "--out", str(out), "--policy", "annotator:alice"]

    def writing() -> bool:  # the temporary folder beside DIR exists: files are being written
        return any(name.startswith(".out.") and name.endswith(".tmp") for name in os.listdir(folder))

    proc = subprocess.Popen(
        command, env=_env(database_url, tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _kill_when(proc, writing)

    # DIR appears only by rename: absent, or complete.
    if out.exists():
        _assert_complete_export(out, 3 * n_reports)
    # What remains is the dead writer's dot-prefixed temporary, which no listing shows.
    leftovers = [p for p in folder.iterdir() if p != out]
    assert leftovers and all(p.name.startswith(f".out.{proc.pid}.") and p.name.endswith(".tmp") for p in leftovers)

    again = subprocess.run(command + ["--force"], env=_env(database_url, tmp_path), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    _assert_complete_export(out, 3 * n_reports)
    assert [p.name for p in folder.iterdir()] == ["out"]  # the next export cleaned up after the dead one


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_faults_stale_export_temporaries_cleaned_or_recovered(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    dead = _dead_pid()
    partial = folder / f".a.{dead}.abcd1234.tmp"  # killed while writing
    partial.mkdir()
    (partial / "train.spacy").write_bytes(b"half")
    previous = folder / f".b.{dead}.{'0' * 32}.old"  # killed between the two renames of --force
    previous.mkdir()
    (previous / "manifest.json").write_text("{}")
    replaced = folder / f".c.{dead}.{'1' * 32}.old"  # killed while removing the replaced export
    replaced.mkdir()
    (folder / "c").mkdir()
    (folder / "c" / "manifest.json").write_text('{"new": true}')
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as live:
        running = folder / f".d.{live.pid}.abcd1234.tmp"  # an export still being written
        running.mkdir()
        foreign = folder / f".e.{dead}.abcd1234.tmp"  # not an export's: other files inside
        foreign.mkdir()
        (foreign / "notes.txt").write_text("mine")
        touched = remove_stale_temporaries(folder)
        live.kill()
    assert sorted(p.name for p in touched) == sorted([partial.name, previous.name, replaced.name])
    assert sorted(p.name for p in folder.iterdir()) == sorted(["b", "c", running.name, foreign.name])
    assert (folder / "b" / "manifest.json").read_text() == "{}"  # the previous export is back
    assert (folder / "c" / "manifest.json").read_text() == '{"new": true}'
