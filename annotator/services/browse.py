"""Browse a project's sentences: filters and keyset pages in reading order.

Sentences come in report order, then position in the report: the key
``(report_id, position)`` is unique, so a page boundary between two
sentences of one report loses and repeats nothing. A page is asked for
``after`` the last key of the page before it or ``before`` the first key of
the page after it; no OFFSET, so every page costs the same at any depth.

Filters (all optional, combined with AND):

- ``text``: the sentence contains this text, case-insensitively (SQLite folds
  ASCII letters only; PostgreSQL folds every letter). A text of three or more
  characters is looked up in the trigram index of migration 0007 where the
  database has one (FTS5 on SQLite, ``pg_trgm`` on PostgreSQL), so a rare text
  costs as little as a common one;
- ``state``: ``unlabelled`` (no done or flagged annotation yet), ``in_progress``
  (some, fewer than its quota), ``complete`` (quota reached), ``flagged`` (an
  annotator flagged it), ``gold`` (it has gold);
- ``annotator``: that user has a done or flagged annotation of it;
- ``label``: a done or flagged annotation of it has a span with this label;
- ``disagreement``: two or more done or flagged annotations whose spans differ
  (offsets, label or value). This is exactly when
  ``annotator.metrics.disagreements.sentence_disagreements`` finds a conflict:
  the versions differ somewhere iff some span is missing from one of them,
  that is, iff some (start, end, label, value) is held by fewer annotations
  than the sentence's ``annotation_count`` (its done and flagged annotations).
  Skipped annotations never count, as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
    tuple_,
)
from sqlalchemy.orm import Session

from ..db import database_key
from ..models import COMPLETE, STARTED, UNTOUCHED, Annotation, GoldAnnotation, Project, Report, Sentence, Span, User

STATES = ("unlabelled", "in_progress", "complete", "flagged", "gold")
STATE_NAMES = {UNTOUCHED: "unlabelled", STARTED: "in_progress", COMPLETE: "complete"}
COUNTED = ("done", "flagged")
PAGE_SIZE = 50
RARE_TEXT = 2000  # fewer trigram matches than this in the whole database: look them up, not scan


class BadFilter(ValueError):
    """A filter value that names nothing in the project (an unknown state, label or annotator)."""


@dataclass(frozen=True)
class Filters:
    text: str | None = None
    state: str | None = None
    annotator: str | None = None
    label: str | None = None
    disagreement: bool = False


Key = tuple[int, int]  # (report_id, position)


@dataclass(frozen=True)
class BrowsedSentence:
    sentence_id: int
    report_id: int
    report_number: int  # the report's number within its project, as pages show it
    position: int
    text: str
    state: str  # one of unlabelled, in_progress, complete
    annotators: tuple[str, ...]  # done or flagged, by name
    flagged: bool
    gold: bool


@dataclass(frozen=True)
class BrowsePage:
    rows: list[BrowsedSentence]
    previous: Key | None  # ask for before=this for the page before, None on the first page
    next: Key | None  # ask for after=this for the page after, None on the last page


def _conditions(session: Session, project: Project, filters: Filters) -> list[ColumnElement[bool]]:
    """The WHERE terms of ``filters``; raises BadFilter for a value that names nothing."""
    terms: list[ColumnElement[bool]] = [Sentence.project_id == project.id]
    counted = Annotation.status.in_(COUNTED)
    if filters.text:
        terms.append(Sentence.text.icontains(filters.text, autoescape=True))
        if len(filters.text) >= 3 and _has_text_index(session):
            # A rare text: its few matches, read from the trigram index once for the page and the
            # look-back both. A common one: reading order finds a page of it soonest.
            matches = session.scalars(_trigram_matches(filters.text).limit(RARE_TEXT)).all()
            if len(matches) < RARE_TEXT:
                terms.append(Sentence.id.in_(matches))
    if filters.state is not None:
        if filters.state not in STATES:
            raise BadFilter(f"state is one of {', '.join(STATES)}")
        if filters.state == "flagged":
            terms.append(Sentence.flagged.is_(True))  # read in reading order from ix_sentences_flagged
        elif filters.state == "gold":
            terms.append(exists().where(GoldAnnotation.sentence_id == Sentence.id))
        else:
            state = {name: number for number, name in STATE_NAMES.items()}[filters.state]
            terms.append(Sentence.state == state)
    if filters.annotator is not None:
        user_id = session.scalar(select(User.id).where(User.username == filters.annotator))
        if user_id is None:
            raise BadFilter(f"there is no user called {filters.annotator[:80]!r}")
        terms.append(exists().where(Annotation.sentence_id == Sentence.id, Annotation.user_id == user_id, counted))
    if filters.label is not None:
        if filters.label not in [label["name"] for label in project.labels]:
            names = ", ".join(label["name"] for label in project.labels)
            raise BadFilter(f"the project has no label {filters.label[:80]!r}; its labels are {names}")
        terms.append(
            exists()
            .where(Annotation.sentence_id == Sentence.id, counted)
            .where(Span.annotation_id == Annotation.id, Span.label == filters.label)
        )
    if filters.disagreement:
        missing_somewhere = (
            select(literal(1))
            .select_from(Span)
            .join(Annotation, Annotation.id == Span.annotation_id)
            .where(Annotation.sentence_id == Sentence.id, counted)
            .group_by(Span.start_char, Span.end_char, Span.label, Span.value)
            .having(func.count() < Sentence.annotation_count)
        )
        terms.append(and_(Sentence.annotation_count >= 2, missing_somewhere.exists()))
    return terms


_TEXT_INDEX: dict[str, bool] = {}


def _has_text_index(session: Session) -> bool:
    """Whether this SQLite database has the ``sentences_text`` trigram table (read once per database).

    On PostgreSQL the trigram index (if any) serves the ``icontains`` term itself: nothing to add.
    """
    if session.get_bind().dialect.name != "sqlite":
        return False
    key = database_key(session)
    if key not in _TEXT_INDEX:
        found = session.scalar(
            select(literal_column("name"))
            .select_from(table("sqlite_master"))
            .where(literal_column("type") == "table", literal_column("name") == "sentences_text")
        )
        _TEXT_INDEX[key] = found is not None
    return _TEXT_INDEX[key]


def _trigram_matches(text: str):
    """The rowids of sentences whose text holds every trigram of ``text``: a superset of the matches."""
    phrase = '"' + text.replace('"', '""') + '"'  # an FTS5 string: the whole text as one phrase
    return (
        select(literal_column("rowid"))
        .select_from(table("sentences_text"))
        .where(literal_column("sentences_text").op("MATCH")(phrase))
    )


def browse_sentences(
    session: Session,
    project: Project,
    filters: Filters = Filters(),
    *,
    after: Key | None = None,
    before: Key | None = None,
    page_size: int = PAGE_SIZE,
) -> BrowsePage:
    """One page of the project's sentences matching ``filters``, in reading order.

    ``after`` gives the page that follows that key, ``before`` the page that
    precedes it (at most one of them); neither gives the first page. A key
    need not belong to a sentence that still matches. Raises BadFilter for
    a filter value that names nothing, ValueError for both keys at once.
    """
    if after is not None and before is not None:
        raise ValueError("ask for the page after a key or before one, not both")
    terms = _conditions(session, project, filters)
    key = tuple_(Sentence.report_id, Sentence.position)
    query = select(Sentence.id, Sentence.report_id, Sentence.position, Sentence.text, Sentence.state).where(*terms)
    if before is not None:
        query = query.where(key < tuple_(*before)).order_by(Sentence.report_id.desc(), Sentence.position.desc())
    else:
        if after is not None:
            query = query.where(key > tuple_(*after))
        query = query.order_by(Sentence.report_id, Sentence.position)
    found = session.execute(query.limit(page_size + 1)).all()
    more = len(found) > page_size
    found = found[:page_size]
    if before is not None:
        found.reverse()
    if not found:
        return BrowsePage(rows=[], previous=None, next=None)
    first, last = (found[0].report_id, found[0].position), (found[-1].report_id, found[-1].position)
    if before is not None:
        has_previous, has_next = more, _any(session, terms, key > tuple_(*last), ascending=True)
    else:
        has_previous = after is not None and _any(session, terms, key < tuple_(*first), ascending=False)
        has_next = more
    return BrowsePage(
        rows=_rows(session, found),
        previous=first if has_previous else None,
        next=last if has_next else None,
    )


def _any(session: Session, terms: list[ColumnElement[bool]], beyond: ColumnElement[bool], *, ascending: bool) -> bool:
    """Whether a matching sentence lies beyond the page; read from the page outwards, so the nearest answers."""
    order = (
        (Sentence.report_id, Sentence.position) if ascending else (Sentence.report_id.desc(), Sentence.position.desc())
    )
    return session.scalar(select(Sentence.id).where(*terms, beyond).order_by(*order).limit(1)) is not None


def _rows(session: Session, found: list[Any]) -> list[BrowsedSentence]:
    """The page's sentences with their report numbers, annotators, flags and gold, in three queries."""
    ids = [row.id for row in found]
    annotators: dict[int, list[str]] = {}
    flagged: set[int] = set()
    for sentence_id, name, status in session.execute(
        select(Annotation.sentence_id, User.username, Annotation.status)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.sentence_id.in_(ids), Annotation.status.in_(COUNTED))
        .order_by(User.username)
    ):
        annotators.setdefault(sentence_id, []).append(name)
        if status == "flagged":
            flagged.add(sentence_id)
    gold = set(session.scalars(select(GoldAnnotation.sentence_id).where(GoldAnnotation.sentence_id.in_(ids))))
    numbers: dict[int, int] = dict(
        session.execute(select(Report.id, Report.number).where(Report.id.in_({row.report_id for row in found}))).all()
    )
    return [
        BrowsedSentence(
            sentence_id=row.id,
            report_id=row.report_id,
            report_number=numbers[row.report_id],
            position=row.position,
            text=row.text,
            state=STATE_NAMES[row.state],
            annotators=tuple(annotators.get(row.id, ())),
            flagged=row.id in flagged,
            gold=row.id in gold,
        )
        for row in found
    ]
