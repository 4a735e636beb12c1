"""A project's rows as plain records, for the pure core (export, agreement)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Annotation, GoldAnnotation, GoldSpan, Project, Sentence, Span, User
from ..records import AnnotationRecord, GoldRecord, GoldSpanRecord, SentenceRecord, SpanRecord


@dataclass
class ProjectRecords:
    sentences: list[SentenceRecord]
    annotations: list[AnnotationRecord]
    gold: dict[int, GoldRecord]


def sentence_record(row: Sentence) -> SentenceRecord:
    return SentenceRecord(
        id=row.id,
        report_id=row.report_id,
        position=row.position,
        text=row.text,
        start_char=row.start_char,
        tokens=tuple((a, b) for a, b in row.tokens),
    )


def project_records(session: Session, project: Project, sentence_ids: Iterable[int] | None = None) -> ProjectRecords:
    """Sentences in report order, every annotation with its spans, and gold.

    Three flat queries (plus spans), whatever the project's size; ``sentence_ids``
    narrows them to some sentences.
    """
    ids = None if sentence_ids is None else list(sentence_ids)
    sentence_query = select(Sentence).where(Sentence.project_id == project.id).order_by(Sentence.report_id, Sentence.position)
    if ids is not None:
        sentence_query = sentence_query.where(Sentence.id.in_(ids))
    sentences = [sentence_record(s) for s in session.scalars(sentence_query)]

    scope = select(Sentence.id).where(Sentence.project_id == project.id)
    if ids is not None:
        scope = scope.where(Sentence.id.in_(ids))
    spans = defaultdict(list)
    for row in session.execute(
        select(Span.annotation_id, Span.start_char, Span.end_char, Span.label, Span.value, Span.suggested)
        .join(Annotation, Annotation.id == Span.annotation_id)
        .where(Annotation.sentence_id.in_(scope))
        .order_by(Span.annotation_id, Span.start_char, Span.end_char)
    ):
        spans[row.annotation_id].append(SpanRecord(row.start_char, row.end_char, row.label, row.value, row.suggested))
    annotations = [
        AnnotationRecord(row.sentence_id, row.username, row.status, tuple(spans[row.id]))
        for row in session.execute(
            select(Annotation.id, Annotation.sentence_id, Annotation.status, User.username)
            .join(User, User.id == Annotation.user_id)
            .where(Annotation.sentence_id.in_(scope))
            .order_by(Annotation.sentence_id, User.username)
        )
    ]

    gold_spans = defaultdict(list)
    for row in session.execute(
        select(GoldSpan.gold_id, GoldSpan.start_char, GoldSpan.end_char, GoldSpan.label, GoldSpan.value, GoldSpan.provenance)
        .join(GoldAnnotation, GoldAnnotation.id == GoldSpan.gold_id)
        .where(GoldAnnotation.sentence_id.in_(scope))
        .order_by(GoldSpan.start_char)
    ):
        gold_spans[row.gold_id].append(GoldSpanRecord(row.start_char, row.end_char, row.label, row.value, row.provenance))
    gold = {
        row.sentence_id: GoldRecord(row.sentence_id, tuple(gold_spans[row.id]), row.username)
        for row in session.execute(
            select(GoldAnnotation.id, GoldAnnotation.sentence_id, User.username)
            .outerjoin(User, User.id == GoldAnnotation.reviewer_id)
            .where(GoldAnnotation.sentence_id.in_(scope))
        )
    }
    return ProjectRecords(sentences, annotations, gold)
