"""Helpers shared by the commands."""
from __future__ import annotations

import click
from flask import current_app

from .. import db as database
from ..extensions import get_session


def session():
    """The command's database session, on a schema brought up to date."""
    ensure_schema()
    return get_session()


def ensure_schema() -> None:
    database.upgrade(current_app.extensions["annotator.engine"])


def fail(message: str) -> click.ClickException:
    return click.ClickException(message)
