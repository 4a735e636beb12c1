"""Admin pages: user accounts, and the blueprint and helpers the project pages share
(``web.project_admin``, ``web.label_admin``).

Admins only (others get 403). Every change writes an AuditEvent and commits
here; the services do the work.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..db import write_transaction
from ..extensions import get_session
from ..models import ROLES, User
from ..services.audit import record
from ..services.users import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, UserError, create_user, set_password
from .auth import roles_required
from .forms import Form

bp = Blueprint("admin", __name__, url_prefix="/admin")

PASSWORD_LENGTH = Length(
    min=MIN_PASSWORD_CHARS,
    max=MAX_PASSWORD_CHARS,
    message=f"A password is {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS:,} characters.",
)


# --- Forms ----------------------------------------------------------------------


class CreateUserForm(Form):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    role = SelectField("Role", choices=list(ROLES), default="annotator")
    password = PasswordField("Password", validators=[DataRequired(), PASSWORD_LENGTH])


class RoleForm(Form):
    role = SelectField("Role", choices=list(ROLES))


class ActiveForm(Form):
    active = BooleanField("Active")


class PasswordForm(Form):
    password = PasswordField("New password", validators=[DataRequired(), PASSWORD_LENGTH])


def audit(action: str, entity: str, entity_id: int | None, **detail) -> None:
    record(get_session(), current_user, action, entity, entity_id, **detail)


def go_back(to: str, message: str, category: str) -> Response:
    flash(message, category)
    return redirect(to)


def done(to: str, message: str, action: str, entity: str, entity_id: int | None, /, **detail) -> Response:
    """Write the audit event for a change, commit it, and go back to ``to`` saying ``message``."""
    audit(action, entity, entity_id, **detail)
    get_session().commit()
    return go_back(to, message, "success")


# --- Users ----------------------------------------------------------------------


@bp.route("/users", methods=["GET", "POST"])
@roles_required("admin")
def users():
    session = get_session()
    form = CreateUserForm()
    if form.validate_on_submit():
        write_transaction(session)
        try:
            user = create_user(session, form.username.data, form.role.data, form.password.data)
        except UserError as exc:
            session.rollback()
            form.username.errors.append(str(exc))
        else:
            return done(
                url_for("admin.users"),
                f"Created {user.role} {user.username}.",
                "user.create",
                "user",
                user.id,
                username=user.username,
                role=user.role,
            )
    listed = session.scalars(select(User).order_by(User.username)).all()
    status = 400 if form.errors else 200
    return render_template("admin_users.html", form=form, users=listed, roles=ROLES), status


def _user_to_change(user_id: int) -> User:
    """Start the write transaction and load the user; 404 if there is none."""
    session = get_session()
    write_transaction(session)
    user = session.get(User, user_id)
    if user is None:
        abort(404, description=f"There is no user {user_id}.")
    return user


@bp.post("/users/<int:user_id>/role")
@roles_required("admin")
def change_role(user_id: int):
    user = _user_to_change(user_id)
    form = RoleForm()
    back = url_for("admin.users")
    if not form.validate_on_submit():
        return go_back(back, "Pick one of the roles.", "error")
    if user.id == current_user.id and form.role.data != "admin":
        return go_back(back, "You cannot take away your own admin role; ask another admin.", "error")
    if form.role.data == user.role:
        return redirect(back)
    old, user.role = user.role, form.role.data
    return done(back, f"{user.username} is now {user.role}.", "user.role", "user", user.id, old=old, new=user.role)


@bp.post("/users/<int:user_id>/active")
@roles_required("admin")
def set_active(user_id: int):
    user = _user_to_change(user_id)
    form = ActiveForm()
    back = url_for("admin.users")
    if not form.validate_on_submit():
        abort(400)
    if user.id == current_user.id and not form.active.data:
        return go_back(back, "You cannot deactivate yourself; ask another admin.", "error")
    if user.active == form.active.data:
        return redirect(back)
    user.active = form.active.data
    action, state = ("user.activate", "active") if user.active else ("user.deactivate", "deactivated")
    return done(back, f"{user.username} is {state}.", action, "user", user.id, username=user.username)


@bp.post("/users/<int:user_id>/password")
@roles_required("admin")
def reset_password(user_id: int):
    user = _user_to_change(user_id)
    form = PasswordForm()
    back = url_for("admin.users")
    if not form.validate_on_submit():
        return go_back(
            back,
            f"{user.username}'s password was not changed: a password is {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS:,} "
            "characters.",
            "error",
        )
    set_password(user, form.password.data)  # also rotates the session token: old logins end
    user.failed_logins, user.locked_until = 0, None
    return done(
        back,
        f"New password set for {user.username}; their other sessions were logged out.",
        "user.password",
        "user",
        user.id,
        username=user.username,
    )
