"""Projects: creation with the default scheme, guidelines and counts."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from itertools import chain
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from ..db import database_key
from ..labels.scheme import default_scheme
from ..limits import project_name_problem
from ..models import (
    GazetteerEntry,
    GoldAnnotation,
    Guideline,
    Project,
    ProjectMember,
    Report,
    Sentence,
    User,
    new_settings_token,
)


class NotFound(LookupError):
    """A named thing that does not exist."""


class InvalidProjectName(ValueError):
    """A name no project may have (annotator.limits.project_name_problem says why)."""


def default_guidelines() -> str:
    return files("annotator.data").joinpath("guidelines.md").read_text(encoding="utf-8")


def get_project(session: Session, name: str) -> Project:
    # A name no project can have is not looked up: a NUL in it would be a PostgreSQL error, not a 404.
    if project_name_problem(name) is not None:
        raise NotFound(f"no project named {name!r}")
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise NotFound(f"no project named {name!r}")
    return project


def get_or_create_project(
    session: Session, name: str, *, lang: str = "en", annotators_per_sentence: int = 2
) -> tuple[Project, bool]:
    """The project called ``name``, created with the default scheme if new.

    Raises InvalidProjectName for a name that breaks the rule of
    ``annotator.limits.project_name_problem``, before the database sees it.
    """
    problem = project_name_problem(name)
    if problem is not None:
        raise InvalidProjectName(problem)
    project = session.scalar(select(Project).where(Project.name == name))
    if project is not None:
        return project, False
    project = Project(name=name, lang=lang, labels=default_scheme(), annotators_per_sentence=annotators_per_sentence)
    session.add(project)
    session.flush()
    session.add(Guideline(project_id=project.id, version=1, text=default_guidelines()))
    session.flush()
    return project, True


def current_guideline(session: Session, project: Project) -> Guideline | None:
    return session.scalar(
        select(Guideline).where(Guideline.project_id == project.id).order_by(Guideline.version.desc()).limit(1)
    )


# --- Settings every labelling request needs, kept per process -------------------------


@dataclass(frozen=True)
class ProjectSettings:
    gazetteer_entries: tuple[tuple[str, tuple[str, ...]], ...]  # (canonical, aliases) of the project's own regions
    guideline_version: int | None  # the current guidelines' version


_SETTINGS: dict[tuple[str, int, str], ProjectSettings] = {}
SETTINGS_CACHE_SIZE = 256


def project_settings(session: Session, project: Project) -> ProjectSettings:
    """The project's gazetteer entries and current guideline version.

    Read once per ``Project.settings_token`` and kept in this process: the token
    changes, in the same transaction, whenever a gazetteer entry or a guideline
    is added, changed or deleted through a session of
    ``annotator.services.unit_of_work.session_factory`` (:func:`keep_settings_token`), so every
    app server sees a change on its next request. Without a token (rows
    written around the ORM) the settings are read every time.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()  # pending entries or guidelines renew the token first
    token = project.settings_token
    key = (database_key(session), project.id, token)
    settings = _SETTINGS.get(key) if token else None
    if settings is None:
        rows = session.execute(
            select(GazetteerEntry.canonical, GazetteerEntry.aliases)
            .where(GazetteerEntry.project_id == project.id)
            .order_by(GazetteerEntry.id)
        ).all()
        version = session.scalar(select(func.max(Guideline.version)).where(Guideline.project_id == project.id))
        settings = ProjectSettings(tuple((canonical, tuple(aliases or ())) for canonical, aliases in rows), version)
        if token:
            if len(_SETTINGS) >= SETTINGS_CACHE_SIZE:
                _SETTINGS.clear()
            _SETTINGS[key] = settings
    return settings


def _renew_settings_tokens(session: Session, _flush_context, _instances) -> None:
    """before_flush: a new token for every project whose gazetteer entries or guidelines change."""
    project_ids = {
        row.project_id
        for row in chain(session.new, session.dirty, session.deleted)
        if isinstance(row, GazetteerEntry | Guideline)
    }
    with session.no_autoflush:
        for project_id in project_ids:
            project = session.get(Project, project_id) if project_id is not None else None
            if project is not None:
                project.settings_token = new_settings_token()


def keep_settings_token(factory: sessionmaker) -> sessionmaker:
    """Make every session of ``factory`` renew ``Project.settings_token`` when the project's settings change."""
    event.listen(factory, "before_flush", _renew_settings_tokens)
    return factory


def add_guideline_version(session: Session, project: Project, text: str, author: User | None) -> Guideline:
    latest = current_guideline(session, project)
    guideline = Guideline(
        project_id=project.id,
        version=(latest.version + 1) if latest else 1,
        text=text,
        author_id=author.id if author else None,
    )
    session.add(guideline)
    session.flush()
    return guideline


def can_work_on(session: Session, user: User, project: Project) -> bool:
    """Admins and reviewers see every project; annotators unless it is restricted to members."""
    if user.role in ("admin", "reviewer") or not project.restricted:
        return True
    return session.get(ProjectMember, (project.id, user.id)) is not None


def required_annotations(project: Project, sentence: Sentence) -> int:
    return project.annotators_per_sentence + sentence.extra_annotators


def list_projects(session: Session) -> list[dict[str, Any]]:
    """Every project's name and settings, by name."""
    return [
        {
            "name": p.name,
            "lang": p.lang,
            "annotators_per_sentence": p.annotators_per_sentence,
            "restricted": p.restricted,
            "labels": [label["name"] for label in p.labels],
        }
        for p in session.scalars(select(Project).order_by(Project.name))
    ]


def project_status(session: Session, name: str) -> dict[str, Any]:
    """Counts for ``annotator status``, the projects page, the review dashboard and the export manifest.

    ``reports``, ``sentences``; ``done``, ``flagged``, ``skipped``: the
    annotations by status, and ``annotators``: the same per annotator (from
    ``queue.annotation_counts``); ``complete``: sentences whose done or
    flagged annotations reach their quota (``queue.project_counts``);
    ``gold``: adjudicated sentences. All zeros for a project that does not exist.
    """
    from .queue import STATUSES, annotation_counts, project_counts  # queue imports nothing of this module

    project = None if project_name_problem(name) else session.scalar(select(Project).where(Project.name == name))
    if project is None:
        return {"reports": 0, "sentences": 0, **dict.fromkeys(STATUSES, 0), "complete": 0, "gold": 0, "annotators": {}}
    reports = session.scalar(select(func.count()).select_from(Report).where(Report.project_id == project.id))
    sentences, complete = project_counts(session, project)
    annotators = annotation_counts(session, project)
    totals = {status: sum(c[status] for c in annotators.values()) for status in STATUSES}
    gold = session.scalar(
        select(func.count())
        .select_from(GoldAnnotation)
        .join(Sentence, Sentence.id == GoldAnnotation.sentence_id)
        .where(Sentence.project_id == project.id)
    )
    return {
        "reports": reports,
        "sentences": sentences,
        **totals,
        "complete": complete,
        "gold": gold,
        "annotators": annotators,
    }
