"""Extensions created unbound; the factory attaches them with init_app."""

from flask import current_app, g, has_request_context, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to continue."
login_manager.session_protection = "basic"


def get_session() -> Session:
    """The request's database session, opened on first use, closed at teardown."""
    if "db_session" not in g:
        session = current_app.extensions["annotator.sessionmaker"]()
        if has_request_context() and request.method in ("POST", "PUT", "PATCH", "DELETE"):
            from .db import write_transaction

            write_transaction(session)  # a write request takes SQLite's write lock up front
        g.db_session = session
    return g.db_session
