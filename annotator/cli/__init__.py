"""The ``annotator`` command: a click group of the project's commands.

Each command is a thin wrapper: it parses options, calls a service, commits,
and prints a one-line summary; failures exit 1 with a message to act on.
The app is created only when a command runs, and each command imports what
it needs then: ``annotator --help`` loads no database, model or web code.
"""

from __future__ import annotations

import importlib

import click
from flask.cli import ScriptInfo, with_appcontext

AREAS = ("corpus", "users", "exports", "agreement", "incidents", "ops")  # annotator/cli/<area>.py, each with COMMANDS


def _create_app():
    from ..app import create_app

    return create_app(web=False)  # 'annotator demo' serves an app of its own, with the pages


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="annotator", message="annotator %(version)s")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Label incident-report sentences and export spaCy training data.

    The database is ANNOTATOR_DATABASE_URL (any SQLAlchemy URL), by default a
    SQLite file in the instance folder.
    """
    if ctx.obj is None:  # a test runner passes its own app in
        ctx.obj = ScriptInfo(create_app=_create_app, set_debug_flag=False)


def _in_app_context(command: click.Command) -> click.Command:
    """Run the command (and a group's subcommands) inside the app context."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _in_app_context(sub)
    elif command.callback is not None:
        command.callback = with_appcontext(command.callback)
    return command


def _register() -> None:
    for area in AREAS:
        for command in importlib.import_module(f"{__name__}.{area}").COMMANDS:
            main.add_command(_in_app_context(command))


_register()
