"""Admin pages of a project: its settings, members, guidelines, vocabularies and uploads.

On the admin blueprint (``web.admin``): admins only, others get 403. Every change writes an
AuditEvent and commits here; the services do the work.
"""

from __future__ import annotations

import json
import unicodedata
from functools import wraps
from pathlib import PurePosixPath

from flask import abort, current_app, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf.file import MultipleFileField
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..corpus.formats import accept, extensions_or, extensions_text
from ..corpus.parse import CorpusError, parse_files
from ..db import write_transaction
from ..extensions import get_session
from ..labels.normalise import OutcomeVocabulary, VocabularyError
from ..limits import MAX_ANNOTATORS_PER_SENTENCE, MAX_GUIDELINE_CHARS, LimitExceeded, parse_json, strings_problem
from ..models import QUEUE_ORDERS, ROUTINGS, GazetteerEntry, Project, ProjectMember, User
from ..services import uncertainty
from ..services.corpus import import_reports
from ..services.projects import (
    NotFound,
    add_guideline_version,
    current_guideline,
    get_project,
    project_staffing_problem,
)
from ..services.suggestions import build_gazetteer
from ..services.users import UserError, username_problem
from .admin import bp, done, go_back
from .auth import roles_required
from .forms import Form
from .inputs import limits

ROUTING_CHOICES = [
    SelectChoice("none", "No routing"),
    SelectChoice("extra_annotator", "Ask one more annotator when annotators disagree"),
    SelectChoice("review", "Send disagreements to review"),
]
assert {choice.value for choice in ROUTING_CHOICES} == set(ROUTINGS)
QUEUE_ORDER_CHOICES = [
    SelectChoice("report", "Report order"),
    SelectChoice("uncertain", "Most informative first (the active model's least certain sentences)"),
]
assert {choice.value for choice in QUEUE_ORDER_CHOICES} == set(QUEUE_ORDERS)
QUEUE_ORDER_PROBLEM = "Choose the queue order: report (report order) or uncertain (most informative first)."


def _queue_order_check(form: Form, field: SelectField) -> None:
    if field.data is not None and field.data not in QUEUE_ORDERS:  # left out: unchanged
        raise ValidationError(QUEUE_ORDER_PROBLEM)


# --- Forms ----------------------------------------------------------------------


ANNOTATORS_PER_SENTENCE = NumberRange(
    1, MAX_ANNOTATORS_PER_SENTENCE, message=f"Ask for 1 to {MAX_ANNOTATORS_PER_SENTENCE} annotators per sentence."
)


class SettingsForm(Form):
    annotators_per_sentence = IntegerField(
        "Annotators per sentence",
        validators=[InputRequired(), ANNOTATORS_PER_SENTENCE],
    )
    routing = SelectField("When annotators disagree", choices=ROUTING_CHOICES)
    restricted = BooleanField("Only members may annotate")
    suggestion_min_score = FloatField(
        "Hide model suggestions less confident than (0 to 1)",
        validators=[Optional(), NumberRange(0, 1, message="Give a confidence from 0 (show all) to 1.")],
    )
    queue_order = SelectField(
        "Serve sentences in",
        choices=QUEUE_ORDER_CHOICES,
        default=None,
        validate_choice=False,
        validators=[_queue_order_check],
    )


class MemberForm(Form):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])


class GuidelineForm(Form):
    text = TextAreaField("Guidelines (Markdown)", validators=[DataRequired(), Length(max=MAX_GUIDELINE_CHARS)])


class GazetteerForm(Form):
    canonical = StringField("Canonical name", validators=[DataRequired(), Length(max=200)])
    aliases = StringField("Aliases, comma separated", validators=[Optional(), Length(max=4000)])


class OutcomesForm(Form):
    vocabulary = TextAreaField(
        "Outcome vocabulary (JSON; empty restores the shipped one)", validators=[Length(max=200_000)]
    )


# What becomes of the spans a file carries (Prodigy, doccano, Label Studio, CoNLL files): as `annotator import`
# takes them, with --as-suggestions or --as-annotator NAME.
SPANS_AS = [
    SelectChoice("annotations", "annotations of the annotators the file names"),
    SelectChoice("suggestions", "suggestions, offered on the labelling page (no annotation)"),
    SelectChoice("annotator", "annotations of the annotator named here, where the file names none"),
]


class UploadForm(Form):
    files = MultipleFileField(f"Report files ({extensions_text()})")
    spans_as = SelectField("Spans in the files become", choices=SPANS_AS, default="annotations")
    annotator = StringField("Annotator (for that choice)")

    def validate_annotator(self, field) -> None:
        if self.spans_as.data != "annotator":
            return
        name = (field.data or "").strip()
        problem = username_problem(name) if name else "name the annotator of the spans that name none"
        if problem is not None:
            raise ValidationError(problem)


# --- Project settings -----------------------------------------------------------


def _project_or_404(name: str) -> Project:
    try:
        return get_project(get_session(), name)
    except NotFound:
        abort(404, description=f"There is no project called {name!r}.")


def _project_to_change(name: str) -> Project:
    """Start the write transaction and load the project; 404 if there is none."""
    write_transaction(get_session())
    return _project_or_404(name)


def _project_form(form_class: type[Form], key: str):
    """For a view that changes a project through one posted form.

    Starts the write transaction, loads the project (404 if none) and validates the
    form; an invalid form shows the project page again with its errors (400), as the
    ``key`` form. The view is called as ``view(session, row, form)``.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(project: str):
            row = _project_to_change(project)
            form = form_class()
            if not form.validate_on_submit():
                return _render_project(row, 400, **{key: form})
            return view(get_session(), row, form)

        return wrapped

    return decorator


def _outcomes_text(project: Project) -> str:
    """The vocabulary as the form shows it, non-ASCII letters as themselves.

    A NUL or an unpaired surrogate stored before they were refused is shown as its ``\\u`` escape,
    so that the page still renders and the admin can see and remove it.
    """
    entries = project.outcomes or [e.to_dict() for e in OutcomeVocabulary.default().entries]
    return json.dumps(entries, indent=2, ensure_ascii=strings_problem(entries) is not None)


def _render_project(project: Project, status: int = 200, upload_errors: list[str] | None = None, **forms):
    session = get_session()
    guideline = current_guideline(session, project)
    defaults = {
        "settings": lambda: SettingsForm(formdata=None, obj=project),
        "member": lambda: MemberForm(formdata=None),
        "guideline": lambda: GuidelineForm(formdata=None, text=guideline.text if guideline else ""),
        "gazetteer": lambda: GazetteerForm(formdata=None),
        "outcomes": lambda: OutcomesForm(formdata=None, vocabulary=_outcomes_text(project)),
        "upload": lambda: UploadForm(formdata=None),
    }
    built = {name: forms.get(name) or make() for name, make in defaults.items()}
    members = session.scalars(
        select(User)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(ProjectMember.project_id == project.id)
        .order_by(User.username)
    ).all()
    context = {
        "project": project,
        "staffing_warning": project_staffing_problem(session, project),
        "guideline": guideline,
        "members": members,
        "gazetteer": session.scalars(
            select(GazetteerEntry).where(GazetteerEntry.project_id == project.id).order_by(GazetteerEntry.canonical)
        ).all(),
        "upload_errors": upload_errors or [],
        "formats": extensions_text(),
        "accept": accept(),
        "remove_form": MemberForm(formdata=None),
        **{f"{name}_form": form for name, form in built.items()},
    }
    return render_template("admin_project.html", **context), status


def _to_project(row: Project) -> str:
    return url_for("admin.project", project=row.name)


@bp.get("/projects/<project>")
@roles_required("admin")
def project(project: str):
    return _render_project(_project_or_404(project))


def _settings_of(row: Project) -> dict:
    return {
        "annotators_per_sentence": row.annotators_per_sentence,
        "routing": row.routing,
        "restricted": row.restricted,
        "suggestion_min_score": row.suggestion_min_score,
        "queue_order": row.queue_order,
    }


@bp.post("/projects/<project>/settings")
@roles_required("admin")
@_project_form(SettingsForm, "settings")
def project_settings(session: Session, row: Project, form: SettingsForm):
    old = _settings_of(row)
    row.annotators_per_sentence, row.routing, row.restricted = (
        form.annotators_per_sentence.data,
        form.routing.data,
        form.restricted.data,
    )
    if form.suggestion_min_score.data is not None:  # left out: unchanged
        row.suggestion_min_score = form.suggestion_min_score.data
    if form.queue_order.data is not None:
        row.queue_order = form.queue_order.data
    page = done(
        _to_project(row), "Settings saved.", "project.settings", "project", row.id, old=old, new=_settings_of(row)
    )
    if row.queue_order != old["queue_order"]:  # most informative first needs the active version's scores
        uncertainty.refresh(session, row, current_app.config["DATABASE_URL"])
    return page


@bp.post("/projects/<project>/members")
@roles_required("admin")
@_project_form(MemberForm, "member")
def add_member(session: Session, row: Project, form: MemberForm):
    user = session.scalar(select(User).where(User.username == form.username.data.strip()))
    if user is None:
        form.username.errors.append(f"There is no user {form.username.data.strip()!r}; create the account first.")
        return _render_project(row, 400, member=form)
    message = f"{user.username} is a member of {row.name}."
    if session.get(ProjectMember, (row.id, user.id)) is not None:
        return go_back(_to_project(row), message, "success")
    session.add(ProjectMember(project_id=row.id, user_id=user.id))
    return done(_to_project(row), message, "project.member_add", "project", row.id, username=user.username)


@bp.post("/projects/<project>/members/<int:user_id>/remove")
@roles_required("admin")
def remove_member(project: str, user_id: int):
    session = get_session()
    row = _project_to_change(project)
    member = session.get(ProjectMember, (row.id, user_id))
    if member is None:
        return redirect(_to_project(row))
    user = session.get(User, user_id)
    session.delete(member)
    return done(
        _to_project(row),
        f"{user.username if user else 'The user'} is no longer a member.",
        "project.member_remove",
        "project",
        row.id,
        username=user.username if user else None,
    )


@bp.post("/projects/<project>/guidelines")
@roles_required("admin")
@_project_form(GuidelineForm, "guideline")
def save_guidelines(session: Session, row: Project, form: GuidelineForm):
    latest = current_guideline(session, row)
    if latest is not None and latest.text == form.text.data:
        return go_back(_to_project(row), f"No change: the guidelines stay at version {latest.version}.", "info")
    guideline = add_guideline_version(session, row, form.text.data, current_user)
    return done(
        _to_project(row),
        f"Saved guidelines version {guideline.version}.",
        "guideline.add",
        "guideline",
        guideline.id,
        project=row.name,
        version=guideline.version,
    )


@bp.post("/projects/<project>/gazetteer")
@roles_required("admin")
@_project_form(GazetteerForm, "gazetteer")
def add_gazetteer_entry(session: Session, row: Project, form: GazetteerForm):
    canonical = form.canonical.data.strip()
    aliases = list(dict.fromkeys(a.strip() for a in (form.aliases.data or "").split(",") if a.strip()))
    existing = session.execute(
        select(GazetteerEntry.canonical, GazetteerEntry.aliases)
        .where(GazetteerEntry.project_id == row.id)
        .order_by(GazetteerEntry.id)
    ).all()
    if any(c == canonical for c, _ in existing):
        form.canonical.errors.append(f"{canonical!r} is in this project's gazetteer already.")
        return _render_project(row, 400, gazetteer=form)
    try:
        build_gazetteer((*((c, tuple(a or ())) for c, a in existing), (canonical, tuple(aliases))))
    except VocabularyError as exc:
        form.aliases.errors.append(f"{exc}. Use a different name or alias.")
        return _render_project(row, 400, gazetteer=form)
    entry = GazetteerEntry(project_id=row.id, canonical=canonical, aliases=aliases)
    session.add(entry)
    session.flush()
    return done(
        _to_project(row),
        f"Added {canonical} to the gazetteer.",
        "gazetteer.add",
        "gazetteer_entry",
        entry.id,
        project=row.name,
        canonical=canonical,
        aliases=aliases,
    )


def _outcome_entries(text: str) -> list[dict] | None:
    """The outcome vocabulary in ``text`` (JSON) as stored; None for empty text (the shipped one).

    Raises VocabularyError with a message to show under the field.
    """
    if not text:
        return None
    try:
        data = parse_json(text, limits().max_json_depth)
    except json.JSONDecodeError as exc:
        raise VocabularyError(f"Not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except LimitExceeded as exc:
        raise VocabularyError(exc.message) from exc
    except ValueError as exc:  # NonFiniteNumber: NaN, Infinity, a float out of range, an integer too long
        raise VocabularyError(f"Not valid JSON: {exc}") from exc
    if not isinstance(data, list) or not data:
        raise VocabularyError("the vocabulary is a non-empty JSON list of {category, description, phrases} objects")
    return [e.to_dict() for e in OutcomeVocabulary(data).entries]


@bp.post("/projects/<project>/outcomes")
@roles_required("admin")
@_project_form(OutcomesForm, "outcomes")
def save_outcomes(session: Session, row: Project, form: OutcomesForm):
    try:
        entries = _outcome_entries((form.vocabulary.data or "").strip())
    except VocabularyError as exc:
        form.vocabulary.errors.append(f"{exc}.")
        return _render_project(row, 400, outcomes=form)
    old, row.outcomes = row.outcomes, entries
    message = "Outcome vocabulary saved." if entries else "Outcome vocabulary reset to the shipped one."
    return done(_to_project(row), message, "outcomes.update", "project", row.id, old=old, new=entries)


def _display_name(filename: str | None) -> str:
    """The base name a browser sent, for messages and the reports' source only: never used as a path.

    A control character or an unpaired surrogate in it (no file system makes them, a hand-made
    request can) becomes U+FFFD, so that the name never stands in the way of importing the file.
    """
    name = PurePosixPath((filename or "").replace("\\", "/")).name or "(unnamed file)"
    return "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cs") else c for c in name)


@bp.post("/projects/<project>/upload")
@roles_required("admin")
def upload(project: str):
    session = get_session()
    row = _project_or_404(project)
    form = UploadForm()
    uploads = [f for f in (form.files.data or []) if f and f.filename]
    if not form.validate_on_submit():
        problems = [f"{form[name].label.text}: {'; '.join(errors)}." for name, errors in form.errors.items()]
        return _render_project(row, 400, upload_errors=problems or [f"Choose at least one {extensions_or()} file."])
    if not uploads:
        return _render_project(row, 400, upload_errors=[f"Choose at least one {extensions_or()} file."])
    as_suggestions = form.spans_as.data == "suggestions"
    as_annotator = (form.annotator.data or "").strip() if form.spans_as.data == "annotator" else None
    files = [(_display_name(f.filename), f.read()) for f in uploads]
    bounds = limits()
    parsed, errors = parse_files(files, bounds)
    if errors:
        shown = [f"{e}. Nothing was imported." for e in errors[: bounds.max_listed_problems]]
        if len(errors) > len(shown):
            shown.append(f"And {len(errors) - len(shown)} more files with errors.")
        return _render_project(row, 400, upload_errors=shown)
    row = _project_to_change(project)  # starting the write ends the read transaction: load the project again
    try:
        summaries = [
            import_reports(
                session, row, name, reports, as_annotator=as_annotator, as_suggestions=as_suggestions, limits=bounds
            )
            for name, reports in parsed
        ]
    except (CorpusError, UserError) as exc:
        session.rollback()
        return _render_project(row, 400, upload_errors=[f"{exc}. Nothing was imported."])
    total = summaries[0]
    for summary in summaries[1:]:
        total.add(summary)
    return done(
        _to_project(row),
        f"Imported {', '.join(name for name, _ in parsed)}: {total}.",
        "corpus.import",
        "project",
        row.id,
        files=[name for name, _ in parsed],
        summary=str(total),
    )
