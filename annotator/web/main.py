"""The home page: the projects a user can work on, with progress."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import get_session
from ..models import Project
from ..services.projects import can_work_on, project_status

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def index():
    session = get_session()
    projects = [
        p for p in session.scalars(select(Project).order_by(Project.name)) if can_work_on(session, current_user, p)
    ]
    return render_template("index.html", projects=[(p, project_status(session, p.name)) for p in projects])


@bp.route("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.route("/healthz")
def healthz():
    return {"ok": True}
