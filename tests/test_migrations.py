"""The schema comes from Alembic migrations and matches the models."""
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from annotator import db as database
from annotator.models import Base, utcnow


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
    assert database.current_revision(engine) == "0004"
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_migration_0004_adds_gold_note_and_dropped_and_keeps_gold(empty_database_url):
    engine = database.make_engine(empty_database_url)
    command.upgrade(database.alembic_config(engine), "0003")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO projects (id, name, lang, labels, annotators_per_sentence, restricted, routing, created_at) "
                 "VALUES (1, 'p', 'en', '[]', 2, false, 'none', :now)"), {"now": utcnow()})
        connection.execute(text("INSERT INTO reports (id, project_id, text, content_hash, meta, created_at) "
                                "VALUES (1, 1, 'One drone .', :h, '{}', :now)"), {"h": "x" * 64, "now": utcnow()})
        connection.execute(text("INSERT INTO sentences (id, project_id, report_id, position, start_char, text, tokens, needs_review, extra_annotators) "
                                "VALUES (1, 1, 1, 0, 0, 'One drone .', '[]', false, 0)"))
        connection.execute(text("INSERT INTO gold_annotations (id, sentence_id, version, created_at, updated_at) VALUES (1, 1, 1, :now, :now)"),
                           {"now": utcnow()})
    database.upgrade(engine)
    with engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("gold_annotations")}
        row = connection.execute(text("SELECT version, note, dropped FROM gold_annotations")).one()
    assert {"note", "dropped"} <= columns
    assert tuple(row) == (1, None, None)
    command.downgrade(database.alembic_config(engine), "0003")
    with engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("gold_annotations")}
        assert connection.execute(text("SELECT count(*) FROM gold_annotations")).scalar() == 1
    assert not {"note", "dropped"} & columns
    engine.dispose()
