"""``annotator backup`` / ``annotator restore`` on each backend: round trip, concurrency, refusals."""

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

from annotator.corpus.parse import content_hash
from annotator.db import write_transaction
from annotator.models import Base, Report, Sentence
from annotator.services.backup import BackupError, backup, restore
from annotator.services.projects import get_or_create_project
from tests.helpers import one_annotation

ROWS = [
    (
        "Forty drones were destroyed over Kursk Oblast. Two more fell.",
        [(0, 5, "COUNT"), (18, 27, "OUTCOME"), (33, 45, "REGION")],
    ),
    ("Над Белгородом  сбили 🚀 12 дронов.", [(4, 14, "REGION"), (24, 26, "COUNT")]),
    ("Nothing happened in the capital.\r\nA quiet night.", []),
]


def _import_annotated(runner, tmp_path, annotator="alice", rows=ROWS, project="p"):
    path = tmp_path / f"{annotator}-{project}.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i, (body, spans) in enumerate(rows):
            record = {
                "id": f"r{i}",
                "text": body,
                "spans": [{"start": a, "end": b, "label": lab} for a, b, lab in spans],
                "_annotator_id": annotator,
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    result = runner.invoke(args=["import", str(path), "--project", project])
    assert result.exit_code == 0, result.output


def _snapshot(engine):
    """Every row of every table, in primary-key order."""
    with engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
        }


def _release(app, db):
    """Close every connection of the test app: a restore refuses while any is open."""
    db.close()
    app.extensions["annotator.engine"].dispose()


def test_backup_round_trip_restores_exactly(app, db, runner, tmp_path):
    _import_annotated(runner, tmp_path, "alice")
    _import_annotated(runner, tmp_path, "bob")
    engine = app.extensions["annotator.engine"]
    before = _snapshot(engine)
    assert len(before["reports"]) == 3 and len(before["spans"]) == 10

    target = tmp_path / "backups" / "one.bak"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "Backed up the" in result.output and target.is_file()
    assert not [p for p in target.parent.iterdir() if p.name != "one.bak"]  # no temp file left beside

    # Change everything a restore must undo: new rows, changed rows, deleted rows.
    _import_annotated(runner, tmp_path, "chen", rows=[("A new report about Odesa.", [(19, 24, "REGION")])], project="q")
    write_transaction(db)
    db.execute(text("UPDATE reports SET text = 'changed' WHERE external_id = 'r0'"))
    db.execute(text("DELETE FROM spans WHERE label = 'COUNT'"))
    db.commit()
    assert _snapshot(engine) != before

    _release(app, db)
    result = runner.invoke(args=["restore", str(target)])
    assert result.exit_code == 0, result.output
    assert "Restored the" in result.output
    after = _snapshot(engine)
    logged = after["audit_events"][len(before["audit_events"]) :]
    after["audit_events"] = after["audit_events"][: len(before["audit_events"])]
    assert after == before  # exactly the backup's rows, and then the restore's own event:
    assert [row[3] for row in logged] == ["database.restore"] and str(target) in json.dumps(logged[0][6])
    status = runner.invoke(args=["status", "--project", "p", "--json"])
    assert json.loads(status.output)["reports"] == 3


def test_backup_refuses_to_overwrite_without_force(app, runner, tmp_path):
    _import_annotated(runner, tmp_path)
    target = tmp_path / "b.bak"
    target.write_bytes(b"precious")
    refused = runner.invoke(args=["backup", str(target)])
    assert refused.exit_code == 1
    assert "exists; use --force" in refused.output
    assert target.read_bytes() == b"precious"
    forced = runner.invoke(args=["backup", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert target.read_bytes() != b"precious"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".b.bak")) == []


def test_backup_restore_refuses_while_database_in_use(app, db, runner, tmp_path):
    _import_annotated(runner, tmp_path)
    target = tmp_path / "b.bak"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0, "backup failed"
    _import_annotated(runner, tmp_path, "bob", rows=[("Another report.", [])], project="q")
    engine = app.extensions["annotator.engine"]
    after = _snapshot(engine)
    with engine.connect() as busy:  # an app process holding a connection open
        busy.execute(select(func.count()).select_from(Report)).scalar()
        refused = runner.invoke(args=["restore", str(target)])
    assert refused.exit_code == 1
    assert "stop" in refused.output and "Nothing was changed" in refused.output
    assert _snapshot(engine) == after


def test_backup_restore_refuses_a_file_that_is_not_a_backup(app, db, runner, tmp_path):
    _import_annotated(runner, tmp_path)
    engine = app.extensions["annotator.engine"]
    before = _snapshot(engine)
    junk = tmp_path / "junk.bak"
    junk.write_bytes(b"not a backup at all\n" * 100)
    _release(app, db)
    refused = runner.invoke(args=["restore", str(junk)])
    assert refused.exit_code == 1
    assert str(junk) in refused.output and "restore a backup" in refused.output
    other = tmp_path / "other.bak"
    if engine.url.get_backend_name() == "sqlite":  # a SQLite file that is not ours
        sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
        expected = "not an annotator database"
    else:  # a SQLite backup offered to PostgreSQL
        sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
        expected = "is a SQLite database"
    refused = runner.invoke(args=["restore", str(other)])
    assert refused.exit_code == 1 and expected in refused.output, refused.output
    assert _snapshot(engine) == before


def test_backup_while_another_thread_writes_is_a_committed_state(app, db, tmp_path, database_url):
    """Each writer transaction adds one report and three sentences; a backup must never split one."""
    engine = app.extensions["annotator.engine"]
    sessionmaker = app.extensions["annotator.sessionmaker"]
    project, _ = get_or_create_project(db, "p")
    db.commit()
    project_id = project.id
    stop, committed, errors = threading.Event(), [], []

    def write():
        session = sessionmaker()
        try:
            n = 0
            while not stop.is_set():
                write_transaction(session)
                body = f"Report number {n}. It has three sentences. This is the third."
                report = Report(project_id=project_id, text=body, content_hash=content_hash(body), meta={})
                session.add(report)
                session.flush()
                for position, start in enumerate((0, 18, 43)):
                    session.add(
                        Sentence(
                            project_id=project_id,
                            report_id=report.id,
                            position=position,
                            start_char=start,
                            text=body[start:],
                            tokens=[],
                        )
                    )
                session.commit()
                n += 1
                committed.append(n)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            session.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(committed) < 20 and not errors and writer.is_alive():
            stop.wait(0.01)
        low = len(committed)
        backups = []
        for i in range(3):  # several backups, each in the middle of the writes
            backups.append(backup(database_url, tmp_path / f"b{i}.bak").path)
        high = len(committed)
        while len(committed) < high + 5 and not errors and writer.is_alive():
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()
    assert not errors, errors

    for path in backups:
        if make_url(database_url).get_backend_name() == "sqlite":
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as copy:
                assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        _release(app, db)
        restore(database_url, path)
        with engine.connect() as connection:
            reports = connection.execute(select(func.count()).select_from(Report)).scalar()
            sentences = connection.execute(select(func.count()).select_from(Sentence)).scalar()
            orphans = connection.execute(
                select(func.count()).select_from(Report).where(~Report.id.in_(select(Sentence.report_id)))
            ).scalar()
        assert sentences == 3 * reports and orphans == 0
        assert low <= reports <= len(committed)
    _release(app, db)


def test_backup_refuses_in_memory_sqlite(tmp_path):
    with pytest.raises(BackupError, match="in-memory"):
        backup("sqlite://", tmp_path / "x.bak")
    assert not (tmp_path / "x.bak").exists()


def test_backup_taken_before_a_schema_upgrade_restores_over_the_upgraded_database(empty_database_url, tmp_path):
    """Back up, upgrade, restore the backup: the tables and functions the upgrade added must not stand in the way
    (on PostgreSQL ``pg_restore --clean`` drops only what the backup holds), and upgrading again works."""
    from annotator import db as database

    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0016")
    with engine.begin() as connection:
        one_annotation(connection, "done")
    engine.dispose()
    backup(empty_database_url, tmp_path / "before-0017.backup")
    database.upgrade(engine)  # adds annotation_tallies, its triggers and (PostgreSQL) their functions
    with engine.begin() as connection:
        connection.execute(text("UPDATE annotations SET status = 'skipped'"))
    engine.dispose()

    restore(empty_database_url, tmp_path / "before-0017.backup")
    assert database.current_revision(engine) == "0016"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT status FROM annotations")).scalars().all() == ["done"]
        assert "annotation_tallies" not in inspect(connection).get_table_names()
    database.upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT status, n FROM annotation_tallies")).all() == [("done", 1)]
    engine.dispose()


def test_backup_to_a_path_that_cannot_be_written_is_an_error(app, runner, tmp_path):
    _import_annotated(runner, tmp_path)
    (tmp_path / "a-file").write_text("mine")
    for target in (tmp_path / "a-file" / "b.bak", "/proc/annotator-backup.bak"):
        result = runner.invoke(args=["backup", str(target)])
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert "cannot be written" in result.output
    assert (tmp_path / "a-file").read_text() == "mine"


def test_backup_refuses_the_database_files_and_what_is_not_a_regular_file(app, runner, tmp_path):
    import os

    _import_annotated(runner, tmp_path)
    targets = []
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        database = Path(url.database).absolute()
        (tmp_path / "link-to-db").symlink_to(database)
        os.link(database, tmp_path / "hard-link-to-db")
        targets += [database, database.with_name(database.name + "-wal"), tmp_path / "link-to-db"]
        targets += [tmp_path / "hard-link-to-db"]
        before = database.stat().st_ino, database.read_bytes()
    for target in targets:
        for force in (["--force"], []):  # without --force too: not told to use it, then refused with it
            result = runner.invoke(args=["backup", str(target), *force])
            assert result.exit_code == 1, (target, result.output)
            assert "is the database's own file" in result.output
    if targets:
        assert (database.stat().st_ino, database.read_bytes()) == before  # not replaced under the app
    if targets:
        # The app's database named through a link: its -wal is beside the real file, not the link.
        linked = app.config["DATABASE_URL"].replace(str(database), str(tmp_path / "link-to-db"))
        assert linked != app.config["DATABASE_URL"]
        with pytest.raises(BackupError, match="is the database's own file"):
            backup(linked, database.with_name(database.name + "-wal"), force=True)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = runner.invoke(args=["backup", str(fifo), "--force"])
    assert result.exit_code == 1 and "is not a regular file" in result.output
    assert fifo.is_fifo()
    # The app still writes where it reads: an import after the refusals is in the database file.
    _import_annotated(runner, tmp_path, annotator="bob", project="q")
    assert "q" in runner.invoke(args=["projects", "list"]).output
