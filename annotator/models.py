"""The database schema. Invariants live here, as constraints.

Span offsets are code points relative to the sentence text, ``end_char``
exclusive. Timestamps are naive UTC.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("admin", "reviewer", "annotator")
STATUSES = ("done", "skipped", "flagged")
PROVENANCES = ("unanimous", "majority", "adjudicated")
ROUTINGS = ("none", "extra_annotator", "review")
QUEUE_ORDERS = ("report", "uncertain")  # Project.queue_order: report order, or most informative first
# ModelVersion.status: a training run waits for its process, runs, then ends in one of the last three.
RUN_STATUSES = ("queued", "running", "done", "failed", "cancelled")
# Sentence.state, kept by annotator.services.recount.recount: no counted annotation yet,
# some but fewer than its quota, quota reached.
UNTOUCHED, STARTED, COMPLETE = 0, 1, 2


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_settings_token() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'reviewer', 'annotator')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="annotator")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Rotated on logout and password change: old session cookies stop working.
    session_token: Mapped[str] = mapped_column(String(64), unique=True)
    api_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    # The Flask-Login interface; the session token is the id, so rotating it logs out everywhere.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return self.session_token


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("annotators_per_sentence >= 1", name="annotators_per_sentence"),
        CheckConstraint("routing IN ('none', 'extra_annotator', 'review')", name="routing"),
        CheckConstraint("queue_order IN ('report', 'uncertain')", name="queue_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    lang: Mapped[str] = mapped_column(String(16), default="en")
    labels: Mapped[list[Any]] = mapped_column(JSON)  # [{name, description, colour, key}]
    outcomes: Mapped[list[Any] | None] = mapped_column(JSON)  # None: the shipped vocabulary
    annotators_per_sentence: Mapped[int] = mapped_column(Integer, default=2)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)  # members only
    routing: Mapped[str] = mapped_column(String(24), default="none")
    # Model suggestions less confident than this are not offered; rule and imported ones carry no score.
    suggestion_min_score: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    model_path: Mapped[str | None] = mapped_column(String(1024))  # trained pipeline for suggestions
    # The order the queue serves open sentences in (QUEUE_ORDERS; annotator.services.queue).
    queue_order: Mapped[str] = mapped_column(String(16), default="report", server_default="report")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A fresh random value whenever the project's gazetteer entries or guidelines change:
    # the key under which each app process keeps them (annotator.services.projects.project_settings).
    settings_token: Mapped[str | None] = mapped_column(String(32), default=new_settings_token)

    reports: Mapped[list[Report]] = relationship(back_populates="project")


class ProjectMember(Base):
    __tablename__ = "project_members"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class Guideline(Base):
    """One version of a project's annotation guidelines (Markdown)."""

    __tablename__ = "guidelines"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GazetteerEntry(Base):
    """A project's own region, added to the shipped gazetteer."""

    __tablename__ = "gazetteer_entries"
    __table_args__ = (UniqueConstraint("project_id", "canonical"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    canonical: Mapped[str] = mapped_column(String(200))
    aliases: Mapped[list[Any]] = mapped_column(JSON)


def next_report_number(context: Any) -> int:
    """The number after the project's last report: the default of a report added without one.

    The import numbers a batch of reports itself (``services.corpus``). This default reads the
    table once per statement and project, then counts on, so the rows of one multi-row INSERT
    (an ORM flush of several reports, an executemany) get consecutive numbers too.
    """
    project_id = context.get_current_parameters()["project_id"]
    numbers = context.__dict__.setdefault("_next_report_numbers", {})
    if project_id not in numbers:
        numbers[project_id] = context.connection.execute(
            text("SELECT coalesce(max(number), 0) FROM reports WHERE project_id = :project_id"),
            {"project_id": project_id},
        ).scalar()
    numbers[project_id] += 1
    return int(numbers[project_id])


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("project_id", "content_hash"),
        Index("ix_reports_project_number", "project_id", "number", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    # "Report 1" is the project's first report: 1, 2, ... within the project, in import order.
    number: Mapped[int] = mapped_column(Integer, default=next_report_number)
    external_id: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(1024))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the text
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    project: Mapped[Project] = relationship(back_populates="reports")
    sentences: Mapped[list[Sentence]] = relationship(back_populates="report", order_by="Sentence.position")


class Sentence(Base):
    __tablename__ = "sentences"
    __table_args__ = (
        UniqueConstraint("report_id", "position"),
        CheckConstraint("start_char >= 0", name="start_char"),
        CheckConstraint("extra_annotators >= 0", name="extra_annotators"),
        CheckConstraint("annotation_count >= 0", name="annotation_count"),
        CheckConstraint("state IN (0, 1, 2)", name="state"),
        CheckConstraint("(annotation_count = 0) = (state = 0)", name="state_count"),
        Index("ix_sentences_project_order", "project_id", "report_id", "position"),
        # The queue reads open sentences in report order from here, and progress counts complete ones.
        Index("ix_sentences_queue", "project_id", "state", "report_id", "position"),
        # The corpus browser's "flagged" filter reads the few flagged sentences in reading order here.
        Index(
            "ix_sentences_flagged",
            "project_id",
            "report_id",
            "position",
            sqlite_where=text("flagged"),
            postgresql_where=text("flagged"),
        ),
        # The same for a project whose queue serves the most uncertain sentences first (migration 0016).
        Index("ix_sentences_uncertain", "project_id", "state", "uncertainty_rank", "report_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    start_char: Mapped[int] = mapped_column(Integer)  # offset in the report text
    text: Mapped[str] = mapped_column(Text)
    tokens: Mapped[list[Any]] = mapped_column(JSON)  # [[start_char, end_char], ...], non-space tokens
    # Disagreement routing adds annotators beyond the project's quota.
    extra_annotators: Mapped[int] = mapped_column(Integer, default=0)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    # Derived from the annotations, written only by annotator.services.recount.recount (run on
    # every flush that changes them): done + flagged annotations, UNTOUCHED/STARTED/COMPLETE, and
    # whether an annotator flagged it.
    annotation_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    state: Mapped[int] = mapped_column(SmallInteger, default=UNTOUCHED, server_default="0")
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Derived from the active model version, written only by annotator.services.uncertainty:
    # how unsure the model is (0 to 1) and its rank in the project (0 = most uncertain); NULL: unscored.
    uncertainty: Mapped[float | None] = mapped_column(Float)
    uncertainty_rank: Mapped[int | None] = mapped_column(Integer)

    report: Mapped[Report] = relationship(back_populates="sentences")


class Lease(Base):
    """A sentence handed to an annotator, reserved until it expires."""

    __tablename__ = "leases"
    # The queue looks up one user's leases on every request.
    __table_args__ = (Index("ix_leases_user_expires", "user_id", "expires_at"),)

    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentences.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class Annotation(Base):
    """One annotator's annotation of one sentence."""

    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("sentence_id", "user_id"),
        CheckConstraint("status IN ('done', 'skipped', 'flagged')", name="status"),
        CheckConstraint("seconds_spent >= 0", name="seconds_spent"),
        CheckConstraint("version >= 1", name="version"),
        Index("ix_annotations_user_updated", "user_id", "updated_at"),
        # The corpus browser's filters (annotator, done or flagged) read this index only.
        Index("ix_annotations_sentence_status", "sentence_id", "status", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentences.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    seconds_spent: Mapped[float] = mapped_column(Float, default=0.0)
    guideline_version: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on each save; stale saves get 409
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Its spans grouped into incidents, in the JSON shape of ``annotator.incidents.links``; NULL: none.
    incidents: Mapped[list[Any] | None] = mapped_column(JSON)

    spans: Mapped[list[Span]] = relationship(
        back_populates="annotation", cascade="all, delete-orphan", order_by="Span.start_char"
    )


class AnnotationTally(Base):
    """How many annotations one user has in one project with one status: the progress bar's figures.

    Kept by database triggers on ``annotations`` (migration 0017), so that every way of writing
    annotations (saves, imports, deletes and their cascades) keeps it right; counting the user's
    annotations on every request instead costs time in proportion to how many they have made.
    A row can hold 0 once its annotations are gone.
    """

    __tablename__ = "annotation_tallies"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class Span(Base):
    __tablename__ = "spans"
    __table_args__ = (
        CheckConstraint("start_char >= 0", name="start_char"),
        CheckConstraint("start_char < end_char", name="start_before_end"),
        UniqueConstraint("annotation_id", "start_char", "end_char", "label"),
        # The corpus browser's "label present" filter reads this index only.
        Index("ix_spans_annotation_label", "annotation_id", "label"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), index=True)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(String(255))
    suggested: Mapped[bool] = mapped_column(Boolean, default=False)
    # Provenance of an accepted suggestion: its source ("import", "rules", "model") and, for a
    # model's, the ModelVersion.number. NULL on hand-made spans and on those saved before migration 0015.
    source: Mapped[str | None] = mapped_column(String(32))
    model_version: Mapped[int | None] = mapped_column(Integer)

    annotation: Mapped[Annotation] = relationship(back_populates="spans")


class Suggestion(Base):
    """A span proposed to annotators: imported, from rules or from a model."""

    __tablename__ = "suggestions"
    __table_args__ = (
        CheckConstraint("start_char >= 0", name="start_char"),
        CheckConstraint("start_char < end_char", name="start_before_end"),
        UniqueConstraint("sentence_id", "start_char", "end_char", "label", "source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentences.id", ondelete="CASCADE"), index=True)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(32), default="import")


class GoldAnnotation(Base):
    """The adjudicated version of a sentence."""

    __tablename__ = "gold_annotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentences.id", ondelete="CASCADE"), unique=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The reviewer's reply or resolution note, shown to the annotators in their history.
    note: Mapped[str | None] = mapped_column(Text)
    # Annotators' spans the gold does not keep, each with who marked it and the decision:
    # "drop" (the reviewer dropped it) or "replaced" (an overlapping span was taken instead).
    dropped: Mapped[list[Any] | None] = mapped_column(JSON)
    # Gold spans grouped into incidents, each with its provenance (``annotator.incidents.links``).
    incidents: Mapped[list[Any] | None] = mapped_column(JSON)

    spans: Mapped[list[GoldSpan]] = relationship(
        back_populates="gold", cascade="all, delete-orphan", order_by="GoldSpan.start_char"
    )


class GoldAnswer(Base):
    """One annotation's version as the gold read it when it was last saved.

    An annotation on a sentence with gold is news for a reviewer when its version is no longer
    the one its gold answered (``services.review.changed_since_gold``). Versions, not times: an
    annotation saved while the gold was being saved, or by a server whose clock is behind, still
    differs from the version the gold read.
    """

    __tablename__ = "gold_answers"
    __table_args__ = (Index("ix_gold_answers_annotation", "annotation_id"),)

    gold_id: Mapped[int] = mapped_column(ForeignKey("gold_annotations.id", ondelete="CASCADE"), primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True)
    # 0: a version older than the one now stored, whose number was not kept (migration 0018).
    version: Mapped[int] = mapped_column(Integer)


class GoldSpan(Base):
    __tablename__ = "gold_spans"
    __table_args__ = (
        CheckConstraint("start_char >= 0", name="start_char"),
        CheckConstraint("start_char < end_char", name="start_before_end"),
        CheckConstraint("provenance IN ('unanimous', 'majority', 'adjudicated')", name="provenance"),
        UniqueConstraint("gold_id", "start_char", "end_char", "label"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gold_id: Mapped[int] = mapped_column(ForeignKey("gold_annotations.id", ondelete="CASCADE"), index=True)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(String(255))
    provenance: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(64))  # reviewer's reason code

    gold: Mapped[GoldAnnotation] = relationship(back_populates="spans")


class AuditEvent(Base):
    """Who changed which annotation, gold span or user, and when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ModelVersion(Base):
    """One training run of a project's pipeline and what it produced.

    At most one run per project is queued or running, and at most one version is
    active (its pipeline suggests spans): both are partial unique indexes. Scores
    are spaCy's on the export's dev split, in 0..1.
    """

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed', 'cancelled')", name="status"),
        CheckConstraint("task IN ('ner', 'spancat')", name="task"),
        CheckConstraint("number >= 1", name="number"),
        CheckConstraint("NOT active OR status = 'done'", name="active_done"),
        Index(
            "uq_model_versions_one_run",
            "project_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
        Index(
            "uq_model_versions_one_active",
            "project_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per project
    status: Mapped[str] = mapped_column(String(16), default="queued")
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    task: Mapped[str] = mapped_column(String(16))
    policy: Mapped[str] = mapped_column(String(120))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # dev_fraction, seed, max_steps
    content_sha256: Mapped[str | None] = mapped_column(String(64))  # the export's manifest hash
    config: Mapped[str | None] = mapped_column(Text)  # the config.cfg trained with
    export_counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the manifest's counts per split
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"overall": {p, r, f}, "per_label": {...}}
    progress: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{step, epoch, loss, score, ...}]
    curve: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"fractions", "points": [...]}; None: no curve
    pipeline_dir: Mapped[str] = mapped_column(String(1024))  # the run's folder; the pipeline is model-best
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)  # the run's process is alive
