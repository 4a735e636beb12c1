"""Login, logout and role checks."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, InputRequired

from ..db import write_transaction
from ..extensions import get_session
from ..limits import text_problem
from ..models import User, utcnow
from ..services.audit import record
from ..services.users import (
    MAX_PASSWORD_CHARS,
    MAX_USERNAME_CHARS,
    check_login,
    claim_login_attempt,
    login_succeeded,
    new_session_token,
)
from .forms import Form

bp = Blueprint("auth", __name__)


class LoginForm(Form):
    """Both fields filled in (a password may be all spaces). No length limit here: a username or
    password longer than any account's is a failed login (401, see _authenticate), not a form error."""

    username = StringField("Username", validators=[DataRequired()], render_kw={"maxlength": MAX_USERNAME_CHARS})
    password = PasswordField("Password", validators=[InputRequired()], render_kw={"maxlength": MAX_PASSWORD_CHARS})


def roles_required(*roles: str):
    """Only logged-in users with one of ``roles``; others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


LOGIN_REFUSED = (
    "Wrong username or password, or the account is locked after too many failed attempts. Try again in a few minutes."
)
LOGIN_INCOMPLETE = "Enter your username and password."


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: where a login may send the browser on.

    Refused: anything with a scheme or a host after ``urlsplit``, a
    protocol-relative ``//host``, backslashes (browsers read a backslash as a
    slash) and control characters or white space anywhere (browsers drop a tab
    or line break between two slashes, which makes ``//host``; CR/LF cannot go
    into a Location header).
    """
    if not target or len(target) > 2048 or not target.startswith("/"):
        return None
    if "\\" in target or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c.isspace() for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.is_submitted():
        if not form.validate():  # a blank field (a missing CSRF token is refused before this view)
            flash(LOGIN_INCOMPLETE, "error")
            return render_template("login.html", form=form), 400
        user = _authenticate(form.username.data.strip(), form.password.data)
        if user is None:
            flash(LOGIN_REFUSED, "error")
            return render_template("login.html", form=form), 401
        login_user(user)
        # A new token for the logged-in session: one seen before login (on a shared machine) is void.
        flask_session.pop("csrf_token", None)
        g.pop("csrf_token", None)
        return redirect(local_path(request.args.get("next")) or url_for("main.index"))
    return render_template("login.html", form=form)


def _authenticate(username: str, password: str) -> User | None:
    """The user if ``password`` is theirs and the account may log in, else None.

    Unknown, inactive, locked and wrong all take one password hash check and
    end in the same answer, so neither the reply nor its time tells them apart.
    The attempt is counted (atomically, see claim_login_attempt) and
    committed before the check. A username longer than any account's is an
    unknown one; a password longer than any account's is a wrong one (checked
    against no account's hash, so it takes the same hash check and is counted).
    """
    session = get_session()
    config = current_app.config
    user = None
    if text_problem(username) is None and text_problem(password) is None and len(username) <= MAX_USERNAME_CHARS:
        write_transaction(session)
        user = claim_login_attempt(
            session, username, utcnow(), int(config["LOGIN_MAX_FAILURES"]), int(config["LOGIN_LOCKOUT_SECONDS"])
        )
        session.commit()
    correct = check_login(user if len(password) <= MAX_PASSWORD_CHARS else None, password)
    if user is None:
        return None
    write_transaction(session)
    if correct:
        login_succeeded(session, user)
    else:
        record(session, user, "login.failure", "user", user.id)
    session.commit()
    return user if correct else None


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    session = get_session()
    user = session.get(User, current_user.id)
    user.session_token = new_session_token()  # every other cookie of this user stops working too
    session.commit()
    logout_user()
    flash("Logged out.", "info")
    return redirect(url_for("auth.login"))
