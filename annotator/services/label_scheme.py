"""Editing a project's label scheme: add, change, rename, reorder, retire and delete labels.

``annotator.labels.scheme.check_scheme`` is the one rule for the scheme that results; a change it
refuses raises :class:`LabelChangeError` and changes nothing. A label that spans have (annotators'
or gold) is retired rather than deleted, and its kind stays. A rename rewrites every stored use of
the name in the same transaction: annotators' spans, gold spans, the spans a reviewer dropped
(``GoldAnnotation.dropped``) and stored suggestions, so the next export and agreement report use the
new name. The audit log keeps the names as they were when each event happened; the rename's own
event says from what to what.

Every function receives the session, writes an audit event and never commits. Each first reads the
project afresh under a lock of its row (:func:`lock_project`), so two admins' changes apply one after the
other, the later one to the scheme the earlier left (not to the one its page showed).

**Changes racing saves.** A save validates its spans against the scheme it read, then writes them. On
PostgreSQL (READ COMMITTED) a rename could commit in between: its UPDATEs never see the save's
spans, uncommitted or not yet written, and the save then stores them under a name the scheme no longer
has. A delete (its check that nobody uses the label) and a change of kind race the same way. SQLite
has no such race where the save's write transaction (``BEGIN IMMEDIATE``) is open before it reads the
scheme; :func:`confirm_scheme` also catches a save that read the scheme in an earlier transaction.
The protection costs the rare change, not the save:

- the change (:func:`lock_scheme`, first thing in the transaction) locks the project's row, which
  orders it after an import of the project (``services.corpus`` holds that row), then takes the
  project's *scheme lock* exclusively (an advisory lock: memory only, no row written), which waits
  for the saves holding a share of it to commit; it then reads the scheme, spans and uses afresh;
- a save takes its share with :class:`scheme_share`, a ``pg_try_advisory_xact_lock_shared`` that never
  waits, folded into a statement the save runs anyway (the labelling API's read of the sentence and
  project) or run alone (:func:`hold_scheme`); it is refused (:class:`SchemeChanged`) while a change holds
  or waits for the lock, and holds the share to its commit;
- at its end the save reads the scheme again, in a statement it runs anyway (the annotation's audit
  event, ``RETURNING`` the labels), and is refused when a label it read was renamed, deleted or given
  another kind (:func:`annotator.labels.scheme.lost_labels`).

Why this suffices: a change whose lock interval ends before the save's final read either ended before
the save read the scheme (the save validated against it) or is seen by that read (refused). A change
that takes the lock after the save took its share waits for the save's commit, so its statements see
the save's spans. A change holding the lock or waiting for it when the save asks for its share makes
the try fail (a waiting exclusive request blocks new shares, so a stream of saves cannot starve a
rename). A save never waits for the scheme lock, and a change holds no row a save needs before it has
the lock: its lock on the project's row is FOR NO KEY UPDATE, which does not conflict with the key
share a save takes on it (a new ``annotation_tallies`` row's foreign key), so the two never wait on
each other in a cycle: no deadlock. A refused save is rolled back whole: the annotator's stored annotation is as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Boolean, bindparam, delete, func, literal, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from ..db import core_connection, single_writer
from ..labels.kinds import kind_of
from ..labels.scheme import SchemeError, check_scheme, lost_labels
from ..models import Annotation, GoldAnnotation, GoldSpan, Project, Sentence, Span, Suggestion, User
from .audit import record
from .incident_links import renamed_incidents

__all__ = [
    "LabelChangeError",
    "SchemeChanged",
    "add_label",
    "delete_label",
    "edit_label",
    "confirm_scheme",
    "hold_scheme",
    "label_uses",
    "lock_project",
    "lock_scheme",
    "move_label",
    "scheme_share",
    "set_retired",
]

FIELDS = ("name", "description", "colour", "key", "kind")


class LabelChangeError(ValueError):
    """A change to a label scheme that is refused; the message says why and what to do instead."""


SCHEME_LOCK = 0x6C61  # first key of a project's scheme lock (a PostgreSQL advisory lock); the second is its id


class SchemeChanged(Exception):
    """A save's labels were renamed, deleted or given another kind while it was being made (or such a change
    is under way): stored, its spans would name labels the scheme no longer has. Nothing of it is kept."""

    def __init__(self) -> None:
        super().__init__(
            "the project's labels changed while this was being labelled (a label was renamed, deleted or given "
            "another kind)"
        )


class scheme_share(FunctionElement[bool]):
    """SQL: take this transaction's share of the scheme lock of the project whose id is the argument; true
    when held (until commit), false while a rename, delete or change of kind holds the lock or waits for it.
    It never waits. On SQLite it is ``1``: a write transaction there shuts out every other writer."""

    type = Boolean()
    name = "scheme_share"
    inherit_cache = True


@compiles(scheme_share)
def _scheme_share_sqlite(element, compiler, **kw) -> str:
    return "1"


@compiles(scheme_share, "postgresql")
def _scheme_share_postgresql(element, compiler, **kw) -> str:
    return f"pg_try_advisory_xact_lock_shared({SCHEME_LOCK}, {compiler.process(element.clauses, **kw)})"


def hold_scheme(session: Session, project: Project) -> None:
    """Take the save's share of ``project``'s scheme lock with a statement of its own (PostgreSQL; nothing to
    do on SQLite); raises SchemeChanged while the scheme is being changed. See the module's docstring."""
    if single_writer(session):
        return
    if not core_connection(session).execute(select(scheme_share(literal(project.id)))).scalar_one():
        raise SchemeChanged()


def check_scheme_kept(seen: list[dict[str, Any]], now: list[dict[str, Any]]) -> None:
    """Raise SchemeChanged when a label of ``seen`` (the scheme a save validated against) is not in ``now``
    (the scheme read at the save's end) with the same name and kind."""
    if lost_labels(seen, now):
        raise SchemeChanged()


_LABELS_NOW = select(Project.labels).where(Project.id == bindparam("project_id"))


def confirm_scheme(session: Session, project: Project) -> None:
    """A save's last check, with a statement of its own: ``project.labels`` (what the save validated against)
    still has every label with its kind in the stored scheme; else SchemeChanged. The save holds its share
    of the scheme lock (:func:`hold_scheme`) from before this read to its commit."""
    check_scheme_kept(
        project.labels, core_connection(session).execute(_LABELS_NOW, {"project_id": project.id}).scalar_one()
    )


def lock_project(session: Session, project: Project) -> None:
    """Lock ``project``'s row until commit and read it afresh: the start of every change to its scheme.

    FOR NO KEY UPDATE: it waits for another change of the scheme and for an import (which takes the same), but not for
    the key share a save's new tally row (``annotation_tallies.project_id``) takes, which would deadlock a
    rename waiting for that save (:func:`lock_scheme`).
    """
    session.refresh(project, with_for_update={"key_share": True})


def lock_scheme(session: Session, project: Project) -> None:
    """Before a rename, a delete or a change of kind: lock ``project``'s row (after any import of the project)
    and, on PostgreSQL, take its scheme lock exclusively, which waits for the saves holding a share to commit
    and refuses new ones until this transaction ends; ``project`` is read afresh. Call it before reading
    anything the change relies on (the scheme, the label's uses); it holds no row a save needs while it waits."""
    lock_project(session, project)
    _lock_scheme_exclusively(session, project)


def _lock_scheme_exclusively(session: Session, project: Project) -> None:
    """The second half of :func:`lock_scheme`, for a change that holds ``project``'s row lock already."""
    if not single_writer(session):
        session.execute(select(func.pg_advisory_xact_lock(SCHEME_LOCK, project.id)))


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
    lock_project(session, project)
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
    spans. Either one takes the scheme lock (:func:`lock_scheme`), decided on the scheme read under the
    row lock: another admin's change that committed since ``project`` was loaded can make an edit of the
    description a change of kind. Raises LabelChangeError, with nothing changed, for a change the
    scheme's rule refuses.
    """
    lock_project(session, project)
    i = _index(project, name)
    wanted = {**project.labels[i], **_fields(raw)}
    if wanted.get("name") != name or (wanted.get("kind") or "text") != kind_of(name, project.labels):
        _lock_scheme_exclusively(session, project)
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
    lock_project(session, project)
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
    """Retire a label (kept on its spans, in exports and agreement; offered for no new span) or bring it back.

    Takes no scheme lock: a save that raced the retirement may keep a new span with the label, which is
    valid (a retired label stays in the scheme, on its spans, in exports and agreement).
    """
    lock_project(session, project)
    i = _index(project, name)
    labels = [dict(label) for label in project.labels]
    labels[i]["retired"] = retired
    project.labels = _checked(labels)
    record(session, user, "label.retire" if retired else "label.restore", "project", project.id, label=name)
    session.flush()
    return project.labels[i]


def delete_label(session: Session, project: Project, name: str, user: User | None) -> None:
    """Delete a label that no span has (its stored suggestions go with it); one in use is to be retired.

    Takes the scheme lock first (:func:`lock_scheme`), so the check that no span has the label sees the
    spans of every save that could still use it.
    """
    _index(project, name)
    lock_scheme(session, project)
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
