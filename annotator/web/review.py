"""Review pages: agreement dashboard, disagreement list, adjudication; reviewers and admins only."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ..db import write_transaction
from ..extensions import get_session
from ..limits import MAX_ROW_ID
from ..metrics.disagreements import HAS, LINK, TYPES
from ..models import Project, Sentence
from ..services.adjudication import REASONS, AdjudicationError, AnnotationsChanged, StaleGold, adjudication_view
from ..services.adjudication import adjudicate as store_gold
from ..services.label_scheme import SchemeChanged
from ..services.model_versions import RUNNING, VersionNotFound, curve_version
from ..services.projects import NotFound, get_project
from ..services.review import (
    GOLD_FILTERS,
    next_in_queue,
    project_disagreements,
    project_labels,
    project_report,
    review_queue,
)
from . import charts
from .auth import roles_required
from .inputs import json_object, limits, query_int

bp = Blueprint("review", __name__, url_prefix="/projects/<project>/review")

REVIEW_ROLES = ("admin", "reviewer")


def _project(name: str) -> Project:
    try:
        return get_project(get_session(), name)
    except NotFound:
        abort(404, description=f"There is no project called {name!r}. Pick one on the projects page.")


def _sentence(project: Project, sentence_id: int) -> Sentence:
    sentence = get_session().get(Sentence, sentence_id)
    if sentence is None or sentence.project_id != project.id:
        abort(404, description=f"Project {project.name!r} has no sentence {sentence_id}.")
    return sentence


def label_classes(project: Project) -> dict[str, str]:
    """CSS class per label (colours come from review.css: the CSP forbids style attributes)."""
    return {label: f"lab-{i % 6}" for i, label in enumerate(project_labels(project))}


def segments(text: str, spans: list[dict]) -> list[tuple[str, dict | None]]:
    """The text cut at span edges: (piece, span or None); the first span listed wins an overlap."""
    owner: list[int | None] = [None] * len(text)
    for n, span in enumerate(spans):
        for i in range(span["start_char"], min(span["end_char"], len(text))):
            if owner[i] is None:
                owner[i] = n
    pieces: list[tuple[str, dict | None]] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or owner[i] != owner[start]:
            pieces.append((text[start:i], None if owner[start] is None else spans[owner[start]]))
            start = i
    return pieces


@bp.route("")
@roles_required(*REVIEW_ROLES)
def dashboard(project: str):
    project_row = _project(project)
    session = get_session()
    number = query_int("model_version", 0, 0, MAX_ROW_ID) or None  # 0 or absent: the active version
    try:
        report = project_report(
            session, project_row, n_resamples=current_app.config.get("REVIEW_RESAMPLES", 1000), model_version=number
        )
    except VersionNotFound as exc:
        abort(404, description=f"{exc} Pick one on the Models page.")
    queue = review_queue(session, project_row)
    labels = report["labels"]
    colours = {label["name"]: label.get("colour", "#2458c6") for label in project_row.labels}
    f1, alpha = report["span_f1"], report["krippendorff_alpha"]
    support = f1["support"]["by_label"]
    chart_f1 = charts.bars_with_intervals(
        "Span F1 between annotators (strict), 95% CI",
        [("all labels", f1["overall"], f1["ci"]["overall"], f1["support"]["overall"]["sentences"])]
        + [
            (label, f1["by_label"][label], f1["ci"]["by_label"][label], support[label]["sentences"]) for label in labels
        ],
        colours,
    )
    chart_alpha = charts.bars_with_intervals(
        "Krippendorff's alpha over tokens, 95% CI",
        [("all labels", alpha["overall"], alpha["ci"]["overall"], alpha["support"]["tokens"])]
        + [
            (label, alpha["by_label"][label], alpha["ci"]["by_label"][label], alpha["support"]["tokens"])
            for label in labels
        ],
        colours,
    )
    heatmap = charts.pair_heatmap("Pairwise span F1 (strict)", report["annotators"], f1["pairs"])
    confusion = charts.confusion_grid(
        "Token label confusion", report["confusion"]["labels"], report["confusion"]["matrix"]
    )
    curved = curve_version(session, project_row)  # the active version's learning curve, as on the Models page
    return render_template(
        "review_dashboard.html",
        project=project_row,
        report=report,
        queue=queue,
        flagged=sum(1 for q in queue if q["flagged_by"]),
        changed_since_gold=sum(1 for q in queue if q["changed_since_gold"]),
        charts=[chart_f1, chart_alpha, heatmap, confusion],
        curve=(curved.number, charts.learning_curve_figure(curved.curve), curved.status in RUNNING) if curved else None,
    )


@bp.route("/disagreements")
@roles_required(*REVIEW_ROLES)
def disagreements(project: str):
    project_row = _project(project)
    labels = project_labels(project_row)
    label = request.args.get("label") or None
    kind = request.args.get("type") or None
    first, second = request.args.get("a") or None, request.args.get("b") or None
    if label is not None and label not in labels:
        abort(400, description=f"Unknown label {label[:40]!r}; use one of {', '.join(labels)}.")
    if kind is not None and kind not in (*TYPES, LINK):
        abort(400, description=f"Unknown conflict type {kind[:40]!r}; use one of {', '.join((*TYPES, LINK))}.")
    has = request.args.get("has") or None
    if has is not None and has not in HAS:
        abort(400, description=f"Unknown filter has={has[:40]!r}; use one of {', '.join(HAS)}.")
    gold = request.args.get("gold") or None
    if gold is not None and gold not in GOLD_FILTERS:
        abort(400, description=f"Unknown filter gold={gold[:40]!r}; use one of {', '.join(GOLD_FILTERS)}.")
    pair = None
    if first and second:
        if first == second:
            abort(400, description="Pick two different annotators to compare.")
        pair = (first, second)
    found = project_disagreements(
        get_session(),
        project_row,
        labels=[label] if label else None,
        pair=pair,
        types=[kind] if kind else None,
        has=has,
        gold=gold,
    )
    limit = 200
    annotators = sorted({name for item in found for name in item["annotators"]} | ({first, second} - {None}))
    return render_template(
        "review_disagreements.html",
        project=project_row,
        items=found[:limit],
        total=len(found),
        limit=limit,
        labels=labels,
        types=(*TYPES, LINK),
        annotators=annotators,
        chosen={"label": label, "type": kind, "a": first, "b": second, "has": has, "gold": gold},
    )


@bp.route("/next")
@roles_required(*REVIEW_ROLES)
def next_sentence(project: str):
    project_row = _project(project)
    after = query_int("after", 0, 0, MAX_ROW_ID) if request.args.get("after") else None
    sentence_id = next_in_queue(get_session(), project_row, after=after)
    if sentence_id is None:
        return redirect(url_for("review.dashboard", project=project_row.name, done=1))
    return redirect(url_for("review.adjudicate", project=project_row.name, sentence_id=sentence_id))


@bp.route("/<int:sentence_id>")
@roles_required(*REVIEW_ROLES)
def adjudicate(project: str, sentence_id: int):
    project_row = _project(project)
    sentence = _sentence(project_row, sentence_id)
    view = adjudication_view(get_session(), project_row, sentence)
    view["save_url"] = url_for("review.save_gold", project=project_row.name, sentence_id=sentence.id)
    view["classes"] = label_classes(project_row)
    queue = [q["sentence_id"] for q in review_queue(get_session(), project_row)]
    return render_template(
        "review_adjudicate.html",
        project=project_row,
        view=view,
        classes=view["classes"],
        reasons=REASONS,
        segments=segments,
        queue_position=(queue.index(sentence.id) + 1) if sentence.id in queue else None,
        queue_length=len(queue),
    )


@bp.route("/<int:sentence_id>/gold", methods=["PUT"])
@roles_required(*REVIEW_ROLES)
def save_gold(project: str, sentence_id: int):
    project_row = _project(project)
    decisions = json_object('{"version", "seen", "spans", "reason", "incidents"}')
    session = get_session()
    write_transaction(session)
    sentence = _sentence(project_row, sentence_id)
    try:
        gold = store_gold(session, sentence, current_user, decisions, limits())
        session.commit()
    except AdjudicationError as exc:
        session.rollback()
        return jsonify(error="invalid", message=f"{exc}."), 422
    except StaleGold as exc:
        session.rollback()
        return jsonify(error="stale", message=f"Gold not saved: {exc}.", version=exc.current), 409
    except SchemeChanged as exc:
        session.rollback()
        return jsonify(error="scheme_changed", message=f"Gold not saved: {exc}."), 409
    except AnnotationsChanged as exc:
        session.rollback()
        return jsonify(error="annotations_changed", message=f"Gold not saved: {exc}.", annotators=exc.annotators), 409
    except IntegrityError:
        session.rollback()  # two first saves raced; the other one won
        return jsonify(
            error="stale",
            message="Gold not saved: another reviewer saved this sentence's first gold at the same moment; reload to see it.",
            version=None,
        ), 409
    following = next_in_queue(session, project_row, after=sentence.id)
    next_url = (
        url_for("review.adjudicate", project=project_row.name, sentence_id=following)
        if following is not None
        else url_for("review.dashboard", project=project_row.name, done=1)
    )
    return jsonify(
        version=gold.version,
        spans=[
            {
                "start_char": s.start_char,
                "end_char": s.end_char,
                "label": s.label,
                "value": s.value,
                "provenance": s.provenance,
                "reason": s.reason,
            }
            for s in gold.spans
        ],
        incidents=gold.incidents or [],
        next=next_url,
    )
