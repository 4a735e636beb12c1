"""``annotator users``: accounts and API tokens."""

from __future__ import annotations

import sys

import click

from .common import fail, session


@click.group("users")
def users() -> None:
    """Manage accounts."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "reviewer", "annotator"]), default="annotator", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
def add(name: str, role: str, password_stdin: bool) -> None:
    """Create user NAME with ROLE."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    from ..services.audit import record_command
    from ..services.users import UserError, create_user

    db = session(write=True)
    try:
        user = create_user(db, name, role, password)
    except UserError as exc:
        raise fail(str(exc)) from None
    record_command(db, "user.create", "user", user.id, username=user.username, role=user.role)
    db.commit()
    click.echo(f"Created {role} {name}.")


@users.command("token")
@click.argument("name")
def token(name: str) -> None:
    """Print a new personal API token for NAME (the old one stops working).

    Send it as 'Authorization: Bearer TOKEN'.
    """
    from ..services.audit import record_command
    from ..services.projects import NotFound
    from ..services.users import get_user, issue_api_token

    db = session(write=True)
    try:
        user = get_user(db, name)
    except NotFound as exc:
        raise fail(str(exc)) from None
    value = issue_api_token(user)
    record_command(db, "user.token", "user", user.id, username=user.username)
    db.commit()
    click.echo(value)


COMMANDS = [users]
