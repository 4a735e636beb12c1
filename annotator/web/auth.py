"""Login, logout and role checks."""
from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..extensions import get_session
from ..models import User, utcnow
from ..services.audit import record
from ..services.users import check_password, new_session_token

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


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


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        user = session.scalar(select(User).where(User.username == form.username.data.strip()))
        now = utcnow()
        if user is not None and user.locked_until is not None and user.locked_until > now:
            flash("Too many failed attempts: this account is locked for a few minutes. Try again later.", "error")
            return render_template("login.html", form=form), 429
        if user is not None and user.active and check_password(user, form.password.data):
            user.failed_logins = 0
            user.locked_until = None
            session.commit()
            login_user(user)
            target = request.args.get("next", "")
            # Only same-site paths: an open redirect would forward a fresh session elsewhere.
            if not target.startswith("/") or target.startswith("//") or "\\" in target:
                target = url_for("main.index")
            return redirect(target)
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
                user.locked_until = now + timedelta(seconds=current_app.config["LOGIN_LOCKOUT_SECONDS"])
                user.failed_logins = 0
                record(session, user, "lockout", "user", user.id)
            session.commit()
        flash("Wrong username or password.", "error")
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form)


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
