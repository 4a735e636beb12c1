"""The schema comes from Alembic migrations and matches the models."""

import threading
import time

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError, OperationalError

from annotator import db as database
from annotator.models import Base, utcnow
from tests.helpers import one_annotation


def test_migrations_upgrade_an_empty_database_to_the_models(database_url):
    engine = database.make_engine(database_url)
    database.upgrade(engine)  # the fixture's database is migrated already: a second run is a no-op
    assert database.current_revision(engine) is not None
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": database.modelled})
        diff = compare_metadata(context, Base.metadata)
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
    assert database.current_revision(engine) == database.SCHEMA_HEAD
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_migrations_schema_head_is_the_newest_migration():
    from alembic.script import ScriptDirectory

    assert ScriptDirectory(str(database.MIGRATIONS)).get_current_head() == database.SCHEMA_HEAD


def test_migrations_any_command_upgrades_an_old_schema_and_logs_it(empty_database_url, tmp_path):
    """A command other than ``init`` meets an old schema: it upgrades it, and the audit log says so."""
    from sqlalchemy import select

    from annotator import create_app
    from annotator.cli import main
    from annotator.models import AuditEvent
    from tests.conftest import app_config

    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0002")
    engine.dispose()
    app = create_app(app_config(empty_database_url, tmp_path))
    try:
        result = app.test_cli_runner().invoke(main, args=["projects"])
        assert result.exit_code == 0, result.output
        assert database.current_revision(app.extensions["annotator.engine"]) == database.SCHEMA_HEAD
        with app.extensions["annotator.sessionmaker"]() as session:
            (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "database.upgrade"))
        assert event.detail["from_revision"] == "0002" and event.detail["to_revision"] == database.SCHEMA_HEAD
    finally:
        app.extensions["annotator.engine"].dispose()


def test_migration_0004_adds_gold_note_and_dropped_and_keeps_gold(empty_database_url):
    engine = database.make_engine(empty_database_url)
    command.upgrade(database.alembic_config(engine), "0003")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO projects (id, name, lang, labels, annotators_per_sentence, restricted, routing, created_at) "
                "VALUES (1, 'p', 'en', '[]', 2, false, 'none', :now)"
            ),
            {"now": utcnow()},
        )
        connection.execute(
            text(
                "INSERT INTO reports (id, project_id, text, content_hash, meta, created_at) "
                "VALUES (1, 1, 'One drone .', :h, '{}', :now)"
            ),
            {"h": "x" * 64, "now": utcnow()},
        )
        connection.execute(
            text(
                "INSERT INTO sentences (id, project_id, report_id, position, start_char, text, tokens, needs_review, extra_annotators) "
                "VALUES (1, 1, 1, 0, 0, 'One drone .', '[]', false, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO gold_annotations (id, sentence_id, version, created_at, updated_at) VALUES (1, 1, 1, :now, :now)"
            ),
            {"now": utcnow()},
        )
    database.upgrade(engine, "0004")
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


def test_migration_0005_adds_a_zero_suggestion_threshold_to_existing_projects(empty_database_url):
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0004")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO projects (id, name, lang, labels, annotators_per_sentence, restricted, routing, created_at) "
                "VALUES (1, 'p', 'en', '[]', 2, false, 'none', :now)"
            ),
            {"now": utcnow()},
        )
    database.upgrade(engine, "0005")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT suggestion_min_score FROM projects")).scalar() == 0
    command.downgrade(database.alembic_config(engine), "0004")
    with engine.connect() as connection:
        assert "suggestion_min_score" not in {c["name"] for c in inspect(connection).get_columns("projects")}
        assert connection.execute(text("SELECT name FROM projects")).scalar() == "p"
    engine.dispose()


def test_migration_0006_adds_the_browse_indexes_and_removes_them_on_downgrade(empty_database_url):
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0005")
    database.upgrade(engine, "0006")
    with engine.connect() as connection:
        inspector = inspect(connection)
        annotations = {i["name"]: i["column_names"] for i in inspector.get_indexes("annotations")}
        spans = {i["name"]: i["column_names"] for i in inspector.get_indexes("spans")}
    assert annotations["ix_annotations_sentence_status"] == ["sentence_id", "status", "user_id"]
    assert spans["ix_spans_annotation_label"] == ["annotation_id", "label"]
    command.downgrade(database.alembic_config(engine), "0005")
    with engine.connect() as connection:
        inspector = inspect(connection)
        assert "ix_annotations_sentence_status" not in {i["name"] for i in inspector.get_indexes("annotations")}
        assert "ix_spans_annotation_label" not in {i["name"] for i in inspector.get_indexes("spans")}
    engine.dispose()


def test_migration_0007_adds_a_trigram_text_index_and_removes_it_on_downgrade(empty_database_url):
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0006")
    with engine.begin() as connection:  # a sentence from before the index: the upgrade indexes it
        connection.exec_driver_sql(
            "INSERT INTO projects (name, lang, labels, annotators_per_sentence, restricted, routing, created_at) "
            "VALUES ('p', 'en', '[]', 2, false, 'none', '2026-11-30')"
        )
        connection.exec_driver_sql(
            "INSERT INTO reports (project_id, text, content_hash, meta, created_at) "
            "VALUES (1, 'Drones over Kursk.', 'h', '{}', '2026-11-30')"
        )
        connection.exec_driver_sql(
            "INSERT INTO sentences (project_id, report_id, position, start_char, text, tokens, extra_annotators, "
            "needs_review, annotation_count, state) VALUES (1, 1, 0, 0, 'Drones over Kursk.', '[]', 0, false, 0, 0)"
        )
    database.upgrade(engine, "0007")
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            found = connection.exec_driver_sql(
                "SELECT rowid FROM sentences_text WHERE sentences_text MATCH '\"kursk\"'"
            ).all()
            assert found == [(1,)]
        else:
            assert "ix_sentences_text_trgm" in {i["name"] for i in inspect(connection).get_indexes("sentences")}
    command.downgrade(database.alembic_config(engine), "0006")
    with engine.connect() as connection:
        assert "sentences_text" not in inspect(connection).get_table_names()
        assert "ix_sentences_text_trgm" not in {i["name"] for i in inspect(connection).get_indexes("sentences")}
    engine.dispose()


def test_migration_0008_numbers_each_projects_reports_in_import_order(empty_database_url):
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0007")
    with engine.begin() as connection:
        for project_id in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO projects (id, name, lang, labels, annotators_per_sentence, restricted, routing, created_at) "
                    "VALUES (:id, :name, 'en', '[]', 2, false, 'none', :now)"
                ),
                {"id": project_id, "name": f"p{project_id}", "now": utcnow()},
            )
        for report_id, project_id in ((1, 1), (2, 2), (3, 1), (4, 1)):
            connection.execute(
                text(
                    "INSERT INTO reports (id, project_id, text, content_hash, meta, created_at) "
                    "VALUES (:id, :project, 'One drone .', :h, '{}', :now)"
                ),
                {"id": report_id, "project": project_id, "h": str(report_id) * 64, "now": utcnow()},
            )
            connection.execute(
                text(
                    "INSERT INTO sentences (id, project_id, report_id, position, start_char, text, tokens, needs_review, extra_annotators) "
                    "VALUES (:id, :project, :id, 0, 0, 'One drone .', '[]', false, 0)"
                ),
                {"id": report_id, "project": project_id},
            )
    database.upgrade(engine, "0008")
    with engine.connect() as connection:
        numbers = connection.execute(text("SELECT id, project_id, number FROM reports ORDER BY id")).all()
        assert connection.execute(text("SELECT count(*) FROM sentences")).scalar() == 4  # nothing cascaded away
    assert [tuple(row) for row in numbers] == [(1, 1, 1), (2, 2, 1), (3, 1, 2), (4, 1, 3)]
    command.downgrade(database.alembic_config(engine), "0007")
    with engine.connect() as connection:
        assert "number" not in {c["name"] for c in inspect(connection).get_columns("reports")}
        assert connection.execute(text("SELECT count(*) FROM sentences")).scalar() == 4
    engine.dispose()


def test_migration_0009_gives_every_stored_label_its_kind(empty_database_url):
    import json

    old_scheme = [
        {"name": "REGION", "description": "", "colour": "#8ecae6", "key": "r"},
        {"name": "Count", "description": "", "colour": "#ffb703", "key": "c"},
        {"name": "OUTCOME", "description": "", "colour": "#95d5b2", "key": "o", "kind": "plain"},
        {"name": "WEAPON", "description": "", "colour": "#cdb4db", "key": "w"},
        {"name": "PLACE", "description": "", "colour": "#bde0fe", "key": "l", "kind": "region"},
    ]
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0008")
    with engine.begin() as connection:
        for i, labels in enumerate((old_scheme, []), start=1):
            connection.execute(
                text(
                    "INSERT INTO projects (id, name, lang, labels, annotators_per_sentence, restricted, routing, created_at) "
                    "VALUES (:id, :name, 'en', :labels, 2, false, 'none', :now)"
                ),
                {"id": i, "name": f"p{i}", "labels": json.dumps(labels), "now": utcnow()},
            )
    database.upgrade(engine, "0009")
    with engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT name, labels FROM projects")).all())
    labels = {name: json.loads(value) if isinstance(value, str) else value for name, value in stored.items()}
    assert [(label["name"], label["kind"]) for label in labels["p1"]] == [
        ("REGION", "region"),
        ("Count", "count"),
        ("OUTCOME", "text"),  # a kind it had stored, under its earlier name, is kept
        ("WEAPON", "text"),
        ("PLACE", "region"),
    ]
    assert labels["p1"][0]["colour"] == "#8ecae6"
    assert labels["p2"] == []
    command.downgrade(database.alembic_config(engine), "0008")
    assert database.current_revision(engine) == "0008"
    engine.dispose()


def test_migration_0010_adds_model_versions_and_keeps_model_path(empty_database_url):
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0009")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO projects (id, name, lang, labels, annotators_per_sentence, restricted, routing, model_path, created_at) "
                "VALUES (1, 'p', 'en', '[]', 2, false, 'none', '/models/old/model-best', :now)"
            ),
            {"now": utcnow()},
        )
    database.upgrade(engine, "0010")
    insert = text(
        "INSERT INTO model_versions (project_id, number, status, active, task, policy, settings, progress, pipeline_dir, created_at) "
        "VALUES (1, :number, :status, :active, 'ner', 'majority', '{}', '[]', '/runs/x', :now)"
    )
    with engine.begin() as connection:
        assert connection.execute(text("SELECT model_path FROM projects")).scalar() == "/models/old/model-best"
        connection.execute(insert, {"number": 1, "status": "done", "active": True, "now": utcnow()})
        connection.execute(insert, {"number": 2, "status": "running", "active": False, "now": utcnow()})
    # One run at a time, one active version, numbers unique per project: the schema refuses the rest.
    for number, status, active in ((3, "queued", False), (4, "done", True), (2, "done", False), (5, "failed", True)):
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert, {"number": number, "status": status, "active": active, "now": utcnow()})
    command.downgrade(database.alembic_config(engine), "0009")
    with engine.connect() as connection:
        assert "model_versions" not in inspect(connection).get_table_names()
        assert connection.execute(text("SELECT model_path FROM projects")).scalar() == "/models/old/model-best"
    engine.dispose()


def test_migration_0011_adds_an_empty_curve_to_model_versions_and_drops_it_on_downgrade(empty_database_url):
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0010")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO projects (id, name, lang, labels, annotators_per_sentence, restricted, routing, created_at) "
                "VALUES (1, 'p', 'en', '[]', 2, false, 'none', :now)"
            ),
            {"now": utcnow()},
        )
        connection.execute(
            text(
                "INSERT INTO model_versions (project_id, number, status, active, task, policy, settings, progress, pipeline_dir, created_at) "
                "VALUES (1, 1, 'done', true, 'ner', 'majority', '{}', '[]', '/runs/x', :now)"
            ),
            {"now": utcnow()},
        )
    database.upgrade(engine, "0011")
    with engine.begin() as connection:
        assert connection.execute(text("SELECT number, curve FROM model_versions")).one() == (1, None)
        connection.execute(text("""UPDATE model_versions SET curve = '{"points": []}'"""))
    command.downgrade(database.alembic_config(engine), "0010")
    with engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("model_versions")}
        assert "curve" not in columns and "progress" in columns
        assert connection.execute(text("SELECT number, status FROM model_versions")).one() == (1, "done")
    engine.dispose()


def test_migration_0012_adds_the_flagged_partial_index_and_removes_it_on_downgrade(empty_database_url):
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0012")
    with engine.connect() as connection:
        assert "ix_annotations_flagged" in {i["name"] for i in inspect(connection).get_indexes("annotations")}
    command.downgrade(database.alembic_config(engine), "0011")
    with engine.connect() as connection:
        assert "ix_annotations_flagged" not in {i["name"] for i in inspect(connection).get_indexes("annotations")}
    engine.dispose()


def test_migration_0013_adds_empty_incidents_to_annotations_and_gold(empty_database_url):
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0012")
    with engine.begin() as connection:
        one_annotation(connection, "done")
    database.upgrade(engine, "0013")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT incidents FROM annotations")).scalar() is None
        assert "incidents" in {c["name"] for c in inspect(connection).get_columns("gold_annotations")}
    command.downgrade(database.alembic_config(engine), "0012")
    with engine.connect() as connection:
        assert "incidents" not in {c["name"] for c in inspect(connection).get_columns("annotations")}
        assert connection.execute(text("SELECT status FROM annotations")).scalar() == "done"
    engine.dispose()


@pytest.mark.parametrize("status", ["flagged", "done"])
def test_migration_0014_backfills_the_sentence_flag_and_moves_the_flagged_index(empty_database_url, status):
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0013")
    with engine.begin() as connection:
        one_annotation(connection, status)
    database.upgrade(engine, "0014")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT flagged FROM sentences")).scalar() == (status == "flagged")
        assert "ix_sentences_flagged" in {i["name"] for i in inspect(connection).get_indexes("sentences")}
        assert "ix_annotations_flagged" not in {i["name"] for i in inspect(connection).get_indexes("annotations")}
    if engine.dialect.name == "postgresql":
        command.downgrade(database.alembic_config(engine), "0013")
        with engine.connect() as connection:
            assert "flagged" not in {c["name"] for c in inspect(connection).get_columns("sentences")}
            assert "ix_annotations_flagged" in {i["name"] for i in inspect(connection).get_indexes("annotations")}
    engine.dispose()


def test_migration_0016_adds_the_queue_order_and_keeps_every_row(empty_database_url):
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0015")
    with engine.begin() as connection:
        one_annotation(connection, "done")
    database.upgrade(engine, "0016")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT queue_order FROM projects")).scalar() == "report"
        assert connection.execute(text("SELECT uncertainty, uncertainty_rank FROM sentences")).one() == (None, None)
        assert connection.execute(text("SELECT count(*) FROM annotations")).scalar() == 1
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE projects SET queue_order = 'random'"))
    engine.dispose()


def test_migration_0017_fills_the_annotation_tallies_and_removes_them_on_downgrade(empty_database_url):
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0016")
    with engine.begin() as connection:
        one_annotation(connection, "flagged")
    database.upgrade(engine, "0017")
    with engine.begin() as connection:
        assert connection.execute(text("SELECT project_id, user_id, status, n FROM annotation_tallies")).all() == [
            (1, 1, "flagged", 1)
        ]
        connection.execute(text("UPDATE annotations SET status = 'done'"))  # the triggers keep it from now on
        assert connection.execute(text("SELECT status, n FROM annotation_tallies ORDER BY status")).all() == [
            ("done", 1),
            ("flagged", 0),
        ]
    command.downgrade(database.alembic_config(engine), "0016")
    with engine.begin() as connection:
        assert "annotation_tallies" not in inspect(connection).get_table_names()
        connection.execute(text("DELETE FROM sentences"))  # no trigger is left to name the dropped table
        assert connection.execute(text("SELECT count(*) FROM annotations")).scalar() == 0
    engine.dispose()


def test_migration_0017_counts_an_annotation_written_while_it_runs(empty_database_url):
    """A save in flight while the schema is upgraded is counted once: on PostgreSQL the migration waits for it
    and holds later writers off with a table lock; SQLite refuses the upgrade until the write is done."""
    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0016")
    with engine.begin() as connection:
        one_annotation(connection, "done")
        connection.execute(
            text(
                "INSERT INTO sentences (id, project_id, report_id, position, start_char, text, tokens, needs_review, "
                "extra_annotators, annotation_count, state) VALUES (2, 1, 1, 1, 0, 'Two .', '[]', false, 0, 0, 0)"
            )
        )
    saving = engine.connect()
    saving.execute(
        text(
            "INSERT INTO annotations (id, sentence_id, user_id, status, seconds_spent, version, created_at, updated_at) "
            "VALUES (2, 2, 1, 'done', 0, 1, :now, :now)"
        ),
        {"now": utcnow()},
    )
    upgrading = database.make_engine(empty_database_url)
    refused: list[Exception] = []

    def upgrade() -> None:
        try:
            database.upgrade(upgrading, "0017")
        except OperationalError as exc:
            refused.append(exc)

    migration = threading.Thread(target=upgrade)
    migration.start()
    time.sleep(1)  # the migration is waiting for the save
    saving.commit()
    saving.close()
    migration.join(timeout=120)
    upgrading.dispose()
    if refused:  # SQLite refuses the upgrade ("database is locked") while the write is in flight, leaving 0016 whole
        assert engine.dialect.name == "sqlite" and database.current_revision(engine) == "0016"
        database.upgrade(engine, "0017")
    assert database.current_revision(engine) == "0017"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT sum(n) FROM annotation_tallies")).scalar() == 2
    engine.dispose()


def test_migration_0018_records_what_each_gold_answered_as_the_time_rule_saw_it(empty_database_url):
    """Answered at its version if not saved since the gold, at 0 (an older version) if saved since; a late
    annotation (created after the gold) is not answered."""
    from datetime import timedelta

    engine = database.make_engine(empty_database_url)
    database.upgrade(engine, "0017")
    gold_time = utcnow()
    early, late = gold_time - timedelta(minutes=5), gold_time + timedelta(minutes=5)
    with engine.begin() as connection:
        one_annotation(connection, "done")  # annotation 1, by ann, created and saved now: after the gold
        for statement, values in (
            ("UPDATE annotations SET created_at = :t, updated_at = :t, version = 3", {"t": early}),
            (
                "INSERT INTO users (id, username, role, password_hash, active, session_token, failed_logins, "
                "created_at) VALUES (2, 'bob', 'annotator', 'x', true, 'u', 0, :t), "
                "(3, 'cy', 'annotator', 'x', true, 'v', 0, :t)",
                {"t": early},
            ),
            (
                "INSERT INTO annotations (id, sentence_id, user_id, status, seconds_spent, version, created_at, "
                "updated_at) VALUES (2, 1, 2, 'done', 0, 2, :early, :late), (3, 1, 3, 'flagged', 0, 1, :late, :late)",
                {"early": early, "late": late},
            ),
            (
                "INSERT INTO gold_annotations (id, sentence_id, version, created_at, updated_at) "
                "VALUES (1, 1, 1, :t, :t)",
                {"t": gold_time},
            ),
        ):
            connection.execute(text(statement), values)
    database.upgrade(engine, "0018")
    with engine.begin() as connection:
        answers = connection.execute(text("SELECT annotation_id, version FROM gold_answers ORDER BY 1")).all()
        assert answers == [(1, 3), (2, 0)]  # ann unchanged since; bob changed since; cy is late
        connection.execute(text("DELETE FROM annotations WHERE id = 2"))  # its answer goes with it
        assert connection.execute(text("SELECT annotation_id FROM gold_answers")).scalars().all() == [1]
    command.downgrade(database.alembic_config(engine), "0017")
    with engine.connect() as connection:
        assert "gold_answers" not in inspect(connection).get_table_names()
    engine.dispose()
