"""Admin pages: a project's label scheme. Add, change, rename, reorder, retire and delete labels.

Admins only (others get 403). The forms live on the project's admin page (``templates/_label_scheme.html``);
each posts here, the service (``services/label_scheme``) checks and changes the scheme and writes the
audit event, and this edge commits and goes back to the page with a message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..db import write_transaction
from ..extensions import get_session
from ..labels.kinds import KINDS, kind_of
from ..labels.scheme import MAX_DESCRIPTION_CHARS, MAX_LABEL_NAME_CHARS
from ..models import Project
from ..services import label_scheme
from ..services.label_scheme import LabelChangeError
from ..services.projects import NotFound, get_project
from .auth import roles_required
from .forms import Form

bp = Blueprint("label_admin", __name__, url_prefix="/admin/projects/<project>/labels")

KIND_CHOICES = [SelectChoice(name, f"{name}: {kind.description}") for name, kind in KINDS.items()]
NAME = [DataRequired(message="A label needs a name."), Length(max=MAX_LABEL_NAME_CHARS)]


class LabelFields(Form):
    name = StringField("Name", validators=NAME)
    kind = SelectField("Kind", choices=KIND_CHOICES)
    description = TextAreaField("Description", validators=[Optional(), Length(max=MAX_DESCRIPTION_CHARS)])
    colour = StringField("Colour", validators=[Optional(), Length(max=7)])
    key = StringField("Key", validators=[Optional(), Length(max=1, message="A key is one character.")])

    def label_dict(self) -> dict[str, Any]:
        return {
            "name": self.name.data or "",
            "kind": self.kind.data,
            "description": self.description.data or "",
            "colour": self.colour.data or "",
            "key": self.key.data or "",
        }


class EditLabelForm(LabelFields):
    label = HiddenField(validators=[DataRequired(), Length(max=MAX_LABEL_NAME_CHARS)])


class LabelForm(Form):
    """A change to one label named by ``label``: move, retire, restore, delete."""

    label = HiddenField(validators=[DataRequired(), Length(max=MAX_LABEL_NAME_CHARS)])
    direction = HiddenField(validators=[Optional()])


@bp.app_template_global()
def label_scheme_rows(project: Project) -> list[dict[str, Any]]:
    """The project's labels as the scheme editor shows them: each with its kind and how many spans have it."""
    uses = label_scheme.label_uses(get_session(), project)
    return [
        {**label, "kind": kind_of(label["name"], project.labels), "uses": uses.get(label["name"], 0)}
        for label in project.labels
    ]


@bp.app_template_global()
def label_kind_choices() -> list[tuple[str, str]]:
    return [(choice.value, choice.label) for choice in KIND_CHOICES]


def _project(name: str) -> Project:
    """Start the write transaction and load the project; 404 if there is none."""
    session = get_session()
    write_transaction(session)
    try:
        return get_project(session, name)
    except NotFound:
        abort(404, description=f"There is no project called {name!r}.")


def _back(project: Project, message: str, category: str) -> Response:
    flash(message, category)
    return redirect(url_for("admin.project", project=project.name))  # the message shows at the top of the page


def _refused(project: Project, form: Form) -> Response:
    messages = [
        f"{getattr(form, name).label.text}: {error}" for name, errors in form.errors.items() for error in errors
    ]
    return _back(project, "Labels not changed. " + " ".join(messages or ["The form was incomplete."]), "error")


def _change(project: Project, do: Callable[[], Any], message: Callable[[Any], str]) -> Response:
    """Run the service call ``do()``; commit and say ``message(result)``, or roll back and say why not."""
    session = get_session()
    try:
        result = do()
    except LabelChangeError as exc:
        session.rollback()
        return _back(project, f"Labels not changed: {exc}.", "error")
    session.commit()
    return _back(project, message(result), "success")


@bp.post("")
@roles_required("admin")
def add(project: str):
    row = _project(project)
    form = LabelFields()
    if not form.validate_on_submit():
        return _refused(row, form)
    raw = form.label_dict()
    return _change(
        row,
        lambda: label_scheme.add_label(get_session(), row, raw, current_user),
        lambda label: f"Label {label['name']} added. Annotators can use it from their next page load.",
    )


@bp.post("/edit")
@roles_required("admin")
def edit(project: str):
    row = _project(project)
    form = EditLabelForm()
    if not form.validate_on_submit():
        return _refused(row, form)
    old, raw = form.label.data, form.label_dict()

    def message(label: dict[str, Any]) -> str:
        if label["name"] == old:
            return f"Label {old} saved."
        return f"Label {old} renamed to {label['name']} on every span, gold span and suggestion."

    return _change(row, lambda: label_scheme.edit_label(get_session(), row, old, raw, current_user), message)


@bp.post("/move")
@roles_required("admin")
def move(project: str):
    row = _project(project)
    form = LabelForm()
    if not form.validate_on_submit() or form.direction.data not in ("up", "down"):
        return _back(row, "Labels not changed: say which label to move, up or down.", "error")
    name, step = form.label.data, -1 if form.direction.data == "up" else 1
    return _change(
        row,
        lambda: label_scheme.move_label(get_session(), row, name, step, current_user),
        lambda _: f"Label {name} moved {form.direction.data}.",
    )


@bp.post("/retire")
@roles_required("admin")
def retire(project: str):
    return _set_retired(project, True)


@bp.post("/restore")
@roles_required("admin")
def restore(project: str):
    return _set_retired(project, False)


def _set_retired(project: str, retired: bool) -> Response:
    row = _project(project)
    form = LabelForm()
    if not form.validate_on_submit():
        return _refused(row, form)
    name = form.label.data
    message = (
        f"Label {name} retired: its spans stay, and no new span can take it."
        if retired
        else f"Label {name} is offered again."
    )
    return _change(
        row, lambda: label_scheme.set_retired(get_session(), row, name, retired, current_user), lambda _: message
    )


@bp.post("/delete")
@roles_required("admin")
def delete(project: str):
    row = _project(project)
    form = LabelForm()
    if not form.validate_on_submit():
        return _refused(row, form)
    name = form.label.data
    return _change(
        row,
        lambda: label_scheme.delete_label(get_session(), row, name, current_user),
        lambda _: f"Label {name} deleted.",
    )
