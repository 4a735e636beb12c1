"""Saving one annotator's annotation of a sentence, and disagreement routing.

Blind annotation: every function here reads or writes only the given user's
own annotation. Offsets are code points into the sentence text, end exclusive,
and must fall on the sentence's stored token boundaries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from ..db import core_connection
from ..labels.normalise import normalise
from ..limits import DEFAULT_LIMITS, MAX_ROW_ID, Limits, is_int, shown, text_problem
from ..models import STATUSES, Annotation, AuditEvent, Lease, Project, Sentence, Span, User, utcnow
from ..records import SUGGESTION_SOURCES, IncidentRecord
from .audit import event_values
from .incident_links import KEEP, checked_incidents, incidents_column, pruned, stored_incidents
from .label_scheme import check_scheme_kept, hold_scheme
from .projects import project_settings, required_annotations
from .queue import take_lease
from .recount import COUNTED_STATUSES, recount
from .suggestions import label_names, offered_label_names, project_gazetteer, project_outcomes


class AnnotationError(Exception):
    """An annotation that cannot be saved as sent."""


class SentenceFull(AnnotationError):
    """Every slot of the sentence is taken by others' annotations or live leases."""

    def __init__(self, needed: int):
        super().__init__(f"this sentence has the {needed} annotators it needs already")
        self.needed = needed


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field: ``span`` is the index in the submitted list, None for the annotation."""

    span: int | None
    problem: str

    def to_dict(self) -> dict[str, Any]:
        return {"span": self.span, "problem": self.problem}


@dataclass
class InvalidAnnotation(AnnotationError):
    problems: list[Problem] = field(default_factory=list)

    def messages(self) -> list[str]:
        return [f"span {p.span}: {p.problem}" if p.span is not None else p.problem for p in self.problems]

    def __str__(self) -> str:
        return "; ".join(self.messages())


class StaleSave(AnnotationError):
    """The stored annotation changed since the client loaded ``base_version``."""

    def __init__(self, current: Annotation | None):
        super().__init__("the annotation changed since it was loaded")
        self.current = current


@dataclass(frozen=True)
class CleanSpan:
    start_char: int
    end_char: int
    label: str
    value: str | None
    suggested: bool
    source: str | None = None
    model_version: int | None = None


def span_values(
    session: Session, project: Project, sentence: Sentence, clean: Sequence[Mapping[str, Any]]
) -> list[str | None]:
    """Each checked span's value (:func:`validate_spans`): the one sent, else (null) the one the project's
    vocabularies give its text (``labels.normalise``: a COUNT's number, a REGION's gazetteer name, ...).

    A computed value is never longer than the value column holds: ``normalise`` gives none for one
    that would be (MAX_STORED_VALUE_CHARS), so the span is saved without a value rather than the
    save refused. A sent value is kept as :func:`validate_spans` checked it (MAX_VALUE_CHARS).
    The one rule for an annotator's save and a reviewer's gold alike.
    """
    if all(s["value"] is not None for s in clean):
        return [s["value"] for s in clean]
    gazetteer, outcomes = project_gazetteer(session, project), project_outcomes(project)
    return [
        s["value"]
        if s["value"] is not None
        else normalise(s["label"], sentence.text[s["start_char"] : s["end_char"]], gazetteer, outcomes, project.labels)
        for s in clean
    ]


def provenance_problem(span: Mapping[str, Any]) -> str | None:
    """What is wrong with a submitted span's ``source`` and ``model_version``; None when they are fine.

    Both are optional. ``source`` names the suggestion source an accepted span
    came from (one of ``SUGGESTION_SOURCES``); ``model_version`` the model
    version that suggested it, a positive integer, with source "model" only.
    A span that is not ``suggested`` (made or edited by hand) carries neither.
    """
    source, version = span.get("source"), span.get("model_version")
    if source is None and version is None:
        return None
    if source is not None and (not isinstance(source, str) or source not in SUGGESTION_SOURCES):
        return f"source {shown(source)} is not a suggestion source: one of {', '.join(SUGGESTION_SOURCES)}, or null"
    if version is not None and (not is_int(version) or not 1 <= version <= MAX_ROW_ID):
        return (
            f"model_version {shown(version)} must be a positive integer up to {MAX_ROW_ID:,} "
            "(a model version's number), or null"
        )
    if version is not None and source != "model":
        return 'model_version is only for a span suggested by a model (source "model")'
    if span.get("suggested", False) is not True:
        return "source and model_version are only for an accepted suggestion (suggested true); a hand-made span has neither"
    return None


def _check_room(
    session: Session, project: Project, sentence: Sentence, user: User, now: datetime, leased: bool
) -> None:
    """A new done or flagged annotation needs a free slot: the user's live lease (``leased``), or room left.

    Without this a save after an expired lease, or straight through the API,
    could push a sentence past its quota. The row lock orders concurrent
    savers on PostgreSQL as the queue's claim does (SQLite serialises writes).
    """
    if leased:
        return
    session.execute(select(Sentence.id).where(Sentence.id == sentence.id).with_for_update())
    taken = session.scalar(
        select(
            select(func.count())
            .select_from(Annotation)
            .where(
                Annotation.sentence_id == sentence.id,
                Annotation.status.in_(COUNTED_STATUSES),
                Annotation.user_id != user.id,
            )
            .scalar_subquery()
            + select(func.count())
            .select_from(Lease)
            .where(Lease.sentence_id == sentence.id, Lease.user_id != user.id, Lease.expires_at > now)
            .scalar_subquery()
        )
    )
    needed = required_annotations(project, sentence)
    if taken >= needed:
        raise SentenceFull(needed)


def validate_spans(
    project: Project, sentence: Sentence, spans: Sequence[Any], limits: Limits = DEFAULT_LIMITS
) -> tuple[list[dict], list[Problem]]:
    """Check submitted spans; returns the clean ones (with "value" only when sent) and every problem.

    More than ``limits.max_spans_per_annotation`` spans is one problem, and
    none of them is looked at.
    """
    if len(spans) > limits.max_spans_per_annotation:
        return [], [
            Problem(
                None,
                f"{len(spans):,} spans; at most {limits.max_spans_per_annotation} may be saved at once (MAX_SPANS_PER_ANNOTATION)",
            )
        ]
    problems: list[Problem] = []
    clean: list[dict] = []
    labels = label_names(project)
    starts = {start for start, _ in sentence.tokens}
    ends = {end for _, end in sentence.tokens}
    length = len(sentence.text)
    seen: dict[tuple[int, int, str], int] = {}
    for i, span in enumerate(spans):
        if not isinstance(span, Mapping):
            problems.append(Problem(i, "a span is an object with start_char, end_char and label"))
            continue
        start, end, label = span.get("start_char"), span.get("end_char"), span.get("label")
        before = len(problems)
        if not is_int(start) or not is_int(end):
            problems.append(Problem(i, "start_char and end_char must be integers"))
        elif not 0 <= start < end <= length:
            problems.append(Problem(i, f"offsets [{start}, {end}) must satisfy 0 <= start_char < end_char <= {length}"))
        else:
            if start not in starts:
                problems.append(Problem(i, f"start_char {start} is not the start of a token"))
            if end not in ends:
                problems.append(Problem(i, f"end_char {end} is not the end of a token"))
        if not isinstance(label, str) or label not in labels:
            problems.append(Problem(i, f"label {shown(label)} is not one of {', '.join(labels)}"))
        value = span.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > limits.max_value_chars):
            problems.append(
                Problem(
                    i,
                    f"value must be a string of at most {limits.max_value_chars} characters (MAX_VALUE_CHARS), or null",
                )
            )
        elif isinstance(value, str) and text_problem(value) is not None:
            problems.append(Problem(i, f"value {text_problem(value)}"))
        suggested = span.get("suggested", False)
        if not isinstance(suggested, bool):
            problems.append(Problem(i, "suggested must be true or false"))
        elif (provenance := provenance_problem(span)) is not None:
            problems.append(Problem(i, provenance))
        if len(problems) > before:
            continue
        key = (start, end, label)
        if key in seen:
            problems.append(Problem(i, f"duplicate of span {seen[key]}"))
            continue
        seen[key] = i
        clean.append(
            {
                "start_char": start,
                "end_char": end,
                "label": label,
                "value": value,
                "suggested": suggested,
                "source": span.get("source"),
                "model_version": span.get("model_version"),
            }
        )
    return clean, problems


def _retired_problems(project: Project, clean: Sequence[Mapping[str, Any]], stored: Sequence[Span]) -> list[Problem]:
    """A span with a retired label is kept where the stored annotation has it already, refused where it is new."""
    offered = set(offered_label_names(project))
    kept = {(s.start_char, s.end_char, s.label) for s in stored}
    return [
        Problem(i, f"label {shown(s['label'])} is retired: it stays on the spans that have it but takes no new ones")
        for i, s in enumerate(clean)
        if s["label"] not in offered and (s["start_char"], s["end_char"], s["label"]) not in kept
    ]


def _content(status: str, comment: str | None, spans) -> tuple:
    return (
        status,
        comment or None,
        frozenset(
            (s.start_char, s.end_char, s.label, s.value, bool(s.suggested), s.source, s.model_version) for s in spans
        ),
    )


# Built once: every save and every sentence page reads it.
_OWN = select(Annotation).where(
    Annotation.sentence_id == bindparam("sentence_id"), Annotation.user_id == bindparam("user_id")
)
_OWN_LOCKED = _OWN.with_for_update().execution_options(populate_existing=True)


def own_annotation(session: Session, sentence: Sentence, user: User, *, lock: bool = False) -> Annotation | None:
    return session.scalar(_OWN_LOCKED if lock else _OWN, {"sentence_id": sentence.id, "user_id": user.id})


def save_annotation(
    session: Session,
    sentence: Sentence,
    user: User,
    status: str,
    spans: Sequence[Any],
    comment: str | None = None,
    seconds_spent: float | None = None,
    base_version: int | None = None,
    guideline_version: int | None = None,
    *,
    now: datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
    incidents: Any = KEEP,
    scheme_held: bool = False,
) -> Annotation:
    """Create or replace ``user``'s annotation of ``sentence``; never commits.

    ``spans`` are mappings with start_char, end_char, label and optional
    value (kept if given, computed from the project's vocabularies if absent
    or null), suggested, and an accepted suggestion's source and model_version
    (:func:`provenance_problem`). ``comment`` is required when flagged, optional
    (the skip reason) when skipped. ``seconds_spent`` is the time of this
    visit, added to the stored total. ``base_version`` is the version the
    client loaded (None for a new annotation); ``guideline_version`` defaults
    to the project's current guideline. ``incidents`` groups the sent spans
    (``annotator.incidents`` JSON shape, spans named by their keys); left out,
    the stored incidents are kept where their spans still are.
    ``scheme_held``: the transaction holds its share of the project's scheme lock
    already (``services.label_scheme.scheme_share``, folded into the caller's read of
    the project); else the save takes it with a statement of its own.

    Raises InvalidAnnotation listing every problem, InvalidIncidents for
    incidents that break the rules of ``annotator.incidents``, StaleSave when the
    stored version is not ``base_version`` and its content differs, or
    ``services.label_scheme.SchemeChanged`` when a label the save read was renamed,
    deleted or given another kind before it was stored (checked by the audit event's
    statement; see that module's docstring), after which the caller rolls back. A retried
    save whose content is already stored returns the stored annotation
    unchanged. A save of the stored content as it is (same status, comment,
    spans, incidents and guideline version) ends the lease and adds its
    seconds, nothing else. On success otherwise: version bumped, the user's lease deleted, an
    AuditEvent written and disagreement routing applied. On SQLite the caller
    opens the transaction with ``annotator.db.write_transaction``.
    """
    project = session.get(Project, sentence.project_id)
    problems: list[Problem] = []
    if status not in STATUSES:
        problems.append(Problem(None, f"status must be one of {', '.join(STATUSES)}, not {shown(status)}"))
    if comment is not None and not isinstance(comment, str):
        problems.append(Problem(None, "comment must be a string"))
    elif comment is not None and len(comment) > limits.max_comment_chars:
        problems.append(
            Problem(None, f"comment is longer than {limits.max_comment_chars} characters (MAX_COMMENT_CHARS)")
        )
    elif comment is not None and text_problem(comment) is not None:
        problems.append(Problem(None, f"comment {text_problem(comment)}"))
    comment = comment.strip() or None if isinstance(comment, str) else None
    if status == "flagged" and not comment:
        problems.append(Problem(None, "a flagged sentence needs a comment saying what is wrong"))
    if seconds_spent is not None and (
        not isinstance(seconds_spent, int | float)
        or isinstance(seconds_spent, bool)
        or not 0 <= seconds_spent <= limits.max_seconds_spent
    ):
        # Compared as sent: float() of a 400-digit integer would raise, and NaN fails every comparison.
        problems.append(
            Problem(None, f"seconds_spent must be a number from 0 to {limits.max_seconds_spent} (MAX_SECONDS_SPENT)")
        )
    if not isinstance(spans, Sequence) or isinstance(spans, str):
        problems.append(Problem(None, "spans must be a list"))
        spans = []
    clean, span_problems = validate_spans(project, sentence, spans, limits)
    problems += span_problems
    if problems:
        raise InvalidAnnotation(problems)

    new_spans = [
        CleanSpan(s["start_char"], s["end_char"], s["label"], value, s["suggested"], s["source"], s["model_version"])
        for s, value in zip(clean, span_values(session, project, sentence, clean), strict=True)
    ]
    if not scheme_held:
        hold_scheme(session, project)
    annotation = own_annotation(session, sentence, user, lock=True)
    retired = _retired_problems(project, clean, [] if annotation is None else annotation.spans)
    if retired:
        raise InvalidAnnotation(retired)
    new_incidents = _new_incidents(project, annotation, new_spans, incidents)
    stored_version = annotation.version if annotation is not None else None
    if stored_version != base_version:
        if (
            annotation is not None
            and _content(annotation.status, annotation.comment, annotation.spans)
            == _content(status, comment, new_spans)
            and annotation.incidents == new_incidents
        ):
            return annotation  # a retried save that was applied already
        raise StaleSave(annotation)

    now = now or utcnow()
    lease_expires = take_lease(session, sentence, user)  # a save ends the user's lease, live or not
    if status in COUNTED_STATUSES and (annotation is None or annotation.status not in COUNTED_STATUSES):
        _check_room(session, project, sentence, user, now, leased=lease_expires is not None and lease_expires > now)
    if guideline_version is None:
        guideline_version = project_settings(session, project).guideline_version
    if annotation is None:
        annotation = _insert_annotation(
            session,
            project,
            sentence,
            user,
            status,
            comment,
            seconds_spent,
            guideline_version,
            now,
            new_incidents,
            new_spans,
        )
        route_disagreement(session, sentence, project)
        session.flush()
        return annotation
    if (
        _content(annotation.status, annotation.comment, annotation.spans) == _content(status, comment, new_spans)
        and annotation.incidents == new_incidents
        and annotation.guideline_version == guideline_version
    ):
        # Saved again as it is: no new version, so no other page of it goes stale and no review takes it
        # for a change (services.review.changed_since_gold); the visit's seconds count, the lease has ended.
        annotation.seconds_spent = (annotation.seconds_spent or 0.0) + float(seconds_spent or 0)
        session.flush()
        return annotation
    old_spans = [_span_dict(s) for s in annotation.spans]
    old_incidents = annotation.incidents
    annotation.version += 1
    annotation.status = status
    annotation.comment = comment
    annotation.seconds_spent = (annotation.seconds_spent or 0.0) + float(seconds_spent or 0)
    annotation.guideline_version = guideline_version
    annotation.updated_at = now
    annotation.incidents = new_incidents
    annotation.spans.clear()
    session.flush()  # old spans go before new ones with the same offsets arrive (one UPDATE of the row)
    annotation.spans = [
        Span(
            start_char=s.start_char,
            end_char=s.end_char,
            label=s.label,
            value=s.value,
            suggested=s.suggested,
            source=s.source,
            model_version=s.model_version,
        )
        for s in new_spans
    ]
    session.flush()
    detail = _save_detail(
        sentence, status, annotation.version, old_spans, annotation.spans, old_incidents, new_incidents
    )
    _insert_save_event(session, project, user, annotation.id, now, detail)
    route_disagreement(session, sentence, project)
    session.flush()
    return annotation


# A first save's rows, written with Core statements built once: a unit-of-work flush of the new
# annotation and its spans costs several times the statements themselves.
_INSERT_ANNOTATION = insert(Annotation.__table__).returning(Annotation.__table__.c.id)
_INSERT_SPANS = insert(Span.__table__).returning(Span.__table__.c.id, sort_by_parameter_order=True)
# A save's audit event, the last statement of every save: it returns the project's labels as they are now.
_INSERT_SAVE_EVENT = insert(AuditEvent.__table__).returning(
    select(Project.labels).where(Project.id == bindparam("scheme_of")).scalar_subquery()
)


def _insert_save_event(
    session: Session, project: Project, user: User, annotation_id: int, now: datetime, detail: dict[str, Any]
) -> None:
    """Insert the save's ``annotation.save`` event; raise SchemeChanged when a label the save validated its spans
    against is gone from the scheme read in the same statement (``services.label_scheme``)."""
    values = event_values(user, "annotation.save", "annotation", annotation_id, now, detail)
    labels_now = core_connection(session).execute(_INSERT_SAVE_EVENT, {**values, "scheme_of": project.id}).scalar_one()
    check_scheme_kept(project.labels, labels_now)


def _insert_annotation(
    session: Session,
    project: Project,
    sentence: Sentence,
    user: User,
    status: str,
    comment: str | None,
    seconds_spent: float | None,
    guideline_version: int | None,
    now: datetime,
    incidents: list[dict[str, Any]] | None,
    spans: Sequence[CleanSpan],
) -> Annotation:
    """A first save of ``user``'s annotation of ``sentence``: its row, its spans, the recount and the audit event.

    The same rows and event as the ORM path, inserted directly; the ``Annotation`` returned is
    attached to the session as if loaded. The recount that a flush of a new counted annotation
    would trigger (``services.recount.keep_counts``) is called here.
    """
    values = {
        "sentence_id": sentence.id,
        "user_id": user.id,
        "status": status,
        "comment": comment,
        "seconds_spent": float(seconds_spent or 0),
        "guideline_version": guideline_version,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "incidents": incidents,
    }
    rows_out = core_connection(session)
    annotation_id = rows_out.execute(_INSERT_ANNOTATION, values).scalar_one()
    rows = [
        {
            "annotation_id": annotation_id,
            "start_char": s.start_char,
            "end_char": s.end_char,
            "label": s.label,
            "value": s.value,
            "suggested": s.suggested,
            "source": s.source,
            "model_version": s.model_version,
        }
        for s in spans
    ]
    span_ids = rows_out.execute(_INSERT_SPANS, rows).scalars().all() if rows else []
    if status in COUNTED_STATUSES:
        recount(session, [sentence.id])
    stored = [Span(id=span_id, **row) for span_id, row in zip(span_ids, rows, strict=True)]
    annotation = Annotation(id=annotation_id, **values, spans=stored)
    for row in (annotation, *stored):
        make_transient_to_detached(row)
    session.add(annotation)  # persistent, with nothing to flush
    _insert_save_event(
        session, project, user, annotation_id, now, _save_detail(sentence, status, 1, [], stored, None, incidents)
    )
    return annotation


def _save_detail(
    sentence: Sentence,
    status: str,
    version: int,
    old_spans: list[dict[str, Any]],
    new_spans: Sequence[Span],
    old_incidents: list[dict[str, Any]] | None,
    new_incidents: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """The detail of a save's ``annotation.save`` audit event, written by either save path."""
    return {
        "sentence_id": sentence.id,
        "status": status,
        "version": version,
        "old_spans": old_spans,
        "new_spans": [_span_dict(s) for s in new_spans],
        "old_incidents": old_incidents or [],
        "new_incidents": new_incidents or [],
    }


def _new_incidents(
    project: Project, annotation: Annotation | None, spans: Sequence[CleanSpan], sent: Any
) -> list[dict[str, Any]] | None:
    """The incidents column a save stores: ``sent`` checked against the saved spans, or (``KEEP``) the stored ones pruned."""
    keys = [(s.start_char, s.end_char, s.label) for s in spans]
    if sent is KEEP:
        stored = stored_incidents(None if annotation is None else annotation.incidents)
        return incidents_column(pruned(stored, keys, project.labels))
    # An annotator's incidents carry no provenance: that is the gold's.
    return incidents_column(IncidentRecord(i.spans) for i in checked_incidents(sent, keys, project.labels))


def route_disagreement(session: Session, sentence: Sentence, project: Project | None = None) -> str | None:
    """Apply the project's routing when ``sentence`` has its quota and its counted (done or flagged) annotations disagree.

    Routing "extra_annotator" asks for one more annotator (once); when the
    sentence disagrees again after that, or routing is "review", it is marked
    ``needs_review``. Returns "extra_annotator", "review" or None (nothing
    changed). Versions are compared as sets of spans ((start_char, end_char,
    label)) and of incidents (as ``metrics.disagreements.link_disagreement``
    groups them): the same spans linked into other incidents disagree too.
    Never commits; safe to call again.
    """
    project = project or session.get(Project, sentence.project_id)
    if project.routing not in ("extra_annotator", "review"):
        return None
    annotations = session.scalars(
        select(Annotation).where(Annotation.sentence_id == sentence.id, Annotation.status.in_(COUNTED_STATUSES))
    ).all()
    if len(annotations) < required_annotations(project, sentence):
        return None
    # Flagged versions count as much as done ones: leaving them out would route no sentence whose
    # only dissent is the flagged version, and the flagged spans would pass unseen.
    versions = {
        (
            frozenset((s.start_char, s.end_char, s.label) for s in a.spans),
            frozenset(i.spans for i in stored_incidents(a.incidents)),
        )
        for a in annotations
    }
    if len(versions) < 2:
        return None
    if project.routing == "extra_annotator" and sentence.extra_annotators < 1:
        sentence.extra_annotators += 1
        return "extra_annotator"
    if not sentence.needs_review:
        sentence.needs_review = True
        return "review"
    return None


def _span_dict(span: Span) -> dict[str, Any]:
    return {
        "start_char": span.start_char,
        "end_char": span.end_char,
        "label": span.label,
        "value": span.value,
        "suggested": bool(span.suggested),
        "source": span.source,
        "model_version": span.model_version,
    }


def iso(moment: datetime | None) -> str | None:
    """A naive UTC timestamp as ISO 8601 with a Z."""
    return None if moment is None else moment.isoformat() + "Z"


def annotation_dict(annotation: Annotation) -> dict[str, Any]:
    """The JSON shape of an annotation, as the API returns it."""
    return {
        "sentence_id": annotation.sentence_id,
        "status": annotation.status,
        "spans": [_span_dict(s) for s in sorted(annotation.spans, key=lambda s: (s.start_char, s.end_char, s.label))],
        "comment": annotation.comment,
        "seconds_spent": annotation.seconds_spent,
        "version": annotation.version,
        "updated_at": iso(annotation.updated_at),
        "guideline_version": annotation.guideline_version,
        "incidents": annotation.incidents or [],
    }
