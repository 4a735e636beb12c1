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


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_command(as_json: bool) -> None:
    """List the accounts: name, role, active or deactivated, whether an API token is set, locked until when."""
    import json

    from sqlalchemy import select

    from ..models import User, utcnow
    from ..services.annotations import iso

    db = session()
    now = utcnow()
    rows = [
        {
            "username": user.username,
            "role": user.role,
            "active": user.active,
            "api_token": user.api_token_hash is not None,
            "locked_until": iso(user.locked_until)
            if user.locked_until is not None and user.locked_until > now
            else None,
            "created_at": iso(user.created_at),
        }
        for user in db.scalars(select(User).order_by(User.username))
    ]
    db.rollback()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No accounts yet: annotator users add NAME --role ROLE.")
    for row in rows:
        notes = [] if row["active"] else ["deactivated"]
        notes += ["API token"] if row["api_token"] else []
        notes += [f"locked until {row['locked_until']}"] if row["locked_until"] else []
        click.echo(f"{row['username']} ({row['role']})" + (f": {', '.join(notes)}" if notes else ""))


COMMANDS = [users]
