"""Users: creation, passwords, API tokens."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import and_, bindparam, case, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import ROLES, User
from .projects import NotFound


class UserError(ValueError):
    """A user that cannot be created or changed as asked."""


def new_session_token() -> str:
    return secrets.token_hex(32)


MAX_USERNAME_CHARS = 80
MIN_PASSWORD_CHARS, MAX_PASSWORD_CHARS = 8, 1024  # the web forms' bounds too (web.admin)


def username_problem(username: str) -> str | None:
    """Why ``username`` (stripped) cannot name a new account, or None.

    1 to 80 characters, none a control character (NUL, a line break, ...) or an
    unpaired surrogate (what Python makes of a byte that is not UTF-8 in a
    command-line argument), which no database stores as text, nor an invisible
    one with which a name could pass for another on the review pages: a line or
    paragraph separator, or a format character (a zero-width space, a
    right-to-left override) other than the zero-width joiner and non-joiner,
    which names in Persian or Indic scripts need.
    """
    problem = _storable_problem(username)
    if problem is not None:
        return problem
    bad = next((c for c in username if _invisible(c)), None)
    if bad is not None:
        return (
            f"a username cannot hold the character U+{ord(bad):04X} "
            "(no control, format or line-separator characters, no unpaired surrogates)"
        )
    return None


def _storable_problem(username: str) -> str | None:
    """Why no account can be called ``username``, stored or new (a surrogate is no query parameter)."""
    if not username or len(username) > MAX_USERNAME_CHARS:
        return f"a username is 1 to {MAX_USERNAME_CHARS} characters"
    bad = next((c for c in username if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        return f"a username cannot hold the character U+{ord(bad):04X} (no control characters or unpaired surrogates)"
    return None


_JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner: parts of words in some scripts


def _invisible(c: str) -> bool:
    category = unicodedata.category(c)
    return category in ("Zl", "Zp") or (category == "Cf" and c not in _JOINERS)


def _twin_key(username: str) -> str:
    """What two names that pass for one another share: compatibility forms (full-width letters), case
    (Unicode case folding, ß and SS alike) and invisible characters aside."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
    return "".join(c for c in folded if unicodedata.category(c) != "Cf")


def _twin(session: Session, username: str) -> User | None:
    """The account whose name passes for ``username`` (:func:`_twin_key`), if any.

    Compared in Python over every name, the same on every backend (SQLite's lower() folds
    ASCII only); a deployment's accounts are few.
    """
    key = _twin_key(username)
    found = next((name for name in session.scalars(select(User.username)) if _twin_key(name) == key), None)
    return None if found is None else session.scalar(select(User).where(User.username == found))


def get_user(session: Session, username: str) -> User:
    if _storable_problem(username) is not None:  # no account has it: not looked up
        raise NotFound(f"no user named {username!r}")
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def create_user(session: Session, username: str, role: str, password: str | None) -> User:
    """A new user; ``password`` None makes an account that cannot log in yet."""
    username = username.strip()
    problem = username_problem(username)
    if problem is not None:
        raise UserError(problem)
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} exists already")
    twin = _twin(session, username)  # names that pass for one another on the review pages
    if twin is not None:
        raise UserError(
            f"user {twin.username!r} exists already, and {username!r} differs from it only in case, "
            "width or invisible characters"
        )
    user = User(username=username, role=role, session_token=new_session_token())
    if password is not None:
        set_password(user, password)
    session.add(user)
    session.flush()
    return user


def get_or_create_annotator(session: Session, username: str) -> User:
    """The account called ``username``, or the one whose name differs from it only in case, width or
    invisible characters (``Bob`` in a file is the account ``bob``); a new annotator if none;
    UserError for a name no account can have."""
    username = username.strip()  # as create_user stores it
    problem = _storable_problem(username)
    if problem is not None:
        raise UserError(problem)
    user = session.scalar(select(User).where(User.username == username)) or _twin(session, username)
    return user if user is not None else create_user(session, username, "annotator", None)


def set_password(user: User, password: str) -> None:
    """A new password: every session of the user ends and their API token stops working."""
    set_password_hash(user, hash_password(password))


def hash_password(password: str) -> str:
    """What is stored of a new password; UserError for a length outside the bounds.

    The hash takes a few tenths of a second of CPU and releases the GIL meanwhile,
    so several can be made at once in threads (``annotator demo`` does).
    """
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise UserError(f"a password is {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS:,} characters")
    return generate_password_hash(password)


def set_password_hash(user: User, password_hash: str) -> None:
    """``set_password`` with the password already hashed by ``hash_password``."""
    user.password_hash = password_hash
    user.session_token = new_session_token()
    user.api_token_hash = None  # a reset after a leak must not leave the token that leaked with it


def check_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random password, made once, with the method real passwords use."""
    return generate_password_hash(secrets.token_hex(16))


def claim_login_attempt(
    session: Session, username: str, now: datetime, max_failures: int, lockout_seconds: int
) -> User | None:
    """Count one login attempt against ``username`` before its password is checked; never commits.

    One atomic UPDATE adds 1 to the user's failure count, unless the account
    is locked; the attempt that brings the count to ``max_failures`` locks the
    account for ``lockout_seconds`` (and starts the count again). Of any number
    of concurrent attempts at most ``max_failures`` are claimed per lockout
    period, so at most that many passwords are checked. Returns the user when
    the attempt may check the password, None for an unknown, inactive or
    locked account (the caller still checks a password, see
    :func:`check_login`). The caller commits before checking the password,
    so that the claim holds no lock while the hash is computed.
    """
    reaches = User.failed_logins + 1 >= max_failures
    claimed = session.execute(
        update(User)
        .where(
            User.username == username,
            User.active.is_(True),
            User.password_hash.is_not(None),
            or_(User.locked_until.is_(None), User.locked_until <= now),
        )
        .values(
            failed_logins=case((reaches, 0), else_=User.failed_logins + 1),
            locked_until=case((reaches, now + timedelta(seconds=lockout_seconds)), else_=None),
        )
        .returning(User.id, User.locked_until)
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        return None
    user = session.get(User, claimed.id, populate_existing=True)
    if claimed.locked_until is not None:
        from .audit import record

        record(session, user, "lockout", "user", user.id)
    return user


def check_login(user: User | None, password: str) -> bool:
    """The password check of a login; as slow for a user that may not log in as for one that may."""
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(user.password_hash, password)


def login_succeeded(session: Session, user: User) -> None:
    """A correct password: the failure count and any lock its own claim set are cleared; never commits."""
    session.execute(
        update(User)
        .where(and_(User.id == user.id))
        .values(failed_logins=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_api_token(user: User) -> str:
    """A new personal API token; only its digest is stored, the old one stops working."""
    token = secrets.token_urlsafe(32)
    user.api_token_hash = _token_digest(token)
    return token


_BY_TOKEN = select(User).where(User.api_token_hash == bindparam("digest"))  # built once: every API request runs it


def user_for_token(session: Session, token: str) -> User | None:
    user = session.scalar(_BY_TOKEN, {"digest": _token_digest(token)})
    return user if user is not None and user.active else None
