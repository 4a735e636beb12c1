"""Helpers shared by the commands."""
from __future__ import annotations

import click
from flask import current_app

from .. import db as database
from ..extensions import get_session
from ..services.audit import record_command


def session(write: bool = False):
    """The command's database session, on a schema brought up to date.

    ``write``: the command writes, so its transaction takes the write lock first.
    """
    ensure_schema()
    db = get_session()
    if write:
        database.write_transaction(db)
    return db


def record_event(action: str, entity: str, entity_id: int | None, **detail) -> None:
    """Log a change the command made outside any other transaction, in a transaction of its own."""
    db = session(write=True)
    record_command(db, action, entity, entity_id, **detail)
    db.commit()


def ensure_schema() -> None:
    database.upgrade(current_app.extensions["annotator.engine"])


def fail(message: str) -> click.ClickException:
    return click.ClickException(message)
