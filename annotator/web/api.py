"""The JSON API of labelling sessions, documented in ``annotator.web.openapi``.

Authentication: the session cookie (writes also need the X-CSRFToken header,
checked globally) or ``Authorization: Bearer TOKEN``. Unauthenticated calls
get 401 JSON, never a redirect. Every endpoint checks that the caller may
work on the project; a caller only ever sees their own annotation. The project
routes (``GET/POST /api/projects``) are in ``web.api_projects``, on this blueprint.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user
from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ..db import lease_only_commit, write_transaction
from ..extensions import get_session, writes_on_get
from ..labels.kinds import kind_of
from ..limits import MAX_ROW_ID, join_capped, project_name_problem
from ..models import Annotation, Project, Sentence, utcnow
from ..services import queue
from ..services.annotations import (
    InvalidAnnotation,
    SentenceFull,
    StaleSave,
    annotation_dict,
    iso,
    own_annotation,
    save_annotation,
)
from ..services.incident_links import KEEP, InvalidIncidents
from ..services.label_scheme import SchemeChanged, scheme_share
from ..services.projects import can_work_on, project_settings
from ..services.rows import sentence_window
from ..services.suggestions import (
    label_names,
    project_outcomes,
    stored_suggestions,
    suggested_incidents,
    suggestions_for,
)
from .inputs import is_finite_number, json_object, limits, query_int

bp = Blueprint("api", __name__, url_prefix="/api")

HISTORY_TEXT = 120  # characters of sentence text in history entries
PUBLIC_ENDPOINTS = {"api.openapi"}


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.error, self.message, self.extra = status, error, message, extra


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    """Every API error: {"error", "message"} plus any details, as web.errors shapes them."""
    get_session().rollback()
    return jsonify(error=exc.error, message=exc.message, **exc.extra), exc.status


@bp.before_request
def require_login():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return jsonify(
            error="unauthorized", message="Log in, or send 'Authorization: Bearer TOKEN' (annotator users token NAME)."
        ), 401
    return None


# --- Lookups and shapes ---------------------------------------------------------


# The lookups of the labelling round trip, built once (building a statement costs more than running it).
_PROJECT_NAMED = select(Project).where(Project.name == bindparam("name"))
_SENTENCE_AND_PROJECT = (
    select(Sentence, Project)
    .join(Project, Project.id == Sentence.project_id)
    .where(Sentence.id == bindparam("sentence_id"))
)
# A save's read of them also takes its share of the project's scheme lock (services.label_scheme).
_SENTENCE_AND_PROJECT_TO_SAVE = _SENTENCE_AND_PROJECT.add_columns(scheme_share(Project.id))


def _project(name: str) -> Project:
    session = get_session()
    project = None if project_name_problem(name) else session.scalar(_PROJECT_NAMED, {"name": name})
    if project is None:
        raise ApiError(404, "not_found", f"No project named {name[:120]!r}.")
    if not can_work_on(session, current_user, project):
        raise ApiError(403, "forbidden", f"You are not a member of project {name!r}; ask an admin to add you.")
    return project


def _sentence(sentence_id: int) -> tuple[Sentence, Project]:
    row = _sentence_row(sentence_id, _SENTENCE_AND_PROJECT)
    return row[0], row[1]


def _sentence_row(sentence_id: int, statement) -> Row[Any]:
    """The row of ``statement`` (the sentence, its project, ...) for ``sentence_id``; 404, or 403 for a non-member."""
    session = get_session()
    row = session.execute(statement, {"sentence_id": sentence_id}).first()
    if row is None:
        raise ApiError(404, "not_found", f"No sentence {sentence_id}.")
    if not can_work_on(session, current_user, row[1]):
        raise ApiError(403, "forbidden", f"You are not a member of project {row[1].name!r}; ask an admin to add you.")
    return row


def sentence_dict(sentence: Sentence) -> dict[str, Any]:
    """The one JSON shape of a sentence, with up to two neighbours either side as context."""
    window = sentence_window(get_session(), sentence)
    return {
        "id": sentence.id,
        "text": sentence.text,
        "report_id": sentence.report_id,
        "report_number": window.report_number,
        "position": sentence.position,
        "source": window.source,
        "tokens": [{"start_char": start, "end_char": end} for start, end in sentence.tokens],
        "context": {"before": window.before, "after": window.after},
    }


def project_dict(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "lang": project.lang,
        "annotators_per_sentence": project.annotators_per_sentence,
        "restricted": project.restricted,
        "suggestion_min_score": project.suggestion_min_score,
        "queue_order": project.queue_order,
        "labels": [
            {
                "name": label["name"],
                "kind": kind_of(label["name"], project.labels),
                "description": label.get("description", ""),
                "colour": label.get("colour"),
                "key": label.get("key"),
                "retired": bool(label.get("retired", False)),
            }
            for label in project.labels
        ],
        "outcomes": list(project_outcomes(project).categories),
        "guideline_version": project_settings(get_session(), project).guideline_version,
    }


def _suggestions(project: Project, sentence: Sentence, stored: list[Any] | None = None) -> list[dict[str, Any]]:
    return suggestions_for(
        get_session(), project, sentence, rules=bool(current_app.config.get("RULE_SUGGESTIONS", True)), stored=stored
    )


def _own(sentence: Sentence) -> dict[str, Any] | None:
    annotation = own_annotation(get_session(), sentence, current_user)
    return annotation_dict(annotation) if annotation is not None else None


# --- Endpoints ------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi():
    from .openapi import document

    return jsonify(document())


@bp.get("/projects/<project_name>/next")
@writes_on_get  # the claim: the request's first statement already runs under the write lock
def next_sentence(project_name: str):
    project = _project(project_name)
    session = get_session()
    now = utcnow()
    lease_seconds = int(current_app.config["LEASE_SECONDS"])
    sentence = _claim_with_retry(project, now, lease_seconds)
    if sentence is None:
        session.commit()
        return "", 204
    # The page's rows are read in the claim's transaction (on SQLite a second one would cost a
    # BEGIN and a COMMIT); it ends before the suggestions are computed, which can take a model's time.
    shown = sentence_dict(sentence)
    stored = stored_suggestions(session, sentence)
    counts = queue.progress(session, project, current_user, current_app.config["PROGRESS_MAX_AGE"])
    session.commit()
    suggestions = _suggestions(project, sentence, stored)
    payload = dict(
        sentence=shown,
        suggestions=suggestions,
        suggested_incidents=suggested_incidents(project, sentence, suggestions),
        annotation=None,
        project=project_dict(project),
        progress=counts,
        lease_expires_at=iso(now + timedelta(seconds=lease_seconds)),
    )
    return jsonify(payload)


def _claim_with_retry(project: Project, now, lease_seconds: int, attempts: int = 3):
    """next_sentence, retried when a concurrent claim of the same user or a deadlock aborts it.

    The first attempt is optimistic (no savepoints on PostgreSQL); when it locks a full
    candidate it is rolled back and the next attempt takes a savepoint per candidate.
    """
    session = get_session()
    for attempt in range(attempts):
        try:
            if attempt:  # the first attempt runs in the write transaction the request opened
                write_transaction(session)
            lease_only_commit(session)  # the claim writes leases and nothing else
            sentence = queue.next_sentence(session, project, current_user, now, lease_seconds, optimistic=not attempt)
            session.flush()
            return sentence
        except queue.ClaimContended:
            session.rollback()  # releases the full candidate's row lock
        except (IntegrityError, OperationalError):
            session.rollback()
            if attempt == attempts - 1:
                raise
    return None


@bp.get("/projects/<project_name>/progress")
def progress(project_name: str):
    project = _project(project_name)
    return jsonify(queue.progress(get_session(), project, current_user, current_app.config["PROGRESS_MAX_AGE"]))


@bp.get("/projects/<project_name>/history")
def history(project_name: str):
    project = _project(project_name)
    limit = query_int("limit", 50, 1, 500)
    offset = query_int("offset", 0, 0, limits().max_query_offset)
    rows = (
        get_session()
        .execute(
            select(Annotation.sentence_id, Annotation.status, Annotation.updated_at, Sentence.text)
            .join(Sentence, Sentence.id == Annotation.sentence_id)
            .where(Sentence.project_id == project.id, Annotation.user_id == current_user.id)
            .order_by(Annotation.updated_at.desc(), Annotation.id.desc())
            .limit(limit)
            .offset(offset)
        )
        .all()
    )
    return jsonify(
        [
            {"sentence_id": sid, "status": status, "updated_at": iso(updated), "text": _truncate(text)}
            for sid, status, updated, text in rows
        ]
    )


def _truncate(text: str) -> str:
    return text if len(text) <= HISTORY_TEXT else text[: HISTORY_TEXT - 1] + "\u2026"


@bp.get("/sentences/<int:sentence_id>")
def sentence(sentence_id: int):
    sentence, project = _sentence(sentence_id)
    suggestions = _suggestions(project, sentence)
    return jsonify(
        sentence=sentence_dict(sentence),
        suggestions=suggestions,
        suggested_incidents=suggested_incidents(project, sentence, suggestions),
        annotation=_own(sentence),
        project=project_dict(project),
    )


@bp.get("/sentences/<int:sentence_id>/annotation")
def get_annotation(sentence_id: int):
    sentence, _ = _sentence(sentence_id)
    annotation = _own(sentence)
    if annotation is None:
        raise ApiError(404, "not_found", f"You have not annotated sentence {sentence_id} yet.")
    return jsonify(annotation=annotation)


@bp.put("/sentences/<int:sentence_id>/annotation")
def put_annotation(sentence_id: int):
    sentence, project, scheme_held = _sentence_row(sentence_id, _SENTENCE_AND_PROJECT_TO_SAVE)
    body = _annotation_body()
    bounds = limits()
    session = get_session()
    for attempt in range(2):
        try:
            if attempt:  # the first attempt runs in the write transaction the PUT request opened
                write_transaction(session)
            annotation = save_annotation(
                session,
                sentence,
                current_user,
                body["status"],
                body["spans"],
                body.get("comment"),
                body.get("seconds_spent"),
                body.get("base_version"),
                limits=bounds,
                incidents=body.get("incidents", KEEP),
                scheme_held=bool(scheme_held) and not attempt,  # a rollback gave the share back
            )
            result = annotation_dict(annotation)
            session.commit()
            return jsonify(annotation=result)
        except InvalidAnnotation as exc:
            # At most MAX_LISTED_PROBLEMS listed: a refusal of 100,000 bad spans is not a 25 MB answer.
            shown = bounds.max_listed_problems
            raise ApiError(
                422,
                "invalid_annotation",
                f"The annotation was not saved: {join_capped(exc.messages(), shown)}.",
                details=[p.to_dict() for p in exc.problems[:shown]],
                more=max(0, len(exc.problems) - shown),
                labels=label_names(project),
            ) from None
        except InvalidIncidents as exc:
            shown = bounds.max_listed_problems
            raise ApiError(
                422,
                "invalid_incidents",
                f"The annotation was not saved: {join_capped(exc.problems, shown)}.",
                details=exc.problems[:shown],
            ) from None
        except SentenceFull as exc:
            raise ApiError(409, "sentence_full", f"Not saved: {exc}. Ask for the next sentence.") from None
        except StaleSave as exc:
            current = annotation_dict(exc.current) if exc.current is not None else None
            raise ApiError(
                409,
                "conflict",
                "This annotation was changed elsewhere since you loaded it; reload it, then save again.",
                current=current,
            ) from None
        except SchemeChanged as exc:
            raise ApiError(
                409,
                "scheme_changed",
                f"Not saved: {exc}. Reload the page and label this sentence again; "
                "what was stored before is unchanged.",
            ) from None
        except IntegrityError:
            # Two first saves of the same annotation at once: the loser retries and sees the winner's.
            session.rollback()
            if attempt:
                raise
            sentence = session.get(Sentence, sentence_id)
    raise AssertionError("unreachable")


def _annotation_body() -> dict[str, Any]:
    """The PUT body, its shape and bounds checked (400, 413); span contents and limits are the service's (422)."""
    body = json_object('{"status", "spans", "comment", "seconds_spent", "base_version", "incidents"}')
    status = body.get("status")
    if not isinstance(status, str) or len(status) > 32:
        raise ApiError(400, "bad_request", 'status is required: one of "done", "skipped", "flagged".')
    if not isinstance(body.get("spans", []), list):
        raise ApiError(400, "bad_request", "spans must be a list of span objects.")
    body.setdefault("spans", [])
    if "incidents" in body and body["incidents"] is None:
        body["incidents"] = []  # null: no incidents
    if body.get("comment") is not None and not isinstance(body["comment"], str):
        raise ApiError(400, "bad_request", "comment must be a string or null.")
    seconds = body.get("seconds_spent")
    if seconds is not None and not is_finite_number(seconds):
        raise ApiError(400, "bad_request", "seconds_spent must be a finite number or null.")
    base = body.get("base_version")
    if base is not None and (isinstance(base, bool) or not isinstance(base, int) or not 0 <= base <= MAX_ROW_ID):
        raise ApiError(400, "bad_request", f"base_version must be an integer from 0 to {MAX_ROW_ID}, or null.")
    return body
