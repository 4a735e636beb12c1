"""The corpus browser: a project's sentences, filtered and paged; reviewers and admins only."""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy import select

from ..extensions import get_session
from ..limits import MAX_ROW_ID
from ..models import Project, User
from ..services.browse import STATES, BadFilter, Filters, Key, browse_sentences
from ..services.projects import NotFound, get_project
from .auth import roles_required

bp = Blueprint("browse", __name__, url_prefix="/projects/<project>/browse")

BROWSE_ROLES = ("admin", "reviewer")
MAX_TEXT_CHARS = 200  # a search longer than this is not a search
KEY = re.compile(r"(\d{1,10})\.(\d{1,10})", re.ASCII)
PARAMETERS = ("text", "state", "annotator", "label", "disagreement")


def _project(name: str) -> Project:
    try:
        return get_project(get_session(), name)
    except NotFound:
        abort(404, description=f"There is no project called {name!r}. Pick one on the projects page.")


def _key(name: str) -> Key | None:
    """``?after=`` / ``?before=`` as (report_id, position); 400 for anything else."""
    raw = request.args.get(name)
    if raw is None:
        return None
    match = KEY.fullmatch(raw)
    if match is None or int(match[1]) > MAX_ROW_ID or int(match[2]) > MAX_ROW_ID:
        abort(400, description=f"?{name}= is a page position such as 12.3; follow the page's links instead.")
    return int(match[1]), int(match[2])


def _filters() -> Filters:
    """The filters of the query string, checked; 400 with what to fix."""
    args = request.args
    text = args.get("text", "")
    if len(text) > MAX_TEXT_CHARS:
        abort(400, description=f"Search for at most {MAX_TEXT_CHARS} characters of text.")
    state = args.get("state") or None
    if state is not None and state not in STATES:
        abort(400, description=f"Unknown state {state[:40]!r}; use one of {', '.join(STATES)}.")
    disagreement = args.get("disagreement", "")
    if disagreement not in ("", "0", "1"):
        abort(400, description="?disagreement= is 1 (only sentences whose annotators disagree) or 0.")
    return Filters(
        text=text or None,
        state=state,
        annotator=args.get("annotator") or None,
        label=args.get("label") or None,
        disagreement=disagreement == "1",
    )


@bp.route("")
@roles_required(*BROWSE_ROLES)
def sentences(project: str):
    project_row = _project(project)
    filters = _filters()
    after, before = _key("after"), _key("before")
    if after is not None and before is not None:
        abort(400, description="Ask for the page after a position or before one, not both.")
    session = get_session()
    try:
        page = browse_sentences(session, project_row, filters, after=after, before=before)
    except BadFilter as exc:
        abort(400, description=f"Cannot filter: {exc}. Pick a value from the form.")
    chosen = {k: request.args.get(k) for k in PARAMETERS if request.args.get(k)}

    def link(**position: str) -> str:
        return url_for("browse.sentences", project=project_row.name, **chosen, **position)

    return render_template(
        "browse.html",
        project=project_row,
        page=page,
        chosen=chosen,
        states=STATES,
        labels=[label["name"] for label in project_row.labels],
        annotators=_annotators(),
        previous_url=None if page.previous is None else link(before="{}.{}".format(*page.previous)),
        next_url=None if page.next is None else link(after="{}.{}".format(*page.next)),
    )


def _annotators() -> list[str]:
    """The annotator filter's choices: every annotator account (one indexed read, whatever the corpus size)."""
    return list(get_session().scalars(select(User.username).where(User.role == "annotator").order_by(User.username)))
