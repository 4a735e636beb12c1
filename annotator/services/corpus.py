"""Store parsed reports: sentences, tokens and any annotations they came with."""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from ..corpus.parse import CorpusError, content_hash
from ..corpus.text import make_nlp, split_reports
from ..incidents import check_incidents, incidents_to_json
from ..limits import DEFAULT_LIMITS, Limits, shown
from ..models import Annotation, Project, ProjectMember, Report, Sentence, Span, Suggestion, utcnow
from ..records import ImportedAnnotation, IncidentRecord, ReportRecord
from .annotations import span_values, validate_spans
from .users import UserError, get_or_create_annotator


@dataclass
class ImportSummary:
    reports: int = 0
    sentences: int = 0
    duplicates: int = 0
    annotations: int = 0
    suggestions: int = 0
    # An annotator's annotation of a sentence they had annotated already: an import adds, it never
    # replaces what is stored (a person's later work in the browser included), so it is kept as stored.
    kept: int = 0
    # Annotators of a restricted project's imported annotations made members of it, so that they
    # may see and revisit their work there.
    members: int = 0

    def add(self, other: ImportSummary) -> None:
        for field in ("reports", "sentences", "duplicates", "annotations", "suggestions", "kept", "members"):
            setattr(self, field, getattr(self, field) + getattr(other, field))

    def __str__(self) -> str:
        parts = [f"{_many(self.reports, 'report')} added", f"{_many(self.sentences, 'sentence')} added"]
        parts.append(f"{_many(self.duplicates, 'duplicate')} skipped")
        parts += [
            f"{_many(n, noun)} added"
            for n, noun in ((self.annotations, "annotation"), (self.suggestions, "suggestion"))
            if n
        ]
        if self.members:
            parts.append(f"{_many(self.members, 'annotator')} made members of the restricted project")
        if self.kept:
            parts.append(
                f"{_many(self.kept, 'annotation')} not imported: the annotator has one of that sentence already, "
                "kept as stored (an import never replaces an annotation)"
            )
        return ", ".join(parts)


def _many(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


ANALYZE_AFTER = 1000  # sentences: a PostgreSQL import at least this large refreshes the planner's statistics


def import_reports(
    session: Session,
    project: Project,
    file: str,
    reports: Iterable[ReportRecord],
    *,
    as_annotator: str | None = None,
    as_suggestions: bool = False,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 500,
    limits: Limits = DEFAULT_LIMITS,
) -> ImportSummary:
    """Add ``reports`` to ``project``; a text already there is a duplicate.

    Annotations that came with a report become done annotations of their
    annotator (``as_annotator`` names one for records that do not), or
    suggestions with ``as_suggestions``; they also attach to a duplicate, so
    several annotators' files of the same texts make one report. Raises
    CorpusError (naming ``file`` and the record's line) for a span that
    crosses a sentence boundary, an annotation with no annotator or one
    naming an admin or reviewer, a report longer than the tokenizer takes or
    a sentence longer than ``limits.max_sentence_chars``; the caller rolls back.
    """
    # One import of a project at a time: each numbers its reports after the project's last one.
    # (PostgreSQL locks the project's row; SQLite's write transaction shuts out other writers.)
    # The project is read again under the lock: a rename or delete of a label takes the same lock first
    # (services.label_scheme.lock_scheme), so the labels the spans are checked against stay the scheme's.
    # FOR NO KEY UPDATE, as lock_project: a save's new progress tally row, whose key names the project,
    # takes a key share of the row and goes on while the import runs.
    session.scalars(
        select(Project)
        .where(Project.id == project.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()
    summary = ImportSummary()
    batch: list[ReportRecord] = []
    for record in reports:
        batch.append(record)
        if len(batch) >= batch_size:
            summary.add(_import_batch(session, project, file, batch, limits, as_annotator, as_suggestions))
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        summary.add(_import_batch(session, project, file, batch, limits, as_annotator, as_suggestions))
        if progress:
            progress(len(batch))
    if summary.sentences >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # Fresh statistics now, not when autovacuum next runs: planned on the empty tables' figures,
        # the queue's queries scan every annotation of the user per candidate sentence.
        session.execute(text("ANALYZE reports, sentences, annotations, spans, suggestions"))
    return summary


def _import_batch(session, project, file, batch, limits, as_annotator, as_suggestions) -> ImportSummary:
    summary = ImportSummary()
    hashes = [content_hash(r.text) for r in batch]
    existing = dict(
        session.execute(
            select(Report.content_hash, Report.id).where(
                Report.project_id == project.id, Report.content_hash.in_(set(hashes))
            )
        ).all()
    )
    new: dict[str, ReportRecord] = {}
    for record, digest in zip(batch, hashes, strict=True):
        if digest in existing or digest in new:
            summary.duplicates += 1
        else:
            new[digest] = record
    if new:
        nlp = make_nlp(project.lang)  # spaCy loads only when a report is new: a re-import of known ones needs none
        records = list(new.values())
        for record in records:
            if len(record.text) > nlp.max_length:  # spaCy refuses it with a ValueError
                raise CorpusError(
                    file,
                    record.line,
                    f"the report is {len(record.text):,} characters long; the tokenizer takes at most "
                    f"{nlp.max_length:,}: split it into several reports",
                )
        last = session.scalar(select(func.max(Report.number)).where(Report.project_id == project.id)) or 0
        report_ids = _insert_reports(
            session,
            [
                {
                    "project_id": project.id,
                    "number": last + n,
                    "external_id": r.external_id,
                    "source": r.source,
                    "meta": r.meta,
                    "text": r.text,
                    "content_hash": digest,
                    "created_at": utcnow(),
                }
                for n, (digest, r) in enumerate(new.items(), start=1)
            ],
        )
        rows = []
        for record, report_id, sentences in zip(
            records, report_ids, split_reports(nlp, [r.text for r in records]), strict=True
        ):
            _check_sentences(file, record, sentences, limits)
            rows.extend(
                {
                    "project_id": project.id,
                    "report_id": report_id,
                    "position": position,
                    "start_char": s.start_char,
                    "text": s.text,
                    "tokens": [list(t) for t in s.tokens],
                    "extra_annotators": 0,
                    "needs_review": False,
                }
                for position, s in enumerate(sentences)
            )
        if rows:
            _insert_sentences(session, rows)
        summary.reports += len(records)
        summary.sentences += len(rows)
        existing.update(zip(new.keys(), report_ids, strict=True))
    for record, digest in zip(batch, hashes, strict=True):
        if record.annotations:
            _attach(session, file, record, existing[digest], as_annotator, as_suggestions, summary)
    return summary


def _check_sentences(file: str, record: ReportRecord, sentences, limits: Limits) -> None:
    for position, sentence in enumerate(sentences, start=1):
        if len(sentence.text) > limits.max_sentence_chars:
            raise CorpusError(
                file,
                record.line,
                f"sentence {position} of the report is {len(sentence.text):,} characters long; the limit is "
                f"{limits.max_sentence_chars:,} (MAX_SENTENCE_CHARS): break it with punctuation or a blank line",
            )


REPORT_COLUMNS = ("id", "project_id", "number", "external_id", "source", "meta", "text", "content_hash", "created_at")
SENTENCE_COLUMNS = (
    "project_id",
    "report_id",
    "position",
    "start_char",
    "text",
    "tokens",
    "extra_annotators",
    "needs_review",
)


def _insert_reports(session: Session, rows: list[dict]) -> list[int]:
    """Insert report rows; returns their ids in order.

    On PostgreSQL the ids are drawn from the table's sequence first and the
    rows go in through COPY; elsewhere an INSERT ... RETURNING.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return session.scalars(insert(Report).returning(Report.id, sort_by_parameter_order=True), rows).all()
    ids = session.scalars(
        text("SELECT nextval(pg_get_serial_sequence('reports', 'id')) FROM generate_series(1, :n)"), {"n": len(rows)}
    ).all()
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY reports ({', '.join(REPORT_COLUMNS)}) FROM STDIN") as copy:
        for report_id, row in zip(ids, rows, strict=True):
            copy.write_row([report_id] + [json.dumps(row[c]) if c == "meta" else row[c] for c in REPORT_COLUMNS[1:]])
    return ids


def _insert_sentences(session: Session, rows: list[dict]) -> None:
    """Insert sentence rows in the session's transaction, as fast as the backend allows.

    PostgreSQL takes them through COPY (about twice the rows per second of a
    multi-row INSERT); elsewhere a Core insert of the table, not the ORM-enabled
    insert(Sentence): same rows, ~30% less time (tests/benchmarks/bench_import.py).
    The queue columns keep their server defaults (untouched, no annotations).
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(Sentence.__table__), rows)
        return
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY sentences ({', '.join(SENTENCE_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c]) if c == "tokens" else row[c] for c in SENTENCE_COLUMNS])


def _attach(session, file, record, report_id, as_annotator, as_suggestions, summary) -> None:
    project = session.get(Project, sentences_project(session, report_id))
    sentences = session.scalars(
        select(Sentence).where(Sentence.report_id == report_id).order_by(Sentence.position)
    ).all()
    starts = [s.start_char for s in sentences]
    for imported in record.annotations:
        placed = _place_spans(file, record, imported, sentences, starts)
        _check_spans(file, record, project, sentences, placed)
        incidents = _place_incidents(file, record, project, imported, sentences, starts, placed)
        if as_suggestions:
            summary.suggestions += _add_suggestions(session, placed)
            continue
        name = imported.annotator or as_annotator
        if name is None:
            raise CorpusError(
                file,
                record.line,
                "the spans here name no annotator: name one in the file (Prodigy's _annotator_id), or import the "
                "file naming the annotator of such spans (annotator import --as-annotator NAME; on the upload form, "
                "'annotations of the annotator named here'), or as suggestions",
            )
        # Where the name came from, so that the message says what to change.
        rename = "rename the annotator in the file" if imported.annotator else "name another annotator for the import"
        try:
            user = get_or_create_annotator(session, name)
        except UserError as exc:
            raise CorpusError(
                file, record.line, f"annotator {shown(name)}: {exc}; {rename}, or import the spans as suggestions"
            ) from None
        if user.role != "annotator":
            # Attributing imported work to an admin or reviewer would put their name on labels they never made.
            raise CorpusError(
                file,
                record.line,
                f"annotator {name!r} is the name of an existing {user.role} account; imported annotations go to annotator "
                f"accounts only: {rename}, or import the spans as suggestions",
            )
        if project.restricted and session.get(ProjectMember, (project.id, user.id)) is None:
            session.add(ProjectMember(project_id=project.id, user_id=user.id))
            session.flush()
            summary.members += 1
        done = set(
            session.scalars(
                select(Annotation.sentence_id).where(
                    Annotation.user_id == user.id, Annotation.sentence_id.in_([s.id for s in sentences])
                )
            )
        )
        for sentence in sentences:
            if sentence.id in done:
                summary.kept += 1
                continue
            annotation = Annotation(sentence_id=sentence.id, user_id=user.id, status=imported.status)
            # A span repeated in the file is one span (the schema holds each once).
            unique = {
                (start, end, span.label): (start, end, span) for start, end, span in reversed(placed[sentence.id])
            }
            ordered = sorted(unique.values(), key=lambda item: (item[0], item[1], item[2].label))
            # A span imported without a value gets the one its text gives, as a save in the browser does.
            values = span_values(
                session,
                project,
                sentence,
                [{"start_char": a, "end_char": b, "label": span.label, "value": span.value} for a, b, span in ordered],
            )
            annotation.spans = [
                Span(start_char=start, end_char=end, label=span.label, value=value)
                for (start, end, span), value in zip(ordered, values, strict=True)
            ]
            if incidents[sentence.id]:
                annotation.incidents = incidents_to_json(incidents[sentence.id])
            session.add(annotation)
            summary.annotations += 1
    session.flush()


def sentences_project(session: Session, report_id: int) -> int:
    return session.scalar(select(Report.project_id).where(Report.id == report_id))


def _check_spans(file, record, project, sentences, placed) -> None:
    """Imported spans obey the same rules as spans saved in the browser: known labels, token boundaries."""

    for sentence in sentences:
        spans = [{"start_char": a, "end_char": b, "label": span.label} for a, b, span in placed[sentence.id]]
        _, problems = validate_spans(project, sentence, spans)
        for problem in problems:
            if problem.problem.startswith("duplicate"):
                continue  # a span listed twice is stored once
            if problem.span is None:  # about the whole list (too many spans)
                raise CorpusError(
                    file, record.line, f"sentence {sentence.position + 1} of the report: {problem.problem}"
                )
            a, b, span = placed[sentence.id][problem.span]
            raise CorpusError(
                file,
                record.line,
                f"span {shown(span.label)} {shown(sentence.text[a:b])} at [{span.start_char}, {span.end_char}): "
                f"{problem.problem}",
            )


def _place_spans(file, record, imported: ImportedAnnotation, sentences, starts):
    """Spans moved from report offsets to the offsets of the sentence holding them."""
    placed = {s.id: [] for s in sentences}
    for span in imported.spans:
        index = bisect.bisect_right(starts, span.start_char) - 1
        sentence = sentences[index] if index >= 0 else None
        if sentence is None or span.end_char > sentence.start_char + len(sentence.text):
            text = record.text[span.start_char : span.end_char]
            raise CorpusError(
                file,
                record.line,
                f"span [{span.start_char}, {span.end_char}) {span.label} {text!r} does not lie within one sentence",
            )
        placed[sentence.id].append((span.start_char - sentence.start_char, span.end_char - sentence.start_char, span))
    return placed


def _place_incidents(file, record, project, imported: ImportedAnnotation, sentences, starts, placed):
    """The imported incidents of each sentence, moved to its offsets and checked against its spans and the scheme."""
    by_sentence: dict[int, list[IncidentRecord]] = {s.id: [] for s in sentences}
    for incident in imported.incidents:
        holders = {bisect.bisect_right(starts, key[0]) - 1 for key in incident.spans}
        if len(holders) != 1 or min(holders) < 0:
            raise CorpusError(
                file, record.line, "an incident links spans of different sentences; link spans of one sentence"
            )
        sentence = sentences[holders.pop()]
        shift = sentence.start_char
        by_sentence[sentence.id].append(
            IncidentRecord(tuple(sorted((start - shift, end - shift, label) for start, end, label in incident.spans)))
        )
    for sentence in sentences:
        if not by_sentence[sentence.id]:
            continue
        keys = [(a, b, span.label) for a, b, span in placed[sentence.id]]
        problems = check_incidents(by_sentence[sentence.id], keys, project.labels)
        if problems:
            raise CorpusError(file, record.line, f"sentence {sentence.position + 1} of the report: {problems[0]}")
    return by_sentence


def _add_suggestions(session, placed) -> int:
    added = 0
    for sentence_id, spans in placed.items():
        have = set(
            session.execute(
                select(Suggestion.start_char, Suggestion.end_char, Suggestion.label).where(
                    Suggestion.sentence_id == sentence_id, Suggestion.source == "import"
                )
            ).all()
        )
        for start, end, span in spans:
            if (start, end, span.label) not in have:
                session.add(
                    Suggestion(
                        sentence_id=sentence_id,
                        start_char=start,
                        end_char=end,
                        label=span.label,
                        value=span.value,
                        source="import",
                    )
                )
                have.add((start, end, span.label))
                added += 1
    return added
