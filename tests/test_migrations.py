"""The schema comes from Alembic migrations and matches the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from annotator import db as database
from annotator.models import Base


def test_migrations_upgrade_an_empty_database_to_the_models(database_url):
    engine = database.make_engine(database_url)
    database.upgrade(engine)  # the fixture's database is migrated already: a second run is a no-op
    assert database.current_revision(engine) is not None
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert diff == []
    assert {"users", "projects", "reports", "sentences", "annotations", "spans", "gold_spans", "leases"} <= tables


def test_migrations_init_command_is_idempotent(runner):
    first = runner.invoke(args=["init"])
    second = runner.invoke(args=["init"])
    assert first.exit_code == second.exit_code == 0
    assert "up to date" in second.output


def test_migrations_from_nothing(tmp_path):
    engine = database.make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert database.current_revision(engine) is None
    database.upgrade(engine)
    assert database.current_revision(engine) == "0003"
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
