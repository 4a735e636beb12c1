"""Transactions: a read snapshot sees one state and blocks no writer; writers queue for the write lock."""

import threading
import time

import pytest
from sqlalchemy import func, select, text

from annotator.db import read_snapshot, write_transaction
from annotator.models import Project


def test_db_read_snapshot_is_stable_and_lets_writers_in(app, db):
    db.add(Project(name="a", labels=[]))
    db.commit()
    read_snapshot(db)
    assert db.scalar(select(func.count()).select_from(Project)) == 1
    if db.get_bind().dialect.name == "postgresql":
        assert db.scalar(text("SHOW transaction_isolation")) == "repeatable read"
    writer = app.extensions["annotator.sessionmaker"]()
    write_transaction(writer)  # would wait (and fail) if the snapshot held SQLite's write lock
    writer.add(Project(name="b", labels=[]))
    writer.commit()
    writer.close()
    assert db.scalar(select(func.count()).select_from(Project)) == 1  # still the snapshot's state
    db.commit()
    assert db.scalar(select(func.count()).select_from(Project)) == 2


def test_db_writers_queue_for_the_write_lock_and_all_land(app, db):
    """A writer that finds the write lock taken waits for it (SQLite: retried BEGIN IMMEDIATE)."""
    factory = app.extensions["annotator.sessionmaker"]
    holder = factory()
    write_transaction(holder)
    if db.get_bind().dialect.name == "sqlite":
        # Once in, the connection has the ordinary busy timeout back for its other statements.
        assert holder.scalar(text("PRAGMA busy_timeout")) == 30000
    holder.add(Project(name="first", labels=[]))
    holder.flush()
    landed, errors = [], []

    def second_writer():
        try:
            with factory() as session:
                write_transaction(session)  # SQLite: waits here until the holder commits
                session.add(Project(name="second", labels=[]))
                session.commit()
                landed.append("second")
        except Exception as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join(0.2)  # the holder keeps the lock a while
    holder.commit()
    holder.close()
    thread.join(30)
    assert not thread.is_alive() and errors == [] and landed == ["second"]
    assert sorted(db.scalars(select(Project.name))) == ["first", "second"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no server to lose
def test_db_connection_dropped_by_the_server_a_moment_after_use_is_replaced(database_url, monkeypatch):
    """A pooled connection the server closed (a restart) is replaced on checkout, even one used a moment ago.

    No ping is sent for it (it was in use less than PING_AFTER_IDLE ago); the server's closing is
    seen on its socket, which became readable.
    """
    from annotator import db as database

    monkeypatch.setattr(database, "PING_AFTER_IDLE", 3600.0)  # every checkout counts as just used
    engine, admin = database.make_engine(database_url), database.make_engine(database_url)
    try:
        with engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with admin.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            other.commit()
            deadline = time.monotonic() + 30
            while other.exec_driver_sql(f"SELECT count(*) FROM pg_stat_activity WHERE pid = {int(pid)}").scalar():
                other.rollback()
                assert time.monotonic() < deadline, "the server did not end the backend"
                time.sleep(0.01)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
    finally:
        engine.dispose()
        admin.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no server to lose
def test_db_idle_connection_dropped_by_the_server_is_replaced(database_url, monkeypatch):
    """A pooled connection the server closed while it sat idle is pinged on checkout and replaced."""
    from annotator import db as database

    engine, admin = database.make_engine(database_url), database.make_engine(database_url)
    try:
        with engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with admin.connect() as other:  # the pooled connection is idle now: the server drops it
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            other.commit()
        monkeypatch.setattr(database, "PING_AFTER_IDLE", 0.0)  # every checkout counts as idle
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
    finally:
        engine.dispose()
        admin.dispose()
