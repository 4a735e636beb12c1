"""Editing a project's label scheme: add, change, rename, reorder, retire and delete labels.

``annotator.labels.scheme.check_scheme`` is the one rule for the scheme that results; a change it
refuses raises :class:`LabelChangeError` and changes nothing. A label that spans have (annotators'
or gold) is retired rather than deleted, and its kind stays. A rename rewrites every stored use of
the name in the same transaction: annotators' spans, gold spans, the spans a reviewer dropped
(``GoldAnnotation.dropped``) and stored suggestions, so the next export and agreement report use the
new name. The audit log keeps the names as they were when each event happened; the rename's own
event says from what to what.

Every function receives the session, writes an audit event and never commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ..labels.kinds import kind_of
from ..labels.scheme import SchemeError, check_scheme
from ..models import Annotation, GoldAnnotation, GoldSpan, Project, Sentence, Span, Suggestion, User
from .audit import record
from .incident_links import renamed_incidents

__all__ = [
    "LabelChangeError",
    "add_label",
    "delete_label",
    "edit_label",
    "label_uses",
    "move_label",
    "set_retired",
]

FIELDS = ("name", "description", "colour", "key", "kind")


class LabelChangeError(ValueError):
    """A change to a label scheme that is refused; the message says why and what to do instead."""


def label_uses(session: Session, project: Project) -> dict[str, int]:
    """How many annotators' spans and gold spans have each label of the project (0 for unused labels)."""
    uses = dict.fromkeys((label["name"] for label in project.labels), 0)
    spans = (
        select(Span.label, func.count())
        .join(Annotation, Annotation.id == Span.annotation_id)
        .join(Sentence, Sentence.id == Annotation.sentence_id)
        .where(Sentence.project_id == project.id)
        .group_by(Span.label)
    )
    gold = (
        select(GoldSpan.label, func.count())
        .join(GoldAnnotation, GoldAnnotation.id == GoldSpan.gold_id)
        .join(Sentence, Sentence.id == GoldAnnotation.sentence_id)
        .where(Sentence.project_id == project.id)
        .group_by(GoldSpan.label)
    )
    for query in (spans, gold):
        for label, count in session.execute(query):
            uses[label] = uses.get(label, 0) + count
    return uses


def _index(project: Project, name: str) -> int:
    for i, label in enumerate(project.labels):
        if label["name"] == name:
            return i
    raise LabelChangeError(f"project {project.name!r} has no label {name[:40]!r}")


def _checked(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    try:
        return check_scheme(labels)
    except SchemeError as exc:
        raise LabelChangeError(str(exc)) from exc


def _fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {key: raw[key] for key in FIELDS if key in raw}


def add_label(session: Session, project: Project, raw: Mapping[str, Any], user: User | None) -> dict[str, Any]:
    """Add a label at the end of the scheme; ``raw`` has name and kind, and may have description, colour, key."""
    scheme = _checked([*project.labels, _fields(raw)])
    project.labels = scheme
    label = scheme[-1]
    record(session, user, "label.add", "project", project.id, label=label)
    session.flush()
    return label


def edit_label(
    session: Session, project: Project, name: str, raw: Mapping[str, Any], user: User | None
) -> dict[str, Any]:
    """Change the label called ``name``: any of name, description, colour, key and kind in ``raw``.

    A new name is a rename (every stored use is rewritten); the kind cannot change once the label has
    spans. Raises LabelChangeError, with nothing changed, for a change the scheme's rule refuses.
    """
    i = _index(project, name)
    old = dict(project.labels[i])
    old_kind = kind_of(name, project.labels)
    labels = [dict(label) for label in project.labels]
    labels[i] = {**old, **_fields(raw)}
    scheme = _checked(labels)
    new = scheme[i]
    if new["kind"] != old_kind and label_uses(session, project).get(name, 0):
        raise LabelChangeError(
            f"label {name!r} has spans, so its kind stays {old_kind!r}; add a new label of kind {new['kind']!r} instead"
        )
    if new["name"] == name:
        project.labels = scheme
        record(session, user, "label.edit", "project", project.id, label=name, old=old, new=new)
    else:
        renamed = _rename_uses(session, project, name, new["name"])
        project.labels = scheme
        record(
            session, user, "label.rename", "project", project.id, label=new["name"], old=old, new=new, renamed=renamed
        )
    session.flush()
    return new


def _rename_in_incidents(session: Session, annotations, golds, old: str, new: str) -> int:
    """Rewrite the label ``old`` in the span keys of the annotations' and golds' incidents; how many rows changed."""
    changed = 0
    for model, ids in ((Annotation, annotations), (GoldAnnotation, golds)):
        for row in session.scalars(select(model).where(model.id.in_(ids), model.incidents.is_not(None))):
            rewritten = renamed_incidents(row.incidents, old, new)
            if rewritten != row.incidents:
                row.incidents = rewritten
                changed += 1
    return changed


def _rename_uses(session: Session, project: Project, old: str, new: str) -> dict[str, int]:
    """Rewrite every stored use of label ``old`` in ``project`` to ``new``; how many rows of each table changed."""
    session.flush()  # nothing pending is lost when the loaded rows are expired below
    sentences = select(Sentence.id).where(Sentence.project_id == project.id)
    annotations = select(Annotation.id).where(Annotation.sentence_id.in_(sentences))
    golds = select(GoldAnnotation.id).where(GoldAnnotation.sentence_id.in_(sentences))
    targets = (
        (Span, Span.annotation_id.in_(annotations)),
        (GoldSpan, GoldSpan.gold_id.in_(golds)),
        (Suggestion, Suggestion.sentence_id.in_(sentences)),
    )
    if new.upper() != old.upper():
        # Rows left with the new name (a label deleted earlier, an imported suggestion) would collide
        # with the renamed ones on the unique constraints; the rename is refused rather than merged.
        for model, where in targets:
            clash = session.scalar(select(func.count()).select_from(model).where(where, model.label == new))
            if clash:
                raise LabelChangeError(
                    f"{clash} stored span(s) or suggestion(s) are named {new!r} already; pick another name"
                )
    renamed: dict[str, int] = {}
    for model, where in targets:
        result = session.execute(
            update(model)
            .where(where, model.label == old)
            .values(label=new)
            .execution_options(synchronize_session=False)
        )
        renamed[model.__tablename__] = result.rowcount  # type: ignore[attr-defined]  # an UPDATE's result has one
    for gold in session.scalars(select(GoldAnnotation).where(GoldAnnotation.id.in_(golds))):
        if gold.dropped and any(isinstance(d, dict) and d.get("label") == old for d in gold.dropped):
            gold.dropped = [
                {**d, "label": new} if isinstance(d, dict) and d.get("label") == old else d for d in gold.dropped
            ]
    incidents = _rename_in_incidents(session, annotations, golds, old, new)
    if incidents:  # rows whose incidents name the label
        renamed["incidents"] = incidents
    session.flush()
    session.expire_all()  # loaded spans show the new name (the project's new scheme is set after this)
    return renamed


def move_label(session: Session, project: Project, name: str, step: int, user: User | None) -> list[str]:
    """Move the label ``step`` places (-1 up, +1 down) in the scheme; at an end, nothing moves. The new order."""
    i = _index(project, name)
    j = max(0, min(len(project.labels) - 1, i + step))
    if j != i:
        labels = [dict(label) for label in project.labels]
        labels.insert(j, labels.pop(i))
        project.labels = _checked(labels)
        record(session, user, "label.move", "project", project.id, label=name, position=j + 1)
        session.flush()
    return [label["name"] for label in project.labels]


def set_retired(session: Session, project: Project, name: str, retired: bool, user: User | None) -> dict[str, Any]:
    """Retire a label (kept on its spans, in exports and agreement; offered for no new span) or bring it back."""
    i = _index(project, name)
    labels = [dict(label) for label in project.labels]
    labels[i]["retired"] = retired
    project.labels = _checked(labels)
    record(session, user, "label.retire" if retired else "label.restore", "project", project.id, label=name)
    session.flush()
    return project.labels[i]


def delete_label(session: Session, project: Project, name: str, user: User | None) -> None:
    """Delete a label that no span has (its stored suggestions go with it); one in use is to be retired."""
    i = _index(project, name)
    uses = label_uses(session, project).get(name, 0)
    if uses:
        raise LabelChangeError(f"label {name!r} is on {uses} span(s); retire it instead, which keeps them")
    labels = [dict(label) for label in project.labels]
    removed = labels.pop(i)
    project.labels = _checked(labels)
    sentences = select(Sentence.id).where(Sentence.project_id == project.id)
    session.execute(
        delete(Suggestion)
        .where(Suggestion.sentence_id.in_(sentences), Suggestion.label == name)
        .execution_options(synchronize_session=False)
    )
    record(session, user, "label.delete", "project", project.id, label=removed)
    session.flush()
