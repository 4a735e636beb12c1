"""The labelling page: a server-rendered shell; static/label.js loads sentences through the JSON API.

The page carries everything the script needs as ``data-*`` attributes (API
URLs, labels, the user), so no inline script is needed under the CSP.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for
from flask_login import current_user, login_required
from markdown_it import MarkdownIt
from sqlalchemy import func, select

from ..extensions import get_session
from ..labels.kinds import kind_of
from ..labels.normalise import normalise
from ..labels.scheme import active_labels
from ..models import Annotation, GoldAnnotation, Project, Report, Sentence, Span
from ..services import queue
from ..services.projects import NotFound, can_work_on, current_guideline, get_project
from ..services.suggestions import project_gazetteer, project_outcomes
from .inputs import limits, query_int

bp = Blueprint("annotate", __name__)

HISTORY_PAGE = 200  # annotations per page of My history, newest first

# Guidelines are written by project leads, but raw HTML in them is shown as text, never run.
_markdown = MarkdownIt("commonmark", {"html": False})


def render_guideline(text: str | None) -> str:
    """Guideline Markdown as HTML; raw HTML in the source is escaped."""
    return _markdown.render(text or "")


def _project_or_abort(name: str) -> Project:
    session = get_session()
    try:
        project = get_project(session, name)
    except NotFound:
        abort(404, description=f"There is no project called {name!r}.")
    if not can_work_on(session, current_user, project):
        abort(403, description="This project is open to its members only. Ask an admin to add you.")
    return project


def _outcomes(project: Project) -> list[str]:
    return list(project_outcomes(project).categories)


def _regions(session, project: Project) -> list[str]:
    """The canonical names of the project's gazetteer (shipped and its own), offered as a region's value."""
    return sorted({entry.canonical for entry in project_gazetteer(session, project).entries}, key=str.casefold)


def _render_page(project: Project, sentence_id: int | None):
    session = get_session()
    guideline = current_guideline(session, project)
    quoted = quote(project.name, safe="")
    return render_template(
        "label.html",
        project=project,
        # The labels offered for new spans (the legend, keys and editor offer no retired one), each with
        # its kind (labels.kinds), so the page picks a value's input by kind, not by name; the scheme has
        # every label, retired ones too, for drawing the spans that have them.
        labels=[{**label, "kind": kind_of(label["name"], project.labels)} for label in active_labels(project.labels)],
        scheme=[
            {"name": label["name"], "kind": kind_of(label["name"], project.labels), "colour": label.get("colour")}
            for label in project.labels
        ],
        outcomes=_outcomes(project),
        regions=_regions(session, project),
        guideline_html=render_guideline(guideline.text if guideline else ""),
        guideline_version=guideline.version if guideline else None,
        sentence_id=sentence_id,
        progress=queue.progress(session, project, current_user, current_app.config["PROGRESS_MAX_AGE"]),
        urls={
            "next": f"/api/projects/{quoted}/next",
            "history": f"/api/projects/{quoted}/history",
            "progress": f"/api/projects/{quoted}/progress",
            "sentence": "/api/sentences/",
            "label": url_for("annotate.label", project=project.name),
            "revisit": url_for("annotate.label", project=project.name) + "/",
            "normalise": url_for("annotate.normalise_value", project=project.name),
            "home": url_for("main.index"),
            "history_page": url_for("annotate.history", project=project.name),
        },
    )


@bp.route("/projects/<project>/label")
@login_required
def label(project: str):
    return _render_page(_project_or_abort(project), None)


@bp.route("/projects/<project>/label/<int:sentence_id>")
@login_required
def revisit(project: str, sentence_id: int):
    """Reopen a sentence the user has annotated, to correct it."""
    found = _project_or_abort(project)
    session = get_session()
    sentence = session.get(Sentence, sentence_id)
    if sentence is None or sentence.project_id != found.id:
        abort(404, description="That sentence is not part of this project.")
    mine = session.scalar(
        select(Annotation.id).where(Annotation.sentence_id == sentence_id, Annotation.user_id == current_user.id)
    )
    if mine is None:
        abort(404, description="You have not annotated that sentence; start labelling to get new sentences.")
    return _render_page(found, sentence_id)


@bp.route("/projects/<project>/history")
@login_required
def history(project: str):
    """The user's own annotations in this project, newest first, with links to revisit them.

    Revisiting is also how a reason is added to a quick skip (labelling page, ``i``): reopen, ``s``, type it.
    """
    found = _project_or_abort(project)
    session = get_session()
    mine = (Sentence.project_id == found.id, Annotation.user_id == current_user.id)
    total = session.scalar(
        select(func.count()).select_from(Annotation).join(Sentence, Sentence.id == Annotation.sentence_id).where(*mine)
    )
    page = query_int("page", 1, 1, limits().max_query_offset // HISTORY_PAGE + 1)
    rows = session.execute(
        select(
            Annotation.id,
            Annotation.sentence_id,
            Annotation.status,
            Annotation.updated_at,
            Annotation.comment,
            Sentence.text,
            Sentence.position,
            Report.number.label("report_number"),
            GoldAnnotation.note,
        )
        .join(Sentence, Sentence.id == Annotation.sentence_id)
        .join(Report, Report.id == Sentence.report_id)
        .outerjoin(GoldAnnotation, GoldAnnotation.sentence_id == Sentence.id)
        .where(*mine)
        .order_by(Annotation.updated_at.desc(), Annotation.id.desc())
        .limit(HISTORY_PAGE)
        .offset((page - 1) * HISTORY_PAGE)
    ).all()

    spans: dict[int, list[str]] = {row.id: [] for row in rows}
    texts = {row.id: row.text for row in rows}
    for annotation_id, start, end, label in session.execute(
        select(Span.annotation_id, Span.start_char, Span.end_char, Span.label)
        .where(Span.annotation_id.in_(list(spans)))
        .order_by(Span.annotation_id, Span.start_char, Span.end_char)
    ):
        spans[annotation_id].append(f"{label} «{texts[annotation_id][start:end]}»")

    def page_url(number: int) -> str:
        return url_for("annotate.history", project=found.name, page=number)

    return render_template(
        "history.html",
        project=found,
        rows=rows,
        spans=spans,
        total=total,
        page=page,
        first=(page - 1) * HISTORY_PAGE + 1,
        first_url=page_url(1),
        newer_url=page_url(page - 1) if page > 1 else None,
        older_url=page_url(page + 1) if page * HISTORY_PAGE < total else None,
    )


@bp.route("/projects/<project>/label/normalise")
@login_required
def normalise_value(project: str):
    """``?label=COUNT&text=forty`` -> {"value": "40"}: the value the editor prefills; null when unknown."""
    found = _project_or_abort(project)
    label_name = request.args.get("label", "")[:64]
    text = request.args.get("text", "")[:1000]
    if not text.strip():
        return jsonify(value=None)
    session = get_session()
    return jsonify(
        value=normalise(label_name, text, project_gazetteer(session, found), project_outcomes(found), found.labels)
    )
