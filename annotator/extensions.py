"""Extensions created unbound; the factory attaches them with init_app."""

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g, has_request_context, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to continue."
login_manager.session_protection = "basic"


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
View = TypeVar("View", bound=Callable)


def writes_on_get(view: View) -> View:
    """Mark a GET view that writes (the queue's claim): its requests take the write lock as writes do.

    On SQLite this saves the read transaction (BEGIN, COMMIT) that the login's user lookup would
    otherwise open before the view's own ``BEGIN IMMEDIATE``.
    """
    setattr(view, "writes_on_get", True)  # noqa: B010 - a function attribute mypy would refuse
    return view


def _writes(req) -> bool:
    if req.method in WRITE_METHODS:
        return True
    view = current_app.view_functions.get(req.endpoint) if req.endpoint else None
    return getattr(view, "writes_on_get", False)


def get_session() -> Session:
    """The request's database session, opened on first use, closed at teardown."""
    if "db_session" not in g:
        session = current_app.extensions["annotator.sessionmaker"]()
        if has_request_context() and _writes(request):
            from .db import write_transaction

            write_transaction(session)  # a write request takes SQLite's write lock up front
        g.db_session = session
    return g.db_session
