"""Users: creation, passwords, API tokens."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import ROLES, User
from .projects import NotFound


class UserError(ValueError):
    """A user that cannot be created or changed as asked."""


def new_session_token() -> str:
    return secrets.token_hex(32)


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def create_user(session: Session, username: str, role: str, password: str | None) -> User:
    """A new user; ``password`` None makes an account that cannot log in yet."""
    username = username.strip()
    if not username or len(username) > 80:
        raise UserError("a username is 1 to 80 characters")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} exists already")
    user = User(username=username, role=role, session_token=new_session_token())
    if password is not None:
        set_password(user, password)
    session.add(user)
    session.flush()
    return user


def get_or_create_annotator(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    return user if user is not None else create_user(session, username, "annotator", None)


def set_password(user: User, password: str) -> None:
    if len(password) < 8:
        raise UserError("a password is at least 8 characters")
    user.password_hash = generate_password_hash(password)
    user.session_token = new_session_token()


def check_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_api_token(user: User) -> str:
    """A new personal API token; only its digest is stored, the old one stops working."""
    token = secrets.token_urlsafe(32)
    user.api_token_hash = _token_digest(token)
    return token


def user_for_token(session: Session, token: str) -> User | None:
    user = session.scalar(select(User).where(User.api_token_hash == _token_digest(token)))
    return user if user is not None and user.active else None
