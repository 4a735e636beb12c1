"""Changes made with the ``annotator`` command reach the audit log, as the app's own do."""

from __future__ import annotations

import json

from sqlalchemy import select

from annotator.models import AuditEvent, Project, User
from annotator.services.audit import COMMAND_LINE


def events(db, action: str) -> list[AuditEvent]:
    db.rollback()  # a fresh read: the command committed in its own session
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def assert_from_command_line(event: AuditEvent) -> None:
    assert event.user_id is None  # no app user ran it
    assert event.detail["via"] == COMMAND_LINE and event.detail["os_user"]


def test_cli_audit_users_add_and_token(db, runner):
    result = runner.invoke(
        args=["users", "add", "dana", "--role", "reviewer", "--password-stdin"], input="a long enough password\n"
    )
    assert result.exit_code == 0, result.output
    dana = db.scalar(select(User).where(User.username == "dana"))
    (created,) = events(db, "user.create")
    assert_from_command_line(created)
    assert (created.entity, created.entity_id, created.detail["username"], created.detail["role"]) == (
        "user",
        dana.id,
        "dana",
        "reviewer",
    )

    result = runner.invoke(args=["users", "token", "dana"])
    assert result.exit_code == 0, result.output
    (token,) = events(db, "user.token")
    assert_from_command_line(token)
    assert (token.entity_id, token.detail["username"]) == (dana.id, "dana")
    assert result.output.strip() not in json.dumps(token.detail)  # the token itself is never logged


def test_cli_audit_import_is_one_event_and_a_refused_import_none(db, runner, tmp_path):
    good, bad = tmp_path / "night.txt", tmp_path / "broken.jsonl"
    good.write_text("Forty drones were shot down over Kursk. Debris damaged a house.\n", encoding="utf-8")
    bad.write_text('{"text": "fine"}\n{"no text": true}\n', encoding="utf-8")

    refused = runner.invoke(args=["import", str(good), str(bad), "--project", "p"])
    assert refused.exit_code == 1 and "Nothing was imported" in refused.output
    assert events(db, "corpus.import") == []

    result = runner.invoke(args=["import", str(good), "--project", "p"])
    assert result.exit_code == 0, result.output
    (imported,) = events(db, "corpus.import")
    assert_from_command_line(imported)
    project = db.scalar(select(Project).where(Project.name == "p"))
    assert (imported.entity, imported.entity_id) == ("project", project.id)
    assert (
        imported.detail["files"] == ["night.txt"]
        and imported.detail["summary"] == result.output.strip().splitlines()[-1]
    )


def test_cli_audit_demo_logs_its_import_and_accounts(db, runner):
    result = runner.invoke(args=["demo", "--no-serve", "--annotated-reports", "0"])
    assert result.exit_code == 0, result.output
    assert len(events(db, "corpus.import")) == 1
    assert sorted(e.detail["username"] for e in events(db, "user.create")) == [
        "admin",
        "alice",
        "bob",
        "chen",
        "reviewer",
    ]
    again = runner.invoke(args=["demo", "--no-serve", "--annotated-reports", "0"])
    assert again.exit_code == 0, again.output
    resets = events(db, "user.password")  # a second run gives everyone a new password
    assert sorted(e.detail["username"] for e in resets) == ["admin", "alice", "bob", "chen", "reviewer"]
    assert all(e.detail["via"] == COMMAND_LINE for e in resets)


def test_cli_audit_backup_names_the_file(db, runner, tmp_path):
    target = tmp_path / "nightly.bak"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    (taken,) = events(db, "database.backup")
    assert_from_command_line(taken)
    assert taken.detail["path"] == str(target) and taken.detail["bytes"] == target.stat().st_size


def test_cli_audit_init_logs_a_schema_change(empty_database_url, tmp_path):
    from annotator import create_app
    from annotator.cli import main
    from tests.conftest import app_config

    fresh = create_app(app_config(empty_database_url, tmp_path))
    try:
        result = fresh.test_cli_runner().invoke(main, args=["init"])
        assert result.exit_code == 0 and "upgraded from empty" in result.output, result.output
        with fresh.extensions["annotator.sessionmaker"]() as session:
            (upgraded,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "database.upgrade"))
            assert_from_command_line(upgraded)
            assert (
                upgraded.detail["from_revision"] is None
                and upgraded.detail["to_revision"] == result.output.split("schema ")[1].split(",")[0]
            )
    finally:
        fresh.extensions["annotator.engine"].dispose()


def test_cli_audit_init_on_a_current_schema_logs_nothing(db, runner):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0 and "up to date" in result.output, result.output
    assert events(db, "database.upgrade") == []
