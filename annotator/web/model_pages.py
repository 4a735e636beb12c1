"""Models page: train a project's pipeline in the background, watch it, compare versions, pick the
active one (reviewers and admins)."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, NumberRange, Optional

from ..db import write_transaction
from ..export.gold import POLICIES, check_policy
from ..extensions import get_session
from ..models import Project, User
from ..services import model_versions as versions
from ..services import uncertainty
from ..services.audit import record
from ..services.projects import NotFound, annotator_names, can_work_on, get_project
from .auth import roles_required
from .charts import learning_curve_figure
from .exports import POLICY_CHOICES, TASK_CHOICES, PolicyAnnotatorCheck
from .forms import FiniteDecimalField, Form

bp = Blueprint("models", __name__, url_prefix="/projects/<project>/models")

MODEL_ROLES = ("admin", "reviewer")  # start, cancel and make active: the same people who export
MAX_STEPS = 100_000


class TrainForm(PolicyAnnotatorCheck, Form):
    task = SelectField("Task", choices=TASK_CHOICES, validators=[InputRequired()])
    policy = SelectField("Gold policy", choices=POLICY_CHOICES, validators=[InputRequired()])
    annotator = StringField("Annotator (for that policy)")  # checked by PolicyAnnotatorCheck
    # Decimal bounds: the field's value is a Decimal, and Decimal("0.95") is above the float 0.95.
    dev_fraction = FiniteDecimalField(
        "Dev fraction", default=0.2, places=2, validators=[NumberRange(Decimal("0.05"), Decimal("0.95"))]
    )
    seed = IntegerField("Seed", default=0, validators=[Optional(), NumberRange(0, 2**31 - 1)])
    max_steps = IntegerField("Steps (empty: the config's)", validators=[Optional(), NumberRange(1, MAX_STEPS)])
    curve = BooleanField("Learning curve: also train on 25, 50 and 75 % of the training sentences")


class ActionForm(Form):
    """Cancel and make-active: a button with the CSRF token."""


def _project(name: str) -> Project:
    session = get_session()
    try:
        project = get_project(session, name)
    except NotFound:
        abort(404, description=f"There is no project called {name!r}. Pick one on the projects page.")
    if not can_work_on(session, current_user, project):
        abort(403)
    return project


def _page(project: Project, form: TrainForm, status: int = 200):
    session = get_session()
    listed = versions.list_versions(session, project)
    return (
        render_template(
            "models.html",
            project=project,
            form=form,
            action=ActionForm(),
            versions=[versions.version_dict(v, _usernames(listed)) for v in listed],
            curves={v.number: learning_curve_figure(v.curve) for v in listed if v.curve},
            policies=POLICIES,
            annotators=annotator_names(session, project),
        ),
        status,
    )


def _usernames(listed) -> dict[int, str]:
    ids = {v.started_by for v in listed if v.started_by}
    if not ids:
        return {}
    return {
        user_id: name for user_id, name in get_session().execute(select(User.id, User.username).where(User.id.in_(ids)))
    }


def _settle_lost_runs(project: Project) -> None:
    """A run whose process died shows as failed (a read first: a page view seldom writes)."""
    session = get_session()
    if versions.lost_runs(session, project):
        write_transaction(session)
        versions.settle_lost_runs(session, project)
        session.commit()


def _to_page(project: Project):
    return redirect(url_for("models.index", project=project.name))


@bp.get("")
@roles_required(*MODEL_ROLES)
def index(project: str):
    project_row = _project(project)
    _settle_lost_runs(project_row)
    return _page(project_row, TrainForm())


@bp.post("")
@roles_required(*MODEL_ROLES)
def start(project: str):
    project_row = _project(project)
    form = TrainForm()
    if not form.validate_on_submit():
        return _page(project_row, form, 400)
    policy = form.policy.data
    if POLICIES[policy].argument is not None:
        policy = f"{policy}:{(form.annotator.data or '').strip()}"
    session = get_session()
    try:
        policy = check_policy(policy)
        write_transaction(session)
        version = versions.start_run(
            session,
            project_row,
            current_user,
            current_app.config["MODELS_DIR"],
            task=form.task.data,
            policy=policy,
            dev_fraction=float(form.dev_fraction.data),
            seed=form.seed.data or 0,
            max_steps=form.max_steps.data,
            curve=bool(form.curve.data),
        )
        record(session, current_user, "model.start", "project", project_row.id, version=version.number)
        session.commit()
    except (versions.ModelVersionError, ValueError) as exc:
        session.rollback()
        flash(f"Training did not start: {exc}", "error")
        return _page(project_row, form, 409)
    try:
        versions.launch(version, current_app.config["DATABASE_URL"])
    except OSError as exc:
        write_transaction(session)
        versions.finish_run(session, version.id, error=f"The training process did not start: {exc}")
        session.commit()
        flash(f"Training did not start: {exc}", "error")
        return _to_page(project_row)
    session.commit()  # its pid and host, for a cancel
    flash(f"Training version {version.number} started. This page shows its progress.", "success")
    return _to_page(project_row)


@bp.get("/status.json")
@roles_required(*MODEL_ROLES)
def status(project: str):
    """The versions with their progress and scores, for the page to poll."""
    project_row = _project(project)
    _settle_lost_runs(project_row)
    session = get_session()
    listed = versions.list_versions(session, project_row)
    names = _usernames(listed)
    running = next((v for v in listed if v.status in versions.RUNNING), None)
    active = next((v.number for v in listed if v.active), None)
    return jsonify(
        running=versions.version_dict(running, names) if running else None,
        active=active,
        versions=[versions.version_dict(v, names) for v in listed],
    )


def _version_action(project: str, number: int, action: str, change, done: str):
    """POST handlers' shared steps: check the form, change version ``number`` in a write transaction
    (``change(session, project_row, number)``), audit ``action``, commit; 404 for an unknown version,
    the service's refusal as a flash. Returns the changed version (None when refused) and the redirect."""
    project_row = _project(project)
    if not ActionForm().validate_on_submit():
        abort(400)
    session = get_session()
    write_transaction(session)
    try:
        version = change(session, project_row, number)
    except versions.VersionNotFound:
        abort(404)
    except versions.ModelVersionError as exc:
        session.rollback()
        flash(str(exc), "error")
        return None, _to_page(project_row)
    record(session, current_user, action, "project", project_row.id, version=number)
    session.commit()
    flash(done, "success")
    return version, _to_page(project_row)


@bp.post("/<int:number>/cancel")
@roles_required(*MODEL_ROLES)
def cancel(project: str, number: int):
    version, page = _version_action(
        project, number, "model.cancel", versions.cancel_run, f"Version {number} was cancelled."
    )
    if version is not None:
        versions.stop_process(version)
    return page


@bp.post("/<int:number>/activate")
@roles_required(*MODEL_ROLES)
def activate(project: str, number: int):
    version, page = _version_action(
        project,
        number,
        "model.activate",
        versions.activate,
        f"Version {number} is now active: the labelling page offers its suggestions.",
    )
    if version is not None:  # a queue ordered most informative first is ranked by the new version
        uncertainty.refresh(get_session(), _project(project), current_app.config["DATABASE_URL"])
    return page
