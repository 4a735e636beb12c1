"""Helpers shared by the commands."""

from __future__ import annotations

import math
import os

import click
from flask import current_app

# Each command imports what it needs when it runs, so that 'annotator --help' and light
# commands start fast: nothing here or at the top of a command module loads the
# services, the models, spaCy or Alembic.


def session(write: bool = False):
    """The command's database session, on a schema brought up to date.

    ``write``: the command writes, so its transaction takes the write lock first.
    """
    from .. import db as database
    from ..extensions import get_session

    ensure_schema()
    db = get_session()
    if write:
        database.write_transaction(db)
    return db


def record_event(action: str, entity: str, entity_id: int | None, **detail) -> None:
    """Log a change the command made outside any other transaction, in a transaction of its own."""
    from ..services.audit import record_command

    db = session(write=True)
    record_command(db, action, entity, entity_id, **detail)
    db.commit()


def ensure_schema() -> str | None:
    """Bring the schema up to date (one query when it is already, the usual case); the revision it
    was at before. A change is logged, whichever command made it."""
    from .. import db as database

    before = database.ensure_current(current_app.extensions["annotator.engine"])
    if before != database.SCHEMA_HEAD:
        record_event("database.upgrade", "database", None, from_revision=before, to_revision=database.SCHEMA_HEAD)
    return before


def fail(message: str) -> click.ClickException:
    return click.ClickException(message)


class InputFile(click.Path):
    """An existing regular file to read: a folder, a device, a named pipe or a socket is refused (exit 2).

    ``click.Path(dir_okay=False)`` lets ``/dev/zero`` or a named pipe through, and reading one would
    never end (or end when memory runs out); this refuses them before anything is read.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(exists=True, dir_okay=False, **kwargs)

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        if not os.path.isfile(path):
            self.fail(f"{os.fsdecode(path)!r} is not a regular file (a device, pipe or socket is not read)", param, ctx)
        return path


class FiniteFloatRange(click.FloatRange):
    """A float within bounds, NaN refused (exit 2).

    NaN compares false with both bounds, so ``click.FloatRange`` lets ``nan`` through to the
    command; infinities it refuses already, as beyond a bound.
    """

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number; give one such as 0.2", param, ctx)
        return number
