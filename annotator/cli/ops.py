"""``annotator backup``, ``annotator restore`` and ``annotator recount``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from .common import InputFile, fail, record_event, session


def _database_url() -> str:
    return current_app.config["DATABASE_URL"]


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists (never the database's own files).")
def backup(path: Path, force: bool) -> None:
    """Write a consistent copy of the database to PATH, while the app runs.

    SQLite: a copy of the database file. PostgreSQL: a pg_dump custom-format
    archive. Restore it with 'annotator restore PATH'. The audit log records
    who took it, to which path.
    """
    from ..services.backup import BackupError
    from ..services.backup import backup as backup_database

    try:
        result = backup_database(_database_url(), path, force=force)
    except BackupError as exc:
        raise fail(str(exc)) from None
    record_event("database.backup", "database", None, path=str(result.path), bytes=result.size)
    click.echo(f"Backed up the {result.backend} database to {result.path} ({result.size} bytes).")


@click.command("restore")
@click.argument("path", type=InputFile(path_type=Path))
def restore(path: Path) -> None:
    """Replace the whole database with the backup at PATH.

    Stop the app first: the restore refuses while another process has the
    database open. It is all or nothing; everything written since the backup
    is gone afterwards, and a backup taken before a schema upgrade comes back
    at its own schema (the next command upgrades it). The restored audit log
    then records the restore.
    """
    from ..services.backup import BackupError
    from ..services.backup import restore as restore_database

    try:
        backend = restore_database(_database_url(), path)
    except BackupError as exc:
        raise fail(str(exc)) from None
    record_event("database.restore", "database", None, path=str(path.absolute()))
    click.echo(f"Restored the {backend} database from {path}.")


@click.command("recount")
def recount() -> None:
    """Set the derived figures again from the annotations.

    Each sentence's count, state and flag, and each annotator's progress
    counts (done, flagged, skipped per project). annotator keeps them right as
    it writes; run this after changing annotations in the database by hand,
    outside annotator. Prints how many were wrong; the audit log records it.
    """
    from ..services.recount import rebuild_derived

    db = session(write=True)
    sentences, tallies = rebuild_derived(db)
    db.commit()
    record_event("database.recount", "database", None, sentences=sentences, tallies=tallies)
    click.echo(f"Recounted: {sentences} sentence(s) and {tallies} progress count(s) were wrong and are set again.")


COMMANDS = [backup, restore, recount]
