"""The ``annotator`` command: Flask's CLI group plus the project's commands.

Each command is a thin wrapper: it parses options, calls a service, commits,
and prints a one-line summary; failures exit 1 with a message to act on.
"""
from __future__ import annotations

import click
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from ..app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Label incident-report sentences and export spaCy training data.

    The database is ANNOTATOR_DATABASE_URL (any SQLAlchemy URL), by default a
    SQLite file in the instance folder.
    """


def _in_app_context(command: click.Command) -> click.Command:
    """Run the command (and a group's subcommands) inside the app context."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _in_app_context(sub)
    elif command.callback is not None:
        command.callback = with_appcontext(command.callback)
    return command


def _register() -> None:
    import importlib

    for name in ("corpus", "users", "exports", "agreement", "ops"):
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue  # an area without commands
        for command in module.COMMANDS:
            main.add_command(_in_app_context(command))


_register()
