"""A project's rows as plain records, for the pure core (export, agreement)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Text, bindparam, cast, func, select
from sqlalchemy.orm import Session

from ..db import core_connection
from ..incidents import incidents_from_json
from ..models import Annotation, GoldAnnotation, GoldSpan, Project, Report, Sentence, Span, User
from ..records import AnnotationRecord, GoldRecord, GoldSpanRecord, IncidentRecord, SentenceRecord, SpanRecord

CONTEXT_SENTENCES = 2  # neighbours shown either side of a sentence being labelled or adjudicated


@dataclass(frozen=True)
class SentenceWindow:
    """Where a sentence stands in its report: the report's number and source, and its neighbours' texts."""

    report_number: int | None
    source: str | None
    before: list[str]
    after: list[str]


# Built once (the labelling round reads it); the sentence's own row comes along, so that the report's
# number and source always arrive in the same query.
_WINDOW = (
    select(Sentence.position, Sentence.text, Report.source, Report.number)
    .join(Report, Report.id == Sentence.report_id)
    .where(Sentence.report_id == bindparam("report_id"), Sentence.position.between(bindparam("low"), bindparam("high")))
    .order_by(Sentence.position)
)


def sentence_window(session: Session, sentence: Sentence, around: int = CONTEXT_SENTENCES) -> SentenceWindow:
    """Up to ``around`` sentences either side of ``sentence`` in its report, in one query."""
    window = (
        core_connection(session)
        .execute(
            _WINDOW,
            {"report_id": sentence.report_id, "low": sentence.position - around, "high": sentence.position + around},
        )
        .all()
    )
    return SentenceWindow(
        report_number=window[0].number if window else None,
        source=window[0].source if window else None,
        before=[row.text for row in window if row.position < sentence.position],
        after=[row.text for row in window if row.position > sentence.position],
    )


@dataclass
class ProjectRecords:
    sentences: list[SentenceRecord]
    annotations: list[AnnotationRecord]
    gold: dict[int, GoldRecord]


def project_records(session: Session, project: Project, sentence_ids: Iterable[int] | None = None) -> ProjectRecords:
    """Sentences in report order, every annotation with its spans, and gold.

    Three flat queries (plus spans), whatever the project's size; ``sentence_ids``
    narrows them to some sentences. Holds the whole project: for an export of
    any size use ``iter_project_records``.
    """
    ids = None if sentence_ids is None else list(sentence_ids)
    where = [Sentence.project_id == project.id]
    if ids is not None:
        where.append(Sentence.id.in_(ids))
    return _records(session, where)


def iter_project_records(
    session: Session, project: Project, batch_sentences: int = 2000, *, tokens: bool = True, suggestions: bool = True
) -> Iterator[ProjectRecords]:
    """The project's records in batches of whole reports, in report order.

    Each batch is ``project_records`` of consecutive reports holding about
    ``batch_sentences`` sentences together (one report more than that is a
    batch of its own); ``tokens=False`` leaves the sentences' token offsets
    out (an export tokenises the text again and does not read them), and
    ``suggestions=False`` where accepted suggestions came from (each span's
    ``suggested``, ``source`` and ``model_version`` keep their defaults:
    an export writes none of them). One
    grouped query first counts the sentences of each report (two integers
    per report are held, not the rows), then each
    batch is read by a range of report ids (the ``ix_sentences_project_order``
    index): memory is one batch, whatever the project's size. The batches
    are read with separate statements, so they see one snapshot only where
    the session's transaction gives one (SQLite; PostgreSQL at REPEATABLE READ).
    """
    ranges: list[tuple[int, int]] = []
    first = last = None
    size = 0
    for report_id, count in session.execute(
        select(Sentence.report_id, func.count())
        .where(Sentence.project_id == project.id)
        .group_by(Sentence.report_id)
        .order_by(Sentence.report_id)
    ):
        if first is not None and size + count > batch_sentences:
            ranges.append((first, last))
            first, size = None, 0
        if first is None:
            first = report_id
        last, size = report_id, size + count
    if first is not None:
        ranges.append((first, last))
    for first, last in ranges:
        yield _records(
            session, [Sentence.project_id == project.id, Sentence.report_id.between(first, last)], tokens, suggestions
        )


def _records(session: Session, where: list, tokens: bool = True, suggestions: bool = True) -> ProjectRecords:
    """Records of the sentences matching ``where`` (conditions on Sentence); without their token
    offsets (``SentenceRecord.tokens`` empty) when ``tokens`` is false, and without their spans'
    suggestion columns (``SpanRecord.suggested``, ``source``, ``model_version``) when ``suggestions`` is false.

    Rows, not ORM objects: the statements run on the session's connection (its transaction, no ORM
    loading), and the incidents columns are read as text and parsed once per distinct value.
    """
    connection = session.connection()
    columns = [Sentence.id, Sentence.report_id, Sentence.position, Sentence.text, Sentence.start_char]
    sentence_query = (
        select(*columns, *([Sentence.tokens] if tokens else []))
        .where(*where)
        .order_by(Sentence.report_id, Sentence.position)
    )
    if tokens:
        sentences = [
            SentenceRecord(row[0], row[1], row[2], row[3], row[4], tuple((a, b) for a, b in row[5]))
            for row in connection.execute(sentence_query).all()
        ]
    else:
        sentences = [SentenceRecord(*row) for row in connection.execute(sentence_query).all()]

    scope = select(Sentence.id).where(*where)
    spans = defaultdict(list)
    span_columns = [Span.start_char, Span.end_char, Span.label, Span.value]
    if suggestions:
        span_columns += [Span.suggested, Span.source, Span.model_version]
    for annotation_id, *span in connection.execute(
        select(Span.annotation_id, *span_columns)
        .join(Annotation, Annotation.id == Span.annotation_id)
        .where(Annotation.sentence_id.in_(scope))
        .order_by(Span.annotation_id, Span.start_char, Span.end_char)
    ).all():
        spans[annotation_id].append(SpanRecord(*span))
    parsed: dict[str | None, tuple[IncidentRecord, ...]] = {}
    annotations = [
        AnnotationRecord(
            sentence_id,
            username,
            status,
            tuple(spans[annotation_id]),
            comment,
            _incidents(incidents, parsed),
        )
        for annotation_id, sentence_id, status, comment, incidents, username in connection.execute(
            select(
                Annotation.id,
                Annotation.sentence_id,
                Annotation.status,
                Annotation.comment,
                cast(Annotation.incidents, Text),
                User.username,
            )
            .join(User, User.id == Annotation.user_id)
            .where(Annotation.sentence_id.in_(scope))
            .order_by(Annotation.sentence_id, User.username)
        ).all()
    ]

    gold_spans = defaultdict(list)
    for gold_id, *gold_span in connection.execute(
        select(
            GoldSpan.gold_id,
            GoldSpan.start_char,
            GoldSpan.end_char,
            GoldSpan.label,
            GoldSpan.value,
            GoldSpan.provenance,
        )
        .join(GoldAnnotation, GoldAnnotation.id == GoldSpan.gold_id)
        .where(GoldAnnotation.sentence_id.in_(scope))
        .order_by(GoldSpan.start_char)
    ).all():
        gold_spans[gold_id].append(GoldSpanRecord(*gold_span))
    gold = {
        sentence_id: GoldRecord(sentence_id, tuple(gold_spans[gold_id]), username, _incidents(incidents, parsed))
        for gold_id, sentence_id, incidents, username in connection.execute(
            select(GoldAnnotation.id, GoldAnnotation.sentence_id, cast(GoldAnnotation.incidents, Text), User.username)
            .outerjoin(User, User.id == GoldAnnotation.reviewer_id)
            .where(GoldAnnotation.sentence_id.in_(scope))
        ).all()
    }
    return ProjectRecords(sentences, annotations, gold)


def _incidents(text: str | None, parsed: dict[str | None, tuple[IncidentRecord, ...]]) -> tuple[IncidentRecord, ...]:
    """The incidents of a JSON column read as text (SQL NULL or JSON null: none); ``parsed`` caches them by text."""
    found = parsed.get(text)
    if found is None:
        found = parsed[text] = tuple(incidents_from_json(None if text is None else json.loads(text)))
    return found
