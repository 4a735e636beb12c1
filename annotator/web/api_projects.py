"""The project routes of the JSON API: ``GET /api/projects`` (the projects the caller may work on,
with their progress) and ``POST /api/projects`` (admins create one).

On the ``api`` blueprint (``web.api``), with its login check and error shape; documented in
``annotator.web.openapi``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..db import write_transaction
from ..extensions import get_session
from ..limits import is_int
from ..models import Project
from ..services import queue
from ..services.projects import ProjectError, can_work_on, create_project
from .api import ApiError, bp, project_dict
from .inputs import json_object, limits

PROJECT_FIELDS = {
    "name": (str,),
    "lang": (str,),
    "annotators_per_sentence": (int,),
    "restricted": (bool,),
    "labels": (list,),
    "guidelines": (str,),
    "queue_order": (str,),
}
PROJECT_SHAPE = '{"name", "lang"?, "annotators_per_sentence"?, "restricted"?, "labels"?, "guidelines"?, "queue_order"?}'


def listed_project(project: Project) -> dict[str, Any]:
    """A project as ``GET /api/projects`` lists it: its settings and labels, and the caller's progress."""
    session = get_session()
    return {
        **project_dict(project),
        "progress": queue.progress(session, project, current_user, current_app.config["PROGRESS_MAX_AGE"]),
    }


@bp.get("/projects")
def projects():
    session = get_session()
    listed = [
        p for p in session.scalars(select(Project).order_by(Project.name)) if can_work_on(session, current_user, p)
    ]
    return jsonify([listed_project(p) for p in listed])


@bp.post("/projects")
def post_project():
    """Create a project (admins): 201 with it as the list shows it; 400 for a malformed body,
    409 for a name taken, 422 for settings no project can have (``services.projects.create_project``)."""
    if current_user.role != "admin":
        raise ApiError(403, "forbidden", "Only admins create projects.")
    body = json_object(PROJECT_SHAPE)
    unknown = sorted(set(body) - set(PROJECT_FIELDS))
    if unknown:
        raise ApiError(
            400,
            "bad_request",
            f"Unknown field(s) {', '.join(repr(k[:40]) for k in unknown[:5])}; send {PROJECT_SHAPE}.",
        )
    if "name" not in body:
        raise ApiError(400, "bad_request", f"name is required; send {PROJECT_SHAPE}.")
    for field, types in PROJECT_FIELDS.items():
        value = body.get(field)
        if field in body and field != "name" and value is None:
            del body[field]  # null: the default
        elif field in body and (not isinstance(value, types) or (types == (int,) and not is_int(value))):
            kind = {str: "a string", int: "an integer", bool: "true or false", list: "a list"}[types[0]]
            raise ApiError(400, "bad_request", f"{field} must be {kind}.")
    session = get_session()
    write_transaction(session)
    try:
        project = create_project(session, created_by=current_user, limits=limits(), **body)
        session.flush()
    except ProjectError as exc:
        status, error = (409, "conflict") if exc.reason == "duplicate" else (422, "invalid_project")
        raise ApiError(status, error, f"No project was created: {exc.message}.", field=exc.field) from None
    except IntegrityError:  # the same name created at the same moment by another request
        raise ApiError(
            409, "conflict", f"No project was created: a project named {body['name']!r} exists already."
        ) from None
    result = listed_project(project)
    session.commit()
    return jsonify(result), 201
