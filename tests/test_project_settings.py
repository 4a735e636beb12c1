"""A project's gazetteer entries and guideline version: read once per settings token, renewed on change."""

from __future__ import annotations

from contextlib import contextmanager

from alembic import command
from sqlalchemy import delete, event, inspect, select, text

from annotator import db as database
from annotator.labels.normalise import normalise
from annotator.models import GazetteerEntry, Project, utcnow
from annotator.services.projects import add_guideline_version, get_or_create_project, project_settings
from annotator.services.suggestions import project_gazetteer


@contextmanager
def statements(session):
    """The SQL statements ``session``'s engine runs inside the block."""
    seen: list[str] = []
    engine = session.get_bind()

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_settings_token_renews_when_the_gazetteer_or_guidelines_change(db):
    project, _ = get_or_create_project(db, "incidents")
    other, _ = get_or_create_project(db, "other")
    db.commit()
    tokens = [project.settings_token]
    other_token = other.settings_token

    entry = GazetteerEntry(project_id=project.id, canonical="Nowhere Oblast", aliases=["Nowhere"])
    db.add(entry)
    db.commit()
    tokens.append(project.settings_token)
    entry.aliases = ["Nowhere", "Nowheria"]
    db.commit()
    tokens.append(project.settings_token)
    add_guideline_version(db, project, "Label every region.", None)
    db.commit()
    tokens.append(project.settings_token)
    db.delete(entry)
    db.commit()
    tokens.append(project.settings_token)

    assert all(tokens) and len(set(tokens)) == len(tokens)  # a new token for each change
    stored = db.scalar(
        select(Project.settings_token).where(Project.id == project.id).execution_options(populate_existing=True)
    )
    assert stored == tokens[-1]  # written to the database, not only to the object
    db.refresh(other)
    assert other.settings_token == other_token  # another project's settings did not change


def test_project_settings_are_read_once_per_token(db):
    project, _ = get_or_create_project(db, "incidents")
    db.commit()
    with statements(db) as first:
        settings = project_settings(db, project)
    with statements(db) as again:
        assert project_settings(db, project) == settings
    assert settings.guideline_version == 1 and settings.gazetteer_entries == ()
    assert first and again == []


def test_a_change_made_elsewhere_reaches_the_next_request(app, db):
    """Another session (another app server) adds an entry and a guideline; a new session sees both."""
    project, _ = get_or_create_project(db, "incidents")
    db.commit()
    assert normalise("REGION", "Nowhere", project_gazetteer(db, project)) is None
    before = project_settings(db, project)

    with app.extensions["annotator.sessionmaker"]() as elsewhere:
        row = elsewhere.get(Project, project.id)
        elsewhere.add(GazetteerEntry(project_id=row.id, canonical="Nowhere Oblast", aliases=["Nowhere"]))
        add_guideline_version(elsewhere, row, "Version two.", None)
        elsewhere.commit()

    with app.extensions["annotator.sessionmaker"]() as later:
        row = later.get(Project, project.id)
        after = project_settings(later, row)
        assert normalise("REGION", "Nowhere", project_gazetteer(later, row)) == "Nowhere Oblast"
    assert after.guideline_version == before.guideline_version + 1
    assert after.gazetteer_entries == (("Nowhere Oblast", ("Nowhere",)),)


def test_pending_changes_count_before_the_cache(db):
    """An entry added but not yet flushed is part of the settings read in the same transaction."""
    project, _ = get_or_create_project(db, "incidents")
    db.commit()
    project_settings(db, project)
    db.add(GazetteerEntry(project_id=project.id, canonical="Nowhere Oblast", aliases=[]))
    assert project_settings(db, project).gazetteer_entries == (("Nowhere Oblast", ()),)
    db.rollback()
    db.expire_all()
    assert project_settings(db, project).gazetteer_entries == ()


def test_rows_written_around_the_orm_are_read_every_time(db):
    """A project without a token (inserted in plain SQL) is never cached."""
    db.execute(
        text(
            "INSERT INTO projects (name, lang, labels, annotators_per_sentence, restricted, routing, created_at) "
            "VALUES ('raw', 'en', '[]', 2, false, 'none', :now)"
        ),
        {"now": utcnow()},
    )
    db.commit()
    project = db.scalar(select(Project).where(Project.name == "raw"))
    assert project.settings_token is None
    assert project_settings(db, project).gazetteer_entries == ()
    db.execute(GazetteerEntry.__table__.insert().values(project_id=project.id, canonical="Nowhere Oblast", aliases=[]))
    assert project_settings(db, project).gazetteer_entries == (("Nowhere Oblast", ()),)
    db.execute(delete(GazetteerEntry))
    db.commit()


def test_migration_0003_gives_every_project_its_own_token(empty_database_url):
    engine = database.make_engine(empty_database_url)
    command.upgrade(database.alembic_config(engine), "0002")
    with engine.begin() as connection:
        for pid in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO projects (id, name, lang, labels, annotators_per_sentence, restricted, routing, created_at) "
                    "VALUES (:id, :name, 'en', '[]', 2, false, 'none', :now)"
                ),
                {"id": pid, "name": f"p{pid}", "now": utcnow()},
            )
    command.upgrade(database.alembic_config(engine), "0003")
    assert database.current_revision(engine) == "0003"
    with engine.connect() as connection:
        tokens = connection.execute(text("SELECT settings_token FROM projects ORDER BY id")).scalars().all()
    assert len(tokens) == 2 and all(len(t) == 32 for t in tokens) and tokens[0] != tokens[1]

    command.downgrade(database.alembic_config(engine), "0002")
    with engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("projects")}
        names = connection.execute(text("SELECT name FROM projects ORDER BY id")).scalars().all()
    engine.dispose()
    assert "settings_token" not in columns
    assert names == ["p1", "p2"]  # the downgrade dropped the column, not the rows
