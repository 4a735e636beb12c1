"""The admin's "New project" page: one form for name, language, annotators per sentence, access,
label scheme and guidelines, over ``services.projects.create_project`` (as the CLI and the API).

On the admin blueprint (``web.admin``): admins only. The label scheme is a text box with one
label a line (``labels.scheme.parse_scheme_lines``), filled with the default scheme, so a
fourth label is one more line.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from ..db import write_transaction
from ..extensions import get_session
from ..labels.kinds import KINDS
from ..labels.scheme import (
    COMMAND_KEYS,
    LINE_FORMAT,
    SchemeError,
    default_scheme,
    format_scheme_lines,
    parse_scheme_lines,
)
from ..limits import MAX_GUIDELINE_CHARS
from ..services.projects import ProjectError, create_project, default_guidelines
from .admin import bp
from .auth import roles_required
from .forms import Form
from .inputs import limits
from .project_admin import ANNOTATORS_PER_SENTENCE


class NewProjectForm(Form):
    name = StringField("Name", validators=[DataRequired()])  # the rule: services.projects.create_project
    lang = StringField("Language (spaCy code: en, uk, ru, xx for many)", default="en", validators=[DataRequired()])
    annotators_per_sentence = IntegerField(
        "Annotators per sentence", default=2, validators=[InputRequired(), ANNOTATORS_PER_SENTENCE]
    )
    restricted = BooleanField("Only members may annotate")
    labels = TextAreaField(f"Labels, one a line: {LINE_FORMAT}", validators=[DataRequired(), Length(max=20_000)])
    guidelines = TextAreaField("Guidelines (Markdown)", validators=[DataRequired(), Length(max=MAX_GUIDELINE_CHARS)])


@bp.route("/new-project", methods=["GET", "POST"])
@roles_required("admin")
def new_project():
    """The form that creates a project (``services.projects.create_project``); invalid input shows it again, 400."""
    session = get_session()
    form = NewProjectForm()
    if not form.is_submitted():
        form.labels.data = format_scheme_lines(default_scheme())
        form.guidelines.data = default_guidelines()
    elif form.validate():
        try:
            labels = parse_scheme_lines(form.labels.data)
        except SchemeError as exc:
            form.labels.errors.append(f"{exc}.")
        else:
            write_transaction(session)
            try:
                row = create_project(
                    session,
                    form.name.data,
                    lang=form.lang.data.strip(),
                    annotators_per_sentence=form.annotators_per_sentence.data,
                    restricted=form.restricted.data,
                    labels=labels,
                    guidelines=form.guidelines.data,
                    created_by=current_user,
                    limits=limits(),
                )
            except ProjectError as exc:
                session.rollback()
                getattr(form, exc.field, form.name).errors.append(f"{exc.message[:1].upper()}{exc.message[1:]}.")
            else:
                session.commit()
                flash(f"Created project {row.name}. Import its reports below.", "success")
                return redirect(url_for("admin.project", project=row.name))
    context = {
        "form": form,
        "kinds": KINDS.values(),
        "taken_keys": " ".join(sorted(k for k in COMMAND_KEYS if k.isalpha())),
    }
    return render_template("admin_new_project.html", **context), 400 if form.errors else 200
