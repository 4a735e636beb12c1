"""Transactions: a read snapshot sees one state and blocks no writer."""
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
