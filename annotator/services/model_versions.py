"""Model versions: the bookkeeping of training runs, and which version suggests spans.

A run is a ``ModelVersion`` row. :func:`start_run` adds it (queued), the edge
commits and :func:`launch` starts ``python -m annotator.cli.training_job`` in a
process of its own, which exports, trains and writes its progress and scores
back to the row (``annotator.cli.training_job.run_version``). The schema keeps
one queued or running run per project and one active version per project.
A run whose process stops reporting for :data:`LOST_AFTER` is settled as
failed the next time anyone looks, so a crashed run never blocks the next.
Functions receive the session and never commit.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import ModelVersion, Project, User, new_settings_token, utcnow
from .exports import check_policy_accounts, safe_name

WORKER_MODULE = "annotator.cli.training_job"
RUNNING = ("queued", "running")
LOST_AFTER = timedelta(minutes=2)  # a run's process writes its heartbeat every second or so
PIPELINE = "model-best"  # the pipeline a version suggests with, inside its folder
PROGRESS_FILE = "progress.jsonl"
LOG_FILE = "train.log"


class ModelVersionError(Exception):
    """A run cannot start, be cancelled or become active; the message says why and what to do."""


class TrainingBusy(ModelVersionError):
    """The project already has a queued or running run."""


class VersionNotFound(ModelVersionError, LookupError):
    pass


def list_versions(session: Session, project: Project) -> list[ModelVersion]:
    """The project's versions, newest first."""
    return list(
        session.scalars(
            select(ModelVersion).where(ModelVersion.project_id == project.id).order_by(ModelVersion.number.desc())
        )
    )


def get_version(session: Session, project: Project, number: int) -> ModelVersion:
    version = session.scalar(
        select(ModelVersion).where(ModelVersion.project_id == project.id, ModelVersion.number == number)
    )
    if version is None:
        raise VersionNotFound(f"Project {project.name!r} has no model version {number}.")
    return version


def current_run(session: Session, project: Project) -> ModelVersion | None:
    """The project's queued or running version, if any."""
    return session.scalar(
        select(ModelVersion).where(ModelVersion.project_id == project.id, ModelVersion.status.in_(RUNNING))
    )


def active_version(session: Session, project: Project) -> ModelVersion | None:
    """The version whose pipeline suggests spans, if one was made active."""
    return session.scalar(select(ModelVersion).where(ModelVersion.project_id == project.id, ModelVersion.active))


def curve_version(session: Session, project: Project) -> ModelVersion | None:
    """The version whose learning curve the review dashboard shows: the active version, when it has a
    curve; with no active version, the newest version that has one; else None."""
    active = active_version(session, project)
    if active is not None:
        return active if active.curve else None
    return next((v for v in list_versions(session, project) if v.curve), None)


def pipeline_path(version: ModelVersion) -> Path:
    return Path(version.pipeline_dir) / PIPELINE


def lost_runs(session: Session, project: Project, now: datetime | None = None) -> list[ModelVersion]:
    """The project's queued or running versions whose process has not reported for :data:`LOST_AFTER`."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(ModelVersion).where(
                ModelVersion.project_id == project.id,
                ModelVersion.status.in_(RUNNING),
                ModelVersion.heartbeat_at < now - LOST_AFTER,
            )
        )
    )


def settle_lost_runs(session: Session, project: Project, now: datetime | None = None) -> list[ModelVersion]:
    """Mark the :func:`lost_runs` failed, so that they no longer block a new run."""
    now = now or utcnow()
    lost = lost_runs(session, project, now)
    for version in lost:
        version.status, version.finished_at = "failed", now
        version.error = "The training process stopped without reporting (crashed or killed). Start a new run."
    if lost:
        session.flush()
    return lost


def start_run(
    session: Session,
    project: Project,
    user: User | None,
    runs_dir: str | os.PathLike[str],
    *,
    task: str,
    policy: str,
    dev_fraction: float = 0.2,
    seed: int = 0,
    max_steps: int | None = None,
    curve: bool = False,
    now: datetime | None = None,
) -> ModelVersion:
    """Add a queued version for a new run of ``project``; the caller commits, then calls :func:`launch`.

    With ``curve`` the run also trains the learning curve after the model
    (``annotator.export.curve.learning_curve``) and keeps it on the version.

    Raises :class:`TrainingBusy` when the project has a queued or running run (also when
    another request adds one at the same moment: the schema refuses the second).
    """
    try:
        check_policy_accounts(session, policy)
    except ValueError as exc:
        raise ModelVersionError(str(exc)) from None
    now = now or utcnow()
    settle_lost_runs(session, project, now)
    running = current_run(session, project)
    if running is not None:
        raise TrainingBusy(_busy_message(running))
    number = (
        session.scalar(select(func.max(ModelVersion.number)).where(ModelVersion.project_id == project.id)) or 0
    ) + 1
    version = ModelVersion(
        project_id=project.id,
        number=number,
        status="queued",
        active=False,
        task=task,
        policy=policy,
        settings={"dev_fraction": dev_fraction, "seed": seed, "max_steps": max_steps, "curve": curve},
        progress=[],
        pipeline_dir=str(Path(runs_dir) / f"{safe_name(project.name)}-v{number}-{now.strftime('%Y%m%dT%H%M%S')}"),
        started_by=user.id if user is not None else None,
        created_at=now,
        heartbeat_at=now,
    )
    try:
        with session.begin_nested():
            session.add(version)
    except IntegrityError:
        raise TrainingBusy(
            "Another training run of this project started a moment ago; wait for it or cancel it."
        ) from None
    return version


def _busy_message(version: ModelVersion) -> str:
    return f"Version {version.number} is still {version.status}: wait for it to finish or cancel it, then start again."


def launch(version: ModelVersion, database_url: str, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """Start the run's process, detached from this one; records its pid and host on ``version``.

    Its output goes to ``train.log`` in the run's folder. The database URL reaches it
    through the environment (``ANNOTATOR_DATABASE_URL``), not its command line.
    A thread waits for the process, so a finished run leaves no zombie behind.
    """
    folder = Path(version.pipeline_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, str(version.id)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {}), "ANNOTATOR_DATABASE_URL": database_url},
            start_new_session=True,  # a signal to the web server's group does not reach the run
        )
    threading.Thread(target=process.wait, daemon=True, name=f"reap-training-{process.pid}").start()
    version.pid, version.host = process.pid, socket.gethostname()
    return process


def claim_run(session: Session, version_id: int, pid: int, host: str, now: datetime | None = None) -> bool:
    """queued -> running, for the run's own process; False if it was cancelled meanwhile."""
    now = now or utcnow()
    done = session.execute(
        update(ModelVersion)
        .where(ModelVersion.id == version_id, ModelVersion.status == "queued")
        .values(status="running", pid=pid, host=host, started_at=now, heartbeat_at=now)
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


def report_progress(
    session: Session, version_id: int, progress: list[dict[str, Any]], now: datetime | None = None
) -> bool:
    """Store the run's progress and heartbeat; False once it is no longer running (cancelled)."""
    done = session.execute(
        update(ModelVersion)
        .where(ModelVersion.id == version_id, ModelVersion.status == "running")
        .values(progress=progress, heartbeat_at=now or utcnow())
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


def record_export(session: Session, version_id: int, manifest: dict[str, Any], config: str) -> None:
    session.execute(
        update(ModelVersion)
        .where(ModelVersion.id == version_id)
        .values(content_sha256=manifest.get("content_sha256"), export_counts=manifest.get("counts"), config=config)
    )


def record_curve(session: Session, version_id: int, curve: dict[str, Any], now: datetime | None = None) -> bool:
    """Store the run's learning curve so far (and a heartbeat); False once it is no longer running.

    ``curve`` is ``{"fractions": [...], "points": [...]}`` with the points
    trained so far, plus ``"error"`` when the curve could not be trained.
    """
    done = session.execute(
        update(ModelVersion)
        .where(ModelVersion.id == version_id, ModelVersion.status == "running")
        .values(curve=curve, heartbeat_at=now or utcnow())
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


def finish_run(
    session: Session,
    version_id: int,
    *,
    scores: dict[str, Any] | None = None,
    progress: list[dict[str, Any]] | None = None,
    error: str | None = None,
    now: datetime | None = None,
) -> bool:
    """running -> done (with ``scores``) or failed (with ``error``); False if it was cancelled meanwhile."""
    values: dict[str, Any] = {"finished_at": now or utcnow(), "status": "failed" if error else "done"}
    if error:
        values["error"] = error
    else:
        values["scores"] = {"overall": (scores or {}).get("overall"), "per_label": (scores or {}).get("per_label")}
    if progress is not None:
        values["progress"] = progress
    done = session.execute(
        update(ModelVersion).where(ModelVersion.id == version_id, ModelVersion.status.in_(RUNNING)).values(**values)
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


def cancel_run(session: Session, project: Project, number: int, now: datetime | None = None) -> ModelVersion:
    """Mark a queued or running version cancelled; the edge then calls :func:`stop_process`.

    The run's own process also stops when it next reports and finds itself cancelled.
    """
    version = get_version(session, project, number)
    if version.status not in RUNNING:
        raise ModelVersionError(f"Version {number} is {version.status}, not running: there is nothing to cancel.")
    version.status, version.finished_at = "cancelled", now or utcnow()
    version.error = "Cancelled."
    session.flush()
    return version


def stop_process(version: ModelVersion) -> bool:
    """Terminate the run's process (SIGTERM) if it runs on this host; whether a signal was sent.

    The pid is signalled only when its command line is this run's (``/proc``), so a pid
    reused by another process after the run ended is left alone.
    """
    if not version.pid or version.host != socket.gethostname():
        return False
    try:
        cmdline = Path(f"/proc/{version.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if WORKER_MODULE.encode() not in cmdline or str(version.id).encode() not in cmdline:
        return False
    try:
        os.kill(version.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def activate(session: Session, project: Project, number: int) -> ModelVersion:
    """Make version ``number`` the one that suggests spans (the previous active one steps down)."""
    version = get_version(session, project, number)
    if version.status != "done":
        raise ModelVersionError(f"Version {number} is {version.status}: only a finished run can suggest spans.")
    if not (pipeline_path(version) / "meta.json").is_file():
        raise ModelVersionError(f"Version {number}'s pipeline is missing from {pipeline_path(version)}; train again.")
    previous = active_version(session, project)
    if previous is not None and previous.id != version.id:
        previous.active = False
        session.flush()  # before the new one: the schema allows one active version at a time
    version.active = True
    project.settings_token = new_settings_token()  # every server reads the active version afresh
    session.flush()
    return version


def version_dict(version: ModelVersion, usernames: Mapping[int, str] | None = None) -> dict[str, Any]:
    """A version as JSON for the models page."""

    def iso(at: datetime | None) -> str | None:
        return None if at is None else at.isoformat(timespec="seconds") + "Z"

    seconds = None
    if version.started_at is not None:
        seconds = int(((version.finished_at or utcnow()) - version.started_at).total_seconds())
    return {
        "number": version.number,
        "status": version.status,
        "active": version.active,
        "task": version.task,
        "policy": version.policy,
        "settings": version.settings,
        "content_sha256": version.content_sha256,
        "export_counts": version.export_counts,
        "scores": version.scores,
        "progress": version.progress or [],
        "curve": version.curve,
        "pipeline": str(pipeline_path(version)),
        "error": version.error,
        "started_by": (usernames or {}).get(version.started_by) if version.started_by else None,
        "created_at": iso(version.created_at),
        "started_at": iso(version.started_at),
        "finished_at": iso(version.finished_at),
        "seconds": seconds,
    }
