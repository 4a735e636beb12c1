"""Projects: creation with the default scheme, guidelines and counts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from itertools import chain
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from ..db import database_key
from ..labels.scheme import SchemeError, check_scheme, default_scheme
from ..limits import (
    DEFAULT_LIMITS,
    MAX_ANNOTATORS_PER_SENTENCE,
    MAX_GUIDELINE_CHARS,
    Limits,
    int_problem,
    project_name_problem,
    text_problem,
)
from ..models import (
    QUEUE_ORDERS,
    Annotation,
    GazetteerEntry,
    GoldAnnotation,
    Guideline,
    ModelVersion,
    Project,
    ProjectMember,
    Report,
    Sentence,
    User,
    new_settings_token,
)
from .audit import record, record_command


class NotFound(LookupError):
    """A named thing that does not exist."""


class ProjectError(ValueError):
    """A project that cannot be created as asked; the message says what to change.

    ``reason`` tells the edges apart what the caller got wrong: ``"duplicate"`` (the name is
    taken: HTTP 409) or ``"invalid"`` (a setting no project can have, or cannot have now: 422).
    ``field`` names the setting to change, as :func:`create_project` names its argument.
    """

    def __init__(self, message: str, reason: str = "invalid", field: str = "name"):
        super().__init__(message)
        self.message, self.reason, self.field = message, reason, field


class InvalidProjectName(ProjectError):
    """A name no project may have (annotator.limits.project_name_problem says why)."""

    def __init__(self, message: str):
        super().__init__(message, "invalid", "name")


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


LANG_CODE = re.compile(r"[a-z]{2,3}")  # spaCy's language codes: "en", "uk", "grc", "xx" (multi-language)


def lang_problem(lang: object) -> str | None:
    """Why ``lang`` is not a language ``spacy.blank`` can build a tokenizer for, or None.

    Builds the pipeline the import will use (``corpus.text.make_nlp``, cached per language),
    so a language whose tokenizer needs a package that is not installed is refused here.
    """
    if not isinstance(lang, str) or not LANG_CODE.fullmatch(lang):
        return f"language must be a spaCy language code such as 'en', 'uk' or 'xx', not {str(lang)[:20]!r}"
    from ..corpus.text import make_nlp

    try:
        make_nlp(lang)
    except (ImportError, ValueError, KeyError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if "E048" in detail:  # spaCy has no such language
            return (
                f"there is no spaCy tokenizer for language {lang!r}: use a code spaCy knows, "
                "such as 'en', 'uk' or 'xx' (many languages)"
            )
        return f"there is no spaCy tokenizer for language {lang!r} here ({detail})"  # e.g. a package it needs
    return None


def staffing_problem(annotators_per_sentence: int, restricted: bool, annotators: int) -> str | None:
    """Why a project's sentences cannot all be completed by the people who may annotate it, or None.

    ``annotators``: who may annotate it, the active members of a restricted project or the active
    annotators of an open one (:func:`staffing`). Each sentence needs ``annotators_per_sentence``
    different people, so fewer people than that never complete one. Pure: the admin page's
    warning and the refusals of :func:`create_project` share it.
    """
    if annotators >= annotators_per_sentence:
        return None
    who = (
        f"the project is restricted to {annotators} active member{'s' * (annotators != 1)}"
        if restricted
        else f"there {'is' if annotators == 1 else 'are'} {annotators} active annotator{'s' * (annotators != 1)}"
    )
    fix = "add members" if restricted else "create annotator accounts"
    return (
        f"{annotators_per_sentence} annotators per sentence, but {who}: no sentence can be completed; "
        f"{fix} or ask for fewer annotators per sentence"
    )


def staffing(session: Session, project: Project | None, restricted: bool) -> int:
    """How many people may annotate: active members of a restricted ``project`` (none if it is new),
    active users with the annotator role for an open one."""
    if restricted:
        if project is None or project.id is None:
            return 0
        return (
            session.scalar(
                select(func.count())
                .select_from(ProjectMember)
                .join(User, User.id == ProjectMember.user_id)
                .where(ProjectMember.project_id == project.id, User.active.is_(True))
            )
            or 0
        )
    return (
        session.scalar(select(func.count()).select_from(User).where(User.role == "annotator", User.active.is_(True)))
        or 0
    )


def project_staffing_problem(session: Session, project: Project) -> str | None:
    """:func:`staffing_problem` of a stored project, as the admin page shows it."""
    return staffing_problem(
        project.annotators_per_sentence, project.restricted, staffing(session, project, project.restricted)
    )


def create_project(
    session: Session,
    name: str,
    lang: str = "en",
    annotators_per_sentence: int = 2,
    restricted: bool = False,
    labels: Sequence[object] | None = None,
    guidelines: str | None = None,
    *,
    queue_order: str = "report",
    created_by: User | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Project:
    """A new project, checked whole before anything is added; the one way the form, CLI and API create one.

    ``labels``: label dicts (``labels.scheme.check_scheme``; None: the default scheme);
    ``guidelines``: Markdown, version 1 (None: the shipped guidelines). Adds the project, its
    guidelines and the audit event (``created_by``'s, or the command line's when None) to the
    session; the caller commits. Raises ProjectError: ``reason="duplicate"`` for a name taken
    (case aside), ``"invalid"`` for a bad name, language, scheme or guidelines, an
    ``annotators_per_sentence`` out of range, or an open project asking for more annotators per
    sentence than there are active annotators (:func:`staffing_problem`) or a ``queue_order``
    other than "report" and "uncertain" (``models.QUEUE_ORDERS``). A restricted project
    has no members yet: it is created, and its admin page warns until it has enough.
    """
    problem = project_name_problem(name, limits) if isinstance(name, str) else "a project name is text"
    if problem is not None:
        raise InvalidProjectName(problem)
    taken = session.scalar(select(Project.name).where(func.lower(Project.name) == name.lower()))
    if taken is not None:
        same = "" if taken == name else f" as {taken!r} (names must differ by more than case)"
        raise ProjectError(f"a project named {name!r} exists already{same}; choose another name", "duplicate", "name")
    problem = lang_problem(lang)
    if problem is not None:
        raise ProjectError(problem, field="lang")
    problem = int_problem(annotators_per_sentence, "annotators per sentence", 1, MAX_ANNOTATORS_PER_SENTENCE)
    if problem is not None:
        raise ProjectError(problem, field="annotators_per_sentence")
    if not isinstance(restricted, bool):
        raise ProjectError("restricted must be true or false", field="restricted")
    if queue_order not in QUEUE_ORDERS:
        raise ProjectError(
            "queue_order must be report (report order) or uncertain (most informative first)", field="queue_order"
        )
    try:
        scheme = default_scheme() if labels is None else check_scheme(list(labels))
    except SchemeError as exc:
        raise ProjectError(f"label scheme: {exc}", field="labels") from None
    if guidelines is None:
        guidelines = default_guidelines()
    elif not isinstance(guidelines, str):
        raise ProjectError("guidelines must be text; leave them out for the shipped guidelines", field="guidelines")
    elif not guidelines.strip():
        raise ProjectError(
            "the guidelines are empty; write them, or leave them out for the shipped guidelines", field="guidelines"
        )
    elif len(guidelines) > MAX_GUIDELINE_CHARS:
        raise ProjectError(f"guidelines are at most {MAX_GUIDELINE_CHARS:,} characters", field="guidelines")
    elif (problem := text_problem(guidelines)) is not None:
        raise ProjectError(f"the guidelines {problem}", field="guidelines")
    if not restricted:
        problem = staffing_problem(annotators_per_sentence, False, staffing(session, None, False))
        if problem is not None:
            raise ProjectError(f"{problem}, or restrict the project and add members", field="annotators_per_sentence")
    project = Project(
        name=name,
        lang=lang,
        labels=scheme,
        annotators_per_sentence=annotators_per_sentence,
        restricted=restricted,
        queue_order=queue_order,
    )
    session.add(project)
    session.flush()
    session.add(
        Guideline(project_id=project.id, version=1, text=guidelines, author_id=created_by.id if created_by else None)
    )
    detail = {
        "name": name,
        "lang": lang,
        "annotators_per_sentence": annotators_per_sentence,
        "restricted": restricted,
        "queue_order": queue_order,
        "labels": [label["name"] for label in scheme],
    }
    if created_by is not None:
        record(session, created_by, "project.create", "project", project.id, **detail)
    else:
        record_command(session, "project.create", "project", project.id, **detail)
    session.flush()
    return project


def current_guideline(session: Session, project: Project) -> Guideline | None:
    return session.scalar(
        select(Guideline).where(Guideline.project_id == project.id).order_by(Guideline.version.desc()).limit(1)
    )


# --- Settings every labelling request needs, kept per process -------------------------


@dataclass(frozen=True)
class ProjectSettings:
    gazetteer_entries: tuple[tuple[str, tuple[str, ...]], ...]  # (canonical, aliases) of the project's own regions
    guideline_version: int | None  # the current guidelines' version
    active_model: tuple[str, int] | None = None  # the active model version's pipeline directory and number


_SETTINGS: dict[tuple[str, int, str], ProjectSettings] = {}
SETTINGS_CACHE_SIZE = 256


def project_settings(session: Session, project: Project) -> ProjectSettings:
    """The project's gazetteer entries, current guideline version and active model version.

    Read once per ``Project.settings_token`` and kept in this process: the token
    changes, in the same transaction, whenever a gazetteer entry or a guideline
    is added, changed or deleted through a session of
    ``annotator.services.unit_of_work.session_factory`` (:func:`keep_settings_token`), and
    when a model version is made active (``services.model_versions.activate``), so every
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
        model = session.execute(
            select(ModelVersion.pipeline_dir, ModelVersion.number).where(
                ModelVersion.project_id == project.id, ModelVersion.active
            )
        ).first()
        settings = ProjectSettings(
            tuple((canonical, tuple(aliases or ())) for canonical, aliases in rows),
            version,
            None if model is None else (model.pipeline_dir, model.number),
        )
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


def annotator_names(session: Session, project: Project) -> list[str]:
    """The usernames of everyone with an annotation in ``project``, sorted: the names a gold policy of one
    annotator (``annotator:NAME``) can take."""
    return list(
        session.scalars(
            select(User.username)
            .where(
                User.id.in_(
                    select(Annotation.user_id)
                    .join(Sentence, Sentence.id == Annotation.sentence_id)
                    .where(Sentence.project_id == project.id)
                    .distinct()
                )
            )
            .order_by(User.username)
        )
    )


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
            "queue_order": p.queue_order,
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
    ``gold``: adjudicated sentences; ``changed_since_gold``: those of them with a flag or a changed
    version saved after their gold (back in the review queue: ``review.changed_since_gold``).
    All zeros for a project that does not exist.
    """
    from .queue import STATUSES, annotation_counts, project_counts  # queue imports nothing of this module
    from .review import changed_since_gold  # review imports this module

    project = None if project_name_problem(name) else session.scalar(select(Project).where(Project.name == name))
    if project is None:
        return {
            "reports": 0,
            "sentences": 0,
            **dict.fromkeys(STATUSES, 0),
            "complete": 0,
            "gold": 0,
            "changed_since_gold": 0,
            "annotators": {},
        }
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
        "changed_since_gold": len(changed_since_gold(session, project)),
        "annotators": annotators,
    }
